import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { cli, parseJson, runOnce } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

async function twoServices(log: string): Promise<GitFixture> {
  const fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");
  return fixture;
}

Deno.test("a suspended service is not run by polls, kept across restarts, shown by status and plan, and runs after resume", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await twoServices(log);
  assert.equal((await runOnce(fixture.clone)).code, 0);

  const suspended = await cli([
    "--repo",
    fixture.clone,
    "suspend",
    "api",
    "--reason",
    "disk full",
  ]);
  assert.equal(suspended.code, 0, suspended.stderr);
  await fixture.push({ "api/v": "2\n", "web/v": "2\n" });
  for (let cycle = 0; cycle < 3; cycle++) {
    assert.equal((await runOnce(fixture.clone)).code, 0);
  }

  assert.deepEqual(await readLines(log), ["api", "web", "web"]);
  const status = await cli(["--repo", fixture.clone, "status"]);
  assert.match(status.stdout, /api .*suspended since \S+: disk full/);
  const document = parseJson<
    {
      services: {
        name: string;
        suspension: { reason: string; since: string } | null;
      }[];
    }
  >(await cli(["--repo", fixture.clone, "status", "--json"]));
  const api = document.services.find((service) => service.name === "api")!;
  assert.equal(api.suspension?.reason, "disk full");
  assert.ok(!Number.isNaN(Date.parse(api.suspension!.since)));
  const plan = await cli(["--repo", fixture.clone, "plan", "--no-fetch"]);
  assert.match(plan.stdout, /api .*suspended since \S+: disk full/);

  const resumed = await cli(["--repo", fixture.clone, "resume", "api"]);
  assert.equal(resumed.code, 0);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await readLines(log), ["api", "web", "web", "api"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("suspend --reason and the resume note show control characters escaped, never raw", async () => {
  const root = await Deno.makeTempDir();
  await using fixture = await twoServices(join(root, "ran.log"));
  const reason = "disk\x1b[2J\x1b]0;owned\x07 full";
  const suspended = await cli([
    "--repo",
    fixture.clone,
    "suspend",
    "--all",
    "--reason",
    reason,
  ]);
  assert.equal(suspended.code, 0, suspended.stderr);
  assert.equal(
    suspended.stdout,
    "suspended the whole agent (disk\\x1b[2J\\x1b]0;owned\\x07 full)\n",
  );
  await cli(["--repo", fixture.clone, "suspend", "api", "--reason", reason]);
  const resumed = await cli(["--repo", fixture.clone, "resume", "api"]);
  assert.match(resumed.stdout, /note: the whole agent is still suspended/);
  assert.doesNotMatch(
    suspended.stdout + resumed.stdout,
    // deno-lint-ignore no-control-regex
    /[\x00-\x09\x0b-\x1f]/,
  );
  // JSON keeps the reason as it was given.
  const status = parseJson(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  );
  assert.ok(JSON.stringify(status).includes("disk\\u001b[2J"));
  await Deno.remove(root, { recursive: true });
});

Deno.test("a suspension's suspendedAt in the JSON documents is the ISO 8601 time the documentation describes", async () => {
  const root = await Deno.makeTempDir();
  await using fixture = await twoServices(join(root, "ran.log"));
  await fixture.push({ "api/app.conf": "v2\n" });
  const before = Date.now();
  await cli(["--repo", fixture.clone, "suspend", "api"]);
  const status = parseJson(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  ) as { services: { name: string; hold?: Record<string, unknown> }[] };
  const hold = status.services.find((service) => service.name === "api")?.hold;
  assert.equal(hold?.kind, "suspended", JSON.stringify(status));
  const at = hold.suspendedAt as string;
  assert.equal(new Date(at).toISOString(), at);
  assert.ok(Date.parse(at) >= before - 1000);
  const commands = await Deno.readTextFile(
    new URL("../docs/commands.md", import.meta.url),
  );
  const described = /`suspendedAt` \(([^)]*)\)/.exec(commands)?.[1] ?? "";
  assert.match(described.replace(/\s+/g, " "), /ISO 8601/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("suspend --all stops every service while fetching goes on; resume --all lifts it", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await twoServices(log);
  assert.equal(
    (await cli(["--repo", fixture.clone, "suspend", "--all"])).code,
    0,
  );
  const head = await fixture.push({ "api/v": "2\n" });

  assert.equal((await runOnce(fixture.clone)).code, 0);

  assert.deepEqual(await readLines(log), []);
  assert.equal(await fixture.cloneHead(), head, "the work tree was synced");
  assert.equal(
    (await cli(["--repo", fixture.clone, "resume", "--all"])).code,
    0,
  );
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await readLines(log), ["api", "web"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("deploy of a suspended service exits 2 naming the suspension unless --force; unknown names exit 2 with the known ones", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await twoServices(log);
  await cli(["--repo", fixture.clone, "suspend", "api", "--reason", "audit"]);

  const refused = await cli(["--repo", fixture.clone, "deploy", "api"]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /api is suspended since \S+: audit/);
  assert.match(refused.stderr, /--force/);
  const forced = await cli([
    "--repo",
    fixture.clone,
    "deploy",
    "api",
    "--force",
  ]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.deepEqual(await readLines(log), ["api"]);

  const unknown = await cli(["--repo", fixture.clone, "suspend", "nope"]);
  assert.equal(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /unknown service nope; known services on this host: api, web/,
  );
  const unknownResume = await cli(["--repo", fixture.clone, "resume", "nah"]);
  assert.equal(unknownResume.code, 2);
  await Deno.remove(root, { recursive: true });
});

Deno.test("suspend and resume take effect while the daemon runs, without a restart", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  await using fixture = await twoServices(log);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 0.2 });
    await agent.waitForLog(/watching/);
    const suspended = await cli(["--repo", fixture.clone, "suspend", "api"]);
    assert.equal(suspended.code, 0, suspended.stderr);
    const head = await fixture.push({ "api/v": "2\n", "web/v": "2\n" });
    await waitUntil(async () => (await readLines(log)).length === 3, {
      message: "web deployed",
    });
    await waitUntil(async () => (await fixture.cloneHead()) === head, {
      message: "synced",
    });
    // Several more cycles leave api alone.
    await fixture.push({ "api/v": "3\n" });
    await waitUntil(
      async () => (await fixture.cloneHead()) === await fixture.pusherHead(),
      {
        message: "synced again",
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.deepEqual(await readLines(log), ["api", "web", "web"]);

    assert.equal(
      (await cli(["--repo", fixture.clone, "resume", "api"])).code,
      0,
    );
    await waitUntil(async () => (await readLines(log)).length === 4, {
      message: "api deployed after resume",
    });
    // The hook wrote its line; its run is recorded when the command has ended.
    await waitUntil(
      () =>
        runRows(stateFileOf(fixture.clone)).every((run) =>
          run.outcome !== "running"
        ),
      { message: "the run after resume recorded" },
    );
  }
  assert.deepEqual(await readLines(log), ["api", "web", "web", "api"]);
  assert.equal(
    runRows(stateFileOf(fixture.clone)).filter((run) =>
      run.outcome !== "succeeded"
    )
      .length,
    0,
  );
  await Deno.remove(root, { recursive: true });
});

Deno.test("a failing service that is suspended is not retried", async () => {
  const root = await Deno.makeTempDir();
  await using fixture = await GitFixture.create({});
  await fixture.push({
    ".upstream-watch.yaml": "retry_backoff: 0.01\n",
    "api/.update-hooks.yaml": hookFile({ update_commands: ["false"] }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  await cli(["--repo", fixture.clone, "suspend", "api"]);
  await new Promise((resolve) => setTimeout(resolve, 50));

  assert.equal((await runOnce(fixture.clone)).code, 0);

  assert.equal(runRows(stateFileOf(fixture.clone), "api").length, 1);
  await Deno.remove(root, { recursive: true });
});

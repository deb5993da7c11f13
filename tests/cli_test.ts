import assert from "node:assert/strict";
import { join } from "node:path";
import { cli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";
import { stateFileOf, stateSnapshot } from "./helpers/state_db.ts";
import type { RunJson } from "../src/report/documents.ts";

const COMMANDS = [
  "run",
  "plan",
  "status",
  "history",
  "logs",
  "validate",
  "version",
];

/**
 * A clone with three services run twice: `api` deployed twice, `web` once
 * (with output), `broken` failed; then a change to `web` fetched but not
 * deployed.
 */
async function historyFixture(): Promise<GitFixture> {
  const fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(join(fixture.root, "ran.log")),
    "web/.update-hooks.yaml": hookFile({
      pre_update_commands: ["echo stopping web"],
      update_commands: ["echo pulled web image", ["printf", "%s\\n", "listed"]],
    }),
    "broken/.update-hooks.yaml": hookFile({
      update_commands: ["echo oops; exit 3"],
    }),
  }, "add services");
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 1);
  await fixture.push({ "api/compose.yaml": "image: api:2\n" }, "bump api");
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  await fixture.push({ "web/compose.yaml": "image: web:2\n" }, "bump web");
  await git(fixture.clone, "fetch", "--quiet", "origin");
  return fixture;
}

interface ServiceJson {
  name: string;
  deployedCommit: string | null;
  lastRun: RunJson | null;
  due: boolean;
  reason: { kind: string; paths?: string[] } | null;
}

function byName<T extends { name: string }>(items: T[], name: string): T {
  const item = items.find((candidate) => candidate.name === name);
  assert.ok(item, `no ${name} in ${JSON.stringify(items)}`);
  return item;
}

async function historyJson(
  fixture: GitFixture,
  ...args: string[]
): Promise<RunJson[]> {
  const result = await cli([
    "--repo",
    fixture.clone,
    "history",
    "--json",
    ...args,
  ]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout).runs;
}

Deno.test("status, history and logs report the recorded runs", async (t) => {
  // Read-only commands: one fixture serves every step.
  await using fixture = await historyFixture();

  await t.step(
    "status --json lists every service with its deployed commit, last run and whether it is due",
    async () => {
      const head = await fixture.cloneHead();

      const result = await cli(["--repo", fixture.clone, "status", "--json"]);

      assert.equal(result.code, 0, result.stderr);
      const status = JSON.parse(result.stdout);
      assert.equal(status.head, head);
      assert.equal(status.upstream, await fixture.pusherHead());
      const services: ServiceJson[] = status.services;
      assert.deepEqual(services.map((service) => service.name), [
        "api",
        "broken",
        "web",
      ]);
      const api = byName(services, "api");
      assert.equal(api.deployedCommit, head);
      assert.equal(api.lastRun?.outcome, "succeeded");
      assert.equal(api.due, false);
      assert.equal(api.reason, null);
      const broken = byName(services, "broken");
      assert.equal(broken.deployedCommit, null);
      assert.equal(broken.lastRun?.outcome, "failed");
      assert.equal(broken.lastRun?.failedStep, "update");
      const web = byName(services, "web");
      assert.notEqual(web.deployedCommit, null);
      assert.notEqual(web.deployedCommit, head);
      assert.equal(web.lastRun?.outcome, "succeeded");
      assert.equal(web.due, true);
      assert.equal(web.reason?.kind, "changed");
      assert.deepEqual(web.reason?.paths, ["web/compose.yaml"]);
    },
  );

  await t.step("status prints one table row per service", async () => {
    const result = await cli(["--repo", fixture.clone, "status"]);

    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assert.match(lines[1], /^SERVICE\s+DEPLOYED\s/);
    assert.match(lines[2], /^api\s+[0-9a-f]{12}\s.*succeeded/);
    assert.match(lines[3], /^broken\s+-\s.*failed \(update\)/);
    assert.match(
      lines[4],
      /^web\s+[0-9a-f]{12}\s.*succeeded.*web\/compose\.yaml/,
    );
    assert.equal(lines.length, 5);
  });

  await t.step(
    "history --json lists runs newest first, honours --limit and filters by service",
    async () => {
      const all = await historyJson(fixture);
      const limited = await historyJson(fixture, "--limit", "2");
      const api = await historyJson(fixture, "api");

      assert.equal(all.length, 4);
      const ids = all.map((run) => run.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "newest first");
      assert.equal(all[0].service, "api");
      assert.equal(all[0].reason.kind, "changed");
      assert.deepEqual(all[0].reason.paths, ["api/compose.yaml"]);
      assert.equal(all[0].trigger, "poll");
      assert.equal(all[0].toCommit, await fixture.cloneHead());
      assert.deepEqual(limited, all.slice(0, 2));
      assert.deepEqual(api.map((run) => run.service), ["api", "api"]);
      assert.deepEqual(api.map((run) => run.reason.kind), [
        "changed",
        "first_deploy",
      ]);
      assert.equal(api[0].fromCommit, api[1].toCommit);
    },
  );

  await t.step(
    "history prints a table of runs with outcome and reason",
    async () => {
      const all = await cli(["--repo", fixture.clone, "history"]);
      const none = await cli(["--repo", fixture.clone, "history", "nope"]);

      assert.equal(all.code, 0, all.stderr);
      const lines = all.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^RUN\s+SERVICE\s/);
      assert.equal(lines.length, 5);
      assert.match(
        lines[1],
        /^4\s+api\s.*\bpoll\b.*succeeded.*api\/compose\.yaml/,
      );
      assert.match(all.stdout, /^2\s+broken\s.*failed \(update\)/m);
      assert.equal(none.code, 0, none.stderr);
      assert.match(none.stdout, /no runs of nope/);
    },
  );

  await t.step("logs shows each command of a run with its output", async () => {
    const [web] = await historyJson(fixture, "web");

    const human = await cli(["--repo", fixture.clone, "logs", String(web.id)]);
    const json = await cli([
      "--repo",
      fixture.clone,
      "logs",
      String(web.id),
      "--json",
    ]);

    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, new RegExp(`^run ${web.id} of web: succeeded`));
    const order = [
      "$ echo stopping web",
      "stopping web\n",
      "$ echo pulled web image",
      "pulled web image\n",
      `$ ${JSON.stringify(["printf", "%s\\n", "listed"])}`,
      "listed\n",
    ].map((text) => human.stdout.indexOf(text));
    assert.ok(order.every((index) => index >= 0), human.stdout);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), human.stdout);

    assert.equal(json.code, 0, json.stderr);
    const document = JSON.parse(json.stdout);
    assert.equal(document.run.id, web.id);
    assert.deepEqual(
      document.commands.map((
        command: { step: string; output: string; exitCode: number },
      ) => [command.step, command.output, command.exitCode]),
      [
        ["pre", "stopping web\n", 0],
        ["update", "pulled web image\n", 0],
        ["update", "listed\n", 0],
      ],
    );
  });

  await t.step(
    "logs of a run that does not exist is a usage error",
    async () => {
      const result = await cli(["--repo", fixture.clone, "logs", "999"]);

      assert.equal(result.code, 2);
      assert.match(result.stderr, /run 999 not found/);
    },
  );
});

Deno.test("plan lists the due services with their changed paths and changes nothing", async () => {
  await using fixture = await historyFixture();
  const log = join(fixture.root, "ran.log");
  const state = stateFileOf(fixture.clone);
  await fixture.push(
    { "api/compose.yaml": "image: api:3\n" },
    "bump api again",
  );
  const before = {
    head: await fixture.cloneHead(),
    state: stateSnapshot(state),
    ran: await readLines(log),
    tree: await git(fixture.clone, "status", "--porcelain"),
  };

  const human = await cli(["--repo", fixture.clone, "plan"]);
  const json = await cli(["--repo", fixture.clone, "plan", "--json"]);

  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /2 of 3 services due/);
  assert.match(
    human.stdout,
    /^api\s+[0-9a-f]{12}\s.*changed: api\/compose\.yaml$/m,
  );
  assert.match(
    human.stdout,
    /^web\s+[0-9a-f]{12}\s.*changed: web\/compose\.yaml$/m,
  );
  assert.equal(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout);
  assert.equal(plan.head, before.head);
  assert.equal(plan.target, await fixture.pusherHead());
  const services: ServiceJson[] = plan.services;
  assert.deepEqual(byName(services, "api").reason?.paths, ["api/compose.yaml"]);
  assert.equal(byName(services, "api").due, true);
  assert.equal(byName(services, "web").due, true);
  assert.equal(byName(services, "broken").due, false);

  assert.deepEqual({
    head: await fixture.cloneHead(),
    state: stateSnapshot(state),
    ran: await readLines(log),
    tree: await git(fixture.clone, "status", "--porcelain"),
  }, before);
});

Deno.test("plan --no-fetch compares with the last fetched commit only", async () => {
  await using fixture = await historyFixture();
  await fixture.push({ "api/compose.yaml": "image: api:3\n" }, "not fetched");

  const result = await cli([
    "--repo",
    fixture.clone,
    "plan",
    "--no-fetch",
    "--json",
  ]);

  assert.equal(result.code, 0, result.stderr);
  const plan = JSON.parse(result.stdout);
  assert.notEqual(plan.target, await fixture.pusherHead());
  const services: ServiceJson[] = plan.services;
  assert.equal(byName(services, "api").due, false);
  assert.equal(byName(services, "web").due, true);
});

Deno.test("plan on a fresh clone shows every service due as never deployed and creates no state file", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": "update_commands: [echo api]\n",
    "web/.update-hooks.yaml": "update_commands: [echo web]\n",
  });

  const result = await cli(["--repo", fixture.clone, "plan", "--no-fetch"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /2 of 2 services due/);
  assert.match(result.stdout, /^api\s+-\s.*never deployed$/m);
  await assert.rejects(
    Deno.lstat(stateFileOf(fixture.clone)),
    Deno.errors.NotFound,
  );
});

Deno.test("every command has --help that exits 0 and names the command", async () => {
  for (const command of COMMANDS) {
    const result = await cli([command, "--help"]);
    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    assert.match(
      result.stdout,
      new RegExp(`^Usage: upstream-watch ${command}\\b`),
      command,
    );
  }
  const top = await cli(["--help"]);
  assert.equal(top.code, 0);
  for (const command of COMMANDS) {
    assert.match(top.stdout, new RegExp(`^  ${command}\\b`, "m"), command);
  }
});

Deno.test("bad command-line usage exits 2 with a hint", async () => {
  await using fixture = await GitFixture.create({});
  const cases = [
    ["--bogus"],
    ["status", "--bogus"],
    ["history", "--limit", "abc"],
    ["history", "--limit", "0"],
    ["logs", "abc"],
    ["logs"],
    ["run", "--interval", "soon"],
    ["--log-level", "loud", "status"],
    ["--log-format", "xml", "status"],
    ["frobnicate"],
  ];
  for (const args of cases) {
    const result = await cli(["--repo", fixture.clone, ...args]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^upstream-watch: /, args.join(" "));
  }
});

Deno.test("a directory that is not a git repository is a usage error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "upstream-watch-not-git-" });
  try {
    for (const command of ["status", "history", "plan"]) {
      const result = await cli(["--repo", dir, command]);
      assert.equal(result.code, 2, command);
      assert.match(result.stderr, /not a git repository/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no command means run", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });

  const result = await cli(["--repo", fixture.clone, "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), ["api"]);
});

Deno.test("version prints the version, the Deno version and the platform", async () => {
  const result = await cli(["version"]);
  assert.equal(result.code, 0);
  assert.match(
    result.stdout,
    /^upstream-watch \S+ \(deno \d+\.\d+\.\d+, \w+ \w+\)\n$/,
  );
});

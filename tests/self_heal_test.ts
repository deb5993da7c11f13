import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, pause, waitUntil } from "./helpers/agent_process.ts";
import { cli, parseJson } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import {
  appendLine,
  hookFile,
  hookPid,
  pathExists,
  readLines,
} from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** A service that is healthy while `marker` exists; its update creates the marker (except where `update` says otherwise). */
function markerService(
  marker: string,
  log: string,
  extra: Record<string, unknown> = {},
  update = `touch ${shellQuote(marker)}`,
): string {
  return hookFile({
    update_commands: [appendLine(log, "$UPSTREAM_WATCH_TRIGGER"), update],
    health_commands: [`test -f ${shellQuote(marker)}`],
    health_timeout: 0.3,
    health_interval: 0.1,
    check_interval: 0.2,
    ...extra,
  });
}

Deno.test("a failing check redeploys the same revision (trigger heal), notifying unhealthy once and healed when checks pass again", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  const marker = join(fixture.root, "up");
  const log = join(fixture.root, "ran.log");
  const head = await fixture.push({
    ".upstream-watch.yaml": `notify:\n  - url: ${receiver.url}/hook\n`,
    "api/.update-hooks.yaml": markerService(marker, log),
  });
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 60 });
    await waitUntil(() => pathExists(marker), { message: "first deploy" });
    await receiver.waitFor(1);
    await pause(500);

    await Deno.remove(marker);

    await waitUntil(async () => (await readLines(log)).length === 2, {
      message: "healed",
    });
    const events = await receiver.waitFor(3);
    assert.deepEqual(
      events.map((request) => JSON.parse(request.body).event),
      ["deploy_succeeded", "unhealthy", "healed"],
    );
    const status = parseJson<
      { services: { name: string; health: { state: string } | null }[] }
    >(await cli(["--repo", fixture.clone, "status", "--json"]));
    assert.equal(status.services[0].health?.state, "healthy");
    agent.kill("SIGTERM");
    assert.equal((await agent.exited()).code, 0);
  }
  assert.deepEqual(await readLines(log), ["poll", "heal"]);
  const runs = runRows(stateFileOf(fixture.clone), "api");
  assert.deepEqual(runs.map((run) => run.trigger), ["poll", "heal"]);
  assert.equal(runs[1].to_commit, head);
  assert.equal(runs[1].outcome, "succeeded");
  const history = await cli(["--repo", fixture.clone, "history", "--json"]);
  assert.match(history.stdout, /"trigger": "heal"/);
});

Deno.test("a check loop never runs two checks of a service at once and stops cleanly on SIGTERM", async () => {
  await using fixture = await GitFixture.create({});
  const lock = join(fixture.root, "check.lock");
  const checks = join(fixture.root, "checks.log");
  const pidFile = join(fixture.root, "check.pid");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["true"],
      // Each check lasts longer than the interval between checks.
      health_commands: [
        `mkdir ${shellQuote(lock)} || echo overlap >> ${
          shellQuote(checks)
        }; echo check >> ${shellQuote(checks)}; rm -f ${
          shellQuote(pidFile)
        }; echo $$ > ${shellQuote(pidFile)}; sleep 0.4; rmdir ${
          shellQuote(lock)
        }`,
      ],
      check_interval: 0.05,
      health_timeout: 10,
    }),
  });
  let pid: number;
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 60 });
    await waitUntil(async () => (await readLines(checks)).length >= 6, {
      message: "six checks",
    });
    // SIGTERM while a check runs.
    await Deno.remove(pidFile).catch(() => {});
    pid = await hookPid(pidFile);
    agent.kill("SIGTERM");
    const exited = await agent.exited();
    assert.equal(exited.code, 0, exited.stderr);
  }
  const lines = await readLines(checks);
  assert.ok(!lines.includes("overlap"), lines.join("\n"));
  let alive = true;
  for (let i = 0; i < 30 && alive; i++) {
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      alive = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
    } catch {
      alive = false;
    }
    if (alive) await pause(100);
  }
  assert.equal(alive, false, "the check in progress was killed");
});

Deno.test("a suspended service is not checked or healed", async () => {
  await using fixture = await GitFixture.create({});
  const marker = join(fixture.root, "up");
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": markerService(marker, log) });
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 60 });
    await waitUntil(() => pathExists(marker), { message: "first deploy" });
    assert.equal(
      (await cli(["--repo", fixture.clone, "suspend", "api"])).code,
      0,
    );
    await Deno.remove(marker);
    await pause(1500);
    agent.kill("SIGTERM");
    await agent.exited();
  }
  assert.deepEqual(await readLines(log), ["poll"]);
});

Deno.test("failed heals back off and stop at max_attempts, with one unhealthy notification", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  const marker = join(fixture.root, "up");
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml":
      `max_attempts: 2\nretry_backoff: 0.2\nnotify:\n  - url: ${receiver.url}/hook\n`,
    "api/.update-hooks.yaml": markerService(
      marker,
      log,
      {},
      `[ "$UPSTREAM_WATCH_TRIGGER" != heal ] && touch ${shellQuote(marker)}`,
    ),
  });
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 60 });
    // The first deploy's own health step must pass before the marker goes.
    await agent.waitForLog(/\[api\] deployed /);
    await Deno.remove(marker);
    await waitUntil(async () => (await readLines(log)).length === 3, {
      message: "two heals",
    });
    await pause(2000);
    agent.kill("SIGTERM");
    await agent.exited();
  }
  assert.deepEqual(await readLines(log), ["poll", "heal", "heal"]);
  const runs = runRows(stateFileOf(fixture.clone), "api");
  assert.deepEqual(runs.map((run) => run.outcome), [
    "succeeded",
    "failed",
    "failed",
  ]);
  const events = (await receiver.waitFor(3)).map((request) =>
    JSON.parse(request.body).event
  );
  assert.equal(events.filter((event) => event === "unhealthy").length, 1);
});

Deno.test("a check never runs while that service's update runs: the check in progress is stopped when the update starts", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "events.log");
  const hooks = (version: string) =>
    hookFile({
      update_commands: [
        `echo update-start >> ${
          shellQuote(log)
        }; sleep 0.5; echo update-end >> ${shellQuote(log)}`,
      ],
      health_commands: [
        `echo check-start >> ${shellQuote(log)}; sleep 1; echo check-end >> ${
          shellQuote(log)
        }`,
      ],
      check_interval: 0.05,
      health_timeout: 10,
      env: { VERSION: version },
    });
  await fixture.push({ "api/.update-hooks.yaml": hooks("1") });
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 0.3 });
    await waitUntil(
      async () => (await readLines(log)).includes("check-end"),
      { message: "a whole check" },
    );
    await waitUntil(
      async () => (await readLines(log)).at(-1) === "check-start",
      { message: "a check in progress" },
    );
    await fixture.push({ "api/.update-hooks.yaml": hooks("2") });
    await waitUntil(
      async () =>
        (await readLines(log)).filter((line) => line === "update-end")
          .length === 2,
      { message: "the second update" },
    );
    agent.kill("SIGTERM");
    await agent.exited();
  }
  const lines = await readLines(log);
  const secondUpdate = lines.lastIndexOf("update-start");
  assert.equal(lines[secondUpdate + 1], "update-end", lines.join("\n"));
  // A check running when the update started was stopped: it never finishes after the update either.
  assert.notEqual(lines[secondUpdate + 2], "check-end", lines.join("\n"));
});

Deno.test("a health command that leaves a detached child passes at deploy and in every check, so nothing is healed", async () => {
  await using fixture = await GitFixture.create({});
  const pids = join(fixture.root, "detached.pids");
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "$UPSTREAM_WATCH_TRIGGER")],
      // The child leaves the command's process group and keeps its pipes.
      health_commands: [
        `setsid sleep 67 & echo $! >> ${shellQuote(pids)}; echo ok`,
      ],
      health_timeout: 3,
      health_interval: 0.1,
      check_interval: 0.2,
    }),
  });
  try {
    await using agent = AgentProcess.start(fixture.clone, { interval: 60 });
    // Each check ends a bounded drain after its command: slow under load.
    await waitUntil(async () => (await readLines(pids)).length >= 4, {
      message: "the deploy's health step and three checks",
      timeoutMs: 60_000,
    });
    agent.kill("SIGTERM");
    assert.equal((await agent.exited()).code, 0);
  } finally {
    for (const pid of await readLines(pids)) {
      try {
        Deno.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
  assert.deepEqual(await readLines(log), ["poll"]);
  const runs = runRows(stateFileOf(fixture.clone), "api");
  assert.deepEqual(runs.map((run) => run.outcome), ["succeeded"]);
});

Deno.test("a heal after which the checks still fail counts as a failed attempt: heals stop at max_attempts and the incident stays open", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml":
      `max_attempts: 2\nretry_backoff: 0.2\nnotify:\n  - url: ${receiver.url}/hook\n`,
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "$UPSTREAM_WATCH_TRIGGER")],
      // Passes inside a run (which has a run id), fails in every check between runs.
      health_commands: [`test -n "$UPSTREAM_WATCH_RUN_ID"`],
      health_timeout: 0.3,
      health_interval: 0.1,
      check_interval: 0.2,
    }),
  });
  {
    await using agent = AgentProcess.start(fixture.clone, { interval: 60 });
    await waitUntil(async () => (await readLines(log)).length === 3, {
      message: "two heals",
    });
    // Many more checks fail meanwhile; none may heal again.
    await pause(2500);
    const status = parseJson<
      { services: { name: string; health: { state: string } | null }[] }
    >(await cli(["--repo", fixture.clone, "status", "--json"]));
    assert.equal(status.services[0].health?.state, "unhealthy");
    agent.kill("SIGTERM");
    await agent.exited();
  }
  assert.deepEqual(await readLines(log), ["poll", "heal", "heal"]);
  const events = (await receiver.waitFor(2)).map((request) =>
    JSON.parse(request.body).event
  );
  assert.equal(
    events.filter((event) => event === "unhealthy").length,
    1,
    events.join(", "),
  );
  assert.ok(!events.includes("healed"), events.join(", "));
});

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { cli } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import {
  appendLine,
  groupAlive,
  hangsTheFirstTime,
  hookFile,
  hookPid,
  killGroup,
  pathExists,
  readLines,
} from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  serviceRow,
  stateFileOf,
} from "./helpers/state_db.ts";

// ---------------------------------------------------------------- item 7

Deno.test("a removed service is reported once, keeps its state and runs its last deployed on_remove_commands from a copy of its files", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const removedLog = join(fixture.root, "removed.log");
  const cwdLog = join(fixture.root, "cwd.log");
  const onRemove = (version: string) => [
    `cat docker-compose.yml >> ${shellQuote(removedLog)}`,
    appendLine(
      removedLog,
      `${version} $UPSTREAM_WATCH_SERVICE $UPSTREAM_WATCH_STEP`,
    ),
    `pwd -P >> ${shellQuote(cwdLog)}`,
  ];
  const deployedCommit = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["true"],
      on_remove_commands: onRemove("deployed"),
    }),
    "api/docker-compose.yml": "services: { api: { image: api:1 } }\n",
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
    "keep/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await cli(["--repo", fixture.clone, "run", "--once"])).code, 0);
  // A hook file version that was never deployed, then the removal: the deployed one counts.
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["true"],
      on_remove_commands: onRemove("never-deployed"),
    }),
  });
  await fixture.push({ "api": null, "web": null }, "remove api and web");

  await using agent = AgentProcess.start(fixture.clone, {
    globals: ["--log-level", "debug"],
  });
  await agent.waitForLog(/service_removed: web/);
  // Several more cycles after the one that reported the removal.
  const cyclesBefore = agent.countLines(/nothing to do/);
  await agent.waitForLog(/nothing to do/, cyclesBefore + 3);
  agent.kill("SIGTERM");
  const { code } = await agent.exited();

  assert.equal(code, 0, agent.stderr);
  assert.equal(agent.countLines(/service_removed: api/), 1, agent.stderr);
  assert.equal(agent.countLines(/service_removed: web/), 1, agent.stderr);
  assert.equal(agent.countLines(/service_removed: keep/), 0);
  assert.deepEqual(await readLines(removedLog), [
    "services: { api: { image: api:1 } }",
    "deployed api on_remove",
  ]);
  const [copyDir] = await readLines(cwdLog);
  assert.ok(!copyDir.startsWith(fixture.root), copyDir);
  assert.equal(await pathExists(copyDir), false, "the copy is cleaned up");

  assert.ok(serviceRow(state, "api"), "api's state is kept");
  assert.equal(serviceRow(state, "web")?.deployed_commit, deployedCommit);
  const removalRuns = runRows(state).filter((run) =>
    JSON.parse(String(run.reason)).kind === "removed"
  );
  assert.deepEqual(removalRuns.map((run) => [run.service, run.outcome]), [[
    "api",
    "succeeded",
  ]]);
});

Deno.test({
  name:
    "running on_remove_commands keeps the removed service's last deployed commit",
  async fn() {
    await using fixture = await GitFixture.create({});
    const state = stateFileOf(fixture.clone);
    const deployedCommit = await fixture.push({
      "api/.update-hooks.yaml": hookFile({
        update_commands: ["true"],
        on_remove_commands: ["true"],
      }),
    });
    const repo = ["--repo", fixture.clone];
    assert.equal((await cli([...repo, "run", "--once"])).code, 0);
    await fixture.push({ "api": null });
    assert.equal((await cli([...repo, "run", "--once"])).code, 0);

    assert.equal(runRows(state, "api").at(-1)?.outcome, "succeeded");
    assert.equal(serviceRow(state, "api")?.deployed_commit, deployedCommit);
  },
});

// ---------------------------------------------------------------- item 6

Deno.test("SIGTERM lets the running hook finish, records the run succeeded and exits 0", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const started = join(fixture.root, "started");
  const finished = join(fixture.root, "finished");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        `touch ${shellQuote(started)}; sleep 2; touch ${shellQuote(finished)}`,
      ],
    }),
  });
  await using agent = AgentProcess.start(fixture.clone);
  await waitUntil(() => pathExists(started), { message: "the hook started" });

  agent.kill("SIGTERM");
  const { code } = await agent.exited();

  assert.equal(code, 0, agent.stderr);
  assert.ok(await pathExists(finished), "the hook ran to its end");
  assert.match(agent.stderr, /stopping: no new cycles/);
  const runs = runRows(state);
  assert.deepEqual(runs.map((run) => [run.service, run.outcome]), [[
    "api",
    "succeeded",
  ]]);
  assert.equal(
    serviceRow(state, "api")?.deployed_commit,
    await fixture.cloneHead(),
  );
});

Deno.test({
  name: "SIGTERM during a cycle starts no further service",
  async fn() {
    await using fixture = await GitFixture.create({});
    const state = stateFileOf(fixture.clone);
    const markers = join(fixture.root, "markers");
    await Deno.mkdir(markers);
    const slowHook = (name: string) =>
      hookFile({
        update_commands: [
          `touch ${shellQuote(join(markers, `${name}.started`))}; sleep 1`,
        ],
      });
    await fixture.push({
      "alpha/.update-hooks.yaml": slowHook("alpha"),
      "bravo/.update-hooks.yaml": slowHook("bravo"),
    });
    await using agent = AgentProcess.start(fixture.clone);
    await waitUntil(() => pathExists(join(markers, "alpha.started")), {
      message: "the first service started",
    });

    agent.kill("SIGTERM");
    const { code } = await agent.exited();

    assert.equal(code, 0, agent.stderr);
    assert.equal(await pathExists(join(markers, "bravo.started")), false);
    assert.deepEqual(
      runRows(state).map((run) => [run.service, run.outcome]),
      [["alpha", "succeeded"]],
    );
  },
});

Deno.test("a second SIGTERM kills the running hook with its children, records the run interrupted, and the next start runs it again", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const pidFile = join(fixture.root, "hook.pid");
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: hangsTheFirstTime(pidFile, log, "again"),
    }),
  });
  let pgid: number | undefined;
  try {
    await using agent = AgentProcess.start(fixture.clone);
    pgid = await hookPid(pidFile);

    agent.kill("SIGTERM");
    await agent.waitForLog(/stopping: no new cycles/);
    agent.kill("SIGTERM");
    const { code } = await agent.exited();

    assert.equal(code, 0, agent.stderr);
    await waitUntil(() => !groupAlive(pgid!), {
      message: "the hook's process group is gone",
    });
    const [run] = runRows(state, "api");
    assert.equal(run.outcome, "interrupted");
    assert.equal(run.failed_step, "update");
  } finally {
    killGroup(pgid);
  }

  const next = await cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(next.code, 0, next.stderr);
  assert.deepEqual(await readLines(log), ["again"]);
  assert.equal(runRows(state, "api").at(-1)?.outcome, "succeeded");
});

Deno.test("after the grace period a stop signal kills the running command (listenForShutdown with a short grace)", async () => {
  const probe = fileURLToPath(
    new URL("./helpers/shutdown_probe.ts", import.meta.url),
  );
  await using process = AgentProcess.startScript(probe, ["300"]);
  await process.waitForStdout("ready\n");

  process.kill("SIGTERM");
  const { code, stdout } = await process.exited();

  assert.equal(code, 0, process.stderr);
  const report = JSON.parse(stdout.split("\n")[1]);
  assert.equal(report.stopped, true);
  assert.equal(report.killed, true);
  assert.equal(report.interrupted, true, "sleep 30 was killed");
  assert.ok(
    report.graceMs >= 250,
    `killed only after the grace: ${report.graceMs}`,
  );
});

// ---------------------------------------------------------------- item 5

Deno.test("read-only commands work while the daemon runs a hook", async () => {
  await using fixture = await GitFixture.create({});
  const started = join(fixture.root, "started");
  const release = join(fixture.root, "release");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        `touch ${shellQuote(started)}; i=0; while [ ! -f ${
          shellQuote(release)
        } ] && [ $i -lt 400 ]; do i=$((i+1)); sleep 0.05; done`,
      ],
    }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["echo web"] }),
  });
  await using agent = AgentProcess.start(fixture.clone);
  await waitUntil(() => pathExists(started), { message: "the hook started" });

  const repo = ["--repo", fixture.clone];
  for (
    const command of [
      ["status"],
      ["status", "--json"],
      ["history"],
      ["plan", "--no-fetch"],
      ["validate"],
    ]
  ) {
    const result = await cli([...repo, ...command]);
    assert.equal(result.code, 0, `${command.join(" ")}: ${result.stderr}`);
  }
  const history = await cli([...repo, "history", "--json"]);
  const runs = JSON.parse(history.stdout).runs as {
    id: number;
    service: string;
    outcome: string;
  }[];
  const running = runs.find((run) => run.service === "api");
  assert.equal(running?.outcome, "running", "read while the writer is mid-run");
  const logs = await cli([...repo, "logs", String(running!.id)]);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /run \d+ of api: running/);

  await Deno.writeTextFile(release, "");
  await waitUntil(
    () =>
      queryState(
        stateFileOf(fixture.clone),
        "SELECT outcome FROM runs WHERE service = 'api'",
      )[0]?.outcome === "succeeded",
    { message: "the daemon finished the run" },
  );
  agent.kill("SIGTERM");
  assert.equal((await agent.exited()).code, 0);
});

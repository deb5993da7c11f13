import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess, waitUntil } from "./helpers/agent_process.ts";
import { agentCommandArgs, cli, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hangsTheFirstTime,
  hookFile,
  hookPid,
  killGroup,
  pathExists,
  readLines,
} from "./helpers/hooks.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

Deno.test("kill -9 of the daemon during a hook leaves the run running; the next start marks it interrupted and runs the service again", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const pidFile = join(fixture.root, "hook.pid");
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: hangsTheFirstTime(
        pidFile,
        log,
        "again $UPSTREAM_WATCH_COMMIT",
      ),
    }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");
  const adopted = await cli(["--repo", fixture.clone, "adopt"]);
  assert.match(adopted.stdout, /adopted at \w+: api, web/);
  const head = await fixture.push({ "api/compose.yaml": "v2\n" });
  let pgid: number | undefined;
  let daemonPid: number;
  try {
    await using agent = AgentProcess.start(fixture.clone);
    daemonPid = agent.pid;
    pgid = await hookPid(pidFile);

    agent.kill("SIGKILL");
    await agent.exited();
  } finally {
    killGroup(pgid);
  }

  const [cutOff] = runRows(state, "api");
  assert.equal(cutOff.outcome, "running");
  assert.equal(serviceRow(state, "api")?.last_outcome, "running");
  assert.notEqual(serviceRow(state, "api")?.deployed_commit, head);

  const restart = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(restart.code, 0, restart.stderr);
  assert.match(
    restart.stderr,
    new RegExp(
      `run ${cutOff.id} of api was cut off by a crash or kill; marked interrupted`,
    ),
  );
  assert.match(
    restart.stderr,
    new RegExp(`took over the lock left by pid ${daemonPid}`),
  );
  const runs = runRows(state, "api");
  assert.deepEqual(runs.map((run) => run.outcome), [
    "interrupted",
    "succeeded",
  ]);
  assert.deepEqual(await readLines(log), [`again ${head}`]);
  assert.equal(serviceRow(state, "api")?.deployed_commit, head);
  assert.equal(runRows(state, "web").length, 0, "nothing else ran");
});

Deno.test("kill -9 during a manual deploy of an up-to-date service: the next cycle runs it again because it was interrupted", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const pidFile = join(fixture.root, "hook.pid");
  const log = join(fixture.root, "ran.log");
  const head = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: hangsTheFirstTime(
        pidFile,
        log,
        "again $UPSTREAM_WATCH_COMMIT",
      ),
    }),
  });
  await git(fixture.clone, "pull", "--quiet");
  assert.equal((await cli(["--repo", fixture.clone, "adopt"])).code, 0);

  let pgid: number | undefined;
  try {
    await using deploy = AgentProcess.startArgs(
      agentCommandArgs(["--repo", fixture.clone, "deploy", "api"]),
    );
    pgid = await hookPid(pidFile);
    deploy.kill("SIGKILL");
    await deploy.exited();
  } finally {
    killGroup(pgid);
  }
  assert.equal(runRows(state, "api")[0].outcome, "running");

  const next = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(next.code, 0, next.stderr);
  const runs = runRows(state, "api");
  assert.deepEqual(runs.map((run) => run.outcome), [
    "interrupted",
    "succeeded",
  ]);
  assert.equal(JSON.parse(String(runs[1].reason)).kind, "interrupted");
  assert.deepEqual(await readLines(log), [`again ${head}`]);
});

Deno.test("the upstream unreachable for several cycles: the daemon keeps running and then deploys what was pushed meanwhile", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(log, "$UPSTREAM_WATCH_SERVICE $UPSTREAM_WATCH_COMMIT"),
      ],
    }),
  });
  await using agent = AgentProcess.start(fixture.clone);
  await waitUntil(async () => (await readLines(log)).length === 1, {
    message: "the first deploy",
  });

  const away = `${fixture.upstream}.away`;
  await Deno.rename(fixture.upstream, away);
  await agent.waitForLog(/sync failed: cannot fetch main from origin/, 3);
  // The operator pushes while the agent cannot reach the upstream.
  await Deno.writeTextFile(join(fixture.pusher, "api", "compose.yaml"), "v2\n");
  await git(fixture.pusher, "add", "--all");
  await git(fixture.pusher, "commit", "--quiet", "-m", "while unreachable");
  await git(fixture.pusher, "push", "--quiet", away, "HEAD:main");
  const pushed = await fixture.pusherHead();
  const failures = agent.countLines(/sync failed/);
  await agent.waitForLog(/sync failed/, failures + 2);
  assert.equal(agent.status, undefined, "still running");
  assert.equal((await readLines(log)).length, 1);

  await Deno.rename(away, fixture.upstream);
  await waitUntil(
    async () => (await readLines(log)).includes(`api ${pushed}`),
    { message: "the commit pushed meanwhile is deployed" },
  );

  agent.kill("SIGTERM");
  assert.equal((await agent.exited()).code, 0, agent.stderr);
  assert.equal(await fixture.cloneHead(), pushed);
  assert.deepEqual(
    runRows(stateFileOf(fixture.clone)).map((run) => run.outcome),
    ["succeeded", "succeeded"],
  );
});

Deno.test("two agents on one repository: run and adopt exit 4 naming the daemon's pid, deploy is handed to the daemon; a lock left by kill -9 is taken over", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const repo = ["--repo", fixture.clone];
  let daemonPid: number;
  {
    await using agent = AgentProcess.start(fixture.clone);
    daemonPid = agent.pid;
    await waitUntil(async () => (await readLines(log)).length === 1, {
      message: "the daemon deployed api",
    });

    for (const command of [["run", "--once"], ["adopt"]]) {
      const result = await cli([...repo, ...command]);
      assert.equal(result.code, 4, `${command.join(" ")}: ${result.stderr}`);
      assert.match(
        result.stderr,
        new RegExp(
          `another upstream-watch \\(pid ${agent.pid}\\) holds the lock`,
        ),
      );
    }
    // A second daemon process too.
    const second = await spawnCli([...repo, "run", "--interval", "0.2"]);
    assert.equal(second.code, 4);
    assert.match(second.stderr, new RegExp(`pid ${agent.pid}`));
    assert.equal(agent.status, undefined, "the first one keeps running");
    assert.deepEqual(await readLines(log), ["api"], "nothing ran twice");
    // The daemon carries a deploy out itself, once.
    const deployed = await cli([...repo, "deploy", "api"]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.deepEqual(await readLines(log), ["api", "api"]);

    agent.kill("SIGKILL");
    await agent.exited();
  }
  const pidFile = join(fixture.clone, ".git", "upstream-watch.pid");
  assert.ok(await pathExists(pidFile), "kill -9 leaves the pid file behind");

  await fixture.push({ "api/compose.yaml": "v2\n" });
  const next = await spawnCli([...repo, "run", "--once"]);

  assert.equal(next.code, 0, next.stderr);
  assert.match(
    next.stderr,
    new RegExp(
      `WRN took over the lock left by pid ${daemonPid}, which is no longer running`,
    ),
  );
  assert.deepEqual(await readLines(log), ["api", "api", "api"]);
  assert.equal(await pathExists(pidFile), false, "released on exit");
});

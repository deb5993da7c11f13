import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { pause } from "./helpers/agent_process.ts";
import {
  cli,
  type CliResult,
  parseJson,
  runOnce,
  spawnCli,
} from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import {
  appendingHooks,
  appendLine,
  hookFile,
  pathExists,
  readLines,
} from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  serviceRow,
  stateFileOf,
} from "./helpers/state_db.ts";
import type { RunJson } from "../src/report/documents.ts";

interface StatusService {
  name: string;
  deployedCommit: string | null;
  failedAttempts: number;
  due: boolean;
  outOfDate: boolean;
  hold: { kind: string; attempts?: number; nextAttemptAt?: string } | null;
  lastRun: (RunJson & { finishedAt: string | null }) | null;
}

async function statusOf(
  repo: string,
  globals: string[] = [],
): Promise<Map<string, StatusService>> {
  const result = await cli(["--repo", repo, ...globals, "status", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const { services } = parseJson<{ services: StatusService[] }>(result);
  return new Map(services.map((service) => [service.name, service]));
}

async function historyOf(repo: string, service?: string): Promise<RunJson[]> {
  const result = await cli([
    "--repo",
    repo,
    "history",
    ...(service ? [service] : []),
    "--limit",
    "100",
    "--json",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return parseJson<{ runs: RunJson[] }>(result).runs;
}

// ---------------------------------------------------------------- item 1

Deno.test("deploy runs named services at HEAD even when they are not due, recorded as manual", async () => {
  await using fixture = await GitFixture.create({ "README.md": "infra\n" });
  const log = join(fixture.root, "ran.log");
  const head = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(
          log,
          "$UPSTREAM_WATCH_SERVICE $UPSTREAM_WATCH_COMMIT $UPSTREAM_WATCH_TRIGGER",
        ),
      ],
    }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2);
  const plan = await cli([
    "--repo",
    fixture.clone,
    "plan",
    "--no-fetch",
    "--json",
  ]);
  assert.ok(
    parseJson<{ services: { due: boolean }[] }>(plan).services.every((s) =>
      !s.due
    ),
    "nothing is due before the manual deploy",
  );

  const deployed = await cli(["--repo", fixture.clone, "deploy", "api"]);

  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, /^api: succeeded \(run \d+\)/m);
  assert.deepEqual((await readLines(log)).slice(2), [`api ${head} manual`]);
  const [newest] = await historyOf(fixture.clone, "api");
  assert.equal(newest.trigger, "manual");
  assert.equal(newest.outcome, "succeeded");
  assert.equal(newest.toCommit, head);
  assert.equal(newest.reason.kind, "manual");

  const all = await cli(["--repo", fixture.clone, "deploy", "--all"]);
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(
    (await readLines(log)).slice(3).map((line) => line.split(" ")[0]).sort(),
    ["api", "web"],
  );
  const manual = (await historyOf(fixture.clone)).filter((run) =>
    run.trigger === "manual"
  );
  assert.equal(manual.length, 3);
});

Deno.test("deploy and adopt of unknown services exit 2 listing the known ones, running nothing", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  for (const command of [["deploy", "api", "nope"], ["adopt", "ghost"]]) {
    const result = await cli(["--repo", fixture.clone, ...command]);
    assert.equal(result.code, 2, command.join(" "));
    assert.match(result.stderr, /unknown service (nope|ghost)/);
    assert.match(result.stderr, /known services on this host: api, web/);
  }
  const usage = await cli(["--repo", fixture.clone, "deploy"]);
  assert.equal(usage.code, 2);
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(runRows(stateFileOf(fixture.clone)), []);
});

Deno.test("adopt records services as deployed at HEAD without running hooks; the next run --once runs nothing", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const head = await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
    "db/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  const some = await cli(["--repo", fixture.clone, "adopt", "api", "web"]);
  assert.equal(some.code, 0, some.stderr);
  assert.match(
    some.stdout,
    new RegExp(`adopted at ${head.slice(0, 12)}: api, web`),
  );
  assert.equal(serviceRow(state, "api")?.deployed_commit, head);
  assert.equal(serviceRow(state, "db"), undefined);
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(runRows(state), [], "adopt records no run");

  const all = await cli(["--repo", fixture.clone, "adopt"]);
  assert.equal(all.code, 0, all.stderr);
  assert.equal(serviceRow(state, "db")?.deployed_commit, head);

  const result = await runOnce(fixture.clone);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), []);
  assert.deepEqual(runRows(state), []);
});

// ---------------------------------------------------------------- item 2

Deno.test("on_failure_commands run after a failed step with UPSTREAM_WATCH_FAILED_STEP; their own failure never replaces the original error", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const marker = join(fixture.root, "on_failure.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      pre_update_commands: ["true"],
      update_commands: [
        "echo about to fail",
        "exit 3",
        appendLine(marker, "never"),
      ],
      post_update_commands: [appendLine(marker, "post never runs")],
      on_failure_commands: [
        appendLine(marker, "$UPSTREAM_WATCH_STEP $UPSTREAM_WATCH_FAILED_STEP"),
        "exit 9",
        appendLine(marker, "after the failing rollback"),
      ],
    }),
    "db/.update-hooks.yaml": hookFile({
      pre_update_commands: ["exit 1"],
      on_failure_commands: [
        appendLine(marker, "db $UPSTREAM_WATCH_FAILED_STEP"),
      ],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual((await readLines(marker)).sort(), [
    "db pre",
    "on_failure update",
  ]);
  const [run] = runRows(state, "api");
  assert.equal(run.outcome, "failed");
  assert.equal(run.failed_step, "update");
  assert.match(String(run.error), /update command failed \(exit 3\): exit 3/);
  const commands = queryState(
    state,
    "SELECT step, command, exit_code FROM run_commands WHERE run_id = ? ORDER BY seq",
    run.id,
  );
  assert.deepEqual(
    commands.map((command) => [command.step, command.exit_code]),
    [["pre", 0], ["update", 0], ["update", 3], ["on_failure", 0], [
      "on_failure",
      9,
    ]],
    "the failing on_failure command is recorded, the rest of that list is not run",
  );
  const [dbRun] = runRows(state, "db");
  assert.equal(dbRun.failed_step, "pre");
});

Deno.test("a failing service is retried with backoff up to max_attempts, then waits for a new revision or a manual deploy", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ max_attempts: 3, retry_backoff: 0.2 }),
  });
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(log, "api $UPSTREAM_WATCH_COMMIT"),
        "exit 1",
      ],
    }),
    "web/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "web")],
    }),
  });
  const attempts = async () =>
    await pathExists(state) ? runRows(state, "api").length : 0;

  // Cycles keep coming; the service is tried again only once its backoff elapsed, three times in all.
  const deadline = Date.now() + 20_000;
  while (await attempts() < 3) {
    assert.ok(Date.now() < deadline, "three attempts within 20 s");
    const result = await runOnce(fixture.clone);
    assert.ok(result.code === 0 || result.code === 1, result.stderr);
    await pause(100);
  }
  assert.deepEqual(
    runRows(state, "api").map((run) => [run.attempt, run.outcome]),
    [[1, "failed"], [2, "failed"], [3, "failed"]],
  );
  // Each retry waited at least its backoff: 0.2 s, then twice that.
  const [first, second, third] = runRows(state, "api");
  assert.ok(Number(second.started_at) - Number(first.finished_at) >= 200);
  assert.ok(Number(third.started_at) - Number(second.finished_at) >= 400);
  const exhausted = (await statusOf(fixture.clone)).get("api")!;
  assert.equal(exhausted.failedAttempts, 3);
  assert.equal(exhausted.hold?.kind, "exhausted");
  assert.equal(exhausted.due, false);
  assert.equal(exhausted.outOfDate, true);

  // Long after any backoff, it still waits.
  await pause(1000);
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal(await attempts(), 3);

  // A commit elsewhere neither re-triggers nor resets it.
  await fixture.push({ "web/index.html": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal(await attempts(), 3);
  assert.equal(
    (await statusOf(fixture.clone)).get("api")!.hold?.kind,
    "exhausted",
  );

  // A manual deploy runs it whatever the attempts.
  const manual = await cli(["--repo", fixture.clone, "deploy", "api"]);
  assert.equal(manual.code, 1);
  assert.equal(await attempts(), 4);
  assert.equal(runRows(state, "api")[3].trigger, "manual");

  // A new commit touching it starts again at attempt 1.
  const fixCommit = await fixture.push({ "api/compose.yaml": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  const latest = runRows(state, "api").at(-1)!;
  assert.equal(latest.attempt, 1);
  assert.equal(latest.revision, fixCommit);
  assert.equal((await statusOf(fixture.clone)).get("api")!.failedAttempts, 1);
});

Deno.test("status shows a failing service's attempts and when its next attempt is due; it does not run before", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ max_attempts: 5, retry_backoff: 600 }),
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log), "exit 1"],
    }),
  });
  const before = Date.now();
  assert.equal((await runOnce(fixture.clone)).code, 1);

  const api = (await statusOf(fixture.clone)).get("api")!;
  assert.equal(api.failedAttempts, 1);
  assert.equal(api.due, false);
  assert.equal(api.hold?.kind, "backoff");
  assert.equal(api.hold?.attempts, 1);
  assert.ok(Date.parse(api.hold!.nextAttemptAt!) >= before + 600_000);
  assert.equal(api.lastRun?.outcome, "failed");
  const table = await cli(["--repo", fixture.clone, "status"]);
  assert.match(table.stdout, /attempt 1\/5/);
  assert.match(table.stdout, /waiting: failed 1×, next attempt at /);

  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual(await readLines(log), ["api"], "held back by its backoff");
});

Deno.test("the backoff doubles per failed attempt and is capped at one hour", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ max_attempts: 5, retry_backoff: 1000 }),
  });
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["exit 1"] }),
  });
  const delay = async () => {
    const api = (await statusOf(fixture.clone)).get("api")!;
    assert.equal(api.hold?.kind, "backoff");
    return Date.parse(api.hold!.nextAttemptAt!) -
      Date.parse(api.lastRun!.finishedAt!);
  };

  assert.equal((await runOnce(fixture.clone)).code, 1);
  assert.equal(await delay(), 1000_000);
  // Manual deploys count as attempts at the same revision too.
  const deploy = ["--repo", fixture.clone, "deploy", "api"];
  assert.equal((await cli(deploy)).code, 1);
  assert.equal(await delay(), 2000_000);
  assert.equal((await cli(deploy)).code, 1);
  assert.equal(await delay(), 3600_000, "4000 s capped at 1 h");
  assert.equal((await statusOf(fixture.clone)).get("api")!.failedAttempts, 3);
});

// ---------------------------------------------------------------- item 3

Deno.test("depends_on runs services after their dependencies, then by name", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "order.log");
  await fixture.push({
    "app/.update-hooks.yaml": appendingHooks(log, { depends_on: ["db"] }),
    "db/.update-hooks.yaml": appendingHooks(log, { depends_on: ["zcache"] }),
    "zcache/.update-hooks.yaml": appendingHooks(log),
    "beta/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), ["beta", "zcache", "db", "app"]);
});

Deno.test("a dependency cycle or an unknown dependency is a config error of those services; the others still deploy", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "alpha/.update-hooks.yaml": appendingHooks(log, { depends_on: ["bravo"] }),
    "bravo/.update-hooks.yaml": appendingHooks(log, { depends_on: ["alpha"] }),
    "delta/.update-hooks.yaml": appendingHooks(log, { depends_on: ["ghost"] }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  await git(fixture.clone, "pull", "--quiet");

  const validate = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(validate.code, 2);
  assert.match(
    validate.stderr,
    /alpha\/\.update-hooks\.yaml \(depends_on\): dependency cycle: alpha → bravo → alpha/,
  );
  assert.match(
    validate.stderr,
    /bravo\/\.update-hooks\.yaml \(depends_on\): dependency cycle/,
  );
  assert.match(
    validate.stderr,
    /delta\/\.update-hooks\.yaml \(depends_on\): depends on unknown service ghost/,
  );
  assert.match(validate.stdout, /1 of 4 services valid/);

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual(await readLines(log), ["web"]);
  const outcomes = Object.fromEntries(
    runRows(state).map((run) => [
      run.service,
      [run.outcome, run.failed_step],
    ]),
  );
  assert.deepEqual(outcomes, {
    alpha: ["failed", "config"],
    bravo: ["failed", "config"],
    delta: ["failed", "config"],
    web: ["succeeded", null],
  });
  assert.match(
    String(runRows(state, "alpha")[0].error),
    /dependency cycle: alpha → bravo → alpha/,
  );
  assert.match(
    String(runRows(state, "delta")[0].error),
    /unknown service ghost/,
  );
});

Deno.test("a failed dependency marks its dependents skipped; both run again once it succeeds", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ retry_backoff: 0.2 }),
  });
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const healthy = join(fixture.root, "db-healthy");
  await fixture.push({
    "db/.update-hooks.yaml": hookFile({
      update_commands: [`test -f ${shellQuote(healthy)}`, appendLine(log)],
    }),
    "app/.update-hooks.yaml": appendingHooks(log, { depends_on: ["db"] }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const first = await runOnce(fixture.clone);

  assert.equal(first.code, 1);
  assert.deepEqual(await readLines(log), ["web"]);
  const [skipped] = runRows(state, "app");
  assert.equal(skipped.outcome, "skipped");
  assert.match(String(skipped.error), /dependency db did not succeed/);
  assert.equal(serviceRow(state, "app")?.deployed_commit, null);

  await Deno.writeTextFile(healthy, "");
  await pause(300);
  const second = await runOnce(fixture.clone);

  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await readLines(log), ["web", "db", "app"]);
  assert.equal(runRows(state, "app").at(-1)?.outcome, "succeeded");
});

/** A hook that marks its start, then waits (at most ~10 s, else fails) for `other` to have started. */
function rendezvous(dir: string, self: string, other: string): string {
  const mine = shellQuote(join(dir, `${self}.started`));
  const theirs = shellQuote(join(dir, `${other}.started`));
  return `touch ${mine}; i=0; while [ ! -f ${theirs} ]; do i=$((i+1)); if [ $i -gt 200 ]; then echo "${other} never started alongside ${self}"; exit 1; fi; sleep 0.05; done`;
}

Deno.test("parallel: 2 runs two independent services at the same time", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ parallel: 2 }),
  });
  const markers = join(fixture.root, "markers");
  await Deno.mkdir(markers);
  await fixture.push({
    "one/.update-hooks.yaml": hookFile({
      update_commands: [rendezvous(markers, "one", "two")],
    }),
    "two/.update-hooks.yaml": hookFile({
      update_commands: [rendezvous(markers, "two", "one")],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    runRows(stateFileOf(fixture.clone)).map((run) => run.outcome),
    ["succeeded", "succeeded"],
  );
});

Deno.test("parallel never starts a service before its dependency finished", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ parallel: 3 }),
  });
  const markers = join(fixture.root, "markers");
  await Deno.mkdir(markers);
  const baseDone = shellQuote(join(markers, "base.done"));
  const needsBase = (self: string, other: string) =>
    hookFile({
      depends_on: ["base"],
      update_commands: [
        `test -f ${baseDone}`,
        rendezvous(markers, self, other),
      ],
    });
  await fixture.push({
    "base/.update-hooks.yaml": hookFile({
      update_commands: [`sleep 0.5; touch ${baseDone}`],
    }),
    "xapp/.update-hooks.yaml": needsBase("xapp", "yapp"),
    "yapp/.update-hooks.yaml": needsBase("yapp", "xapp"),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  const runs = runRows(stateFileOf(fixture.clone));
  // Independent services started at once may get their run ids in either order.
  const [base, ...dependents] = runs;
  assert.deepEqual([base.service, base.outcome], ["base", "succeeded"]);
  assert.deepEqual(
    dependents.map((run) => [run.service, run.outcome]).sort(),
    [["xapp", "succeeded"], ["yapp", "succeeded"]],
  );
  for (const dependent of dependents) {
    assert.ok(Number(dependent.started_at) >= Number(base.finished_at));
  }
});

// ---------------------------------------------------------------- item 4

Deno.test("a change under a service's watch_paths makes it due; path components match whole", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "shared/settings.env": "A=1\n",
    "shared-other/settings.env": "A=1\n",
    "api/.update-hooks.yaml": appendingHooks(log, { watch_paths: ["shared"] }),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2);

  await fixture.push({ "shared-other/settings.env": "A=2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.equal((await readLines(log)).length, 2, "shared-other is not shared");

  await fixture.push({ "shared/settings.env": "A=2\n" });
  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual((await readLines(log)).slice(2), ["api"]);
  const [newest] = await historyOf(fixture.clone, "api");
  assert.equal(newest.reason.kind, "changed");
  assert.deepEqual(newest.reason.paths, ["shared/settings.env"]);
});

Deno.test("a service for other hosts is neither run nor listed; --host selects it", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "edge/.update-hooks.yaml": appendingHooks(log, { hosts: ["other"] }),
    "api/.update-hooks.yaml": appendingHooks(log),
  });
  const here = ["--host", "this-machine"];

  assert.equal((await runOnce(fixture.clone, here)).code, 0);
  assert.deepEqual(await readLines(log), ["api"]);
  assert.deepEqual([...(await statusOf(fixture.clone, here)).keys()], ["api"]);
  const plan = await cli([
    "--repo",
    fixture.clone,
    ...here,
    "plan",
    "--no-fetch",
    "--json",
  ]);
  assert.deepEqual(
    parseJson<{ services: { name: string }[] }>(plan).services.map((s) =>
      s.name
    ),
    ["api"],
  );
  const deploy = await cli([
    "--repo",
    fixture.clone,
    ...here,
    "deploy",
    "edge",
  ]);
  assert.equal(deploy.code, 2);
  assert.match(deploy.stderr, /known services on this host: api$/m);

  const other = await runOnce(fixture.clone, ["--host", "OTHER"]);
  assert.equal(other.code, 0, other.stderr);
  assert.deepEqual(await readLines(log), ["api", "edge"]);
  assert.deepEqual(
    [...(await statusOf(fixture.clone, ["--host", "other"])).keys()],
    ["api", "edge"],
  );
});

Deno.test("UPSTREAM_WATCH_HOST selects the host; --host wins over it", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "edge/.update-hooks.yaml": appendingHooks(log, { hosts: ["edge-1"] }),
    "core/.update-hooks.yaml": appendingHooks(log, { hosts: ["core-1"] }),
  });
  await git(fixture.clone, "pull", "--quiet");

  const byEnv = await spawnCli(
    ["--repo", fixture.clone, "status", "--json"],
    { env: { UPSTREAM_WATCH_HOST: "edge-1" } },
  );
  assert.equal(byEnv.code, 0, byEnv.stderr);
  const status = parseJson<{ host: string; services: { name: string }[] }>(
    byEnv,
  );
  assert.equal(status.host, "edge-1");
  assert.deepEqual(status.services.map((s) => s.name), ["edge"]);

  const run = await spawnCli(
    ["--repo", fixture.clone, "--host", "core-1", "run", "--once"],
    { env: { UPSTREAM_WATCH_HOST: "edge-1" } },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await readLines(log), ["core"]);
});

// ---------------------------------------------------------------- item 8

/** The original Go tool's schema, verbatim. */
const GO_TOOL_SCHEMA =
  "CREATE TABLE modules (id INTEGER PRIMARY KEY AUTOINCREMENT, name text, git_commit text NULL, updated boolean, UNIQUE (name, git_commit));";

Deno.test("the Go tool's state file is imported on first start: services at existing commits count as deployed", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const old = await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
    "db/.update-hooks.yaml": appendingHooks(log),
    "cache/.update-hooks.yaml": appendingHooks(log),
  });
  const head = await fixture.push({ "api/compose.yaml": "v2\n" });
  await git(fixture.clone, "pull", "--quiet");
  const missing = "0123456789abcdef0123456789abcdef01234567";
  const legacy = new DatabaseSync(state);
  legacy.exec(GO_TOOL_SCHEMA);
  const insert = legacy.prepare(
    "INSERT INTO modules (name, git_commit, updated) VALUES (?, ?, ?)",
  );
  insert.run("api", old, 1);
  insert.run("web", old, 1);
  insert.run("cache", head, 1);
  // Recorded later than web's real commit, but this commit is not in the history.
  insert.run("web", missing, 1);
  insert.run("db", missing, 1);
  legacy.close();

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /migrated the original upstream-watch database: 3 services imported from 5 records/,
  );
  assert.match(
    result.stderr,
    new RegExp(`imported web as deployed at ${old.slice(0, 12)}`),
  );
  // api changed since its imported commit, db's commit is unknown: both run; web and cache do not.
  assert.deepEqual((await readLines(log)).sort(), ["api", "db"]);
  assert.equal(serviceRow(state, "web")?.deployed_commit, old);
  assert.equal(serviceRow(state, "cache")?.deployed_commit, head);
  assert.equal(serviceRow(state, "api")?.deployed_commit, head);
  assert.equal(runRows(state, "api")[0].reason !== null, true);
  assert.equal(
    JSON.parse(String(runRows(state, "api")[0].reason)).kind,
    "changed",
  );
  const [{ user_version }] = queryState(state, "PRAGMA user_version");
  assert.ok(Number(user_version) >= 1);

  const again = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /migrated/, "imported once");
  assert.equal((await readLines(log)).length, 2);
});

// ---------------------------------------------------------------- item 9

Deno.test("history_limit keeps only the newest runs of a service and their output", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": hookFile({ history_limit: 3 }),
  });
  const state = stateFileOf(fixture.clone);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["echo one", "echo two"],
    }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  for (let i = 0; i < 4; i++) {
    const result = await cli(["--repo", fixture.clone, "deploy", "api"]);
    assert.equal(result.code, 0, result.stderr);
  }

  const apiRuns = runRows(state, "api");
  assert.equal(apiRuns.length, 3);
  const kept = apiRuns.map((run) => Number(run.id));
  const all = queryState(state, "SELECT id FROM runs WHERE service = 'api'");
  assert.equal(all.length, 3);
  const commands = queryState(state, "SELECT run_id FROM run_commands");
  const webRun = Number(runRows(state, "web")[0].id);
  assert.deepEqual(
    [...new Set(commands.map((row) => Number(row.run_id)))].sort((a, b) =>
      a - b
    ),
    [...kept, webRun].sort((a, b) => a - b),
    "commands of pruned runs are gone too",
  );
  assert.equal(commands.length, 3 * 2 + 1);
  assert.equal(Math.max(...kept), Number(runRows(state).at(-1)!.id));
  assert.equal(runRows(state, "web").length, 1, "other services keep theirs");
});

// ---------------------------------------------------------------- item 10

/** `run --once` in its own process, logging JSON lines to stderr. */
function runOnceLoggingJson(repo: string): Promise<CliResult> {
  return spawnCli(["--repo", repo, "--log-format", "json", "run", "--once"]);
}

/** The records of the non-empty lines of a JSON log (fails on any other line). */
function jsonRecords(stderr: string) {
  return stderr.split("\n").filter((line) => line !== "").map((line) =>
    JSON.parse(line)
  );
}

Deno.test("--log-format json writes one JSON object per stderr line; run lines carry service, runId and commit", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["echo hello from the hook"],
    }),
  });

  const result = await runOnceLoggingJson(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
  const records = jsonRecords(result.stderr);
  assert.ok(records.length > 2);
  for (const record of records) {
    assert.equal(typeof record.time, "string");
    assert.ok(!Number.isNaN(Date.parse(record.time)), record.time);
    assert.match(record.level, /^(debug|info|warn|error)$/);
    assert.equal(typeof record.message, "string");
  }
  const [run] = runRows(stateFileOf(fixture.clone), "api");
  const head = await fixture.cloneHead();
  for (const pattern of [/^updating /, /^deployed /]) {
    const record = records.find((record) => pattern.test(record.message));
    assert.equal(record?.service, "api", String(pattern));
    assert.equal(record?.runId, Number(run.id), String(pattern));
    assert.ok(head.startsWith(record?.commit), String(pattern));
  }
});

Deno.test({
  name: "--log-format json: the hook's output lines carry the run id too",
  async fn() {
    await using fixture = await GitFixture.create({});
    await fixture.push({
      "api/.update-hooks.yaml": hookFile({
        update_commands: ["echo hello from the hook"],
      }),
    });
    const result = await runOnceLoggingJson(fixture.clone);
    assert.equal(result.code, 0, result.stderr);
    const records = jsonRecords(result.stderr);
    const [run] = runRows(stateFileOf(fixture.clone), "api");
    const hookLines = records.filter((record) =>
      /hello from the hook/.test(record.message)
    );
    assert.ok(hookLines.length >= 2, "the command and its output line");
    for (const line of hookLines) {
      assert.equal(line.service, "api");
      assert.equal(line.runId, Number(run.id));
    }
    // The same field must mean the same thing on every line of a run.
    const head = await fixture.cloneHead();
    for (const record of records.filter((record) => record.runId)) {
      assert.equal(record.commit, head, record.message);
    }
  },
});

Deno.test({
  name: "--log-format json: a command's final error is a JSON line too",
  async fn() {
    await using fixture = await GitFixture.create({});
    await fixture.push({
      "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
    });
    await git(fixture.clone, "commit", "--quiet", "--allow-empty", "-m", "x");

    const result = await runOnceLoggingJson(fixture.clone);

    assert.equal(result.code, 3);
    for (const record of jsonRecords(result.stderr)) {
      assert.equal(typeof record.message, "string");
    }
    assert.match(result.stderr, /diverged/);
  },
});

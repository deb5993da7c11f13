import assert from "node:assert/strict";
import { join } from "node:path";
import {
  C1,
  C2,
  C3,
  command,
  openStore,
  run,
  tempDir,
} from "../../tests/helpers/store_fixtures.ts";

Deno.test("startRun writes the run as running before any command", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const reason = {
    kind: "changed" as const,
    paths: ["api/compose.yaml"],
    totalPaths: 1,
    commits: [{ commit: C2, subject: "bump api" }],
  };
  const id = store.startRun(run({
    fromCommit: C1,
    toCommit: C2,
    revision: C2,
    attempt: 2,
    trigger: "manual",
    reason,
  }));
  assert.deepEqual(store.run(id), {
    id,
    service: "api",
    trigger: "manual",
    fromCommit: C1,
    toCommit: C2,
    revision: C2,
    attempt: 2,
    startedAt: 1000,
    finishedAt: null,
    outcome: "running",
    failedStep: null,
    error: null,
    reason,
  });
  const service = store.services().get("api");
  assert.equal(service?.lastRunId, id);
  assert.equal(service?.lastOutcome, "running");
  assert.equal(service?.lastRunAt, 1000);
  assert.equal(service?.deployedCommit, null);
});

Deno.test("a succeeded run records the deployed commit and its commands in order", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const id = store.startRun(run({ toCommit: C2 }));
  store.recordCommand(id, command(0, { step: "pre" }));
  store.recordCommand(id, command(1));
  store.finishRun(id, { outcome: "succeeded", finishedAt: 5000 });
  assert.equal(store.run(id)?.outcome, "succeeded");
  assert.equal(store.run(id)?.finishedAt, 5000);
  assert.deepEqual(store.commands(id), [
    command(0, { step: "pre" }),
    command(1),
  ]);
  const service = store.services().get("api");
  assert.equal(service?.deployedCommit, C2);
  assert.equal(service?.deployedAt, 5000);
  assert.equal(service?.lastOutcome, "succeeded");
  assert.equal(service?.failedAttempts, 0);
});

Deno.test("failed runs count attempts per revision and a new revision starts again at one", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const fail = (revision: string) => {
    const id = store.startRun(run({ revision, toCommit: revision }));
    store.finishRun(id, {
      outcome: "failed",
      finishedAt: 2000,
      failedStep: "update",
      error: "update command failed (exit 1): false",
    });
    return id;
  };
  const first = fail(C1);
  assert.equal(store.run(first)?.failedStep, "update");
  assert.equal(
    store.run(first)?.error,
    "update command failed (exit 1): false",
  );
  fail(C1);
  let service = store.services().get("api");
  assert.equal(service?.failedAttempts, 2);
  assert.equal(service?.failedRevision, C1);
  assert.equal(service?.lastFailureAt, 2000);
  assert.equal(service?.deployedCommit, null);

  fail(C2);
  service = store.services().get("api");
  assert.equal(service?.failedAttempts, 1);
  assert.equal(service?.failedRevision, C2);

  const success = store.startRun(run({ revision: C3, toCommit: C3 }));
  store.finishRun(success, { outcome: "succeeded", finishedAt: 3000 });
  service = store.services().get("api");
  assert.equal(service?.failedAttempts, 0);
  assert.equal(service?.failedRevision, null);
  assert.equal(service?.lastFailureAt, null);
  assert.equal(service?.deployedCommit, C3);
});

Deno.test("finishing a run prunes the service's history to history_limit", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const apiRuns: number[] = [];
  for (let index = 0; index < 5; index++) {
    const other = store.startRun(run({ service: "web" }));
    store.recordCommand(other, command(0));
    store.finishRun(other, { outcome: "succeeded", finishedAt: 2000 });
    const id = store.startRun(run({ startedAt: 1000 + index }));
    store.recordCommand(id, command(0));
    store.finishRun(id, {
      outcome: "succeeded",
      finishedAt: 2000,
      historyLimit: 3,
    });
    apiRuns.push(id);
  }
  assert.deepEqual(
    store.runs({ service: "api", limit: 100 }).map((run) => run.id),
    apiRuns.slice(2).reverse(),
  );
  for (const pruned of apiRuns.slice(0, 2)) {
    assert.equal(store.run(pruned), undefined);
    assert.deepEqual(store.commands(pruned), []);
  }
  assert.equal(store.commands(apiRuns[4]).length, 1);
  assert.equal(store.runs({ service: "web", limit: 100 }).length, 5);
});

Deno.test("runs are listed newest first, limited and filtered by service", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const ids = ["api", "web", "api", "db", "api"].map((service) =>
    store.startRun(run({ service }))
  );
  assert.deepEqual(
    store.runs({ limit: 100 }).map((run) => run.id),
    [...ids].reverse(),
  );
  assert.deepEqual(store.runs({ limit: 2 }).map((run) => run.id), [
    ids[4],
    ids[3],
  ]);
  assert.deepEqual(
    store.runs({ service: "api", limit: 100 }).map((run) => run.id),
    [ids[4], ids[2], ids[0]],
  );
  assert.deepEqual(store.runs({ service: "nope", limit: 100 }), []);
});

Deno.test("markInterruptedRuns turns running rows into interrupted ones once", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const done = store.startRun(run({ service: "web" }));
  store.finishRun(done, { outcome: "succeeded", finishedAt: 2000 });
  const cutOff = store.startRun(run());
  const interrupted = store.markInterruptedRuns(9000);
  assert.deepEqual(interrupted.map((run) => run.id), [cutOff]);
  assert.equal(interrupted[0].service, "api");
  const row = store.run(cutOff);
  assert.equal(row?.outcome, "interrupted");
  assert.equal(row?.finishedAt, 9000);
  assert.ok(row?.error);
  assert.equal(store.services().get("api")?.lastOutcome, "interrupted");
  assert.equal(store.run(done)?.outcome, "succeeded");
  assert.equal(store.services().get("web")?.lastOutcome, "succeeded");
  assert.deepEqual(store.markInterruptedRuns(10_000), []);
});

Deno.test("a run keeps its command's process group while the command runs, for recovery after a crash", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const finished = store.startRun(run());
  store.recordProcessGroup(finished, { pgid: 4242, startTime: "1234" });
  store.recordCommand(finished, {
    seq: 0,
    step: "update",
    command: "true",
    startedAt: 1000,
    finishedAt: 1100,
    exitCode: 0,
    timedOut: false,
    output: "",
    truncated: false,
  });
  store.finishRun(finished, { outcome: "succeeded", finishedAt: 1200 });
  const cutOff = store.startRun(run());
  store.recordProcessGroup(cutOff, { pgid: 4343, startTime: null });

  const interrupted = store.markInterruptedRuns(9000);

  assert.deepEqual(
    interrupted.map((run) => [run.id, run.processGroup]),
    [[cutOff, { pgid: 4343, startTime: null }]],
  );
  // Recovered once: a second start finds nothing to stop.
  assert.deepEqual(store.markInterruptedRuns(10_000), []);
});

Deno.test("an interrupted run is not a failed attempt", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  store.startRun(run());
  store.markInterruptedRuns(9000);
  assert.equal(store.services().get("api")?.failedAttempts, 0);
});

Deno.test("setDeployed marks services as deployed without a run", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  store.setDeployed(["api", "web"], C2, 4000);
  const services = store.services();
  assert.deepEqual([...services.keys()], ["api", "web"]);
  assert.equal(services.get("web")?.deployedCommit, C2);
  assert.equal(services.get("web")?.deployedAt, 4000);
  assert.equal(services.get("web")?.lastRunId, null);
  assert.deepEqual(store.runs({ limit: 10 }), []);
});

Deno.test("finishing an unknown run throws and changes nothing", () => {
  using dir = tempDir();
  using store = openStore(join(dir.path, "state.sqlite"));
  const id = store.startRun(run());
  assert.throws(
    () => store.finishRun(id + 1, { outcome: "succeeded", finishedAt: 2000 }),
    /does not exist/,
  );
  assert.equal(store.run(id)?.outcome, "running");
  assert.equal(store.services().get("api")?.deployedCommit, null);
  // The failed transaction was rolled back: the next one can start.
  store.finishRun(id, { outcome: "succeeded", finishedAt: 2000 });
  assert.equal(store.services().get("api")?.deployedCommit, C1);
});

/** GET /metrics and /healthz through the handler, fed by the agent telemetry. */
import assert from "node:assert/strict";
import type { CycleReport } from "../results/cycle_result.ts";
import { SyncError } from "../errors.ts";
import {
  fakeAgent,
  run,
  service,
} from "../../tests/helpers/handler_fixture.ts";
import { parsePrometheus } from "../../tests/helpers/prometheus.ts";

Deno.test("GET /metrics is Prometheus text with cumulative histograms and escaped labels", async () => {
  const weird = 'we"b\\n';
  const runs = [
    run({
      id: 1,
      service: "api",
      outcome: "succeeded",
      startedAt: 0,
      finishedAt: 2500,
    }),
    run({
      id: 2,
      service: weird,
      outcome: "failed",
      startedAt: 0,
      finishedAt: 40_000,
    }),
  ];
  const agent = fakeAgent({
    runs,
    services: [
      service("api"),
      service(weird, { deployedCommit: null, failedAttempts: 1 }),
    ],
  });
  const completed: CycleReport = {
    kind: "completed",
    trigger: "webhook",
    startedAt: 1_000,
    finishedAt: 2_000,
    result: {
      trigger: "webhook",
      sync: { before: "a", after: "b", upstream: "b" },
      runs: runs.map((record) => ({
        service: record.service,
        runId: record.id,
        outcome: record.outcome as "succeeded" | "failed",
        reason: record.reason,
      })),
      removed: [],
      failed: true,
    },
  };
  agent.telemetry.cycleStarted("webhook", 1_000);
  agent.telemetry.cycleFinished(completed);
  agent.telemetry.cycleFinished({
    kind: "sync_failed",
    trigger: "poll",
    startedAt: 3_000,
    finishedAt: 3_100,
    error: new SyncError("cannot fetch"),
  });

  const response = await agent.handler(
    new Request("http://agent.test/metrics"),
  );
  assert.equal(response.status, 200);
  assert.match(
    response.headers.get("content-type")!,
    /^text\/plain; version=0\.0\.4/,
  );
  const samples = parsePrometheus(await response.text());

  const escaped = 'service="we\\"b\\\\n"';
  assert.equal(
    samples.get(
      'upstream_watch_cycles_total{trigger="webhook",outcome="completed"}',
    ),
    1,
  );
  assert.equal(
    samples.get(
      'upstream_watch_cycles_total{trigger="poll",outcome="sync_failed"}',
    ),
    1,
  );
  assert.equal(
    samples.get('upstream_watch_runs_total{service="api",outcome="succeeded"}'),
    1,
  );
  assert.equal(
    samples.get(`upstream_watch_runs_total{${escaped},outcome="failed"}`),
    1,
  );
  assert.equal(
    samples.get(
      'upstream_watch_run_duration_seconds_bucket{service="api",le="1"}',
    ),
    0,
  );
  assert.equal(
    samples.get(
      'upstream_watch_run_duration_seconds_bucket{service="api",le="5"}',
    ),
    1,
  );
  assert.equal(
    samples.get(
      'upstream_watch_run_duration_seconds_bucket{service="api",le="+Inf"}',
    ),
    1,
  );
  assert.equal(
    samples.get('upstream_watch_run_duration_seconds_sum{service="api"}'),
    2.5,
  );
  assert.equal(
    samples.get(
      `upstream_watch_run_duration_seconds_bucket{${escaped},le="30"}`,
    ),
    0,
  );
  assert.equal(
    samples.get("upstream_watch_last_successful_sync_timestamp_seconds"),
    1,
  );
  assert.equal(
    samples.get('upstream_watch_service_deployed{service="api"}'),
    1,
  );
  assert.equal(samples.get(`upstream_watch_service_deployed{${escaped}}`), 0);
  assert.equal(samples.get('upstream_watch_service_failing{service="api"}'), 0);
  assert.equal(samples.get(`upstream_watch_service_failing{${escaped}}`), 1);
});

Deno.test("health is 200 while the last sync is within three intervals and 503 with the reason after", async () => {
  let now = 0;
  const agent = fakeAgent({ now: () => now });
  const health = async () => {
    const response = await agent.handler(
      new Request("http://agent.test/healthz"),
    );
    return { status: response.status, body: await response.text() };
  };
  assert.equal((await health()).status, 200, "starting");
  agent.telemetry.cycleStarted("poll", 0);
  now = 500_000;
  assert.equal((await health()).status, 503, "a cycle running for 8 minutes");
  agent.telemetry.cycleFinished({
    kind: "completed",
    trigger: "poll",
    startedAt: 480_000,
    finishedAt: 500_000,
    result: {
      trigger: "poll",
      sync: { before: "a", after: "a", upstream: "a" },
      runs: [],
      removed: [],
      failed: false,
    },
  });
  assert.equal((await health()).status, 200);
  now = 480_000 + 170_000;
  agent.telemetry.cycleStarted("poll", now);
  agent.telemetry.cycleFinished({
    kind: "sync_failed",
    trigger: "poll",
    startedAt: now,
    finishedAt: now,
    error: new SyncError("cannot fetch main from origin: repository not found"),
  });
  const within = await health();
  assert.equal(within.status, 200);
  assert.match(within.body, /the last attempt failed/);
  now = 480_000 + 181_000;
  agent.telemetry.cycleStarted("poll", now);
  const after = await health();
  assert.equal(
    after.status,
    503,
    "a new attempt after a failure does not count",
  );
  assert.match(after.body, /last successful sync 181 s ago/);
  assert.match(after.body, /repository not found/);
});

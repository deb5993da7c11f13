/** The webhook, /healthz, /api/status and /metrics of a real daemon on 127.0.0.1. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitUntil } from "./helpers/agent_process.ts";
import { cli } from "./helpers/cli.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort } from "./helpers/http_receiver.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";
import {
  pushBody,
  pushHeaders,
  type Sender,
} from "./helpers/webhook_requests.ts";
import { SECRET } from "./helpers/handler_fixture.ts";
import { parsePrometheus } from "./helpers/prometheus.ts";

/** The repository config of a daemon with its webhook on a free port of 127.0.0.1. */
function daemonConfig(port: number, extra = ""): string {
  return [
    `webhook:`,
    `  listen: "127.0.0.1:${port}"`,
    `  secret: "\${UW_HTTP_TEST_SECRET}"`,
    extra,
  ].join("\n") + "\n";
}

async function startDaemon(
  fixture: GitFixture,
  args: string[] = [],
): Promise<DaemonProcess> {
  return await DaemonProcess.start(
    ["--repo", fixture.clone, "--host", "test-host", "run", ...args],
    { env: { UW_HTTP_TEST_SECRET: SECRET } },
  );
}

async function postPush(
  daemon: DaemonProcess,
  sender: Sender = "github",
): Promise<Response> {
  const body = pushBody("main");
  return await fetch(`${daemon.url}/webhook`, {
    method: "POST",
    headers: pushHeaders(sender, SECRET, body),
    body,
  });
}

async function metrics(daemon: DaemonProcess): Promise<Map<string, number>> {
  const response = await fetch(`${daemon.url}/metrics`);
  return parsePrometheus(await response.text());
}

function webhookCycles(samples: Map<string, number>): number {
  return [...samples].filter(([key]) =>
    key.startsWith('upstream_watch_cycles_total{trigger="webhook"')
  ).reduce((sum, [, value]) => sum + value, 0);
}

Deno.test("a signed push deploys at once with trigger webhook, well before the next poll", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort(), "retry_interval: 3600"),
  });
  const log = join(fixture.root, "ran.log");
  const hooks = hookFile({
    update_commands: [`date +%s%3N >> '${log}'`],
  });
  await fixture.push({ "api/.update-hooks.yaml": hooks });
  await using daemon = await startDaemon(fixture);
  await waitUntil(async () => (await readLines(log)).length === 1, {
    message: "the first deploy",
  });

  const latencies: number[] = [];
  for (let round = 1; round <= 3; round++) {
    const commit = await fixture.push({ "api/app.conf": `v${round}\n` });
    const sentAt = Date.now();
    const response = await postPush(daemon);
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), {
      status: "accepted",
      cycle: "started",
    });
    const lines = await waitUntil(async () => {
      const lines = await readLines(log);
      return lines.length === round + 1 ? lines : undefined;
    }, { message: `deploy ${round}` });
    latencies.push(Number(lines.at(-1)) - sentAt);
    const last = runRows(stateFileOf(fixture.clone)).at(-1)!;
    assert.equal(last.trigger, "webhook");
    assert.equal(last.to_commit, commit);
  }
  // Recorded for the operator's guide; asserted loosely (the poll interval is an hour).
  await Deno.mkdir("test-output", { recursive: true });
  await Deno.writeTextFile(
    "test-output/webhook_latency.txt",
    `webhook received → first hook command started, ms: ${
      latencies.join(", ")
    }\n`,
  );
  assert.ok(Math.max(...latencies) < 10_000, latencies.join(", "));
});

Deno.test("a burst of 100 signed pushes runs at most two cycles", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort(), "retry_interval: 3600"),
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [`echo "$UPSTREAM_WATCH_COMMIT" >> '${log}'; sleep 0.5`],
    }),
  });
  await using daemon = await startDaemon(fixture);
  const succeeded = () =>
    runRows(stateFileOf(fixture.clone)).filter((row) =>
      row.outcome === "succeeded"
    ).length;
  await waitUntil(() => succeeded() === 1, { message: "the first deploy" });
  const commit = await fixture.push({ "api/app.conf": "burst\n" });

  const senders: Sender[] = ["github", "gitea", "gitlab", "bearer"];
  const responses = await Promise.all(
    Array.from(
      { length: 100 },
      (_, index) => postPush(daemon, senders[index % senders.length]),
    ),
  );
  const answers = await Promise.all(
    responses.map(async (response) => {
      assert.equal(response.status, 202);
      return (await response.json()).cycle;
    }),
  );
  // One request starts a cycle, at most one more queues the next; the rest join that one.
  const starting = answers.filter((cycle) => cycle !== "coalesced");
  assert.ok(starting.length >= 1 && starting.length <= 2, starting.join());

  await waitUntil(() => succeeded() === 2, {
    message: "the pushed commit deployed",
  });
  // Give a queued cycle time to run (it finds nothing to do).
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const samples = await metrics(daemon);
  const cycles = webhookCycles(samples);
  assert.ok(cycles >= 1 && cycles <= 2, `${cycles} webhook cycles`);
  assert.equal(
    samples.get('upstream_watch_webhook_requests_total{result="accepted"}'),
    100,
  );
  const deploys = await readLines(log);
  assert.deepEqual(deploys.slice(1), [commit], "the burst deployed once");
});

/** Sends `count` requests made by `request`, `concurrency` at a time; their answers in order. */
async function sendAll(
  count: number,
  concurrency: number,
  request: (index: number) => Promise<Response>,
): Promise<{ status: number; body: Record<string, string> }[]> {
  const answers: { status: number; body: Record<string, string> }[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const index = next++;
      const response = await request(index);
      answers[index] = { status: response.status, body: await response.json() };
    }
  }));
  return answers;
}

/** Waits until the daemon has been idle for a moment, then counts its webhook cycles. */
async function settledWebhookCycles(daemon: DaemonProcess): Promise<number> {
  let last = -1;
  while (true) {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const cycles = webhookCycles(await metrics(daemon));
    if (cycles === last) return cycles;
    last = cycles;
  }
}

Deno.test("200 deliveries of pushes arriving while short cycles run cause at most two cycles", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort(), "retry_interval: 3600"),
  });
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  await using daemon = await startDaemon(fixture);
  await waitUntil(
    () => runRows(stateFileOf(fixture.clone)).length === 1,
    { message: "the first deploy" },
  );
  // Nothing changes upstream: every cycle is a fetch and nothing else, so
  // cycles end while the deliveries still come in.
  const answers = await sendAll(200, 4, () => postPush(daemon, "github"));
  assert.ok(answers.every((answer) => answer.status === 202));
  const cycles = await settledWebhookCycles(daemon);
  assert.ok(cycles >= 1 && cycles <= 2, `${cycles} webhook cycles`);
});

Deno.test("replays of one delivery id start one cycle; the rest are answered as duplicates", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort(), "retry_interval: 3600"),
  });
  await using daemon = await startDaemon(fixture);
  const body = pushBody("main");
  const headers = pushHeaders("github", SECRET, body);
  const replay = async () =>
    await fetch(`${daemon.url}/webhook`, { method: "POST", headers, body });
  const first = await replay();
  assert.equal(first.status, 202);
  assert.equal((await first.json()).status, "accepted");
  // Spread out, so that none of them could coalesce with another.
  for (let round = 0; round < 5; round++) {
    await new Promise((resolve) => setTimeout(resolve, 400));
    const answers = await sendAll(30, 3, replay);
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.equal(answer.body.status, "duplicate");
    }
  }
  assert.equal(await settledWebhookCycles(daemon), 1);
  const samples = await metrics(daemon);
  assert.equal(
    samples.get('upstream_watch_webhook_requests_total{result="duplicate"}'),
    150,
  );
});

Deno.test("/healthz turns 503 with the reason when the upstream disappears, and 200 when it is back", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort()),
  });
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  await using daemon = await startDaemon(fixture, ["--interval", "0.3"]);
  const health = async () => {
    const response = await fetch(`${daemon.url}/healthz`);
    return { status: response.status, body: await response.text() };
  };
  await waitUntil(async () => {
    const { status, body } = await health();
    return status === 200 && /last successful sync/.test(body);
  }, { message: "healthy" });

  const moved = `${fixture.upstream}.gone`;
  await Deno.rename(fixture.upstream, moved);
  const down = await waitUntil(async () => {
    const result = await health();
    return result.status === 503 ? result : undefined;
  }, { message: "unhealthy" });
  assert.match(down.body, /more than 3 intervals of 0\.3 s/);
  assert.match(down.body, /cannot fetch main from origin/);

  await Deno.rename(moved, fixture.upstream);
  await waitUntil(async () => (await health()).status === 200, {
    message: "healthy again",
  });
  const samples = await metrics(daemon);
  assert.ok(
    (samples.get(
      'upstream_watch_cycles_total{trigger="poll",outcome="sync_failed"}',
    ) ?? 0) >= 1,
  );
});

Deno.test("GET /api/status serves the status --json document and /metrics counts the daemon's runs", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort(), "retry_interval: 3600"),
  });
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["exit 3"] }),
  });
  await using daemon = await startDaemon(fixture);
  await waitUntil(
    () =>
      runRows(stateFileOf(fixture.clone)).filter((row) =>
        row.outcome !== "running"
      ).length === 2,
    { message: "both services ran" },
  );

  const served = await (await fetch(`${daemon.url}/api/status`)).json();
  const printed = await cli([
    "--repo",
    fixture.clone,
    "--host",
    "test-host",
    "status",
    "--json",
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(served, JSON.parse(printed.stdout));
  assert.deepEqual(
    served.services.map((
      entry: { name: string; lastRun: { outcome: string } },
    ) => [
      entry.name,
      entry.lastRun.outcome,
    ]),
    [["api", "succeeded"], ["web", "failed"]],
  );

  const samples = await metrics(daemon);
  assert.equal(
    samples.get('upstream_watch_runs_total{service="api",outcome="succeeded"}'),
    1,
  );
  assert.equal(
    samples.get('upstream_watch_runs_total{service="web",outcome="failed"}'),
    1,
  );
  assert.equal(samples.get('upstream_watch_service_failing{service="web"}'), 1);
  assert.equal(
    samples.get('upstream_watch_service_deployed{service="api"}'),
    1,
  );
  assert.ok(
    (samples.get("upstream_watch_last_successful_sync_timestamp_seconds") ??
      0) >
      Date.now() / 1000 - 60,
  );

  const stopped = await daemon.stop();
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stderr, /INF stopped/);
});

Deno.test("a webhook without a secret is refused at start unless insecure: true", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": `webhook:\n  listen: "127.0.0.1:${freePort()}"\n`,
  });
  const result = await cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /webhook\.secret is required unless webhook\.insecure: true/,
  );
});

Deno.test("a webhook secret naming an unset environment variable is a configuration error", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": daemonConfig(freePort()),
  });
  const result = await DaemonProcess.start(["--repo", fixture.clone, "run"], {
    startTimeoutMs: 15_000,
  }).then(
    () => assert.fail("the daemon started"),
    (error: Error) => error.message,
  );
  assert.match(result, /webhook\.secret.*UW_HTTP_TEST_SECRET is not set/);
});

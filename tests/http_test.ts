import assert from "node:assert/strict";
import { join } from "node:path";
import type { StatusDocument } from "../src/report/documents.ts";
import { createHandler, type HandlerDeps } from "../src/http/handler.ts";
import { AgentTelemetry } from "../src/http/telemetry.ts";
import { MAX_WEBHOOK_BODY_BYTES } from "../src/http/webhook.ts";
import { agentLogger } from "../src/log/logging.ts";
import { type CycleReport, CycleRequests } from "../src/reconcile/daemon.ts";
import { SyncError } from "../src/errors.ts";
import type {
  CommandRecord,
  RunRecord,
  ServiceRecord,
} from "../src/state/types.ts";
import { waitUntil } from "./helpers/agent_process.ts";
import { cli } from "./helpers/cli.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort } from "./helpers/http_receiver.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";
import {
  hubSignature,
  pushBody,
  pushHeaders,
  type Sender,
} from "./helpers/webhook_requests.ts";

const SECRET = "correct horse battery staple";

// ------------------------------------------------------------ handler only

interface FakeAgent {
  handler: (request: Request) => Promise<Response>;
  /** Cycles the handler asked for. */
  cycles: number;
  telemetry: AgentTelemetry;
}

function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 7,
    service: "api",
    trigger: "webhook",
    fromCommit: "a".repeat(40),
    toCommit: "b".repeat(40),
    revision: "b".repeat(40),
    attempt: 1,
    startedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    finishedAt: Date.UTC(2026, 0, 2, 3, 4, 7),
    outcome: "failed",
    failedStep: "update",
    error: "update command failed (exit 1)",
    reason: { kind: "changed", paths: ["api/compose.yaml"], totalPaths: 1 },
    ...overrides,
  };
}

function service(
  name: string,
  overrides: Partial<ServiceRecord> = {},
): ServiceRecord {
  return {
    name,
    deployedCommit: "c".repeat(40),
    deployedAt: 1,
    lastRunId: null,
    lastOutcome: "succeeded",
    lastRunAt: 1,
    failedAttempts: 0,
    failedRevision: null,
    lastFailureAt: null,
    removedAt: null,
    ...overrides,
  };
}

/** A handler over fake state: runs and services given, cycles counted. */
function fakeAgent(
  options: {
    webhook?: HandlerDeps["webhook"] | null;
    runs?: RunRecord[];
    commands?: CommandRecord[];
    services?: ServiceRecord[];
    document?: StatusDocument;
    now?: () => number;
  } = {},
): FakeAgent {
  const runs = options.runs ?? [];
  const services = new Map(
    (options.services ?? []).map((record) => [record.name, record]),
  );
  const telemetry = new AgentTelemetry({
    store: {
      run: (id) => runs.find((record) => record.id === id),
      services: () => services,
    },
    now: options.now ?? Date.now,
    intervalSeconds: () => 60,
  });
  const agent: FakeAgent = {
    cycles: 0,
    telemetry,
    handler: createHandler({
      webhook: options.webhook === null
        ? undefined
        : options.webhook ?? { secret: SECRET, branch: "main" },
      requestCycle: () => {
        agent.cycles++;
        return agent.cycles === 1 ? "started" : "coalesced";
      },
      statusDocument: () =>
        Promise.resolve(
          options.document ?? {
            repository: "/srv/infra",
            remote: "origin",
            branch: "main",
            host: "test-host",
            head: "b".repeat(40),
            upstream: "b".repeat(40),
            verification: null,
            services: [],
          },
        ),
      store: {
        runs: ({ limit }) => runs.slice(0, limit),
        run: (id) => runs.find((record) => record.id === id),
        commands: () => options.commands ?? [],
      },
      commitSubject: (commit) =>
        Promise.resolve(`subject of ${commit.slice(0, 4)}`),
      telemetry,
      logger: agentLogger(),
      version: "0.0.0-test",
      now: Date.now,
    }),
  };
  return agent;
}

function webhookRequest(
  headers: Record<string, string>,
  body: BodyInit | null,
): Request {
  return new Request("http://agent.test/webhook", {
    method: "POST",
    headers,
    body,
  });
}

async function send(
  agent: FakeAgent,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await agent.handler(webhookRequest(headers, body));
  return { status: response.status, json: await response.json() };
}

const SENDERS: Sender[] = ["github", "gitea", "forgejo", "gitlab", "bearer"];

for (const sender of SENDERS) {
  Deno.test(`a ${sender} push with the right secret starts a cycle and answers 202`, async () => {
    const agent = fakeAgent();
    const body = pushBody("main");
    const { status, json } = await send(
      agent,
      pushHeaders(sender, SECRET, body),
      body,
    );
    assert.equal(status, 202);
    assert.deepEqual(json, { status: "accepted", cycle: "started" });
    assert.equal(agent.cycles, 1);
  });

  Deno.test(`a ${sender} push with a wrong secret is refused with 401 and starts nothing`, async () => {
    const agent = fakeAgent();
    const body = pushBody("main");
    const { status, json } = await send(
      agent,
      pushHeaders(sender, `${SECRET}!`, body),
      body,
    );
    assert.equal(status, 401);
    assert.equal(json.status, "rejected");
    assert.equal(agent.cycles, 0);
  });
}

Deno.test("a signature over a different body is refused with 401", async () => {
  const agent = fakeAgent();
  const signed = pushBody("main");
  const sent = signed.replace("ops/infra", "ops/other");
  const { status } = await send(agent, {
    "X-GitHub-Event": "push",
    "X-Hub-Signature-256": hubSignature(SECRET, signed),
  }, sent);
  assert.equal(status, 401);
  assert.equal(agent.cycles, 0);
});

Deno.test("a push without any signature or token is refused with 401", async () => {
  const agent = fakeAgent();
  const attempts: Record<string, string>[] = [
    { "X-GitHub-Event": "push" },
    { "X-Hub-Signature-256": "sha256=not-hex" },
    { Authorization: `Basic ${btoa(`user:${SECRET}`)}` },
  ];
  for (const headers of attempts) {
    const { status } = await send(agent, headers, pushBody());
    assert.equal(status, 401, JSON.stringify(headers));
  }
  assert.equal(agent.cycles, 0);
});

Deno.test("with insecure: true and no secret an unsigned push starts a cycle", async () => {
  const agent = fakeAgent({ webhook: { branch: "main" } });
  const { status } = await send(
    agent,
    { "Content-Type": "application/json" },
    pushBody(),
  );
  assert.equal(status, 202);
  assert.equal(agent.cycles, 1);
});

Deno.test("a body over 1 MiB is refused with 413, announced by Content-Length or not", async () => {
  const agent = fakeAgent();
  const big = JSON.stringify({
    ref: "refs/heads/main",
    padding: "x".repeat(MAX_WEBHOOK_BODY_BYTES),
  });
  const announced = await agent.handler(webhookRequest({
    ...pushHeaders("github", SECRET, big),
    "Content-Length": String(big.length),
  }, big));
  assert.equal(announced.status, 413);
  await announced.body?.cancel();

  // Chunked: no Content-Length, the limit is enforced while reading.
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent > MAX_WEBHOOK_BODY_BYTES * 4) controller.close();
      else {
        sent += chunk.length;
        controller.enqueue(chunk);
      }
    },
  });
  const chunked = await agent.handler(
    new Request("http://agent.test/webhook", {
      method: "POST",
      headers: { Authorization: `Bearer ${SECRET}` },
      body: stream,
    }),
  );
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  assert.ok(
    sent < MAX_WEBHOOK_BODY_BYTES * 2,
    `read ${sent} bytes before refusing`,
  );
  assert.equal(agent.cycles, 0);
});

Deno.test("a malformed body is refused with 400 and starts nothing", async () => {
  const agent = fakeAgent();
  for (const body of ['{"ref": "refs/heads/main"', "[1, 2]", "\xff\xfe"]) {
    const { status, json } = await send(
      agent,
      pushHeaders("github", SECRET, body),
      body,
    );
    assert.equal(status, 400, body);
    assert.match(String(json.reason), /malformed body/);
  }
  assert.equal(agent.cycles, 0);
});

Deno.test("pushes to other branches and other events are acknowledged and ignored; a ping answers 200", async () => {
  const agent = fakeAgent();
  for (const sender of SENDERS) {
    const body = pushBody("feature/x");
    const { status, json } = await send(
      agent,
      pushHeaders(sender, SECRET, body),
      body,
    );
    assert.equal(status, 202, sender);
    assert.equal(json.status, "ignored");
    assert.match(String(json.reason), /refs\/heads\/feature\/x/);
  }
  const tag = JSON.stringify({ ref: "refs/tags/v1.0.0" });
  assert.equal(
    (await send(agent, pushHeaders("gitlab", SECRET, tag), tag)).json.status,
    "ignored",
  );
  const issue = JSON.stringify({ action: "opened" });
  const ignored = await send(agent, {
    "X-GitHub-Event": "issues",
    "X-Hub-Signature-256": hubSignature(SECRET, issue),
  }, issue);
  assert.equal(ignored.status, 202);
  assert.equal(ignored.json.status, "ignored");
  const ping = JSON.stringify({ zen: "Keep it logically awesome." });
  const pong = await send(agent, {
    "X-GitHub-Event": "ping",
    "X-Hub-Signature-256": hubSignature(SECRET, ping),
  }, ping);
  assert.equal(pong.status, 200);
  assert.equal(agent.cycles, 0);
});

Deno.test("GitHub's form-encoded payload and an empty generic body are pushes too", async () => {
  const agent = fakeAgent();
  const form = `payload=${encodeURIComponent(pushBody("main"))}`;
  const { status } = await send(agent, {
    "Content-Type": "application/x-www-form-urlencoded",
    "X-GitHub-Event": "push",
    "X-Hub-Signature-256": hubSignature(SECRET, form),
  }, form);
  assert.equal(status, 202);
  const empty = await agent.handler(
    webhookRequest({ Authorization: `Bearer ${SECRET}` }, null),
  );
  assert.equal(empty.status, 202);
  await empty.body?.cancel();
  assert.equal(agent.cycles, 2);
});

Deno.test("without webhook settings POST /webhook is 404; unknown paths 404 and wrong methods 405", async () => {
  const agent = fakeAgent({ webhook: null });
  const status = async (request: Request) => {
    const response = await agent.handler(request);
    await response.body?.cancel();
    return response.status;
  };
  assert.equal(await status(webhookRequest({}, pushBody())), 404);
  assert.equal(await status(new Request("http://agent.test/nope")), 404);
  assert.equal(
    await status(new Request("http://agent.test/webhook", { method: "GET" })),
    405,
  );
  assert.equal(
    await status(new Request("http://agent.test/", { method: "DELETE" })),
    405,
  );
  assert.equal(await status(new Request("http://agent.test/runs/99")), 404);
});

Deno.test("the run page escapes everything it prints", async () => {
  const hostile = "<script>alert('x')</script>";
  const agent = fakeAgent({
    runs: [run({ error: hostile })],
    commands: [{
      seq: 1,
      step: "update",
      command: `echo "${hostile}"`,
      startedAt: 0,
      finishedAt: 1200,
      exitCode: 1,
      timedOut: false,
      output: `${hostile}\n& more`,
      truncated: false,
    }],
  });
  const response = await agent.handler(new Request("http://agent.test/runs/7"));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/html/);
  const page = await response.text();
  assert.ok(
    !page.includes("<script>"),
    "no markup from the run reaches the page",
  );
  assert.ok(page.includes("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  assert.ok(page.includes("&amp; more"));
  assert.match(page, /exit 1/);
});

/** Checks the text exposition format line by line; returns samples by series. */
function parsePrometheus(text: string): Map<string, number> {
  const name = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const label = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
  const sample = new RegExp(
    `^(${name})(\\{${label}(?:,${label})*\\})? (-?(?:[0-9]+(?:\\.[0-9]+)?(?:e[+-]?[0-9]+)?|\\+Inf|NaN))$`,
  );
  const typed = new Map<string, string>();
  const helped = new Set<string>();
  const samples = new Map<string, number>();
  assert.ok(text.endsWith("\n"), "ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    const help = new RegExp(`^# HELP (${name}) \\S.*$`).exec(line);
    const type = new RegExp(
      `^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`,
    ).exec(line);
    if (help) {
      helped.add(help[1]);
      continue;
    }
    if (type) {
      assert.ok(!typed.has(type[1]), `one TYPE line per family: ${line}`);
      typed.set(type[1], type[2]);
      continue;
    }
    const match = sample.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    const family = match[1].replace(/_(bucket|sum|count)$/, "");
    const familyType = typed.get(match[1]) ?? typed.get(family);
    assert.ok(familyType, `sample before its TYPE line: ${line}`);
    assert.ok(
      helped.has(match[1]) || helped.has(family),
      `no HELP for ${line}`,
    );
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

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

Deno.test("cycle requests wake a waiting loop at once and coalesce while a cycle runs", async () => {
  const requests = new CycleRequests();
  const stop = new AbortController();
  const waiting = requests.next(60_000, stop.signal);
  assert.equal(requests.request(), "started");
  assert.equal(requests.request(), "coalesced");
  assert.equal(await waiting, "webhook", "woken long before the poll");

  requests.cycleRunning(true);
  const answers = Array.from({ length: 99 }, () => requests.request());
  requests.cycleRunning(false);
  assert.deepEqual(
    [answers[0], new Set(answers.slice(1))],
    ["queued", new Set(["coalesced"])],
  );
  assert.equal(await requests.next(60_000, stop.signal), "webhook");

  const idle = requests.next(60_000, stop.signal);
  stop.abort();
  assert.equal(await idle, undefined, "stop ends the wait");
});

// ------------------------------------------------------------ real daemon

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

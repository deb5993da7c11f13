import assert from "node:assert/strict";
import { join } from "node:path";
import { agentLogger } from "../src/log/logging.ts";
import { testEvent } from "../src/notify/event.ts";
import { NotificationQueue } from "../src/notify/queue.ts";
import { resolveTargets } from "../src/notify/target.ts";
import { cli, cliOnTestHost, spawnCli } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";
import {
  closedPort,
  type ReceivedRequest,
  Receiver,
} from "./helpers/http_receiver.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

/** `.upstream-watch.yaml` with the given notify entries (JSON is valid YAML flow style). */
function notifyConfig(
  targets: unknown[],
  extra: Record<string, unknown> = {},
): string {
  return hookFile({ ...extra, notify: targets });
}

function hostPort(receiver: Receiver): string {
  return receiver.url.replace(/^http:\/\//, "");
}

function jsonBody(request: ReceivedRequest): Record<string, unknown> {
  return JSON.parse(request.body);
}

function byPath(
  requests: readonly ReceivedRequest[],
  path: string,
): ReceivedRequest[] {
  return requests.filter((request) => request.path.split("?")[0] === path);
}

/** A hook command printing far more than 2 KiB, ending in a recognisable line, then failing. */
const NOISY_FAILURE =
  `i=1; while [ $i -le 400 ]; do echo "noise line $i"; i=$((i+1)); done; echo "the end <b>&"; exit 7`;

Deno.test("every notification format delivers its payload to a real receiver, only for the events it subscribes to", async () => {
  await using receiver = Receiver.start();
  const at = hostPort(receiver);
  Deno.env.set("UW_NOTIFY_TEST_GOTIFY_TOKEN", "gotify-app-token");
  await using fixture = await GitFixture.create({});
  const failed = ["deploy_failed"];
  await fixture.push({
    ".upstream-watch.yaml": notifyConfig([
      { url: `http://${at}/json`, events: failed },
      { url: `ntfy+http://${at}/deploys`, events: failed },
      {
        url: `http://${at}/gotify?token=\${UW_NOTIFY_TEST_GOTIFY_TOKEN}`,
        format: "gotify",
        events: failed,
      },
      { url: `discord+http://${at}/api/webhooks/123/abc`, events: failed },
      {
        url: `http://${at}/services/T1/B2/X3`,
        format: "slack",
        events: failed,
      },
      { url: `http://${at}/succeeded`, events: ["deploy_succeeded"] },
    ]),
    "api/.update-hooks.yaml": hookFile({ update_commands: [NOISY_FAILURE] }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });

  const result = await cliOnTestHost(fixture.clone, ["run", "--once"]);

  assert.equal(result.code, 1, result.stderr);
  const head = await fixture.cloneHead();
  // run --once waits for delivery before it returns: everything has arrived.
  const requests = receiver.requests;
  assert.equal(requests.length, 6, JSON.stringify(requests.map((r) => r.path)));

  const [json] = byPath(requests, "/json");
  assert.equal(json.headers.get("content-type"), "application/json");
  const document = jsonBody(json);
  assert.equal(document.event, "deploy_failed");
  assert.equal(document.service, "api");
  assert.equal(document.fromCommit, null);
  assert.equal(document.toCommit, head);
  assert.equal(document.outcome, "failed");
  assert.equal(document.failedStep, "update");
  assert.equal(document.host, "test-host");
  assert.equal(document.reason, "never deployed");
  assert.equal(document.attempt, 1);
  assert.equal(typeof document.runId, "number");
  assert.ok(!Number.isNaN(Date.parse(String(document.time))));
  assert.match(String(document.error), /exit 7/);
  const tail = String(document.outputTail);
  assert.ok(tail.length <= 2048, `tail is ${tail.length} characters`);
  assert.ok(tail.endsWith("the end <b>&\n"), tail.slice(-40));
  assert.ok(!tail.includes("noise line 1\n"), "only the tail is sent");
  assert.equal("fallback" in document, false);

  const [ntfy] = byPath(requests, "/deploys");
  assert.equal(ntfy.headers.get("title"), "api: deploy failed on test-host");
  assert.equal(ntfy.headers.get("priority"), "4");
  assert.equal(ntfy.headers.get("tags"), "x");
  assert.match(ntfy.body, /failed step: update \(attempt 1\)/);
  assert.match(ntfy.body, /the end <b>&/);

  const [gotify] = byPath(requests, "/gotify/message");
  assert.equal(gotify.headers.get("x-gotify-key"), "gotify-app-token");
  assert.ok(!gotify.path.includes("token"), "the token travels in a header");
  const gotifyBody = jsonBody(gotify);
  assert.equal(gotifyBody.title, "api: deploy failed on test-host");
  assert.equal(gotifyBody.priority, 8);
  assert.match(String(gotifyBody.message), /the end <b>&/);

  const [discord] = byPath(requests, "/api/webhooks/123/abc");
  const discordBody = jsonBody(discord);
  const content = String(discordBody.content);
  assert.ok(content.startsWith("**api: deploy failed on test-host**\n"));
  assert.ok(content.length <= 2000);
  assert.match(content, /the end <b>&/);
  assert.deepEqual(discordBody.allowed_mentions, { parse: [] });

  const [slack] = byPath(requests, "/services/T1/B2/X3");
  const text = String(jsonBody(slack).text);
  assert.ok(text.startsWith("*api: deploy failed on test-host*\n"));
  assert.match(text, /the end &lt;b&gt;&amp;/);

  const succeeded = byPath(requests, "/succeeded").map(jsonBody);
  assert.deepEqual(
    succeeded.map((event) => [event.event, event.service]),
    [["deploy_succeeded", "web"]],
  );
});

Deno.test("a service failing again at the same revision notifies once, and its next success sends recovered", async () => {
  await using receiver = Receiver.start();
  const at = hostPort(receiver);
  await using fixture = await GitFixture.create({});
  await fixture.push({
    ".upstream-watch.yaml": notifyConfig([
      { url: `http://${at}/all` },
      { url: `http://${at}/successes`, events: ["deploy_succeeded"] },
    ], { retry_backoff: 0.01, max_attempts: 5 }),
    "api/.update-hooks.yaml": hookFile({ update_commands: ["exit 1"] }),
  });
  const run = () => cli(["--repo", fixture.clone, "run", "--once"]);

  for (let attempt = 1; attempt <= 3; attempt++) {
    assert.equal((await run()).code, 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.deepEqual(
    runRows(stateFileOf(fixture.clone)).map((row) => row.attempt),
    [1, 2, 3],
    "the service was retried at the same revision",
  );
  assert.deepEqual(
    receiver.requests.map((request) => [request.path, jsonBody(request).event]),
    [["/all", "deploy_failed"]],
  );

  await fixture.push({
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await run()).code, 0);

  const after = receiver.requests.slice(1);
  const all = byPath(after, "/all").map(jsonBody);
  assert.deepEqual(all.map((event) => [event.event, event.service]), [[
    "recovered",
    "api",
  ]]);
  assert.equal(all[0].outcome, "succeeded");
  // A target that subscribes to deploy_succeeded only still hears about the deploy.
  const successes = byPath(after, "/successes").map(jsonBody);
  assert.deepEqual(successes.map((event) => event.event), [
    "deploy_succeeded",
  ]);
  assert.equal(successes[0].title, all[0].title);

  await fixture.push({ "api/app.conf": "v2\n" });
  assert.equal((await run()).code, 0);
  assert.deepEqual(
    receiver.requests.slice(3).map((request) => jsonBody(request).event),
    ["deploy_succeeded", "deploy_succeeded"],
    "a plain success after a success is no recovery",
  );
});

Deno.test("sync_failed is sent once per outage, even across restarts, and recovered when syncing works again", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  await fixture.push({
    ".upstream-watch.yaml": notifyConfig([{
      url: `${receiver.url}/sync`,
      events: ["sync_failed", "recovered"],
    }]),
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  const run = () => cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal((await run()).code, 0);
  assert.equal(receiver.requests.length, 0, "a deploy is not subscribed");

  const moved = `${fixture.upstream}.moved`;
  await Deno.rename(fixture.upstream, moved);
  const first = await run();
  const second = await run();
  assert.equal(first.code, 3, first.stderr);
  assert.equal(second.code, 3, second.stderr);
  const events = receiver.requests.map(jsonBody);
  assert.deepEqual(events.map((event) => event.event), ["sync_failed"]);
  assert.equal(events[0].service, null);
  assert.match(String(events[0].error), /cannot fetch main from origin/);

  await Deno.rename(moved, fixture.upstream);
  assert.equal((await run()).code, 0);
  const recovered = receiver.requests.slice(1).map(jsonBody);
  assert.deepEqual(
    recovered.map((event) => [event.event, event.service]),
    [["recovered", null]],
  );
  assert.match(String(recovered[0].reason), /syncing works again/);
  assert.equal((await run()).code, 0);
  assert.equal(receiver.requests.length, 2, "nothing more to report");
});

Deno.test("a service folder removed from git sends service_removed once", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  await fixture.push({
    ".upstream-watch.yaml": notifyConfig([{
      url: `${receiver.url}/removed`,
      events: ["service_removed"],
    }]),
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  const run = () => cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal((await run()).code, 0);
  const deployed = await fixture.cloneHead();

  const head = await fixture.push({ web: null });
  assert.equal((await run()).code, 0);
  assert.equal((await run()).code, 0);

  const events = receiver.requests.map(jsonBody);
  assert.deepEqual(events.map((event) => [event.event, event.service]), [[
    "service_removed",
    "web",
  ]]);
  assert.equal(events[0].fromCommit, deployed);
  assert.equal(events[0].toCommit, head);
});

Deno.test("a notifier that is down neither fails nor holds up the deploy, and its errors are logged without the secret", async () => {
  const port = closedPort();
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml": notifyConfig([
      {
        url:
          `http://deploy-bot:pass-hunter2@127.0.0.1:${port}/topic-secret-42?auth=tok-secret-7`,
      },
    ]),
    "api/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await spawnCli([
    "--repo",
    fixture.clone,
    "--log-level",
    "debug",
    "run",
    "--once",
  ]);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), ["api"]);
  const lines = result.stderr.split("\n");
  const deployed = lines.findIndex((line) =>
    /deployed [0-9a-f]{12}/.test(line)
  );
  const refused = lines.findIndex((line) =>
    /cannot send deploy_succeeded to notify\[0\] json http:\/\/127\.0\.0\.1:\d+\/…/
      .test(line)
  );
  assert.ok(deployed >= 0 && refused > deployed, result.stderr);
  for (
    const secret of ["hunter2", "topic-secret", "tok-secret", "deploy-bot"]
  ) {
    assert.ok(!result.stderr.includes(secret), `${secret} leaked into the log`);
  }
});

Deno.test("a slow notifier does not hold run --once beyond the flush deadline", async () => {
  const release = Promise.withResolvers<void>();
  let released = false;
  await using receiver = Receiver.start({
    respond: async () => {
      await release.promise;
      return new Response("too late");
    },
  });
  try {
    await using fixture = await GitFixture.create({});
    const log = join(fixture.root, "ran.log");
    await fixture.push({
      ".upstream-watch.yaml": notifyConfig([{ url: `${receiver.url}/slow` }]),
      "api/.update-hooks.yaml": appendingHooks(log),
    });

    const result = await cli(["--repo", fixture.clone, "run", "--once"]);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readLines(log), ["api"]);
    assert.equal(receiver.requests.length, 1, "the notification was sent");
    assert.equal(
      released,
      false,
      "run --once returned before the receiver answered",
    );
    assert.equal(
      runRows(stateFileOf(fixture.clone))[0].outcome,
      "succeeded",
    );
  } finally {
    released = true;
    release.resolve();
  }
});

Deno.test("a notify URL naming an unset environment variable is a configuration error before anything runs", async () => {
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": notifyConfig([
      "ntfy://ntfy.example.test/${UW_NOTIFY_TEST_UNSET_TOPIC}",
    ]),
  });
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  const result = await cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /notify\[0\]\.url.*UW_NOTIFY_TEST_UNSET_TOPIC is not set/,
  );
  assert.deepEqual(await readLines(log), []);
});

Deno.test("notify test sends a test message to every target and exits 1 when one of them fails", async () => {
  await using receiver = Receiver.start();
  const port = closedPort();
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": notifyConfig([
      `${receiver.url}/hello`,
      { url: `http://127.0.0.1:${port}/down`, format: "ntfy" },
    ]),
  });

  const result = await cli(["--repo", fixture.clone, "notify", "test"]);

  assert.equal(result.code, 1, result.stderr);
  const [ok, failed] = result.stdout.trimEnd().split("\n");
  assert.match(
    ok,
    /^ok +notify\[0\] json http:\/\/127\.0\.0\.1:\d+\/… \(HTTP 200\)$/,
  );
  assert.match(
    failed,
    /^failed +notify\[1\] ntfy http:\/\/127\.0\.0\.1:\d+\/…: /,
  );
  assert.match(result.stderr, /1 of 2 notification target\(s\) failed/);
  const [test] = receiver.requests.map(jsonBody);
  assert.equal(test.event, "test");

  await using healthy = await GitFixture.create({
    ".upstream-watch.yaml": notifyConfig([`${receiver.url}/again`]),
  });
  assert.equal(
    (await cli(["--repo", healthy.clone, "notify", "test"])).code,
    0,
  );
});

Deno.test("the delivery queue retries server errors with backoff and gives up at once on a refusal or a redirect", async () => {
  let calls = 0;
  await using flaky = Receiver.start({
    respond: () => new Response("busy", { status: ++calls <= 2 ? 503 : 200 }),
  });
  await using refusing = Receiver.start({
    respond: () => new Response("bad token", { status: 401 }),
  });
  await using redirecting = Receiver.start({
    respond: () =>
      new Response(null, {
        status: 301,
        headers: { location: "https://elsewhere.example/hook" },
      }),
  });
  const [flakyTarget, refusingTarget, redirectingTarget] = resolveTargets([
    { url: `${flaky.url}/a` },
    { url: `${refusing.url}/b` },
    { url: `${redirecting.url}/c` },
  ], { env: () => undefined });
  const queue = new NotificationQueue({
    logger: agentLogger(),
    backoffMs: () => 10,
  });
  const event = testEvent({ host: "test-host", now: Date.now });

  queue.enqueue(flakyTarget, event);
  queue.enqueue(refusingTarget, event);
  queue.enqueue(redirectingTarget, event);
  assert.equal(queue.pending, 3, "enqueue returns before delivery");
  assert.equal(await queue.close(5_000), 0);

  assert.equal(flaky.requests.length, 3);
  assert.equal(refusing.requests.length, 1);
  assert.equal(
    redirecting.requests.length,
    1,
    "a redirect is neither followed nor retried",
  );
  assert.deepEqual(queue.counts, { delivered: 1, failed: 2 });
});

Deno.test("a manual deploy notifies its outcome like a cycle does", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({
    ".upstream-watch.yaml": notifyConfig([{ url: `${receiver.url}/deploys` }]),
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await cli(["--repo", fixture.clone, "adopt"])).code, 0);
  assert.equal((await cli(["--repo", fixture.clone, "deploy", "api"])).code, 0);

  const events = receiver.requests.map(jsonBody);
  assert.deepEqual(events.map((event) => [event.event, event.service]), [[
    "deploy_succeeded",
    "api",
  ]]);
  assert.equal(events[0].toCommit, await fixture.cloneHead());
});

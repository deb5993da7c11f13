import assert from "node:assert/strict";
import { join } from "node:path";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { cli } from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort } from "./helpers/http_receiver.ts";
import { queryState, stateFileOf } from "./helpers/state_db.ts";

const ADMIN = "admin-token-for-tests";
const READER = "read-token-for-tests";

/** A daemon whose only service `web` appends `<trigger> <v>` to `log`, with the operator API on. */
async function operatorDaemon(
  log: string,
  options: { adminToken?: boolean } = {},
): Promise<{ fixture: GitFixture; daemon: DaemonProcess }> {
  const fixture = await GitFixture.create({
    ".upstream-watch.yaml": [
      "webhook:",
      `  listen: "127.0.0.1:${freePort()}"`,
      "  insecure: true",
      `  read_token: "${READER}"`,
      ...(options.adminToken === false
        ? []
        : ['  admin_token: "${UW_TEST_ADMIN_TOKEN}"']),
    ].join("\n") + "\n",
    "web/.update-hooks.yaml": hookFile({
      update_commands: [
        `echo "$UPSTREAM_WATCH_TRIGGER $(cat v)" >> ${shellQuote(log)}`,
      ],
      health_commands: ["true"],
    }),
    "web/v": "1\n",
  });
  await git(fixture.clone, "pull", "--quiet");
  const daemon = await DaemonProcess.start(
    ["--repo", fixture.clone, "run", "--interval", "3600"],
    { env: { UW_TEST_ADMIN_TOKEN: ADMIN } },
  );
  await daemon.process.waitForLog(/deployed /);
  return { fixture, daemon };
}

function post(
  daemon: DaemonProcess,
  path: string,
  init: { token?: string; body?: string; type?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
  if (init.type !== undefined) headers["Content-Type"] = init.type;
  return fetch(`${daemon.url}${path}`, {
    method: "POST",
    headers,
    body: init.body,
  });
}

Deno.test("POST /api/services/web/deploy with the admin token deploys now and answers with the outcome and the run's URL", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const { fixture, daemon } = await operatorDaemon(log);
  await using _fixture = fixture;
  await using _daemon = daemon;

  const response = await post(daemon, "/api/services/web/deploy", {
    token: ADMIN,
  });

  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.exitCode, 0);
  assert.equal(body.state, "done");
  assert.match(body.output[0], /^web: succeeded \(run \d+\)$/);
  assert.match(body.runs[0].url, /^\/runs\/\d+$/);
  assert.deepEqual(await readLines(log), ["poll 1", "manual 1"]);

  const checked = await post(daemon, "/api/services/web/check", {
    token: ADMIN,
    type: "application/json",
    body: "{}",
  });
  assert.equal(checked.status, 200);
  assert.match((await checked.json()).output[0], /^web: healthy at /);

  const queued = await post(daemon, "/api/services/web/deploy", {
    token: ADMIN,
    type: "application/json",
    body: JSON.stringify({ wait: false }),
  });
  assert.equal(queued.status, 202);
  const location = queued.headers.get("location")!;
  await queued.body?.cancel();
  let polled: Response;
  do {
    polled = await fetch(`${daemon.url}${location}`, {
      headers: { Authorization: `Bearer ${ADMIN}` },
    });
    if (polled.status === 202) await polled.body?.cancel();
  } while (polled.status === 202);
  assert.equal(polled.status, 200);
  assert.equal((await polled.json()).exitCode, 0);
  const adminPage = await fetch(`${daemon.url}/`, {
    headers: { Authorization: `Bearer ${ADMIN}` },
  });
  const adminHtml = await adminPage.text();
  assert.match(
    adminHtml,
    /<button type="button" data-action="deploy" data-service="web">/,
  );
  const nonce = /<script nonce="([0-9a-f]+)">/.exec(adminHtml)?.[1];
  assert.ok(nonce);
  assert.match(
    adminPage.headers.get("content-security-policy")!,
    new RegExp(`script-src 'nonce-${nonce}'; connect-src 'self'`),
  );
  const readerPage = await fetch(`${daemon.url}/`, {
    headers: { Authorization: `Bearer ${READER}` },
  });
  const readerHtml = await readerPage.text();
  assert.doesNotMatch(readerHtml, /data-action=|<script/);
  assert.doesNotMatch(
    readerPage.headers.get("content-security-policy")!,
    /script-src/,
  );
  const stopped = await daemon.stop();
  assert.doesNotMatch(stopped.stderr, new RegExp(ADMIN));
  await Deno.remove(root, { recursive: true });
});

Deno.test("the operator API refuses a missing, wrong or read token, a token in the query string, and a cross-site form post", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const { fixture, daemon } = await operatorDaemon(log);
  await using _fixture = fixture;
  await using _daemon = daemon;
  const path = "/api/services/web/deploy";

  const missing = await post(daemon, path);
  assert.equal(missing.status, 401);
  await missing.body?.cancel();
  const wrong = await post(daemon, path, { token: "not-it" });
  assert.equal(wrong.status, 401);
  await wrong.body?.cancel();
  const reader = await post(daemon, path, { token: READER });
  assert.equal(reader.status, 401, "the read token cannot act");
  await reader.body?.cancel();
  const basic = await fetch(`${daemon.url}${path}`, {
    method: "POST",
    headers: { Authorization: `Basic ${btoa(`admin:${ADMIN}`)}` },
  });
  assert.equal(basic.status, 401, "browsers replay basic credentials");
  await basic.body?.cancel();
  const inQuery = await post(daemon, `${path}?token=${ADMIN}`, {
    token: ADMIN,
  });
  assert.equal(inQuery.status, 400);
  await inQuery.body?.cancel();
  // What a form on another site posts (a browser cannot add the header there).
  for (
    const type of [
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "text/plain",
    ]
  ) {
    const form = await post(daemon, path, {
      token: ADMIN,
      type,
      body: "service=web",
    });
    assert.equal(form.status, 415, type);
    await form.body?.cancel();
  }
  const unknown = await post(daemon, "/api/services/nope/deploy", {
    token: ADMIN,
  });
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();

  assert.deepEqual(await readLines(log), ["poll 1"], "nothing was deployed");
  assert.equal(
    queryState(
      stateFileOf(fixture.clone),
      "SELECT count(*) AS n FROM operator_requests",
    )[0].n,
    0,
  );
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});

Deno.test("suspend, resume and rollback over HTTP, and the CLI sees the same state", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const { fixture, daemon } = await operatorDaemon(log);
  await using _fixture = fixture;
  await using _daemon = daemon;
  await fixture.push({ "web/v": "2\n" });
  // A webhook-free way to make the daemon pull: the CLI's deploy runs at HEAD, so pull first.
  await git(fixture.clone, "pull", "--quiet");
  const deployed = await post(daemon, "/api/services/web/deploy", {
    token: ADMIN,
  });
  assert.equal(deployed.status, 200);
  await deployed.body?.cancel();

  const suspended = await post(daemon, "/api/services/web/suspend", {
    token: ADMIN,
    type: "application/json",
    body: JSON.stringify({ reason: "maintenance" }),
  });
  assert.equal(suspended.status, 200);
  await suspended.body?.cancel();
  const status = await cli(["--repo", fixture.clone, "status"]);
  assert.match(status.stdout, /suspended since \S+: maintenance/);
  const refused = await post(daemon, "/api/services/web/deploy", {
    token: ADMIN,
  });
  assert.equal(refused.status, 409);
  assert.match((await refused.json()).error, /resume it first/);
  const resumed = await post(daemon, "/api/services/web/resume", {
    token: ADMIN,
  });
  assert.equal(resumed.status, 200);
  await resumed.body?.cancel();

  const rolled = await post(daemon, "/api/services/web/rollback", {
    token: ADMIN,
  });
  assert.equal(rolled.status, 200);
  await rolled.body?.cancel();
  assert.deepEqual(await readLines(log), ["poll 1", "manual 2", "rollback 1"]);
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});

Deno.test("without admin_token the operator paths answer 404 and nothing runs", async () => {
  const root = await Deno.makeTempDir();
  const log = join(root, "ran.log");
  const { fixture, daemon } = await operatorDaemon(log, { adminToken: false });
  await using _fixture = fixture;
  await using _daemon = daemon;
  const response = await post(daemon, "/api/services/web/deploy", {
    token: ADMIN,
  });
  assert.equal(response.status, 404);
  assert.match((await response.json()).error, /admin_token/);
  assert.deepEqual(await readLines(log), ["poll 1"]);
  await daemon.stop();
  await Deno.remove(root, { recursive: true });
});

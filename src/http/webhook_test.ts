/** POST /webhook through the handler: signatures and tokens of every sender, body limits, events and branches. */
import assert from "node:assert/strict";
import { MAX_WEBHOOK_BODY_BYTES } from "./webhook.ts";
import {
  hubSignature,
  pushBody,
  pushHeaders,
  type Sender,
} from "../../tests/helpers/webhook_requests.ts";
import {
  fakeAgent,
  SECRET,
  send,
  webhookRequest,
} from "../../tests/helpers/handler_fixture.ts";

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

import assert from "node:assert/strict";
// A test-only package: named here rather than in deno.json's imports, so
// that the program's lockfile (which `deno task` installs in full) never
// holds it; its lock entry is in tests/deno.lock.
// deno-lint-ignore no-import-prefix
import examples from "npm:@octokit/webhooks-examples@7.6.1" with {
  type: "json",
};
import { createHandler, type Handler } from "../src/http/handler.ts";
import { AgentTelemetry } from "../src/http/telemetry.ts";
import { agentLogger } from "../src/log/logging.ts";
import { hubSignature } from "./helpers/webhook_requests.ts";

const SECRET = "webhook payloads from the real world";

/** The handler of a daemon following `branch`, counting the cycles it asks for. */
function daemonFollowing(
  branch: string,
): { handler: Handler; cycles: () => number } {
  let cycles = 0;
  const telemetry = new AgentTelemetry({
    store: { run: () => undefined, services: () => new Map() },
    now: Date.now,
    intervalSeconds: () => 60,
  });
  const handler = createHandler({
    webhook: { secret: SECRET, branch },
    requestCycle: () => {
      cycles++;
      return cycles === 1 ? "started" : "coalesced";
    },
    statusDocument: () => Promise.reject(new Error("not used")),
    store: { runs: () => [], run: () => undefined, commands: () => [] },
    commitSubject: () => Promise.resolve(""),
    telemetry,
    logger: agentLogger(),
    version: "0.0.0-test",
    now: Date.now,
  });
  return { handler, cycles: () => cycles };
}

async function post(
  handler: Handler,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await handler(
    new Request("http://agent.test/webhook", { method: "POST", headers, body }),
  );
  return { status: response.status, json: await response.json() };
}

function githubHeaders(event: string, body: string): Record<string, string> {
  return {
    "Content-Type": "application/json",
    "User-Agent": "GitHub-Hookshot/044aadd",
    "X-GitHub-Event": event,
    "X-GitHub-Delivery": crypto.randomUUID(),
    "X-Hub-Signature-256": hubSignature(SECRET, body),
  };
}

type Example = Record<string, unknown>;

/** Posts `payload` as GitHub delivers event `event`: JSON, signed with the daemon's secret. */
async function postGitHub(
  handler: Handler,
  event: string,
  payload: Example,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = JSON.stringify(payload);
  return await post(handler, githubHeaders(event, body), body);
}

/** The examples `@octokit/webhooks-examples` holds for one event. */
function githubExamples(event: string): Example[] {
  const entry = (examples as { name: string; examples: Example[] }[]).find((
    candidate,
  ) => candidate.name === event);
  assert.ok(entry, `no ${event} examples in @octokit/webhooks-examples`);
  return entry.examples;
}

async function fixture(name: string): Promise<string> {
  return await Deno.readTextFile(
    new URL(`./fixtures/webhooks/${name}`, import.meta.url),
  );
}

Deno.test("GitHub's real push examples: a push to the followed branch asks for a cycle, tag pushes and deleted tags are ignored with 202", async () => {
  const pushes = githubExamples("push");
  const branchPushes = pushes.filter((push) =>
    String(push.ref).startsWith("refs/heads/")
  );
  const tagPushes = pushes.filter((push) =>
    String(push.ref).startsWith("refs/tags/")
  );
  assert.ok(branchPushes.length >= 1 && tagPushes.length >= 1);
  // The examples push to master: the daemon follows master.
  const daemon = daemonFollowing("master");
  for (const push of branchPushes) {
    assert.equal(push.ref, "refs/heads/master");
    const { status, json } = await postGitHub(
      daemon.handler,
      "push",
      push,
    );
    assert.equal(status, 202);
    assert.equal(json.status, "accepted", JSON.stringify(json));
  }
  assert.equal(daemon.cycles(), branchPushes.length);
  for (const push of tagPushes) {
    const { status, json } = await postGitHub(
      daemon.handler,
      "push",
      push,
    );
    assert.equal(status, 202);
    assert.equal(json.status, "ignored");
    assert.match(String(json.reason), /refs\/tags\/simple-tag/);
  }
  assert.equal(
    daemon.cycles(),
    branchPushes.length,
    "no tag push asked for a cycle",
  );
});

Deno.test("GitHub's real push examples to another branch, or deleting the followed branch, are ignored with 202", async () => {
  const daemon = daemonFollowing("main");
  const pushes = githubExamples("push");
  for (const push of pushes) {
    const { status, json } = await postGitHub(
      daemon.handler,
      "push",
      push,
    );
    assert.equal(status, 202);
    assert.equal(json.status, "ignored");
  }
  // The examples hold no deleted branch: a deleted-tag example with only its ref rewritten.
  const deleted = pushes.find((push) => push.deleted === true)!;
  const master = daemonFollowing("master");
  const { status, json } = await postGitHub(
    master.handler,
    "push",
    { ...deleted, ref: "refs/heads/master" },
  );
  assert.equal(status, 202);
  assert.equal(json.status, "ignored");
  assert.match(String(json.reason), /refs\/heads\/master was deleted/);
  assert.equal(daemon.cycles() + master.cycles(), 0);
});

Deno.test("GitHub's real ping examples answer 200 without a cycle", async () => {
  const daemon = daemonFollowing("master");
  const pings = githubExamples("ping");
  assert.ok(pings.length >= 1);
  for (const ping of pings) {
    const { status } = await postGitHub(
      daemon.handler,
      "ping",
      ping,
    );
    assert.equal(status, 200);
  }
  assert.equal(daemon.cycles(), 0);
});

Deno.test("Gitea's documented push, with the headers and signature it documents, asks for a cycle only on its branch", async () => {
  const body = await fixture("gitea-push.json");
  const headers = {
    "Content-Type": "application/json",
    "X-GitHub-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
    "X-GitHub-Event": "push",
    "X-Gogs-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
    "X-Gogs-Event": "push",
    "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
    "X-Gitea-Event": "push",
    "X-Gitea-Signature": hubSignature(SECRET, body).slice("sha256=".length),
  };
  // The example pushes to develop.
  const develop = daemonFollowing("develop");
  assert.equal((await post(develop.handler, headers, body)).status, 202);
  assert.equal(develop.cycles(), 1);
  // Newer Gitea and Forgejo sign in X-Hub-Signature-256 too; Forgejo names its own headers.
  const forgejo = {
    "Content-Type": "application/json",
    "X-Forgejo-Event": "push",
    "X-Forgejo-Signature": hubSignature(SECRET, body).slice("sha256=".length),
  };
  assert.equal((await post(develop.handler, forgejo, body)).status, 202);
  assert.equal(develop.cycles(), 2);

  const main = daemonFollowing("main");
  const ignored = await post(main.handler, headers, body);
  assert.equal(ignored.status, 202);
  assert.equal(ignored.json.status, "ignored");
  assert.equal(main.cycles(), 0);
  const tampered = await post(
    develop.handler,
    headers,
    body.replace("develop", "main"),
  );
  assert.equal(tampered.status, 401);
});

Deno.test("GitLab's documented push asks for a cycle on its branch; its tag push and a deleted branch are ignored with 202", async () => {
  const push = await fixture("gitlab-push.json");
  const tag = await fixture("gitlab-tag-push.json");
  const headers = (event: string) => ({
    "Content-Type": "application/json",
    "X-Gitlab-Event": event,
    "X-Gitlab-Token": SECRET,
  });
  // The example pushes to master.
  const master = daemonFollowing("master");
  assert.equal(
    (await post(master.handler, headers("Push Hook"), push)).status,
    202,
  );
  assert.equal(master.cycles(), 1);
  const tagged = await post(master.handler, headers("Tag Push Hook"), tag);
  assert.equal(tagged.status, 202);
  assert.equal(tagged.json.status, "ignored");
  // GitLab reports a deleted branch as a push whose `after` is all zeros (the one field rewritten).
  const deleted = JSON.stringify({
    ...JSON.parse(push),
    after: "0".repeat(40),
  });
  const gone = await post(master.handler, headers("Push Hook"), deleted);
  assert.equal(gone.status, 202);
  assert.equal(gone.json.status, "ignored");
  assert.equal(master.cycles(), 1);

  const main = daemonFollowing("main");
  const other = await post(main.handler, headers("Push Hook"), push);
  assert.equal(other.status, 202);
  assert.equal(other.json.status, "ignored");
  assert.equal(main.cycles(), 0);
});

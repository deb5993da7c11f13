/** Routing of the handler and the run page. */
import assert from "node:assert/strict";
import { pushBody } from "../../tests/helpers/webhook_requests.ts";
import {
  fakeAgent,
  run,
  webhookRequest,
} from "../../tests/helpers/handler_fixture.ts";

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

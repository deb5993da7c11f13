import assert from "node:assert/strict";
import { cliOnTestHost } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { type ReceivedRequest, Receiver } from "./helpers/http_receiver.ts";

function byPath(
  requests: readonly ReceivedRequest[],
  path: string,
): ReceivedRequest {
  const found = requests.find((request) => request.path.split("?")[0] === path);
  assert.ok(found, `a request to ${path}`);
  return found;
}

Deno.test("notifications carry the commit's subject, author and short id, the host, and with public_url a link to the run in every format", async () => {
  await using receiver = Receiver.start();
  const at = receiver.url.replace(/^http:\/\//, "");
  await using fixture = await GitFixture.create({});
  await fixture.push({
    ".upstream-watch.yaml": hookFile({
      public_url: "https://deploy.example.test",
      notify: [
        { url: `http://${at}/json` },
        { url: `ntfy+http://${at}/deploys` },
        { url: `http://${at}/gotify?token=t`, format: "gotify" },
        { url: `discord+http://${at}/api/webhooks/1/a` },
        { url: `http://${at}/services/T1/B2/X3`, format: "slack" },
      ],
    }),
    "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  }, "api: first version of the service");

  const result = await cliOnTestHost(fixture.clone, ["run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  const head = await fixture.cloneHead();
  const requests = receiver.requests;
  const json = JSON.parse(byPath(requests, "/json").body);
  assert.equal(json.event, "deploy_succeeded");
  assert.deepEqual(json.commit, {
    id: head,
    shortId: head.slice(0, 12),
    subject: "api: first version of the service",
    author: "Test Author <author@example.test>",
  });
  assert.equal(json.host, "test-host");
  assert.match(json.runUrl, /^https:\/\/deploy\.example\.test\/runs\/\d+$/);
  assert.match(json.message, /subject: api: first version of the service/);
  assert.match(json.message, /author: Test Author/);

  const ntfy = byPath(requests, "/deploys");
  assert.equal(ntfy.headers.get("click"), json.runUrl);
  assert.match(ntfy.body, /subject: api: first version/);
  const gotify = JSON.parse(byPath(requests, "/gotify/message").body);
  assert.equal(
    gotify.extras["client::notification"].click.url,
    json.runUrl,
  );
  const discord = JSON.parse(byPath(requests, "/api/webhooks/1/a").body);
  assert.ok(discord.content.includes(`](${json.runUrl})`));
  const slack = JSON.parse(byPath(requests, "/services/T1/B2/X3").body);
  assert.ok(slack.text.includes(`<${json.runUrl}|`));
});

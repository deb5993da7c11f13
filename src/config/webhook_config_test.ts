import assert from "node:assert/strict";
import {
  configError,
  repo,
  REPO_FILE,
} from "../../tests/helpers/config_parsing.ts";

Deno.test("the webhook needs a secret unless it is marked insecure", () => {
  const error = configError(() => repo("webhook:\n  listen: 127.0.0.1:9000\n"));
  assert.equal(
    error.message,
    `${REPO_FILE}:1:1 (webhook): webhook.secret is required unless webhook.insecure: true`,
  );
  configError(() => repo("webhook: true\n"));
  assert.deepEqual(repo("webhook:\n  insecure: true\n").config.webhook, {
    listen: "127.0.0.1:9000",
    insecure: true,
  });
  assert.deepEqual(
    repo("webhook:\n  listen: 9100\n  secret: s3cret\n").config.webhook,
    { listen: "127.0.0.1:9100", secret: "s3cret", insecure: false },
  );
  assert.deepEqual(
    repo('webhook:\n  listen: "[::1]:9000"\n  secret: s\n').config.webhook
      ?.listen,
    "[::1]:9000",
  );
  assert.equal(repo("webhook: false\n").config.webhook, undefined);
  assert.equal(repo("webhook: ~\n").config.webhook, undefined);
});

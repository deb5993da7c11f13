import assert from "node:assert/strict";
import { configError, repo } from "../../tests/helpers/config_parsing.ts";

Deno.test("secrets are not echoed in error messages", () => {
  const error = configError(() => repo("notify:\n  - url: hunter2-token\n"));
  assert.ok(!error.message.includes("hunter2"), error.message);
});

Deno.test("one notify URL instead of a list is a one-item list", () => {
  const { config } = repo("notify: ntfy://ntfy.sh/deploys\n");
  assert.deepEqual(config.notify, [{ url: "ntfy://ntfy.sh/deploys" }]);
});

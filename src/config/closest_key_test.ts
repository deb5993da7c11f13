import assert from "node:assert/strict";
import { closestKey } from "./closest_key.ts";

Deno.test("closestKey ignores case, dashes and camelCase and rejects far keys", () => {
  const keys = ["retry_interval", "retry_backoff", "env", "update_commands"];
  assert.equal(closestKey("RETRY-INTERVAL", keys), "retry_interval");
  assert.equal(closestKey("retryBackof", keys), "retry_backoff");
  assert.equal(closestKey("retyr_interval", keys), "retry_interval");
  assert.equal(closestKey("update", keys), "update_commands");
  assert.equal(closestKey("envs", keys), "env");
  assert.equal(closestKey("xyz", keys), undefined);
  assert.equal(closestKey("interval_of_retry", keys), undefined);
});

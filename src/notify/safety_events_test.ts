import assert from "node:assert/strict";
import { parseRepoConfig } from "../config/load.ts";
import { healthEvent } from "./event.ts";
import { notificationRequest } from "./format.ts";
import { deliveredAs } from "./notifier.ts";
import { resolveTargets } from "./target.ts";

const context = { host: "web-1", now: () => 1_700_000_000_000 };

Deno.test("unhealthy and healed render in every format", () => {
  const targets = resolveTargets([
    { url: "https://hooks.example.test/in" },
    { url: "ntfy://ntfy.example.test/deploys" },
    { url: "gotify://gotify.example.test/sub?token=t" },
    { url: "discord://1234/t" },
    { url: "slack://T000/B000/t" },
  ], { env: () => undefined });
  for (const kind of ["unhealthy", "healed"] as const) {
    const event = healthEvent(kind, {
      service: "api",
      commit: "a".repeat(40),
      error: "health check did not pass within 1 s",
      since: 1_699_999_000_000,
    }, context);
    assert.match(event.title, /^api: /);
    for (const target of targets) {
      const request = notificationRequest(target, event);
      assert.ok(request.body.length > 0, `${target.format} ${kind}`);
      assert.ok(
        request.body.includes("api") ||
          JSON.stringify(request.headers).includes("api"),
        `${target.format} ${kind}`,
      );
    }
  }
});

Deno.test("the events filter accepts rolled_back, unhealthy and healed and delivers only those", () => {
  const { config } = parseRepoConfig(
    "notify:\n  - url: https://a.example.test\n    events: [rolled_back, unhealthy, healed]\n",
    ".upstream-watch.yaml",
  );
  const [target] = resolveTargets(config.notify, { env: () => undefined });
  const unhealthy = healthEvent("unhealthy", {
    service: "api",
    commit: "a".repeat(40),
    error: "down",
    since: 0,
  }, context);
  assert.equal(deliveredAs(target, unhealthy)?.event, "unhealthy");
  assert.equal(
    deliveredAs(target, { ...unhealthy, event: "deploy_failed" }),
    undefined,
  );
});

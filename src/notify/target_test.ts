/** Notification targets: URL shorthands, configuration errors and redacted URLs. */
import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import { redactUrl, resolveTargets } from "./target.ts";

Deno.test("notification URL shorthands map to their services' https endpoints", () => {
  const env = (name: string) =>
    ({ TOKEN: "t0k" } as Record<string, string>)[name];
  const [ntfy, ntfyAuth, gotify, gotifyPath, discord, slack, json, override] =
    resolveTargets([
      { url: "ntfy://ntfy.example.test/deploys" },
      { url: "ntfy://:${TOKEN}@ntfy.example.test/deploys" },
      { url: "gotify://gotify.example.test/sub?token=${TOKEN}" },
      { url: "gotify://gotify.example.test/${TOKEN}" },
      { url: "discord://1234/${TOKEN}" },
      { url: "slack://T000/B000/${TOKEN}" },
      { url: "https://hooks.example.test/in" },
      { url: "http://127.0.0.1:8080/topic", format: "ntfy" },
    ], { env });
  assert.equal(ntfy.format, "ntfy");
  assert.equal(ntfy.endpoint.href, "https://ntfy.example.test/deploys");
  assert.equal(ntfyAuth.headers.Authorization, "Bearer t0k");
  assert.equal(ntfyAuth.endpoint.href, "https://ntfy.example.test/deploys");
  assert.equal(gotify.endpoint.href, "https://gotify.example.test/sub/message");
  assert.equal(gotify.headers["X-Gotify-Key"], "t0k");
  assert.equal(gotifyPath.endpoint.href, "https://gotify.example.test/message");
  assert.equal(gotifyPath.headers["X-Gotify-Key"], "t0k");
  assert.equal(
    discord.endpoint.href,
    "https://discord.com/api/webhooks/1234/t0k",
  );
  assert.equal(
    slack.endpoint.href,
    "https://hooks.slack.com/services/T000/B000/t0k",
  );
  assert.equal(json.format, "json");
  assert.equal(override.format, "ntfy");
  assert.equal(override.endpoint.href, "http://127.0.0.1:8080/topic");
  for (const target of [ntfyAuth, gotify, discord, slack]) {
    assert.ok(!target.label.includes("t0k"), target.label);
  }
});

Deno.test("unknown schemes, contradicting formats and incomplete shorthands are configuration errors", () => {
  const env = () => undefined;
  for (
    const [target, message] of [
      [
        { url: "smtp://mail.example.test" },
        /unsupported URL scheme "smtp:\/\/"/,
      ],
      [{ url: "slack://T/B/X", format: "discord" }, /contradicts/],
      [
        { url: "discord://only-id" },
        /discord:\/\/<webhook id>\/<webhook token>/,
      ],
      [{ url: "gotify://gotify.example.test" }, /application token/],
      [{ url: "ntfy://ntfy.example.test" }, /needs a topic/],
    ] as const
  ) {
    assert.throws(
      () => resolveTargets([target], { env }),
      (error) =>
        error instanceof ConfigError &&
        error.location.key === "notify[0].url" && message.test(error.message),
      target.url,
    );
  }
});

Deno.test("logged target URLs keep only scheme and host", () => {
  assert.equal(
    redactUrl("https://user:pw@ntfy.example.test:8443/secret-topic?auth=x"),
    "https://ntfy.example.test:8443/…",
  );
  assert.equal(redactUrl("https://example.test/"), "https://example.test");
});

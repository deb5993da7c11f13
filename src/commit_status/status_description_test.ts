import assert from "node:assert/strict";
import { MAX_DESCRIPTION } from "./provider_request.ts";
import { statusDescription } from "./reporter.ts";

const SHA = "3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";

Deno.test("a status description names the commit by short id, subject and author's name, the error last", () => {
  assert.equal(
    statusDescription(
      SHA,
      { what: "Failed at update on web-1", error: "exit 3\nmore" },
      { subject: "Bump nginx\n\nbody", author: "Ann Lee <ann@example.test>" },
    ),
    "Failed at update on web-1 · 3f2a9c1d0e8b Bump nginx (Ann Lee) · exit 3",
  );
});

Deno.test("a commit git cannot describe is named by its short id alone", () => {
  assert.equal(
    statusDescription(SHA, { what: "Deployed on web-1" }),
    "Deployed on web-1 · 3f2a9c1d0e8b",
  );
});

Deno.test("a long description is cut to what every host keeps, after the commit", () => {
  const text = statusDescription(
    SHA,
    { what: "Failed at update on web-1", error: "x".repeat(500) },
    { subject: "Short", author: "Ann <a@b>" },
  );
  assert.equal(text.length, MAX_DESCRIPTION);
  assert.ok(
    text.startsWith("Failed at update on web-1 · 3f2a9c1d0e8b Short (Ann) · x"),
  );
  assert.ok(text.endsWith("…"));
});

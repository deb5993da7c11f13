import assert from "node:assert/strict";
import { redactCredentials } from "./redact.ts";

Deno.test("redactCredentials hides user and password", () => {
  assert.equal(
    redactCredentials(
      "fatal: unable to access 'https://bot:s3cret@git.example/x.git/'",
    ),
    "fatal: unable to access 'https://***@git.example/x.git/'",
  );
});

Deno.test("redactCredentials hides every query value and the fragment", () => {
  assert.equal(
    redactCredentials(
      "fatal: repository 'https://git.example/x.git?private_token=glpat-123&ref=main/' not found",
    ),
    "fatal: repository 'https://git.example/x.git?private_token=***&ref=***' not found",
  );
  assert.equal(
    redactCredentials("see https://host/p?token#access_token=abc and more"),
    "see https://host/p?***#*** and more",
  );
  assert.equal(
    redactCredentials("ssh://git@host:22/repo.git"),
    "ssh://***@host:22/repo.git",
  );
});

Deno.test("redactCredentials leaves text without URLs alone", () => {
  const text = "error: Your local changes would be overwritten; a?b=c";
  assert.equal(redactCredentials(text), text);
});

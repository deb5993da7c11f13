import assert from "node:assert/strict";
import { escapeControl } from "./escape.ts";

Deno.test("escapeControl shows ANSI and OSC sequences instead of sending them", () => {
  assert.equal(
    escapeControl("\x1b[2J\x1b]0;owned\x07"),
    "\\x1b[2J\\x1b]0;owned\\x07",
  );
  assert.equal(escapeControl("a\u009bb\x7f"), "a\\x9bb\\x7f");
  assert.equal(escapeControl("nul\0byte"), "nul\\0byte");
});

Deno.test("escapeControl writes newlines in a name as \\n so they cannot forge lines", () => {
  assert.equal(
    escapeControl("api\n2026-01-01T00:00:00Z INF fake"),
    "api\\n2026-01-01T00:00:00Z INF fake",
  );
  assert.equal(escapeControl("a\rb\tc\u2028"), "a\\rb\\tc\\u2028");
});

Deno.test("escapeControl keeps the lines of hook output with keepNewlines", () => {
  assert.equal(
    escapeControl("one\ntwo\r\nthree\tcol\rover\x1b[31m", {
      keepNewlines: true,
    }),
    "one\ntwo\r\nthree\tcol\\rover\\x1b[31m",
  );
});

Deno.test("escapeControl leaves printable text alone, Unicode included", () => {
  const text = "héllo 🚀 C:\\path [x] ~!@#";
  assert.equal(escapeControl(text), text);
});

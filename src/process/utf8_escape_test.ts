import assert from "node:assert/strict";
import { decodeUtf8Escaping } from "./utf8_escape.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("valid UTF-8 decodes as it is, multi-byte characters included", () => {
  const text = "plain, é, €, 𝄞\n";
  assert.equal(decodeUtf8Escaping(new TextEncoder().encode(text)), text);
});

Deno.test("bytes outside a valid sequence are kept as \\xNN instead of a replacement character", () => {
  assert.equal(
    decodeUtf8Escaping(bytes(0xff, 0x6f, 0x6b, 0x0a)),
    "\\xffok\n",
  );
  // A lead byte without its continuation, an overlong form, a surrogate.
  assert.equal(decodeUtf8Escaping(bytes(0xc3, 0x41)), "\\xc3A");
  assert.equal(decodeUtf8Escaping(bytes(0xc0, 0xaf)), "\\xc0\\xaf");
  assert.equal(
    decodeUtf8Escaping(bytes(0xed, 0xa0, 0x80)),
    "\\xed\\xa0\\x80",
  );
  // A sequence cut off at the end.
  assert.equal(decodeUtf8Escaping(bytes(0x61, 0xe2, 0x82)), "a\\xe2\\x82");
});

import assert from "node:assert/strict";
import { sameBytes, sameSecret } from "./constant_time.ts";

Deno.test("secrets compare equal only when identical, whatever their lengths", () => {
  assert.equal(sameSecret("s3cret", "s3cret"), true);
  assert.equal(sameSecret("s3cret", "s3cre"), false);
  assert.equal(sameSecret("", "s3cret"), false);
  assert.equal(sameSecret("s3cret-and-more", "s3cret"), false);
});

Deno.test("byte strings of different lengths are unequal rather than an error", () => {
  assert.equal(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(
    sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])),
    false,
  );
  assert.equal(sameBytes(new Uint8Array([1]), new Uint8Array()), false);
});

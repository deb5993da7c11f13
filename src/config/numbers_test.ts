import assert from "node:assert/strict";
import { MAX_SECONDS, parseDecimal } from "./numbers.ts";

const ID = { integer: true, min: 1, max: Number.MAX_SAFE_INTEGER };
const SECONDS = { integer: false, min: 0.01, max: MAX_SECONDS };

Deno.test("parseDecimal accepts plain decimal digits within the range", () => {
  assert.deepEqual(parseDecimal("42", ID), { ok: true, value: 42 });
  assert.deepEqual(parseDecimal("007", ID), { ok: true, value: 7 });
  assert.deepEqual(parseDecimal("0.5", SECONDS), { ok: true, value: 0.5 });
  assert.deepEqual(parseDecimal(String(MAX_SECONDS), SECONDS), {
    ok: true,
    value: MAX_SECONDS,
  });
});

Deno.test("parseDecimal refuses hex, exponents, signs, spaces and words", () => {
  for (
    const text of [
      "0x1",
      "1e3",
      "+1",
      "-1",
      " 1",
      "1 ",
      "",
      "Infinity",
      "NaN",
      "1_000",
      "0b1",
    ]
  ) {
    const parsed = parseDecimal(text, ID);
    assert.equal(parsed.ok, false, text);
  }
  assert.equal(parseDecimal("1.5", ID).ok, false);
  assert.equal(parseDecimal(".5", SECONDS).ok, false);
  assert.equal(parseDecimal("5.", SECONDS).ok, false);
});

Deno.test("parseDecimal refuses values out of range and says the range", () => {
  const big = parseDecimal("999999999999999999999", ID);
  assert.deepEqual(big, {
    ok: false,
    reason:
      '"999999999999999999999" is out of range: must be a whole number from 1 to 9007199254740991',
  });
  assert.equal(parseDecimal("0", ID).ok, false);
  assert.equal(parseDecimal("0.0000001", SECONDS).ok, false);
  assert.equal(parseDecimal("2147484", SECONDS).ok, false);
});

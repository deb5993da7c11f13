/**
 * Modules stay small enough to read in one sitting: no program module (unit
 * tests aside) is over 400 lines; a longer one is split by concept.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { sourceFiles } from "./helpers/source_files.ts";

const SRC = fileURLToPath(new URL("../src", import.meta.url));
const MAX_LINES = 400;

Deno.test(`no module in src/ is over ${MAX_LINES} lines`, () => {
  const long = [...sourceFiles(SRC)]
    .map(([path, text]) => ({ path, lines: text.split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ path, lines }) => `${path}: ${lines} lines`);
  assert.deepEqual(long, []);
});

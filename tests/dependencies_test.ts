import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importedSpecifiers, sourceFiles } from "./helpers/source_files.ts";

// `deno task` installs every npm package of deno.lock before it runs a task,
// so a test-only package there is downloaded by every from-source start
// (`deno task start`, `deno task demo`). These tests keep the program's
// imports and lockfile to what the program, the demo and the scripts load.

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Lockfile {
  specifiers: Record<string, string>;
  npm: Record<string, unknown>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(ROOT, path), "utf8")) as T;
}

/** The package name of a bare specifier: `yaml`, `@logtape/logtape` (subpaths dropped). */
function packageName(specifier: string): string {
  const parts = specifier.replace(/^npm:/, "").split("/");
  const name = specifier.replace(/^npm:/, "").startsWith("@")
    ? `${parts[0]}/${parts[1]}`
    : parts[0];
  // A version after the name: `npm:yaml@^2` → `yaml`.
  return name.replace(/(?<=.)@.*$/, "");
}

/** Every non-test source of the program, the demo and the scripts, keyed by path. */
function programSources(): Map<string, string> {
  const files = new Map<string, string>([
    ["main.ts", readFileSync(join(ROOT, "main.ts"), "utf8")],
  ]);
  for (const dir of ["src", "scripts"]) {
    for (const [path, text] of sourceFiles(join(ROOT, dir))) {
      files.set(`${dir}/${path}`, text);
    }
  }
  return files;
}

/** Every test module and test helper, keyed by path. */
function testSources(): Map<string, string> {
  const files = new Map<string, string>();
  const tests = Deno.readDirSync(join(ROOT, "tests"));
  for (const entry of tests) {
    if (entry.isFile && entry.name.endsWith(".ts")) {
      const path = `tests/${entry.name}`;
      files.set(path, readFileSync(join(ROOT, path), "utf8"));
    }
  }
  for (const [path, text] of sourceFiles(join(ROOT, "tests/helpers"))) {
    files.set(`tests/helpers/${path}`, text);
  }
  return files;
}

Deno.test("every package in deno.json's imports is imported by the program, the demo or the scripts", () => {
  const imports = readJson<{ imports: Record<string, string> }>("deno.json")
    .imports;
  const used = new Set<string>();
  for (const text of programSources().values()) {
    for (const specifier of importedSpecifiers(text)) {
      if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
      used.add(packageName(specifier));
    }
  }
  assert.ok(used.has("commander"), `the scan must see commander: ${[...used]}`);
  const unused = Object.keys(imports).filter((name) => !used.has(name));
  assert.deepEqual(
    unused,
    [],
    `deno.json imports packages no program, demo or script module imports (test-only packages belong in the test files, as npm: specifiers): ${
      unused.join(", ")
    }`,
  );
});

Deno.test("deno.lock locks only the packages of deno.json's imports; the test-only ones are in tests/deno.lock", () => {
  const imports = readJson<{ imports: Record<string, string> }>("deno.json")
    .imports;
  const programLock = readJson<Lockfile>("deno.lock");
  const testLock = readJson<Lockfile>("tests/deno.lock");
  const wanted = new Set(Object.values(imports).map(packageName));
  const locked = Object.keys(programLock.specifiers).map(packageName);
  const extra = locked.filter((name) => !wanted.has(name));
  assert.deepEqual(
    extra,
    [],
    `deno.lock holds packages the program does not import (a test ran without --lock=tests/deno.lock?): ${
      extra.join(", ")
    }`,
  );

  const testOnly = new Set<string>();
  for (const [path, text] of testSources()) {
    for (const specifier of importedSpecifiers(text)) {
      if (!specifier.startsWith("npm:")) continue;
      assert.match(
        specifier,
        /^npm:(@[^/]+\/)?[^/@]+@\d+\.\d+\.\d+(\/|$)/,
        `${path}: pin the exact version of test-only ${specifier}`,
      );
      testOnly.add(
        specifier.replace(/^(npm:(@[^/]+\/)?[^/@]+@[^/]+).*$/, "$1"),
      );
    }
  }
  assert.ok(testOnly.size > 0, "the scan must see the test-only packages");
  for (const specifier of testOnly) {
    assert.ok(
      specifier in testLock.specifiers,
      `tests/deno.lock does not lock ${specifier}`,
    );
    assert.ok(!wanted.has(packageName(specifier)), `${specifier} is test-only`);
  }
});

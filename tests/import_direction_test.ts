import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { IMPORT_STATEMENT, sourceFiles } from "./helpers/source_files.ts";

/**
 * Which layers each layer of `src/` may import. A layer is a folder under
 * `src/` (`src/app.ts` and `src/app/` are both `app`; `src/errors.ts` is
 * `errors`). Imports within a layer are always allowed. The layers point one
 * way: cli → app → report → reconcile → (git, hooks, state, notify, http,
 * verify, commit_status) → secrets → process, log, errors, config.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  // Commands start no processes of their own: the app's runner does.
  cli: [
    "app",
    "report",
    "reconcile",
    "http",
    "notify",
    "commit_status",
    "verify",
    "secrets",
    "git",
    "state",
    "config",
    "log",
    "errors",
    "version",
  ],
  app: [
    "report",
    "reconcile",
    "http",
    "notify",
    "commit_status",
    "verify",
    "hooks",
    "secrets",
    "git",
    "state",
    "config",
    "process",
    "log",
    "errors",
    "version",
  ],
  report: ["reconcile", "verify", "state"],
  reconcile: [
    "notify",
    "verify",
    "hooks",
    "secrets",
    "git",
    "state",
    "config",
    "process",
    "log",
    "errors",
    "version",
  ],
  http: ["report", "verify", "state", "git", "process", "log", "errors"],
  notify: ["verify", "state", "config", "log", "errors"],
  commit_status: ["notify", "config", "log", "errors", "version"],
  verify: ["git", "state", "config", "process", "errors"],
  hooks: ["secrets", "git", "state", "config", "process", "log", "errors"],
  // Decrypting SOPS files: pure but for gpg, which runs through the one runner.
  secrets: ["config", "process"],
  git: ["process", "errors"],
  state: ["log", "errors"],
  config: ["git", "errors"],
  log: ["config"],
  process: ["errors"],
  errors: [],
  version: [],
};

/**
 * Single files a layer may import against the table, each with the reason.
 * Keep this list short: an entry here is a seam to close, not a rule.
 */
const ALLOWED_FILES: Record<string, readonly string[]> = {
  // The text of holds and reasons is pure, but it lives beside the cycle's types.
  http: ["reconcile/describe.ts"],
  // Notifications and commit statuses observe the cycle: its result types and observer interface.
  notify: [
    "reconcile/cycle_types.ts",
    "reconcile/daemon.ts",
    "reconcile/describe.ts",
    "git/commit_id.ts",
  ],
  // Commit ids are checked and shortened by git's own rule (a pure module).
  commit_status: [
    "reconcile/cycle_types.ts",
    "reconcile/run_listener.ts",
    "git/commit_id.ts",
  ],
  state: ["git/commit_id.ts"],
};

/** One `import … from "…"` or `export … from "…"` of a source file. */
interface ImportEdge {
  /** Importing file, relative to the source root (`http/handler.ts`). */
  from: string;
  /** Imported file, relative to the source root. */
  to: string;
  /** The specifier as written. */
  specifier: string;
  line: number;
}

/** The relative imports of each file, resolved against the importing file's folder. */
function importGraph(files: ReadonlyMap<string, string>): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const [from, text] of files) {
    for (const match of text.matchAll(IMPORT_STATEMENT)) {
      const specifier = match[1];
      if (!specifier.startsWith(".")) continue;
      edges.push({
        from,
        to: normalize(join(dirname(from), specifier)),
        specifier,
        line: text.slice(0, match.index).split("\n").length,
      });
    }
  }
  return edges;
}

/** The layer a source-root-relative path belongs to; undefined outside the root. */
function layerOf(path: string): string | undefined {
  if (path.startsWith("..")) return undefined;
  const [first] = path.split("/");
  return first.replace(/\.ts$/, "");
}

/** One message per import against the direction, naming file, line and import. */
function violations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const from = layerOf(edge.from);
    const to = layerOf(edge.to);
    if (from === undefined || to === undefined || from === to) continue;
    const allowed = MAY_IMPORT[from];
    if (allowed === undefined) {
      found.push(
        `src/${edge.from}:${edge.line}: layer "${from}" is not in the table of import directions`,
      );
      continue;
    }
    if (allowed.includes(to) || ALLOWED_FILES[from]?.includes(edge.to)) {
      continue;
    }
    found.push(
      `src/${edge.from}:${edge.line}: imports "${edge.specifier}" (src/${edge.to}), but ${from} may not import ${to}`,
    );
  }
  return found;
}

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

Deno.test("no module under src/ imports against the direction of the layers", () => {
  const edges = importGraph(sourceFiles(SRC));
  // A parser that matched nothing would pass: it must see the composition root's imports.
  assert.ok(
    edges.some((edge) =>
      edge.from === "app.ts" && edge.to === "reconcile/agent.ts"
    ),
    `the import graph misses app.ts -> reconcile/agent.ts (${edges.length} imports read)`,
  );
  const found = violations(edges);
  assert.deepEqual(
    found,
    [],
    `imports against the direction:\n${found.join("\n")}`,
  );
});

Deno.test("every layer under src/ has a row in the table of import directions", () => {
  const layers = new Set(
    [...sourceFiles(SRC).keys()].map((path) => layerOf(path)!),
  );
  const missing = [...layers].filter((layer) => !(layer in MAY_IMPORT));
  assert.deepEqual(missing, []);
});

Deno.test("the direction check names the file and import of every wrong import, re-exports and multi-line imports included", () => {
  const files = new Map([
    [
      "http/handler.ts",
      [
        `import type { StatusDocument } from "../report/documents.ts";`,
        `import {`,
        `  statusCommand,`,
        `} from "../cli/commands/status.ts";`,
      ].join("\n"),
    ],
    ["state/types.ts", `export type { DueReason } from "../reconcile/due.ts";`],
    ["process/run.ts", `import "../log/logging.ts";\nimport x from "npm:x";`],
    ["git/client.ts", `import { run } from "../process/run.ts";`],
    ["reconcile/due.ts", `import type { Trigger } from "../state/types.ts";`],
    [
      "http/describe_user.ts",
      `import { describeReason } from "../reconcile/describe.ts";`,
    ],
    [
      "widgets/a.ts",
      `import { b } from "./b.ts";\nimport { c } from "../git/client.ts";`,
    ],
  ]);
  assert.deepEqual(violations(importGraph(files)), [
    `src/http/handler.ts:2: imports "../cli/commands/status.ts" (src/cli/commands/status.ts), but http may not import cli`,
    `src/state/types.ts:1: imports "../reconcile/due.ts" (src/reconcile/due.ts), but state may not import reconcile`,
    `src/process/run.ts:1: imports "../log/logging.ts" (src/log/logging.ts), but process may not import log`,
    `src/widgets/a.ts:2: layer "widgets" is not in the table of import directions`,
  ]);
});

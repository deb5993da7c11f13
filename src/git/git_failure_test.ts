import assert from "node:assert/strict";
import type { ProcessResult } from "../process/types.ts";
import { gitFailure, stderrCause } from "./git_failure.ts";

function failed(stderr: string): ProcessResult {
  return {
    success: false,
    exitCode: 128,
    signal: null,
    stdout: "",
    stderr,
    output: "",
    truncated: false,
    timedOut: false,
    interrupted: false,
    outputComplete: true,
    durationMs: 1,
  };
}

Deno.test("a failed fetch over ssh names the real cause, not the warning printed first", () => {
  const error = gitFailure(
    ["fetch", "origin"],
    failed(
      "Warning: Identity file /keys/deploy not accessible: No such file or directory.\r\n" +
        "git@git.example.test: Permission denied (publickey).\r\n" +
        "fatal: Could not read from remote repository.\n\n" +
        "Please make sure you have the correct access rights\n" +
        "and the repository exists.\n",
    ),
  );
  assert.equal(
    error.message,
    "git fetch failed (exit 128): Warning: Identity file /keys/deploy not accessible: No such file or directory. | git@git.example.test: Permission denied (publickey). | fatal: Could not read from remote repository.",
  );
  assert.doesNotMatch(error.message, /\r/);
  assert.match(
    error.stderr,
    /and the repository exists/,
    "the full stderr is kept",
  );
});

Deno.test("progress redraws and advice are left out, and a long stderr is cut at its start", () => {
  assert.equal(
    stderrCause(
      "remote: Counting objects: 50% (1/2)\rremote: Counting objects: 100% (2/2), done.\n" +
        "hint: see git help\nerror: cannot lock ref 'refs/heads/main'\n",
    ),
    "error: cannot lock ref 'refs/heads/main'",
  );
  const long = stderrCause(`fatal: ${"x".repeat(1000)}`);
  assert.equal(long.length, 400);
  assert.ok(long.startsWith("…") && long.endsWith("x"));
  assert.equal(stderrCause("\n  \n"), "");
});

/**
 * The one-line error of a git command that did not answer: how it failed and
 * the last meaningful lines of its redacted stderr. Git and ssh print the
 * cause last (`Permission denied (publickey)` comes after a warning about an
 * identity file), so the first line is often noise.
 * @module
 */
import { GitError } from "../errors.ts";
import type { ProcessResult } from "../process/types.ts";
import { redactCredentials } from "./redact.ts";

/** Lines of stderr kept in the message. */
const KEPT_LINES = 3;
/** Characters of stderr kept in the message (the full text stays on the error). */
const MAX_STDERR_CHARS = 400;

/** Progress meters and advice: they never say why a command failed. */
const NOISE: readonly RegExp[] = [
  /^(remote: )?(Enumerating|Counting|Compressing|Receiving|Resolving|Unpacking|Writing|Total|Updating files|Checking)\b.*(\d+%|done\.?)/,
  /^hint:/,
  /^Please make sure you have the correct access rights$/,
  /^and the repository exists\.$/,
];

/** The {@link GitError} for `git args…` that failed, timed out, was interrupted or ended its output early. */
export function gitFailure(
  args: readonly string[],
  result: ProcessResult,
): GitError {
  const stderr = redactCredentials(result.stderr.trim());
  const what = result.timedOut
    ? "timed out"
    : result.interrupted
    ? "was interrupted"
    : !result.outputComplete
    ? "output ended early"
    : `failed (exit ${result.exitCode ?? result.signal})`;
  const cause = stderrCause(stderr);
  return new GitError(
    `git ${args[0]} ${what}${cause ? `: ${cause}` : ""}`,
    { args, gitExitCode: result.exitCode, stderr },
  );
}

/**
 * The last meaningful lines of `stderr`, joined with ` | ` and bounded: what a
 * terminal would show after `\r` redraws, without blank lines, progress and
 * advice.
 */
export function stderrCause(
  stderr: string,
  options: { withoutPrefix?: boolean } = {},
): string {
  const lines = stderr.split("\n")
    // A `\r` redraws the line: only its last version was ever visible.
    .map((line) =>
      line.split("\r").filter((part) => part.trim() !== "").at(-1) ?? ""
    )
    .map((line) => line.trim())
    .map((line) =>
      options.withoutPrefix ? line.replace(/^(fatal|error): /, "") : line
    )
    .filter((line) => line !== "" && !NOISE.some((noise) => noise.test(line)));
  const text = lines.slice(-KEPT_LINES).join(" | ");
  return text.length <= MAX_STDERR_CHARS
    ? text
    : `…${text.slice(text.length - MAX_STDERR_CHARS + 1)}`;
}

/** The one-line error of a git command that did not answer: how it failed and the first line of its redacted stderr. */
import { GitError } from "../errors.ts";
import type { ProcessResult } from "../process/types.ts";
import { redactCredentials } from "./redact.ts";

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
  const firstStderrLine =
    stderr.split("\n").find((line) => line.trim() !== "") ?? "";
  return new GitError(
    `git ${args[0]} ${what}${firstStderrLine ? `: ${firstStderrLine}` : ""}`,
    { args, gitExitCode: result.exitCode, stderr },
  );
}

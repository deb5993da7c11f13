import { escapeControl } from "../../log/escape.ts";
import type { StateApp } from "../../app/open_state.ts";
import { UsageError } from "../../errors.ts";
import { describeReason } from "../../results/describe.ts";
import { logsDocument } from "../../report/command_documents.ts";
import { formatDuration, tableTime } from "../../report/time_text.ts";
import { jsonText, type Output } from "../output.ts";

/** `logs RUN_ID [--json]`: the captured output of one run, command by command. */
export function logsCommand(
  app: StateApp,
  options: { runId: number; json: boolean },
  output: Output,
): number {
  const run = app.store.run(options.runId);
  if (!run) {
    throw new UsageError(
      `run ${options.runId} not found (see upstream-watch history)`,
    );
  }
  const commands = app.store.commands(run.id);
  if (options.json) {
    output.out(jsonText(logsDocument(run, commands)));
    return 0;
  }
  const lines = [
    `run ${run.id} of ${run.service}: ${run.outcome}${
      run.failedStep ? ` at ${run.failedStep}` : ""
    } (${run.trigger}, ${describeReason(run.reason)})`,
    `commit ${run.fromCommit ?? "(first deploy)"} -> ${run.toCommit}`,
    `started ${tableTime(run.startedAt)}, took ${
      formatDuration(
        run.finishedAt === null ? null : run.finishedAt - run.startedAt,
      )
    }`,
  ];
  if (run.error) lines.push(`error: ${run.error}`);
  output.out(lines.map((line) => escapeControl(line)).join("\n") + "\n");
  for (const command of commands) {
    const status = command.timedOut
      ? "timed out"
      : `exit ${command.exitCode ?? "signal"}`;
    output.out(
      `\n$ ${escapeControl(command.command)}    [${command.step}, ${status}, ${
        formatDuration(command.finishedAt - command.startedAt)
      }]\n`,
    );
    if (command.truncated) output.out("[… earlier output truncated …]\n");
    if (command.output !== "") {
      // The lines of the output stay lines; everything else is shown escaped.
      const text = escapeControl(command.output, { keepNewlines: true });
      output.out(text.endsWith("\n") ? text : `${text}\n`);
    }
  }
  if (commands.length === 0) output.out("\n(no commands ran)\n");
  return 0;
}

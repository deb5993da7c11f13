import type { StateApp } from "../../app/open_state.ts";
import { describeReason } from "../../results/describe.ts";
import { historyDocument } from "../../report/command_documents.ts";
import { formatDuration, tableTime } from "../../report/time_text.ts";
import { commitCell, jsonText, type Output, renderTable } from "../output.ts";

/** `history [SERVICE] [--limit N] [--json]`: past runs, newest first. */
export function historyCommand(
  app: StateApp,
  options: { service?: string; limit: number; json: boolean },
  output: Output,
): number {
  const runs = app.store.runs({
    service: options.service,
    limit: options.limit,
  });
  if (options.json) {
    output.out(jsonText(historyDocument(runs)));
    return 0;
  }
  if (runs.length === 0) {
    output.out(
      options.service ? `no runs of ${options.service}\n` : "no runs yet\n",
    );
    return 0;
  }
  output.out(renderTable(
    [
      "RUN",
      "SERVICE",
      "TRIGGER",
      "OUTCOME",
      "COMMIT",
      "STARTED",
      "TOOK",
      "WHY",
    ],
    runs.map((run) => [
      String(run.id),
      run.service,
      run.trigger,
      run.failedStep ? `${run.outcome} (${run.failedStep})` : run.outcome,
      `${run.fromCommit ? commitCell(run.fromCommit).slice(0, 7) + ".." : ""}${
        commitCell(run.toCommit).slice(0, 7)
      }`,
      tableTime(run.startedAt),
      formatDuration(
        run.finishedAt === null ? null : run.finishedAt - run.startedAt,
      ),
      describeReason(run.reason),
    ]),
  ));
  return 0;
}

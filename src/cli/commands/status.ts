import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app/compose.ts";
import { statusDocument } from "../../report/status_document.ts";
import { tableTime } from "../../report/time_text.ts";
import { commitCell, jsonText, type Output, renderTable } from "../output.ts";

/** `status [--json]`: one row per service with deployed commit, last outcome and whether it is due. */
export async function statusCommand(
  app: App,
  options: { json: boolean },
  output: Output,
): Promise<number> {
  const document = await statusDocument(app);
  const { services } = document;
  if (options.json) {
    output.out(jsonText(document));
    return 0;
  }
  const state = app.store.services();
  output.out(
    escapeControl(
      `${app.repoRoot} at ${
        commitCell(document.head)
      } (${app.remote}/${app.branch} ${commitCell(document.upstream)})`,
    ) + "\n",
  );
  if (document.verification) {
    output.out(`${document.verification.message}\n`);
  }
  if (document.configRefused) {
    output.out(`${escapeControl(document.configRefused.message)}\n`);
  }
  if (document.lastRewind) {
    output.out(`${document.lastRewind.message}\n`);
  }
  if (services.length === 0) {
    output.out("no services found\n");
    return 0;
  }
  output.out(renderTable(
    ["SERVICE", "DEPLOYED", "STATE", "LAST RUN", "WHEN", "DETAIL"],
    services.map((service) => [
      service.name,
      commitCell(service.deployedCommit),
      service.state,
      service.lastRun
        ? `${service.lastRun.outcome}${
          service.lastRun.failedStep ? ` (${service.lastRun.failedStep})` : ""
        }${
          // The attempt count belongs to a failed run, not to the rollback that followed it.
          service.failedAttempts > 0 && service.lastRun.outcome === "failed"
            ? `, attempt ${service.failedAttempts}/${app.config.current.maxAttempts}`
            : ""}`
        : "-",
      tableTime(state.get(service.name)?.lastRunAt),
      service.stateText,
    ]),
  ));
  return 0;
}

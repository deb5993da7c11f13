import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app.ts";
import type { ServiceStatus } from "../../report/documents.ts";
import { pendingText } from "../../report/pending.ts";
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
    ["SERVICE", "DEPLOYED", "LAST RUN", "WHEN", "PENDING"],
    services.map((service) => [
      service.name,
      commitCell(service.deployedCommit),
      service.lastRun
        ? `${service.lastRun.outcome}${
          service.lastRun.failedStep ? ` (${service.lastRun.failedStep})` : ""
        }${
          service.failedAttempts > 0
            ? `, attempt ${service.failedAttempts}/${app.agent.config.maxAttempts}`
            : ""
        }`
        : "-",
      tableTime(state.get(service.name)?.lastRunAt),
      [
        service.suspension ? service.suspension.text : "",
        service.health?.state === "unhealthy" ? service.health.text : "",
      ].filter((text) => text !== "").concat(pendingParts(service)).join("; "),
    ]),
  ));
  return 0;
}

/** The pending part of the PENDING column; a suspension shown beside it replaces "-". */
function pendingParts(service: ServiceStatus): string[] {
  const text = pendingText(service) ?? "-";
  // A suspension says more than "waiting: suspended" again.
  if (text !== "-" && service.hold?.kind === "suspended") return [];
  return service.suspension && text === "-" ? [] : [text];
}

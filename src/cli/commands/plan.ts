import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app.ts";
import { describeHold, describeReason } from "../../reconcile/describe.ts";
import { safetyStatus } from "../../reconcile/safety_status.ts";
import { describeRejection } from "../../verify/verification_error.ts";
import { planDocument } from "../../report/command_documents.ts";
import { stateOf } from "../../report/service_state.ts";
import { planFacts } from "../../report/status_document.ts";
import type { PlanItem } from "../../reconcile/cycle_types.ts";
import { commitCell, jsonText, type Output, renderTable } from "../output.ts";

/** `plan [--no-fetch] [--json]`: what the next cycle would run and why, changing nothing. */
export async function planCommand(
  app: App,
  options: { fetch: boolean; json: boolean },
  output: Output,
): Promise<number> {
  const plan = await app.agent.plan({ fetch: options.fetch, move: false });
  const safety = safetyStatus(app.store);
  const suspensionOf = (
    item: { service: string; deployedCommit: string | null },
  ) => safety.of(item.service, item.deployedCommit).suspension;
  const facts = planFacts(plan, app.store);
  const state = (item: PlanItem) => stateOf(facts(item).facts);
  if (options.json) {
    output.out(jsonText(planDocument(plan, suspensionOf, state)));
    return 0;
  }
  if (plan.rejection) {
    output.out(`${describeRejection(plan.rejection)}; nothing runs\n`);
    return 0;
  }
  const due = plan.items.filter((item) => item.due);
  const held = plan.items.filter((item) =>
    item.hold || (!item.due && suspensionOf(item))
  );
  output.out(
    escapeControl(
      `target ${commitCell(plan.head)} (${app.remote}/${app.branch}); ` +
        `${due.length} of ${plan.items.length} services due` +
        (held.length > 0 ? `, ${held.length} waiting` : ""),
    ) + "\n",
  );
  if (due.length === 0 && held.length === 0) return 0;
  output.out(renderTable(
    ["SERVICE", "DEPLOYED", "STATE", "RUNS", "WHY"],
    [...due, ...held].map((item) => [
      item.service,
      commitCell(item.deployedCommit),
      state(item),
      item.due ? "yes" : "no",
      (item.reason ? describeReason(item.reason) : "up to date") +
      (item.hold
        ? ` (waiting: ${describeHold(item.hold)})`
        : !item.due && suspensionOf(item)
        ? ` (${suspensionOf(item)!.text})`
        : "") +
      (item.configError ? ` (will fail: ${item.configError})` : "") +
      (item.due && item.secrets?.length
        ? `; decrypt first: ${
          item.secrets.map(({ file, to }) => to ? `${file} → ${to}` : file)
            .join(", ")
        }`
        : ""),
    ]),
  ));
  return 0;
}

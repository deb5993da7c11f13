/** Building the plan, history and logs documents of the commands of the same name. */
import type { CyclePlan, PlanItem } from "../reconcile/cycle_types.ts";
import type { ServiceState } from "./service_state.ts";
import { holdJson } from "../reconcile/describe.ts";
import type { SafetyFields } from "../reconcile/safety_status.ts";
import type { CommandRecord, RunRecord } from "../state/types.ts";
import type {
  HistoryDocument,
  LogsDocument,
  PlanDocument,
} from "./documents.ts";
import { commandJson, rejectionJson, runJson } from "./run_json.ts";

/** The `plan --json` document; `suspensionOf` gives a service's suspension, `stateOf` its state. */
export function planDocument(
  plan: CyclePlan,
  suspensionOf: (
    item: { service: string; deployedCommit: string | null },
  ) => SafetyFields["suspension"],
  stateOf: (item: PlanItem) => ServiceState,
): PlanDocument {
  return {
    head: plan.sync.before,
    target: plan.head,
    verification: rejectionJson(plan.rejection),
    services: plan.items.map((item) => ({
      state: stateOf(item),
      name: item.service,
      outOfDate: item.outOfDate,
      due: item.due,
      deployedCommit: item.deployedCommit,
      reason: item.reason ?? null,
      hold: item.hold ? holdJson(item.hold) : null,
      configError: item.configError ?? null,
      suspension: suspensionOf(item),
      decrypt: (item.secrets ?? []).map(({ file, to }) => ({
        file,
        to: to ?? null,
      })),
    })),
  };
}

/** The `history --json` document. */
export function historyDocument(runs: readonly RunRecord[]): HistoryDocument {
  return { runs: runs.map(runJson) };
}

/** The `logs RUN_ID --json` document. */
export function logsDocument(
  run: RunRecord,
  commands: readonly CommandRecord[],
): LogsDocument {
  return { run: runJson(run), commands: commands.map(commandJson) };
}

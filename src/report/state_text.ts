/** A service's state in one sentence, the same in `status`, `plan` and on the status page. */
import {
  describeHold,
  type HoldJson,
  shortCommit,
} from "../reconcile/describe.ts";
import type { SafetyFields } from "../reconcile/safety_status.ts";
import type { RejectionJson, RunJson } from "./documents.ts";
import { pendingText } from "./pending.ts";
import type { ServiceState } from "./service_state.ts";

/** What the sentence is made of. */
export interface StateTextFacts {
  hold: HoldJson | null;
  reason: import("../state/types.ts").DueReason | null;
  configError: string | null;
  deployedCommit: string | null;
  lastRun: RunJson | null;
  failedAttempts: number;
  suspension: SafetyFields["suspension"];
  health: SafetyFields["health"];
  verification: RejectionJson | null;
}

/** `held: rolled back from … to …`, `deployed at abc1234, healthy, last checked …`, … */
export function stateText(state: ServiceState, facts: StateTextFacts): string {
  const at = facts.deployedCommit
    ? `at ${shortCommit(facts.deployedCommit)}`
    : "never deployed";
  const health = facts.health ? `; ${facts.health.text}` : "";
  switch (state) {
    case "deploying":
    case "healing":
      return facts.lastRun?.outcome === "running"
        ? `run ${facts.lastRun.id} (${facts.lastRun.trigger}) in progress, ${at}`
        : `${pendingText(facts) ?? "due"}; ${at}`;
    case "retrying":
    case "held":
      return `${at}; ${pendingText(facts) ?? "waiting"}${health}`;
    case "failed":
      return facts.configError
        ? `invalid config: ${facts.configError}; ${at}`
        : facts.hold
        ? `${at}; ${describeHold(facts.hold)}`
        : `${at}; last run ${facts.lastRun?.id ?? "-"} failed${
          facts.lastRun?.error ? `: ${facts.lastRun.error}` : ""
        }`;
    case "unhealthy":
      return `${at}; ${facts.health?.text ?? "unhealthy"}`;
    case "suspended":
      return `${facts.suspension?.text ?? "suspended"}; ${at}`;
    case "refused":
      return `${at}; ${
        facts.verification?.message ?? "the upstream commit is refused"
      }`;
    case "removed":
      return `removed from the repository; was ${at}`;
    case "deployed":
      return `${at}${health}`;
  }
}

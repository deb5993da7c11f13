/**
 * The agent's plan and result types, apart from the Agent so the scheduler,
 * dependency and description helpers can use them without importing it.
 * @module
 */
import type {
  RunOutcome,
  RunReason,
  ServiceRecord,
  StepName,
  Trigger,
} from "../state/types.ts";
import type { DueReason } from "./due.ts";
import type { RetryHold } from "./retry.ts";
import type { SafetyHold } from "./safety_holds.ts";
import type { ServiceEntry } from "./services.ts";
import type { SyncResult } from "./sync.ts";
import type { Rejection } from "../verify/verification_error.ts";

/** Why an out-of-date service does not run in this cycle. */
export type Hold =
  | RetryHold
  | SafetyHold
  | { kind: "dependency"; dependency: string };

/** One service's line in a plan. */
export interface PlanItem {
  service: string;
  dir: string;
  deployedCommit: string | null;
  /** Its deployed commit is not the target (or it never ran, or was interrupted). */
  outOfDate: boolean;
  /** Out of date and allowed to run now: the next cycle runs it. */
  due: boolean;
  reason?: DueReason;
  /** Set when out of date but held back. */
  hold?: Hold;
  /** The service's hook file is invalid: it would fail with this message. */
  configError?: string;
  dependsOn: string[];
  /** SOPS files its run decrypts first (step `decrypt`), service-relative; undefined or empty: none. */
  secrets?: { file: string; to?: string }[];
}

/** What a cycle would do at `head`. */
export interface CyclePlan {
  sync: SyncResult;
  /** The commit services are compared against. */
  head: string;
  items: PlanItem[];
  /** Services of this host at `head`. */
  services: ServiceEntry[];
  /** Services with state that no longer exist at `head` and were not yet reported. */
  removed: ServiceRecord[];
  /** The fetched commit failed signature verification: the next cycle runs nothing. */
  rejection?: Rejection;
}

/** How one service's run ended. */
export interface RunSummary {
  service: string;
  runId: number;
  outcome: Exclude<RunOutcome, "running">;
  reason: RunReason;
  failedStep?: StepName;
  error?: string;
}

/** The structured result of one cycle (or `deploy`). */
export interface CycleResult {
  trigger: Trigger;
  sync: SyncResult;
  runs: RunSummary[];
  /** Services reported removed in this cycle. */
  removed: string[];
  /** True when at least one service failed (exit code 1). */
  failed: boolean;
}

/** Options of `Agent.runCycle` and `Agent.deploy`. */
export interface CycleOptions {
  trigger: Trigger;
  /** Aborted: start no further service (a graceful stop). */
  stop?: AbortSignal;
  /** Aborted: kill the running command (with its children) and record it `interrupted`. */
  signal?: AbortSignal;
  /** Run suspended services too (`deploy --force`). */
  force?: boolean;
}

/**
 * The JSON documents the agent prints (`status --json`, `plan --json`,
 * `history --json`, `logs --json`) and serves (`GET /api/status`). Their
 * shape is a contract with scripts and dashboards: fields are added, never
 * renamed or removed.
 */
import type { HoldJson } from "../results/describe.ts";
import type { SafetyFields } from "../reconcile/safety_status.ts";
import type { ServiceState } from "./service_state.ts";
import type {
  CommandRecord,
  DueReason,
  RunOutcome,
  RunReason,
  StepName,
  Trigger,
} from "../state/types.ts";

/** One run as every document shows it; times are ISO 8601 strings. */
export interface RunJson {
  id: number;
  service: string;
  trigger: Trigger;
  outcome: RunOutcome;
  fromCommit: string | null;
  toCommit: string;
  revision: string | null;
  attempt: number;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  failedStep: StepName | null;
  error: string | null;
  reason: RunReason;
}

/** A commit refused by signature verification, as `status`, `plan` and `/api/status` show it. */
export interface RejectionJson {
  commit: string;
  signer: string | null;
  signed: boolean;
  reason: string;
  message: string;
}

/** The last time `sync: reset` moved the work tree to a commit that does not descend from the deployed one. */
export interface RewindJson {
  from: string;
  to: string;
  /** ISO 8601. */
  at: string;
  message: string;
}

/** One service's entry of the status document. */
export interface ServiceStatus extends SafetyFields {
  /** The one word for how it is (docs/commands.md#service-states). */
  state: ServiceState;
  /** The state in a sentence: what it runs, what it waits for, what failed. */
  stateText: string;
  name: string;
  dir: string;
  deployedCommit: string | null;
  deployedAt: string | null;
  lastRun: RunJson | null;
  failedAttempts: number;
  outOfDate: boolean;
  due: boolean;
  reason: DueReason | null;
  hold: HoldJson | null;
  configError: string | null;
}

/** The `status --json` document, also served as `GET /api/status`. */
export interface StatusDocument {
  repository: string;
  remote: string;
  branch: string;
  host: string;
  head: string;
  upstream: string;
  verification: RejectionJson | null;
  /** The configuration of a commit that could not be used (the last good one is in effect), or null. */
  configRefused: ConfigRefusedJson | null;
  lastRewind: RewindJson | null;
  services: ServiceStatus[];
}

/** A refused repository configuration, as `status` and `/api/status` show it. */
export interface ConfigRefusedJson {
  commit: string;
  error: string;
  /** ISO 8601 time it was first refused. */
  since: string;
  message: string;
}

/** One service's entry of the plan document. */
export interface PlanServiceJson {
  /** The same state `status` shows. */
  state: ServiceState;
  name: string;
  outOfDate: boolean;
  due: boolean;
  deployedCommit: string | null;
  reason: DueReason | null;
  hold: HoldJson | null;
  configError: string | null;
  suspension: SafetyFields["suspension"];
  /** Step `decrypt`: the SOPS files its run decrypts before `pre` (names only). */
  decrypt: { file: string; to: string | null }[];
}

/** The `plan --json` document: what the next cycle would run and why. */
export interface PlanDocument {
  head: string;
  target: string;
  verification: RejectionJson | null;
  services: PlanServiceJson[];
}

/** The `history --json` document: past runs, newest first. */
export interface HistoryDocument {
  runs: RunJson[];
}

/** One command of a run in the logs document; times are ISO 8601 strings. */
export type CommandJson =
  & Omit<CommandRecord, "startedAt" | "finishedAt">
  & { startedAt: string; finishedAt: string };

/** The `logs RUN_ID --json` document: one run and its commands' output. */
export interface LogsDocument {
  run: RunJson;
  commands: CommandJson[];
}

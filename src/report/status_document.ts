/** Building the status document from a plan and the state. */
import type { CyclePlan } from "../reconcile/cycle_types.ts";
import { holdJson } from "../reconcile/describe.ts";
import { rewindText } from "../reconcile/sync_stage.ts";
import { safetyStatus } from "../reconcile/safety_status.ts";
import { lastRewind } from "../state/rewinds.ts";
import type { StateStore } from "../state/store.ts";
import { recordedRejection } from "../verify/verifier.ts";
import type { RewindJson, StatusDocument } from "./documents.ts";
import { rejectionJson, runJson } from "./run_json.ts";
import {
  type ConfigRefusal,
  configRefusal,
  describeRefusal,
} from "../state/config_record.ts";
import type { ConfigRefusedJson } from "./documents.ts";
import { isoTime } from "./time_text.ts";

/** Something that plans without running or moving anything (the agent). */
export interface Planner {
  plan(options: { fetch: false; move: false }): Promise<CyclePlan>;
}

/** What {@link statusDocument} reads: adapters the composition root built. */
export interface StatusSource {
  agent: Planner;
  store: StateStore;
  repoRoot: string;
  remote: string;
  branch: string;
  host: string;
}

/** Options of {@link statusDocument}. */
export interface StatusDocumentOptions {
  /** Plans with this agent instead of `source.agent` (the HTTP server uses its own, apart from the running cycle). */
  planner?: Planner;
}

/** Builds the `status --json` document: one entry per service with deployed commit, last run and pending work. */
export async function statusDocument(
  source: StatusSource,
  options: StatusDocumentOptions = {},
): Promise<StatusDocument> {
  const plan = await (options.planner ?? source.agent).plan({
    fetch: false,
    move: false,
  });
  const state = source.store.services();
  const safety = safetyStatus(source.store);
  const lastRuns = source.store.lastRuns();
  const services = plan.items.map((item) => {
    const record = state.get(item.service);
    const lastRun = record?.lastRunId
      ? lastRuns.get(record.lastRunId)
      : undefined;
    return {
      name: item.service,
      dir: item.dir,
      deployedCommit: item.deployedCommit,
      deployedAt: isoTime(record?.deployedAt),
      lastRun: lastRun ? runJson(lastRun) : null,
      failedAttempts: record?.failedAttempts ?? 0,
      outOfDate: item.outOfDate,
      due: item.due,
      reason: item.reason ?? null,
      hold: item.hold ? holdJson(item.hold) : null,
      configError: item.configError ?? null,
      ...safety.of(item.service, record?.deployedCommit ?? null),
    };
  });
  return {
    repository: source.repoRoot,
    remote: source.remote,
    branch: source.branch,
    host: source.host,
    head: plan.sync.before,
    upstream: plan.sync.upstream,
    verification: rejectionJson(
      recordedRejection(source.store) ?? plan.rejection,
    ),
    configRefused: configRefusedJson(configRefusal(source.store)),
    lastRewind: rewindJson(source.store),
    services,
  };
}

function configRefusedJson(
  refusal: ConfigRefusal | undefined,
): ConfigRefusedJson | null {
  if (!refusal) return null;
  return {
    ...refusal,
    since: new Date(refusal.since).toISOString(),
    message: describeRefusal(refusal),
  };
}

function rewindJson(store: StateStore): RewindJson | null {
  const rewind = lastRewind(store);
  if (!rewind) return null;
  const at = isoTime(rewind.at);
  return {
    from: rewind.from,
    to: rewind.to,
    at,
    message: `rewound at ${at}: ${rewindText(rewind)}`,
  };
}

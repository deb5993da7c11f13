/** Building the status document from a plan and the state. */
import type { CyclePlan, PlanItem } from "../reconcile/cycle_types.ts";
import type { SafetyFields } from "../reconcile/safety_status.ts";
import type { RunRecord, ServiceRecord } from "../state/types.ts";
import { holdJson, shortCommit } from "../results/describe.ts";
import { rewindText } from "../reconcile/sync_stage.ts";
import { safetyStatus } from "../reconcile/safety_status.ts";
import { lastRewind } from "../state/rewinds.ts";
import type { StateStore } from "../state/store.ts";
import { recordedRejection } from "../verify/recorded_rejection.ts";
import type { RewindJson, ServiceStatus, StatusDocument } from "./documents.ts";
import { type ServiceFacts, stateOf } from "./service_state.ts";
import { stateText } from "./state_text.ts";
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
  const verification = rejectionJson(
    recordedRejection(source.store) ?? plan.rejection,
  );
  const facts = planFacts(plan, source.store);
  const services = plan.items.map((item): ServiceStatus => {
    const { record, lastRun, fields, facts: itemFacts } = facts(item);
    const serviceState = stateOf(itemFacts);
    return {
      state: serviceState,
      stateText: stateText(serviceState, {
        ...itemFacts,
        hold: item.hold ? holdJson(item.hold) : null,
        reason: item.reason ?? null,
        deployedCommit: item.deployedCommit,
        lastRun: lastRun ? runJson(lastRun) : null,
        suspension: fields.suspension,
        health: fields.health,
        verification,
      }),
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
      ...fields,
    };
  });
  // Services that left the repository stay listed as removed (their history is kept).
  const listed = new Set(services.map((service) => service.name));
  for (const record of source.store.services().values()) {
    if (record.removedAt === null || listed.has(record.name)) continue;
    services.push(removedStatus(record, source.store));
  }
  return {
    repository: source.repoRoot,
    remote: source.remote,
    branch: source.branch,
    host: source.host,
    head: plan.sync.before,
    upstream: plan.sync.upstream,
    verification,
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

/** For each plan item: its state record, last run, safety fields and the facts its state is read from. */
export function planFacts(
  plan: Pick<CyclePlan, "rejection">,
  store: StateStore,
): (item: PlanItem) => {
  record: ServiceRecord | undefined;
  lastRun: RunRecord | undefined;
  fields: SafetyFields;
  facts: ServiceFacts;
} {
  const state = store.services();
  const safety = safetyStatus(store);
  const lastRuns = store.lastRuns();
  const refused = (recordedRejection(store) ?? plan.rejection) !== undefined;
  return (item) => {
    const record = state.get(item.service);
    const lastRun = record?.lastRunId
      ? lastRuns.get(record.lastRunId)
      : undefined;
    const fields = safety.of(item.service, record?.deployedCommit ?? null);
    return {
      record,
      lastRun,
      fields,
      facts: {
        hold: item.hold ?? null,
        outOfDate: item.outOfDate,
        configError: item.configError ?? null,
        lastRun: lastRun ?? null,
        failedAttempts: record?.failedAttempts ?? 0,
        suspended: fields.suspension !== null,
        health: fields.health,
        refused,
      },
    };
  };
}

/** A service that left the repository, as the status document lists it. */
function removedStatus(
  record: ServiceRecord,
  store: StateStore,
): ServiceStatus {
  const lastRun = record.lastRunId ? store.run(record.lastRunId) : undefined;
  return {
    state: "removed",
    stateText: `removed from the repository at ${
      isoTime(record.removedAt)
    }; was at ${
      record.deployedCommit ? shortCommit(record.deployedCommit) : "nothing"
    }`,
    name: record.name,
    dir: record.name,
    deployedCommit: record.deployedCommit,
    deployedAt: isoTime(record.deployedAt),
    lastRun: lastRun ? runJson(lastRun) : null,
    failedAttempts: record.failedAttempts,
    outOfDate: false,
    due: false,
    reason: null,
    hold: null,
    configError: null,
    suspension: null,
    rollback: null,
    health: null,
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

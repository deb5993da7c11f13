import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app.ts";
import type { Agent } from "../../reconcile/agent.ts";
import {
  describeHold,
  describeReason,
  holdJson,
} from "../../reconcile/describe.ts";
import type { RunRecord } from "../../state/types.ts";
import { safetyStatus } from "../../reconcile/safety_status.ts";
import { recordedRejection } from "../../verify/verifier.ts";
import {
  describeRejection,
  type Rejection,
} from "../../verify/verification_error.ts";
import {
  isoTime,
  jsonText,
  type Output,
  renderTable,
  shortCommit,
  tableTime,
} from "../output.ts";

/** One service's entry of the status document. */
export type ServiceStatus = StatusDocument["services"][number];

/** The `status --json` document, also served as `GET /api/status`. */
export type StatusDocument = Awaited<ReturnType<typeof buildStatusDocument>>;

/** What {@link statusDocument} reads: the composition root's adapters. */
export type StatusSource = Pick<
  App,
  "agent" | "store" | "repoRoot" | "remote" | "branch" | "host"
>;

/** Options of {@link statusDocument}. */
export interface StatusDocumentOptions {
  /** Plans with this agent instead of `app.agent` (the HTTP server uses its own, apart from the running cycle). */
  planner?: Pick<Agent, "plan">;
}

/** Builds the `status --json` document: one entry per service with deployed commit, last run and pending work. */
export function statusDocument(
  app: StatusSource,
  options: StatusDocumentOptions = {},
): Promise<StatusDocument> {
  return buildStatusDocument(app, options);
}

async function buildStatusDocument(
  app: StatusSource,
  options: StatusDocumentOptions,
) {
  const plan = await (options.planner ?? app.agent).plan({
    fetch: false,
    move: false,
  });
  const state = app.store.services();
  const safety = safetyStatus(app.store);
  const services = plan.items.map((item) => {
    const record = state.get(item.service);
    const lastRun = record?.lastRunId
      ? app.store.run(record.lastRunId)
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
    repository: app.repoRoot,
    remote: app.remote,
    branch: app.branch,
    host: app.host,
    head: plan.sync.before,
    upstream: plan.sync.upstream,
    verification: rejectionJson(
      recordedRejection(app.store) ?? plan.rejection,
    ),
    services,
  };
}

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
        shortCommit(document.head)
      } (${app.remote}/${app.branch} ${shortCommit(document.upstream)})`,
    ) + "\n",
  );
  if (document.verification) {
    output.out(`${document.verification.message}\n`);
  }
  if (services.length === 0) {
    output.out("no services found\n");
    return 0;
  }
  output.out(renderTable(
    ["SERVICE", "DEPLOYED", "LAST RUN", "WHEN", "PENDING"],
    services.map((service) => [
      service.name,
      shortCommit(service.deployedCommit),
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
      ].filter((text) => text !== "").concat(pendingText(service)).join("; "),
    ]),
  ));
  return 0;
}

function pendingText(service: ServiceStatus): string[] {
  const text = service.configError
    ? `invalid config: ${service.configError}`
    : service.hold
    ? `waiting: ${describeHold(service.hold)}`
    : service.reason
    ? `due: ${describeReason(service.reason)}`
    : "-";
  // A suspension says more than "waiting: suspended" again.
  if (text !== "-" && service.hold?.kind === "suspended") return [];
  return service.suspension && text === "-" ? [] : [text];
}

/** A refused commit as `status`, `plan` and `/api/status` show it. */
export function rejectionJson(rejection: Rejection | undefined) {
  if (!rejection) return null;
  return {
    commit: rejection.commit,
    signer: rejection.signer,
    signed: rejection.signer !== null,
    reason: rejection.reason,
    message: describeRejection(rejection),
  };
}

/** The stable JSON form of a run, shared by `status`, `history` and `logs`. */
export function runJson(run: RunRecord) {
  return {
    id: run.id,
    service: run.service,
    trigger: run.trigger,
    outcome: run.outcome,
    fromCommit: run.fromCommit,
    toCommit: run.toCommit,
    revision: run.revision,
    attempt: run.attempt,
    startedAt: isoTime(run.startedAt),
    finishedAt: isoTime(run.finishedAt),
    durationMs: run.finishedAt === null ? null : run.finishedAt - run.startedAt,
    failedStep: run.failedStep,
    error: run.error,
    reason: run.reason,
  };
}

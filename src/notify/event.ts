/** The notification event document (docs/notifications.md#the-event-document) and how a finished cycle becomes events. */
import type { NOTIFY_EVENTS } from "../config/vocabulary.ts";
import { shortCommit } from "../git/commit_id.ts";
import { type Draft, eventMessage, eventTitle } from "./event_text.ts";
import { describeReason } from "../results/describe.ts";
import type { CycleResult, RunSummary } from "../results/cycle_result.ts";

export { eventMessage, eventTitle } from "./event_text.ts";
import type { StateStore } from "../state/store.ts";
import type { RunRecord, StepName } from "../state/types.ts";

/** An event a notify target may subscribe to. */
export type NotifyEventName = typeof NOTIFY_EVENTS[number];

/** What `notify test` sends; it reaches every target whatever its `events`. */
export type TestEventName = "test";

/** Characters of the failing command's output carried by an event. */
export const OUTPUT_TAIL_CHARS = 2048;

/** One notification, as POSTed by the `json` format and rendered by the others. */
export interface NotificationEvent {
  event: NotifyEventName | TestEventName;
  /** Null for repository-wide events (sync_failed, the sync's recovered, test). */
  service: string | null;
  fromCommit: string | null;
  toCommit: string | null;
  outcome: "succeeded" | "failed" | null;
  failedStep: StepName | null;
  /** The run's error message (failed runs) or the sync error. */
  error: string | null;
  /** The last ~2 KiB of the failing command's combined output. */
  outputTail: string | null;
  /** Why the run happened, or what the event is about, in words. */
  reason: string | null;
  attempt: number | null;
  runId: number | null;
  /** The commit deployed (or refused), with its subject and author once looked up. */
  commit: CommitJson | null;
  /** The run's page (`public_url` + `/runs/<id>`), when `public_url` is set. */
  runUrl: string | null;
  host: string;
  /** ISO 8601 time the event happened. */
  time: string;
  /** A one-line summary (chat title). */
  title: string;
  /** A few human-readable lines (chat body), without the output tail. */
  message: string;
  /**
   * An event a target receives instead when it does not subscribe to this one:
   * `recovered` falls back to `deploy_succeeded`. Not part of the JSON document.
   */
  fallback?: NotifyEventName;
}

/** A commit as events carry it. */
export interface CommitJson {
  id: string;
  shortId: string;
  /** Null until looked up (or when the commit is gone). */
  subject: string | null;
  author: string | null;
}

/** Where events come from: the state store and the host name. */
export interface EventContext {
  store: StateStore;
  host: string;
  now: () => number;
}

/** The events of one finished cycle: failures once per revision, recoveries, removals. */
export function cycleEvents(
  result: CycleResult,
  context: EventContext,
): { events: NotificationEvent[]; suppressed: RunSummary[] } {
  const events: NotificationEvent[] = [];
  const suppressed: RunSummary[] = [];
  for (const summary of result.runs) {
    const event = runEvent(summary, context);
    if (event === "suppressed") suppressed.push(summary);
    else if (event) events.push(event);
  }
  if (result.sync.rewound) {
    events.push(rewoundEvent(result.sync, context));
  }
  const services = result.removed.length > 0
    ? context.store.services()
    : new Map();
  for (const service of result.removed) {
    const record = services.get(service);
    events.push(finish({
      ...blank(context),
      event: "service_removed",
      service,
      fromCommit: record?.deployedCommit ?? null,
      toCommit: result.sync.after,
      reason: "the service folder is no longer in the repository",
    }));
  }
  return { events, suppressed };
}

/**
 * The event of one run, or "suppressed" for a repeated failure at the same
 * revision; skipped and interrupted runs notify nothing (a skipped service's
 * failed dependency already did).
 */
function runEvent(
  summary: RunSummary,
  context: EventContext,
): NotificationEvent | "suppressed" | undefined {
  if (summary.outcome !== "succeeded" && summary.outcome !== "failed") {
    return undefined;
  }
  const run = context.store.run(summary.runId);
  if (!run) return undefined;
  const base = {
    ...blank(context),
    service: run.service,
    fromCommit: run.fromCommit,
    toCommit: run.toCommit,
    outcome: summary.outcome,
    reason: describeReason(run.reason),
    attempt: run.attempt,
    runId: run.id,
    time: new Date(run.finishedAt ?? context.now()).toISOString(),
  };
  if (run.trigger === "rollback") {
    return finish({
      ...base,
      event: summary.outcome === "succeeded" ? "rolled_back" : "deploy_failed",
      failedStep: run.failedStep,
      error: run.error,
      outputTail: summary.outcome === "failed"
        ? failingOutputTail(context.store, run)
        : null,
    });
  }
  // A heal that worked is announced by the next passing check (`healed`).
  if (run.trigger === "heal" && summary.outcome === "succeeded") {
    return undefined;
  }
  if (summary.outcome === "failed") {
    // Attempts count per service revision: only the first failure at a revision notifies.
    if (run.attempt > 1) return "suppressed";
    return finish({
      ...base,
      event: "deploy_failed",
      failedStep: run.failedStep,
      error: run.error,
      outputTail: failingOutputTail(context.store, run),
    });
  }
  if (previousDecisiveOutcome(context.store, run) === "failed") {
    return finish({
      ...base,
      event: "recovered",
      fallback: "deploy_succeeded",
    });
  }
  return finish({ ...base, event: "deploy_succeeded" });
}

/** The `sync_failed` event of a fetch or sync error. */
export function syncFailedEvent(
  error: string,
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "sync_failed",
    outcome: "failed",
    error,
    reason: "the repository could not be synced with its upstream",
  });
}

/** The `state_lost` event: the state file was removed or replaced under the running agent, which stops. */
export function stateLostEvent(
  error: string,
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "state_lost",
    outcome: "failed",
    error,
    reason:
      "the agent stopped; restore the state file, adopt, or start with --fresh-state",
    fallback: "sync_failed",
  });
}

/** The `state_unwritable` event: writes to the state file fail, so the daemon deploys nothing until they succeed. */
export function stateUnwritableEvent(
  error: string,
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "state_unwritable",
    outcome: "failed",
    error,
    reason:
      "nothing is deployed until the state file can be written again; the agent keeps trying",
    fallback: "sync_failed",
  });
}

/** The `config_invalid` event: the repository configuration of a commit cannot be used; the last good one stays in effect. */
export function configInvalidEvent(
  invalid: { commit: string; error: string },
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "config_invalid",
    toCommit: invalid.commit,
    outcome: "failed",
    error: invalid.error,
    reason: "the last good repository configuration stays in effect",
    fallback: "sync_failed",
  });
}

/** The `verification_failed` event: a fetched commit was refused, nothing ran. */
export function verificationFailedEvent(
  rejection: { commit: string; signer: string | null; reason: string },
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "verification_failed",
    toCommit: rejection.commit,
    outcome: "failed",
    error: `${
      rejection.signer ? `signed by ${rejection.signer}` : "unsigned"
    }: ${rejection.reason}`,
    reason: "the work tree stays where it is and nothing runs",
  });
}

/** The `rewound` event: `sync: reset` moved the work tree to a commit that does not descend from the deployed one. */
export function rewoundEvent(
  sync: { before: string; after: string },
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "rewound",
    fromCommit: sync.before,
    toCommit: sync.after,
    reason:
      "the branch was force-pushed or rewound; the new commit passed verification (if on) and is deployed",
  });
}

/** The `verification_reset` event: the operator let the deployed configuration lower or switch off verification. */
export function verificationResetEvent(
  change: { was: string; reason: string | null },
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "verification_reset",
    outcome: null,
    reason: `verify-reset by the operator${
      change.reason ? ` (${change.reason})` : ""
    }: the recorded ${change.was} no longer applies; the deployed configuration or the command line decides from now on`,
  });
}

/** The `recovered` event sent when syncing works again after a `sync_failed`. */
export function syncRecoveredEvent(
  failingSince: number,
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "recovered",
    outcome: "succeeded",
    reason: `syncing works again (failing since ${
      new Date(failingSince).toISOString()
    })`,
  });
}

/** `unhealthy` when a self-heal check starts failing, `healed` when one passes again. */
export function healthEvent(
  event: "unhealthy" | "healed",
  health: {
    service: string;
    commit: string;
    error: string | null;
    since: number;
  },
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event,
    service: health.service,
    toCommit: health.commit,
    outcome: event === "healed" ? "succeeded" : "failed",
    failedStep: event === "unhealthy" ? "health" : null,
    error: event === "unhealthy" ? health.error : null,
    reason: event === "unhealthy"
      ? "a self-heal health check failed; the service is redeployed"
      : `health checks pass again (unhealthy since ${
        new Date(health.since).toISOString()
      })`,
  });
}

/** The message `notify test` sends to every target. */
export function testEvent(
  context: Omit<EventContext, "store">,
): NotificationEvent {
  return finish({
    ...blank(context),
    event: "test",
    reason: "a test message sent by `upstream-watch notify test`",
  });
}

/** The event as the `json` format POSTs it (without the internal fallback). */
export function eventDocument(
  event: NotificationEvent,
): Omit<NotificationEvent, "fallback"> {
  const { fallback: _fallback, ...document } = event;
  return document;
}

function blank(context: Omit<EventContext, "store">): Draft {
  return {
    event: "test",
    service: null,
    fromCommit: null,
    toCommit: null,
    outcome: null,
    failedStep: null,
    error: null,
    outputTail: null,
    reason: null,
    attempt: null,
    runId: null,
    commit: null,
    runUrl: null,
    host: context.host,
    time: new Date(context.now()).toISOString(),
  };
}

function finish(draft: Draft & { fallback?: NotifyEventName }) {
  const commit = draft.commit ??
    (draft.toCommit
      ? {
        id: draft.toCommit,
        shortId: shortCommit(draft.toCommit),
        subject: null,
        author: null,
      }
      : null);
  const full = { ...draft, commit };
  return { ...full, title: eventTitle(full), message: eventMessage(full) };
}

/** The tail of the command that failed: the last one recorded in the failed step. */
function failingOutputTail(store: StateStore, run: RunRecord): string | null {
  const commands = store.commands(run.id);
  const inStep = commands.filter((command) => command.step === run.failedStep);
  const failing = inStep.at(-1) ?? commands.at(-1);
  if (!failing || failing.output === "") return null;
  return tail(failing.output, OUTPUT_TAIL_CHARS);
}

/** The last `max` characters of `text`, starting at a line boundary when one is near. */
export function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(text.length - max);
  const newline = cut.indexOf("\n");
  return newline >= 0 && newline < 200 ? cut.slice(newline + 1) : cut;
}

/** Outcome of the newest succeeded-or-failed run of the service before `run`. */
function previousDecisiveOutcome(
  store: StateStore,
  run: RunRecord,
): "succeeded" | "failed" | undefined {
  // Interrupted and skipped runs decide nothing; look a little further back past them.
  const previous = store.runs({ service: run.service, limit: 20 });
  for (const candidate of previous) {
    if (candidate.id >= run.id) continue;
    if (candidate.outcome === "succeeded" || candidate.outcome === "failed") {
      return candidate.outcome;
    }
  }
  return undefined;
}

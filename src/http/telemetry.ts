/** What `/healthz` and `/metrics` report: counters fed by cycle reports, gauges read from the state (docs/webhooks.md). */
import { increment, labels } from "./prometheus_text.ts";
import { SafetyMetrics } from "./safety_metrics.ts";
import type { Suspension } from "../state/suspensions.ts";
import { VerificationError } from "../verify/verification_error.ts";
import type { CycleView } from "./cycle_view.ts";
import type { StateStore } from "../state/store.ts";
import type { Trigger } from "../state/types.ts";

/** Upper bounds (seconds) of the run duration histogram's buckets. */
export const RUN_DURATION_BUCKETS = [
  1,
  5,
  15,
  30,
  60,
  120,
  300,
  600,
  1800,
  3600,
] as const;

/** Health as `/healthz` answers it. */
export interface Health {
  healthy: boolean;
  /** One line saying why. */
  reason: string;
}

/** What {@link AgentTelemetry} reads. */
export interface TelemetryDeps {
  store: Pick<StateStore, "run" | "services">;
  /** The suspensions in effect, for the suspended gauge (none when not given). */
  suspensions?: () => ReadonlyMap<string, Suspension>;
  now: () => number;
  /** Seconds between polls in effect. */
  intervalSeconds: () => number;
  /** Why the state file cannot be written, if it cannot (nothing deploys meanwhile). */
  stateProblem?: () => string | undefined;
  /** Why the repository configuration at HEAD is not in effect, if it is not. */
  configProblem?: () => string | undefined;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

/** Cycle and run counters since start, plus the sync times health is judged by. */
export class AgentTelemetry {
  readonly #deps: TelemetryDeps;
  readonly #cycles = new Map<string, number>();
  readonly #runs = new Map<string, number>();
  readonly #durations = new Map<string, Histogram>();
  readonly #webhooks = new Map<string, number>();
  #lastSyncOkAt?: number;
  #lastSyncError?: { at: number; message: string };
  /** A refused commit is unhealthy at once: nothing will deploy until a signed one arrives. */
  #rejection?: string;
  #runningSince?: number;
  /** Health checks, rollbacks, heals and suspensions. */
  readonly safety = new SafetyMetrics();

  constructor(deps: TelemetryDeps) {
    this.#deps = deps;
  }

  /** Time of the start of the last cycle whose fetch and sync succeeded. */
  get lastSuccessfulSyncAt(): number | undefined {
    return this.#lastSyncOkAt;
  }

  cycleStarted(_trigger: Trigger, at: number): void {
    this.#runningSince = at;
  }

  cycleFinished(report: CycleView): void {
    this.#runningSince = undefined;
    const outcome = report.kind === "completed" ? "completed" : "sync_failed";
    increment(this.#cycles, labels({ trigger: report.trigger, outcome }));
    this.#rejection = report.kind === "sync_failed" &&
        report.error instanceof VerificationError
      ? report.error.message
      : undefined;
    if (report.kind === "sync_failed") {
      this.#lastSyncError = {
        at: report.finishedAt,
        message: report.error.message,
      };
      return;
    }
    // The fetch happens at the start of a cycle.
    this.#lastSyncOkAt = report.startedAt;
    this.#lastSyncError = undefined;
    for (const summary of report.result.runs) {
      increment(
        this.#runs,
        labels({ service: summary.service, outcome: summary.outcome }),
      );
      const run = this.#deps.store.run(summary.runId);
      if (run) this.safety.runFinished({ ...run, outcome: summary.outcome });
      if (run?.finishedAt === null || run === undefined) continue;
      this.#observeDuration(
        summary.service,
        (run.finishedAt - run.startedAt) / 1000,
      );
    }
  }

  /** Counts a webhook request by what became of it (accepted, ignored, rejected_401, …). */
  webhookReceived(result: string): void {
    increment(this.#webhooks, labels({ result }));
  }

  #observeDuration(service: string, seconds: number): void {
    const key = labels({ service });
    let histogram = this.#durations.get(key);
    if (!histogram) {
      histogram = {
        buckets: RUN_DURATION_BUCKETS.map(() => 0),
        sum: 0,
        count: 0,
      };
      this.#durations.set(key, histogram);
    }
    RUN_DURATION_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) histogram.buckets[index]++;
    });
    histogram.sum += seconds;
    histogram.count++;
  }

  /**
   * Healthy while the last successful sync is at most three intervals old. A
   * running cycle counts as a sync in progress unless the previous one failed.
   */
  health(): Health {
    const now = this.#deps.now();
    const interval = this.#deps.intervalSeconds();
    const windowMs = 3 * interval * 1000;
    const lastOk = this.#lastSyncOkAt;
    const error = this.#lastSyncError;
    const stateProblem = this.#deps.stateProblem?.();
    if (stateProblem !== undefined) {
      return {
        healthy: false,
        reason: stateOutageReason(stateProblem),
      };
    }
    if (this.#rejection) return { healthy: false, reason: this.#rejection };
    const configProblem = this.#deps.configProblem?.();
    if (configProblem !== undefined) {
      return { healthy: false, reason: configProblem };
    }
    if (lastOk !== undefined && now - lastOk <= windowMs) {
      return {
        healthy: true,
        reason: `ok: last successful sync ${ago(now, lastOk)}${
          error ? `; the last attempt failed: ${error.message}` : ""
        }`,
      };
    }
    const running = this.#runningSince;
    if (error === undefined && running !== undefined) {
      if (now - running <= windowMs) {
        return {
          healthy: true,
          reason: `ok: cycle running since ${ago(now, running)}`,
        };
      }
      return {
        healthy: false,
        reason: `a cycle has been running for ${
          seconds(now - running)
        } s, more than 3 intervals of ${interval} s; no sync meanwhile`,
      };
    }
    if (lastOk === undefined && error === undefined) {
      return { healthy: true, reason: "ok: starting, no sync yet" };
    }
    const last = lastOk === undefined
      ? "no successful sync since start"
      : `last successful sync ${ago(now, lastOk)}`;
    return {
      healthy: false,
      reason: `${last}, more than 3 intervals of ${interval} s${
        error ? `; last error: ${error.message}` : ""
      }`,
    };
  }

  /** The Prometheus text exposition (format 0.0.4). */
  metricsText(): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family(
      "upstream_watch_cycles_total",
      "counter",
      "Update cycles since start, by trigger and outcome (completed or sync_failed).",
    );
    for (const [key, value] of sorted(this.#cycles)) {
      out.push(`upstream_watch_cycles_total{${key}} ${value}`);
    }
    family(
      "upstream_watch_runs_total",
      "counter",
      "Service runs since start, by service and outcome.",
    );
    for (const [key, value] of sorted(this.#runs)) {
      out.push(`upstream_watch_runs_total{${key}} ${value}`);
    }
    family(
      "upstream_watch_run_duration_seconds",
      "histogram",
      "Duration of service runs since start.",
    );
    for (const [key, histogram] of sorted(this.#durations)) {
      RUN_DURATION_BUCKETS.forEach((bound, index) => {
        out.push(
          `upstream_watch_run_duration_seconds_bucket{${key},le="${bound}"} ${
            histogram.buckets[index]
          }`,
        );
      });
      out.push(
        `upstream_watch_run_duration_seconds_bucket{${key},le="+Inf"} ${histogram.count}`,
        `upstream_watch_run_duration_seconds_sum{${key}} ${
          number(histogram.sum)
        }`,
        `upstream_watch_run_duration_seconds_count{${key}} ${histogram.count}`,
      );
    }
    family(
      "upstream_watch_last_successful_sync_timestamp_seconds",
      "gauge",
      "Unix time of the last successful fetch and sync (0: none since start).",
    );
    out.push(
      `upstream_watch_last_successful_sync_timestamp_seconds ${
        number((this.#lastSyncOkAt ?? 0) / 1000)
      }`,
    );
    family(
      "upstream_watch_webhook_requests_total",
      "counter",
      "Webhook requests since start, by result.",
    );
    for (const [key, value] of sorted(this.#webhooks)) {
      out.push(`upstream_watch_webhook_requests_total{${key}} ${value}`);
    }
    const services = [...this.#deps.store.services().values()].filter((
      record,
    ) => record.removedAt === null);
    family(
      "upstream_watch_service_deployed",
      "gauge",
      "1 when the service has a deployed commit.",
    );
    for (const record of services) {
      out.push(
        `upstream_watch_service_deployed{${labels({ service: record.name })}} ${
          record.deployedCommit === null ? 0 : 1
        }`,
      );
    }
    family(
      "upstream_watch_service_failing",
      "gauge",
      "1 when the service's last attempt failed and it has not succeeded since.",
    );
    for (const record of services) {
      const failing = record.failedAttempts > 0 ||
        record.lastOutcome === "failed";
      out.push(
        `upstream_watch_service_failing{${labels({ service: record.name })}} ${
          failing ? 1 : 0
        }`,
      );
    }
    out.push(
      ...this.safety.lines(
        this.#deps.suspensions?.() ?? new Map(),
        services.map((record) => record.name),
      ),
    );
    return out.join("\n") + "\n";
  }
}

function sorted<T>(map: Map<string, T>): [string, T][] {
  return [...map].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
}

function number(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

function ago(now: number, at: number): string {
  return `${seconds(now - at)} s ago (${new Date(at).toISOString()})`;
}

/** What `/healthz` (and any endpoint that meets the outage) says while the state file cannot be written. */
export function stateOutageReason(problem: string): string {
  return `${problem}; nothing is deployed until it can be written`;
}

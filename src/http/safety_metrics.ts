/** Deploy-safety metrics: health check results, rollbacks, heals and suspensions, for `/metrics`. */
import { increment, labels } from "./prometheus_text.ts";
import { type Suspension, suspensionOf } from "../state/suspensions.ts";

/** Counters since start; the suspended gauge is read from the state on every scrape. */
export class SafetyMetrics {
  readonly #checks = new Map<string, number>();
  readonly #rollbacks = new Map<string, number>();
  readonly #heals = new Map<string, number>();

  /** Counts one self-heal check by its result (`passed` or `failed`). */
  healthChecked(service: string, result: "passed" | "failed"): void {
    increment(this.#checks, labels({ service, result }));
  }

  /** Counts a finished rollback or heal run. */
  runFinished(
    run: { service: string; trigger: string; outcome: string },
  ): void {
    const map = run.trigger === "rollback"
      ? this.#rollbacks
      : run.trigger === "heal"
      ? this.#heals
      : undefined;
    if (map) {
      increment(map, labels({ service: run.service, outcome: run.outcome }));
    }
  }

  /** The metric families in Prometheus text format (lines without the final newline). */
  lines(
    suspended: ReadonlyMap<string, Suspension>,
    services: readonly string[],
  ): string[] {
    const out: string[] = [];
    const counter = (
      name: string,
      help: string,
      values: Map<string, number>,
    ) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [key, value] of [...values].sort()) {
        out.push(`${name}{${key}} ${value}`);
      }
    };
    counter(
      "upstream_watch_health_checks_total",
      "Self-heal health checks since start, by service and result.",
      this.#checks,
    );
    counter(
      "upstream_watch_rollbacks_total",
      "Rollbacks since start, by service and outcome.",
      this.#rollbacks,
    );
    counter(
      "upstream_watch_heals_total",
      "Self-heal redeploys since start, by service and outcome.",
      this.#heals,
    );
    out.push(
      "# HELP upstream_watch_service_suspended 1 while the service (or the whole agent) is suspended.",
      "# TYPE upstream_watch_service_suspended gauge",
    );
    for (const service of services) {
      out.push(
        `upstream_watch_service_suspended{${labels({ service })}} ${
          suspensionOf(suspended, service) ? 1 : 0
        }`,
      );
    }
    return out;
  }
}

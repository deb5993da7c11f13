/** The daemon's self-heal loop, wired to the state, the metrics and the notifier. */
import type { App } from "./compose.ts";
import type { HealthOutcome } from "../hooks/health_step.ts";
import type { AgentTelemetry } from "../http/telemetry.ts";
import type { Notifier } from "../notify/notifier.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import { recordHealthCheck } from "../reconcile/health_incidents.ts";
import { SelfHealer } from "../reconcile/self_heal.ts";
import { rollbacks } from "../state/rollbacks.ts";
import { suspensions } from "../state/suspensions.ts";

/** Where a check's and a heal's results go: metrics (in the daemon), the stored health, notifications. */
export interface HealthReporting {
  onCheck(service: string, outcome: HealthOutcome, commit: string): void;
  onHeal(summary: RunSummary): void;
}

/** The reporting of checks and heals, for the self-heal loop and `check`. */
export function healthReporting(
  app: App,
  options: {
    telemetry?: AgentTelemetry;
    notifier: Pick<Notifier, "send" | "runsFinished">;
  },
): HealthReporting {
  const reporting: HealthReporting = {
    onCheck: (service, outcome, commit) => {
      if (outcome.kind === "interrupted") return;
      options.telemetry?.safety.healthChecked(service, outcome.kind);
      const event = recordHealthCheck(app.store, { service, outcome, commit }, {
        host: app.host,
        now: Date.now,
      });
      if (event) options.notifier.send(event);
    },
    onHeal: (summary) => {
      const run = app.store.run(summary.runId);
      if (!run) return;
      options.telemetry?.safety.runFinished({
        ...run,
        outcome: summary.outcome,
      });
      options.notifier.runsFinished({
        trigger: "heal",
        sync: {
          before: run.toCommit,
          after: run.toCommit,
          upstream: run.toCommit,
        },
        runs: [summary],
        removed: [],
        failed: summary.outcome === "failed",
      });
      // The incident closes at the next check that passes, not at the heal:
      // a heal after which the checks still fail leaves it open.
    },
  };
  return reporting;
}

/** The self-heal loop of the daemon: checks feed metrics, the stored health and notifications. */
export function selfHealer(
  app: App,
  options: { telemetry: AgentTelemetry; notifier: Notifier },
): SelfHealer {
  const reporting = healthReporting(app, options);
  return new SelfHealer({
    agent: app.agent,
    state: () => ({
      state: app.store.services(),
      suspensions: suspensions(app.store),
      rollbacks: rollbacks(app.store),
    }),
    runner: app.hookRunner,
    logger: app.logger,
    now: Date.now,
    repoRoot: app.repoRoot,
    stateProblem: () => app.store.writeProblem(),
    onCheck: reporting.onCheck,
    onHeal: reporting.onHeal,
  });
}

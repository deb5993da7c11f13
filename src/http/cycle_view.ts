/**
 * What the HTTP side knows of the daemon's cycles, declared here so that it
 * needs nothing from the reconcile layer: the daemon's cycle reports and
 * request answers have these shapes, and the checker holds them to it where
 * the observers are wired up.
 */
import type { RunOutcome, Trigger } from "../state/types.ts";

/** How a finished cycle reads to the status model and the metrics. */
export type CycleView =
  & { trigger: Trigger; startedAt: number; finishedAt: number }
  & (
    | {
      kind: "completed";
      result: {
        trigger: Trigger;
        sync: { before: string; after: string; upstream: string };
        runs: readonly {
          service: string;
          runId: number;
          outcome: Exclude<RunOutcome, "running">;
        }[];
        removed: readonly string[];
        failed: boolean;
      };
    }
    /** Fetch or sync failed: nothing ran. */
    | { kind: "sync_failed"; error: Error }
  );

/** What became of a webhook's request for a cycle: started now, queued behind the running one, or joined a pending one. */
export type CycleRequestAnswer = "started" | "queued" | "coalesced";

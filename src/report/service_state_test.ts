import assert from "node:assert/strict";
import {
  type HoldKind,
  SERVICE_STATES,
  type ServiceState,
  serviceState,
  type ServiceStateInput,
  STATE_COLOUR,
  stateOf,
} from "./service_state.ts";

const OUTCOMES = [
  null,
  "succeeded",
  "failed",
  "interrupted",
  "skipped",
] as const;
const HOLDS: readonly (HoldKind | null)[] = [
  null,
  "backoff",
  "exhausted",
  "rolled_back",
  "suspended",
  "dependency",
];
const HEALTH = [null, "healthy", "unhealthy"] as const;
const RUNNING = [null, { trigger: "poll" }, { trigger: "heal" }] as const;

/** The state, written out rule by rule as docs/commands.md#service-states states them. */
function expected(input: ServiceStateInput): ServiceState {
  if (input.removed) return "removed";
  if (input.running?.trigger === "heal") return "healing";
  if (input.running) return "deploying";
  if (input.suspended || input.hold === "suspended") return "suspended";
  if (input.configError) return "failed";
  if (input.hold === "exhausted") return "failed";
  if (input.health === "unhealthy") return "unhealthy";
  if (input.hold === "backoff") return "retrying";
  if (input.hold === "rolled_back") return "held";
  if (input.refused) return "refused";
  if (
    input.outOfDate && input.lastOutcome === "failed" &&
    input.failedAttempts > 0
  ) {
    return "retrying";
  }
  if (input.outOfDate) return "deploying";
  if (input.lastOutcome === "failed") return "failed";
  return "deployed";
}

function* combinations(): Generator<ServiceStateInput> {
  for (const lastOutcome of OUTCOMES) {
    for (const hold of HOLDS) {
      for (const suspended of [false, true]) {
        for (const health of HEALTH) {
          for (const running of RUNNING) {
            for (const outOfDate of [false, true]) {
              for (const refused of [false, true]) {
                for (const configError of [false, true]) {
                  for (const removed of [false, true]) {
                    yield {
                      lastOutcome,
                      hold,
                      suspended,
                      health,
                      running,
                      outOfDate,
                      refused,
                      configError,
                      removed,
                      failedAttempts: lastOutcome === "failed" ? 1 : 0,
                    };
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

Deno.test("every combination of outcome, hold, suspension, health, run in progress and refusal has the documented state", () => {
  let count = 0;
  const seen = new Set<ServiceState>();
  for (const input of combinations()) {
    const state = serviceState(input);
    assert.equal(state, expected(input), JSON.stringify(input));
    seen.add(state);
    count++;
  }
  assert.equal(count, 5 * 6 * 2 * 3 * 3 * 2 * 2 * 2 * 2);
  assert.deepEqual([...seen].sort(), [...SERVICE_STATES].sort());
});

Deno.test("the rows an operator meets most read as they should", () => {
  const base: ServiceStateInput = {
    removed: false,
    suspended: false,
    running: null,
    lastOutcome: "succeeded",
    failedAttempts: 0,
    hold: null,
    outOfDate: false,
    configError: false,
    health: null,
    refused: false,
  };
  const table: [Partial<ServiceStateInput>, ServiceState][] = [
    [{}, "deployed"],
    [{ health: "healthy" }, "deployed"],
    // Rolled back: the last run (the rollback) succeeded and health is fine, yet it is held.
    [{ hold: "rolled_back", outOfDate: true, health: "healthy" }, "held"],
    [
      { hold: "rolled_back", outOfDate: true, health: "unhealthy" },
      "unhealthy",
    ],
    // A suspended service is never shown as fine.
    [{ suspended: true, health: "healthy" }, "suspended"],
    [{
      lastOutcome: "failed",
      failedAttempts: 1,
      hold: "backoff",
      outOfDate: true,
    }, "retrying"],
    [{
      lastOutcome: "failed",
      failedAttempts: 3,
      hold: "exhausted",
      outOfDate: true,
    }, "failed"],
    [{ lastOutcome: null, outOfDate: true }, "deploying"],
    [{ running: { trigger: "heal" }, health: "unhealthy" }, "healing"],
    [{ refused: true }, "refused"],
    [{ removed: true }, "removed"],
  ];
  for (const [change, state] of table) {
    assert.equal(
      serviceState({ ...base, ...change }),
      state,
      JSON.stringify(change),
    );
  }
});

Deno.test("every state has a badge colour and a run in progress is read from the last run", () => {
  for (const state of SERVICE_STATES) assert.ok(STATE_COLOUR[state]);
  assert.equal(
    stateOf({
      hold: null,
      outOfDate: false,
      configError: null,
      lastRun: { outcome: "running", trigger: "manual" },
      failedAttempts: 0,
      suspended: false,
      health: { state: "healthy" },
      refused: false,
    }),
    "deploying",
  );
});

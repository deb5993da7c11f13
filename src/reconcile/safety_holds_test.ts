import assert from "node:assert/strict";
import type { RollbackRecord } from "../state/rollbacks.ts";
import { rollbackHolds } from "../state/rollbacks.ts";
import { ALL_SERVICES, type Suspension } from "../state/suspensions.ts";
import { rollbackTarget } from "./rollback.ts";
import { safetyHold } from "./safety_holds.ts";

const DEPLOYED = "a".repeat(40);
const FAILED = "b".repeat(40);
const REVISION = "c".repeat(40);

function rollback(overrides: Partial<RollbackRecord> = {}): RollbackRecord {
  return {
    service: "api",
    heldRevision: REVISION,
    failedCommit: FAILED,
    failedRunId: 7,
    deployedCommit: DEPLOYED,
    paths: [],
    created: [],
    runId: 8,
    state: "succeeded",
    startedAt: 1000,
    finishedAt: 2000,
    ...overrides,
  };
}

function suspended(...services: string[]): Map<string, Suspension> {
  return new Map(
    services.map((service) => [service, {
      service,
      reason: "maintenance",
      suspendedAt: 5000,
    }]),
  );
}

Deno.test("a rolled-back revision is held while the deployed commit is the one rolled back to", () => {
  assert.equal(
    rollbackHolds(rollback(), { revision: REVISION, deployedCommit: DEPLOYED }),
    true,
  );
});

Deno.test("a new revision of the service ends the hold", () => {
  assert.equal(
    rollbackHolds(rollback(), {
      revision: "d".repeat(40),
      deployedCommit: DEPLOYED,
    }),
    false,
  );
});

Deno.test("a deploy that succeeded since (a new deployed commit) ends the hold", () => {
  assert.equal(
    rollbackHolds(rollback(), { revision: REVISION, deployedCommit: FAILED }),
    false,
  );
  assert.equal(
    rollbackHolds(undefined, { revision: REVISION, deployedCommit: DEPLOYED }),
    false,
  );
});

Deno.test("a suspended service is held by its suspension, before a rollback hold", () => {
  const hold = safetyHold("api", {
    suspensions: suspended("api"),
    rollback: rollback(),
    revision: REVISION,
    deployedCommit: DEPLOYED,
  });
  assert.deepEqual(hold, {
    kind: "suspended",
    scope: "api",
    reason: "maintenance",
    suspendedAt: 5000,
  });
});

Deno.test("a suspension of the whole agent holds every service", () => {
  const hold = safetyHold("web", {
    suspensions: suspended(ALL_SERVICES),
    deployedCommit: null,
  });
  assert.equal(hold?.kind, "suspended");
  assert.equal(
    safetyHold("web", { suspensions: suspended("api"), deployedCommit: null }),
    undefined,
  );
});

Deno.test("a held revision reads as rolled back from the failed commit", () => {
  const hold = safetyHold("api", {
    suspensions: new Map(),
    rollback: rollback(),
    revision: REVISION,
    deployedCommit: DEPLOYED,
  });
  assert.equal(hold?.kind, "rolled_back");
  assert.equal(hold?.kind === "rolled_back" && hold.failedCommit, FAILED);
});

Deno.test("only failures at update, post or health with a deployed commit and rollback on are rolled back", () => {
  const config = {
    preUpdateCommands: [],
    updateCommands: ["x"],
    postUpdateCommands: [],
    onFailureCommands: [],
    onRemoveCommands: [],
    dependsOn: [],
    watchPaths: [],
    env: {},
    rollback: true,
  };
  const service = { config, deployedCommit: DEPLOYED, head: FAILED };
  for (const step of ["update", "post", "health"] as const) {
    assert.equal(
      rollbackTarget({ outcome: "failed", failedStep: step }, service),
      DEPLOYED,
    );
  }
  assert.equal(
    rollbackTarget({ outcome: "failed", failedStep: "pre" }, service),
    undefined,
  );
  assert.equal(
    rollbackTarget({ outcome: "failed", failedStep: "config" }, service),
    undefined,
  );
  assert.equal(
    rollbackTarget({ outcome: "succeeded" }, service),
    undefined,
  );
  assert.equal(
    rollbackTarget({ outcome: "failed", failedStep: "update" }, {
      ...service,
      deployedCommit: null,
    }),
    undefined,
    "a first deploy has nothing to roll back to",
  );
  assert.equal(
    rollbackTarget({ outcome: "failed", failedStep: "update" }, {
      ...service,
      config: { ...config, rollback: false },
    }),
    undefined,
  );
});

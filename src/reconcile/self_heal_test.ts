import assert from "node:assert/strict";
import type { ServiceConfig } from "../config/types.ts";
import type { RollbackRecord } from "../state/rollbacks.ts";
import type { ServiceRecord } from "../state/types.ts";
import type { PlanItem } from "./cycle_types.ts";
import {
  type CheckableInputs,
  checkableServices,
  healAllowed,
  ServiceActivity,
} from "./self_heal.ts";
import type { ServiceEntry } from "./services.ts";

const HEAD = "c".repeat(40);

function config(overrides: Partial<ServiceConfig> = {}): ServiceConfig {
  return {
    preUpdateCommands: [],
    updateCommands: ["up"],
    postUpdateCommands: [],
    onFailureCommands: [],
    onRemoveCommands: [],
    dependsOn: [],
    watchPaths: [],
    env: {},
    healthCommands: ["check"],
    checkInterval: 5,
    ...overrides,
  };
}

function entry(
  name: string,
  overrides: Partial<ServiceConfig> = {},
): ServiceEntry {
  return {
    name,
    dir: name,
    configFile: `${name}/.update-hooks.yaml`,
    config: config(overrides),
    warnings: [],
  };
}

function item(service: string, overrides: Partial<PlanItem> = {}): PlanItem {
  return {
    service,
    dir: service,
    deployedCommit: HEAD,
    outOfDate: false,
    due: false,
    dependsOn: [],
    ...overrides,
  };
}

function record(
  name: string,
  overrides: Partial<ServiceRecord> = {},
): ServiceRecord {
  return {
    name,
    deployedCommit: HEAD,
    deployedAt: 1,
    lastRunId: 1,
    lastOutcome: "succeeded",
    lastRunAt: 1,
    failedAttempts: 0,
    failedRevision: null,
    lastFailureAt: null,
    removedAt: null,
    ...overrides,
  };
}

function inputs(overrides: Partial<CheckableInputs> = {}): CheckableInputs {
  const names = ["api", "web"];
  return {
    plan: {
      head: HEAD,
      items: names.map((name) => item(name)),
      services: names.map((name) => entry(name)),
    },
    state: new Map(names.map((name) => [name, record(name)])),
    suspensions: new Map(),
    rollbacks: new Map(),
    running: () => false,
    ...overrides,
  };
}

const names = (entries: ServiceEntry[]) => entries.map((entry) => entry.name);

Deno.test("up-to-date services with a check_interval and health commands are checkable", () => {
  assert.deepEqual(names(checkableServices(inputs())), ["api", "web"]);
});

Deno.test("services without check_interval or health commands are not checked", () => {
  const base = inputs();
  base.plan.services[0] = entry("api", { checkInterval: undefined });
  base.plan.services[1] = entry("web", { healthCommands: [] });
  assert.deepEqual(names(checkableServices(base)), []);
});

Deno.test("out-of-date, never-deployed, suspended and running services are not checked; held ones are", () => {
  const outOfDate = inputs();
  outOfDate.plan.items[0] = item("api", { outOfDate: true, due: true });
  assert.deepEqual(names(checkableServices(outOfDate)), ["web"]);

  const held = inputs();
  held.plan.items[0] = item("api", {
    outOfDate: true,
    hold: {
      kind: "rolled_back",
      revision: HEAD,
      failedCommit: HEAD,
      deployedCommit: HEAD,
      rollbackRunId: 2,
    },
  });
  assert.deepEqual(names(checkableServices(held)), ["api", "web"]);
  const waiting = inputs();
  waiting.plan.items[0] = item("api", {
    outOfDate: true,
    hold: { kind: "dependency", dependency: "web" },
  });
  assert.deepEqual(names(checkableServices(waiting)), ["web"]);

  const never = inputs({
    state: new Map([["web", record("web")]]),
  });
  assert.deepEqual(names(checkableServices(never)), ["web"]);

  const suspended = inputs({
    suspensions: new Map([["web", {
      service: "web",
      reason: null,
      suspendedAt: 1,
    }]]),
  });
  assert.deepEqual(names(checkableServices(suspended)), ["api"]);

  const running = inputs({ running: (service) => service === "api" });
  assert.deepEqual(names(checkableServices(running)), ["web"]);

  const rollingBack = inputs({
    rollbacks: new Map([["api", { state: "running" } as RollbackRecord]]),
  });
  assert.deepEqual(names(checkableServices(rollingBack)), ["web"]);
});

Deno.test("heals back off after a failed heal and stop at max_attempts", () => {
  const options = { now: 10_000, maxAttempts: 3, backoffSeconds: 5 };
  assert.equal(healAllowed(record("api"), options), true);
  const failedOnce = record("api", {
    failedAttempts: 1,
    failedRevision: HEAD,
    lastFailureAt: 8_000,
  });
  assert.equal(healAllowed(failedOnce, options), false, "in backoff");
  assert.equal(healAllowed(failedOnce, { ...options, now: 13_001 }), true);
  const exhausted = record("api", {
    failedAttempts: 3,
    failedRevision: HEAD,
    lastFailureAt: 0,
  });
  assert.equal(healAllowed(exhausted, { ...options, now: 1e12 }), false);
});

Deno.test("ServiceActivity runs one run of a service at a time and tells listeners when one starts", async () => {
  const activity = new ServiceActivity();
  const started: string[] = [];
  const unsubscribe = activity.onRunStart((service) => started.push(service));
  const order: string[] = [];
  let release!: () => void;
  const first = activity.run("api", async () => {
    order.push("first start");
    await new Promise<void>((resolve) => release = resolve);
    order.push("first end");
  });
  const second = activity.run("api", () => {
    order.push("second");
    return Promise.resolve();
  });
  await Promise.resolve();
  assert.equal(activity.isRunning("api"), true);
  release();
  await Promise.all([first, second]);
  unsubscribe();
  assert.deepEqual(order, ["first start", "first end", "second"]);
  assert.deepEqual(started, ["api", "api"]);
  assert.equal(activity.isRunning("api"), false);
});

/** `depends_on` applied to services and plan items: invalid dependencies and held-back dependencies. */

import { ConfigError } from "../errors.ts";
import type { PlanItem } from "./cycle_types.ts";
import { dependencyOrder, dependencyProblems } from "./order.ts";
import type { ServiceEntry } from "./services.ts";

/** Unknown dependencies and dependency cycles are configuration errors of the services involved. */
export function markDependencyErrors(services: ServiceEntry[]): void {
  const known = new Set(services.map((entry) => entry.name));
  const nodes = services.filter((entry) => entry.config).map((entry) => ({
    name: entry.name,
    dependsOn: entry.config!.dependsOn,
  }));
  const { unknown, cycles } = dependencyProblems(nodes, known);
  const byName = new Map(services.map((entry) => [entry.name, entry]));
  for (const [name, missing] of unknown) {
    const entry = byName.get(name)!;
    entry.error = new ConfigError(
      `depends on unknown service${missing.length > 1 ? "s" : ""} ${
        missing.join(", ")
      }`,
      { file: entry.configFile, key: "depends_on" },
    );
    entry.config = undefined;
  }
  for (const cycle of cycles) {
    for (const name of cycle) {
      const entry = byName.get(name)!;
      entry.error = new ConfigError(
        `dependency cycle: ${[...cycle, cycle[0]].join(" → ")}`,
        { file: entry.configFile, key: "depends_on" },
      );
      entry.config = undefined;
    }
  }
}

/** A service whose dependency is out of date but held back waits too (nothing is recorded). */
export function holdDependents(items: PlanItem[]): void {
  // Only a due service with dependencies can be held.
  if (!items.some((item) => item.due && item.dependsOn.length > 0)) return;
  const byName = new Map(items.map((item) => [item.service, item]));
  const order = dependencyOrder(
    items.map((item) => item.service),
    (name) =>
      byName.get(name)!.dependsOn.filter((dependency) =>
        byName.has(dependency)
      ),
  );
  for (const name of order) {
    const item = byName.get(name)!;
    if (!item.due) continue;
    const waiting = item.dependsOn.find((dependency) => {
      const other = byName.get(dependency);
      return other !== undefined && other.outOfDate && !other.due;
    });
    if (waiting !== undefined) {
      item.due = false;
      item.hold = { kind: "dependency", dependency: waiting };
    }
  }
}

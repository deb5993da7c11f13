/** Dependency order of services (`depends_on`): topological, then by name. */

/** A service and the names it depends on. */
export interface DependencyNode {
  name: string;
  dependsOn: readonly string[];
}

/** Problems found in the dependency graph, by service name. */
export interface DependencyProblems {
  /** Services naming a dependency that is not a service: service → unknown names. */
  unknown: Map<string, string[]>;
  /** Services on a dependency cycle, each cycle as a list of names. */
  cycles: string[][];
}

/** Finds unknown dependencies and cycles; `known` holds every service name of the repository. */
export function dependencyProblems(
  nodes: readonly DependencyNode[],
  known: ReadonlySet<string>,
): DependencyProblems {
  const unknown = new Map<string, string[]>();
  for (const node of nodes) {
    const missing = node.dependsOn.filter((name) => !known.has(name));
    if (missing.length > 0) unknown.set(node.name, missing);
  }
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string) => {
    const seen = state.get(name);
    if (seen === "done") return;
    if (seen === "visiting") {
      cycles.push(stack.slice(stack.indexOf(name)));
      return;
    }
    state.set(name, "visiting");
    stack.push(name);
    for (const dependency of [...(byName.get(name)?.dependsOn ?? [])].sort()) {
      if (byName.has(dependency)) visit(dependency);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of [...byName.keys()].sort()) visit(name);
  return { unknown, cycles };
}

/** Orders `names` so every service comes after its dependencies among them; ties by name. Assumes no cycles. */
export function dependencyOrder(
  names: readonly string[],
  dependsOn: (name: string) => readonly string[],
): string[] {
  const included = new Set(names);
  const remaining = new Map(
    names.map((name) => [
      name,
      new Set(dependsOn(name).filter((dependency) => included.has(dependency))),
    ]),
  );
  const order: string[] = [];
  while (remaining.size > 0) {
    // Kahn's algorithm taking the alphabetically first ready service each time.
    const next = [...remaining].filter(([, deps]) => deps.size === 0).map((
      [name],
    ) => name).sort()[0];
    if (next === undefined) {
      throw new Error(
        `dependency cycle among ${[...remaining.keys()].join(", ")}`,
      );
    }
    remaining.delete(next);
    order.push(next);
    for (const deps of remaining.values()) deps.delete(next);
  }
  return order;
}

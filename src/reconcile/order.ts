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
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const name of names) {
    const dependencies = new Set(
      dependsOn(name).filter((dependency) => included.has(dependency)),
    );
    waitingOn.set(name, dependencies.size);
    for (const dependency of dependencies) {
      const list = dependents.get(dependency);
      if (list) list.push(name);
      else dependents.set(dependency, [name]);
    }
  }
  // Kahn's algorithm taking the alphabetically first ready service each time (a min-heap).
  const ready = new MinHeap();
  for (const [name, count] of waitingOn) if (count === 0) ready.push(name);
  const order: string[] = [];
  for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
    order.push(next);
    for (const dependent of dependents.get(next) ?? []) {
      const count = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, count);
      if (count === 0) ready.push(dependent);
    }
  }
  if (order.length < waitingOn.size) {
    const placed = new Set(order);
    throw new Error(
      `dependency cycle among ${
        [...waitingOn.keys()].filter((name) => !placed.has(name)).join(", ")
      }`,
    );
  }
  return order;
}

class MinHeap {
  readonly #items: string[] = [];
  push(item: string): void {
    const items = this.#items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent] <= items[index]) break;
      [items[parent], items[index]] = [items[index], items[parent]];
      index = parent;
    }
  }
  pop(): string | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      let index = 0;
      while (true) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        if (left < items.length && items[left] < items[smallest]) {
          smallest = left;
        }
        if (right < items.length && items[right] < items[smallest]) {
          smallest = right;
        }
        if (smallest === index) break;
        [items[smallest], items[index]] = [items[index], items[smallest]];
        index = smallest;
      }
    }
    return top;
  }
}

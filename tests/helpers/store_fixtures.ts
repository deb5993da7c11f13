/** Fixtures of the state store's tests: temporary files, stores closed at scope end, sample runs. */
import { StateStore } from "../../src/state/store.ts";
import type { CommandRecord, StartRunInput } from "../../src/state/types.ts";

/** Sample commit ids. */
export const C1 = "1".repeat(40);
export const C2 = "2".repeat(40);
export const C3 = "3".repeat(40);

/** A temporary directory removed when the test's scope ends. */
export function tempDir(): { path: string } & Disposable {
  const path = Deno.makeTempDirSync({ prefix: "upstream-watch-store-" });
  return {
    path,
    [Symbol.dispose]: () => Deno.removeSync(path, { recursive: true }),
  };
}

/** Opens a store that is closed when the test's scope ends. */
export function openStore(
  file: string,
  options: { readOnly?: boolean } = {},
): StateStore & Disposable {
  const store = StateStore.open(file, options);
  return Object.assign(store, { [Symbol.dispose]: () => store.close() });
}

/** A run of `api` to {@link C1}, with `overrides`. */
export function run(overrides: Partial<StartRunInput> = {}): StartRunInput {
  return {
    service: "api",
    trigger: "poll",
    fromCommit: null,
    toCommit: C1,
    revision: C1,
    startedAt: 1000,
    reason: { kind: "first_deploy" },
    ...overrides,
  };
}

/** Command number `seq` of a run, with `overrides`. */
export function command(seq: number, overrides: Partial<CommandRecord> = {}) {
  return {
    seq,
    step: "update",
    command: `echo ${seq}`,
    startedAt: 1000 + seq,
    finishedAt: 1001 + seq,
    exitCode: 0,
    timedOut: false,
    output: `${seq}\n`,
    truncated: false,
    ...overrides,
  } satisfies CommandRecord;
}

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { StateError } from "../errors.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { StateStore } from "./store.ts";
import {
  C1,
  openStore,
  run,
  tempDir,
} from "../../tests/helpers/store_fixtures.ts";

function pragma(file: string, name: string): unknown {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
  } finally {
    db.close();
  }
}

Deno.test("a new state file is created in WAL mode at the current schema version", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  {
    using store = openStore(file);
    assert.equal(store.file, file);
    assert.deepEqual([...store.services()], []);
  }
  assert.equal(pragma(file, "user_version"), SCHEMA_VERSION);
  assert.equal(pragma(file, "journal_mode"), "wal");
});

Deno.test({
  name: "a new state file and its WAL files are readable by their owner only",
  ignore: Deno.build.os === "windows",
  fn: () => {
    using dir = tempDir();
    const file = join(dir.path, "state.sqlite");
    {
      using store = openStore(file);
      store.setDeployed(["api"], C1, 1);
      for (const path of [file, `${file}-wal`, `${file}-shm`]) {
        assert.equal(Deno.statSync(path).mode! & 0o777, 0o600, path);
      }
    }
  },
});

Deno.test("an empty database at schema version 0 is migrated forward on open", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  new DatabaseSync(file).close();
  assert.equal(pragma(file, "user_version"), 0);
  {
    using store = openStore(file);
    store.startRun(run());
  }
  assert.equal(pragma(file, "user_version"), SCHEMA_VERSION);
});

Deno.test("reopening a state file keeps its data and does not migrate again", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  {
    using store = openStore(file);
    const id = store.startRun(run());
    store.finishRun(id, { outcome: "succeeded", finishedAt: 2000 });
  }
  using store = openStore(file);
  assert.equal(store.services().get("api")?.deployedCommit, C1);
  assert.equal(store.runs({ limit: 10 }).length, 1);
  assert.equal(pragma(file, "user_version"), SCHEMA_VERSION);
});

Deno.test("a state file from a newer build is refused with exit code 2", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  const db = new DatabaseSync(file);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  db.close();
  for (const readOnly of [false, true]) {
    assert.throws(
      () => StateStore.open(file, { readOnly }),
      (error) =>
        error instanceof StateError && error.exitCode === 2 &&
        error.file === file && /newer/.test(error.message),
    );
  }
});

Deno.test("a corrupt state file gives a StateError with exit code 2", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  Deno.writeTextFileSync(file, "this is not a database, ".repeat(200));
  for (const readOnly of [false, true]) {
    assert.throws(
      () => StateStore.open(file, { readOnly }),
      (error) =>
        error instanceof StateError && error.exitCode === 2 &&
        error.file === file && error.message.includes(file),
    );
  }
});

Deno.test("opening a missing state file read-only does not create it and reads as empty", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  {
    using store = openStore(file, { readOnly: true });
    assert.deepEqual([...store.services()], []);
    assert.deepEqual(store.runs({ limit: 10 }), []);
    assert.equal(store.run(1), undefined);
  }
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
});

Deno.test("a read-only store sees what a writer committed", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  using writer = openStore(file);
  const id = writer.startRun(run());
  writer.finishRun(id, { outcome: "succeeded", finishedAt: 2000 });
  using reader = openStore(file, { readOnly: true });
  assert.equal(reader.services().get("api")?.deployedCommit, C1);
  assert.equal(reader.run(id)?.outcome, "succeeded");
});

Deno.test("a writer's cached services follow its own writes row by row, and other connections' writes whole", () => {
  using dir = tempDir();
  const file = join(dir.path, "state.sqlite");
  using store = openStore(file);
  const fresh = () => {
    const reader = StateStore.open(file, { readOnly: true });
    try {
      return reader.services();
    } finally {
      reader.close();
    }
  };
  store.setDeployed(["api", "db", "web"], C1, 1);
  assert.deepEqual(store.services(), fresh());

  // Its own writes to existing rows: re-read by name.
  const id = store.startRun(run({ service: "web" }));
  assert.equal(store.services().get("web")!.lastOutcome, "running");
  store.finishRun(id, { outcome: "failed", finishedAt: 9000, error: "boom" });
  store.markRemoved("db", 9500);
  assert.deepEqual(store.services(), fresh());
  assert.equal(store.services().get("db")!.removedAt, 9500);

  // A new row: the whole table again, in name order.
  store.setDeployed(["aaa"], C1, 2);
  assert.deepEqual([...store.services().keys()], ["aaa", "api", "db", "web"]);
  assert.deepEqual(store.services(), fresh());

  // Another connection's write.
  const other = new DatabaseSync(file);
  other.exec("UPDATE services SET deployed_at = 77 WHERE name = 'api'");
  other.close();
  assert.equal(store.services().get("api")!.deployedAt, 77);
  assert.deepEqual(store.services(), fresh());
});

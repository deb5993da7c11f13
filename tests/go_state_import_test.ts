/** Importing the Go tool's state file on first start. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  serviceRow,
  stateFileOf,
} from "./helpers/state_db.ts";

/** The original Go tool's schema, verbatim. */
const GO_TOOL_SCHEMA =
  "CREATE TABLE modules (id INTEGER PRIMARY KEY AUTOINCREMENT, name text, git_commit text NULL, updated boolean, UNIQUE (name, git_commit));";

Deno.test("the Go tool's state file is imported on first start: services at existing commits count as deployed", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const old = await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
    "db/.update-hooks.yaml": appendingHooks(log),
    "cache/.update-hooks.yaml": appendingHooks(log),
  });
  const head = await fixture.push({ "api/compose.yaml": "v2\n" });
  await git(fixture.clone, "pull", "--quiet");
  const missing = "0123456789abcdef0123456789abcdef01234567";
  const legacy = new DatabaseSync(state);
  legacy.exec(GO_TOOL_SCHEMA);
  const insert = legacy.prepare(
    "INSERT INTO modules (name, git_commit, updated) VALUES (?, ?, ?)",
  );
  insert.run("api", old, 1);
  insert.run("web", old, 1);
  insert.run("cache", head, 1);
  // Recorded later than web's real commit, but this commit is not in the history.
  insert.run("web", missing, 1);
  insert.run("db", missing, 1);
  legacy.close();

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stderr,
    /migrated the original upstream-watch database: 3 services imported from 5 records/,
  );
  assert.match(
    result.stderr,
    new RegExp(`imported web as deployed at ${old.slice(0, 12)}`),
  );
  // api changed since its imported commit, db's commit is unknown: both run; web and cache do not.
  assert.deepEqual((await readLines(log)).sort(), ["api", "db"]);
  assert.equal(serviceRow(state, "web")?.deployed_commit, old);
  assert.equal(serviceRow(state, "cache")?.deployed_commit, head);
  assert.equal(serviceRow(state, "api")?.deployed_commit, head);
  assert.equal(runRows(state, "api")[0].reason !== null, true);
  assert.equal(
    JSON.parse(String(runRows(state, "api")[0].reason)).kind,
    "changed",
  );
  const [{ user_version }] = queryState(state, "PRAGMA user_version");
  assert.ok(Number(user_version) >= 1);

  const again = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /migrated/, "imported once");
  assert.equal((await readLines(log)).length, 2);
});

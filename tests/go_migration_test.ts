/** Migrating from the original Go tool's database, built exactly as that tool writes it. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { isCommitId, normalizeCommitId } from "../src/git/commit_id.ts";
import { spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import { queryState, serviceRow, stateFileOf } from "./helpers/state_db.ts";

/** The Go tool's schema before it had an `id` column, verbatim. */
const GO_TOOL_SCHEMA = `CREATE TABLE modules (
    name text,
    git_commit text NULL,
    updated boolean,
	PRIMARY KEY (name, git_commit));`;

/** A Go-tool database at `file` holding `rows` in this insertion order (`updated` true, as the tool writes it). */
function writeGoToolDatabase(
  file: string,
  rows: readonly { name: string; commit: string | null; updated?: boolean }[],
): void {
  const db = new DatabaseSync(file);
  try {
    db.exec(GO_TOOL_SCHEMA);
    const insert = db.prepare(
      "INSERT INTO modules (name, git_commit, updated) VALUES (?, ?, ?)",
    );
    for (const row of rows) {
      // Go's sqlite drivers store a bool as the integer 1 or 0.
      insert.run(row.name, row.commit, row.updated === false ? 0 : 1);
    }
  } finally {
    db.close();
  }
}

/** What the Go tool stored: `git rev-parse HEAD` output, trailing newline included. */
function revParseOutput(commit: string): string {
  return `${commit}\n`;
}

Deno.test("commit ids are normalised: a trailing newline and upper case go, anything else is no id", () => {
  const id = "0123456789abcdef0123456789abcdef01234567";
  assert.equal(normalizeCommitId(`${id}\n`), id);
  assert.equal(normalizeCommitId(` ${id.toUpperCase()}\r\n`), id);
  assert.equal(normalizeCommitId("a".repeat(64)), "a".repeat(64));
  for (const bad of ["", "HEAD", id.slice(0, 12), `${id}0`, `${id} x`]) {
    assert.equal(normalizeCommitId(bad), undefined, bad);
  }
  assert.equal(isCommitId(`${id}\n`), false);
});

Deno.test("a Go-tool database with trailing newlines, NULL commits and rows out of order imports each service at its newest commit in history", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const first = await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
    "db/.update-hooks.yaml": appendingHooks(log),
    "cache/.update-hooks.yaml": appendingHooks(log),
    "ghost/.update-hooks.yaml": appendingHooks(log),
  });
  const apiChanged = await fixture.push({ "api/compose.yaml": "v2\n" });
  const webChanged = await fixture.push({ "web/compose.yaml": "v2\n" });
  await fixture.push({ "db/compose.yaml": "v2\n" });
  await git(fixture.clone, "pull", "--quiet");
  writeGoToolDatabase(state, [
    // Newer deployments inserted before older ones: the last row is not the newest.
    { name: "api", commit: revParseOutput(apiChanged) },
    { name: "api", commit: revParseOutput(first) },
    { name: "web", commit: revParseOutput(webChanged) },
    { name: "web", commit: null },
    { name: "web", commit: revParseOutput(first) },
    { name: "db", commit: revParseOutput(first) },
    { name: "db", commit: null },
    { name: "cache", commit: "not a commit\n" },
    { name: "ghost", commit: revParseOutput("f".repeat(40)) },
  ]);

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Uncaught|diff-tree answered/);
  assert.match(
    result.stderr,
    /migrated the original upstream-watch database: 3 services imported from 9 records/,
  );
  assert.match(
    result.stderr,
    new RegExp(`imported api as deployed at ${apiChanged.slice(0, 12)}`),
  );
  assert.match(
    result.stderr,
    /records "not a commit\\n" for cache, which is not a commit id/,
  );
  assert.match(result.stderr, /none of the 1 commits recorded for ghost/);
  // api and web are deployed at their newest commits; db changed since its
  // only commit; cache's id is unusable and ghost's unknown: both count as never deployed.
  assert.deepEqual((await readLines(log)).sort(), ["cache", "db", "ghost"]);
  for (const service of ["api", "web", "db", "cache", "ghost"]) {
    const commit = String(serviceRow(state, service)?.deployed_commit);
    assert.ok(isCommitId(commit), `${service}: ${JSON.stringify(commit)}`);
  }
  assert.equal(serviceRow(state, "web")?.deployed_commit, webChanged);
  assert.equal(serviceRow(state, "api")?.deployed_commit, apiChanged);

  const again = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await readLines(log)).length, 3, "nothing runs twice");
});

Deno.test("Go-tool records on diverged lines import the newest row among the tips", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  const base = await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
  });
  const left = await fixture.push({ "api/compose.yaml": "left\n" });
  // A line that was force-pushed away but is still in the clone's objects.
  await git(fixture.pusher, "reset", "--quiet", "--hard", base);
  const right = await fixture.push({ "api/compose.yaml": "right\n" });
  await git(fixture.pusher, "push", "--quiet", "--force", "origin", "main");
  await git(fixture.clone, "fetch", "--quiet");
  await git(fixture.clone, "fetch", "--quiet", fixture.pusher, left);
  await git(fixture.clone, "reset", "--quiet", "--hard", "origin/main");
  writeGoToolDatabase(state, [
    { name: "api", commit: revParseOutput(left) },
    { name: "api", commit: revParseOutput(right) },
    // The last row is the oldest commit; of the two tips, right was recorded last.
    { name: "api", commit: revParseOutput(base) },
  ]);
  assert.equal(await git(fixture.clone, "cat-file", "-t", left), "commit");

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.equal(serviceRow(state, "api")?.deployed_commit, right);
  assert.deepEqual(await readLines(log), []);
});

Deno.test("a deployed commit with a trailing newline in the state file is read as the commit; a non-id counts as never deployed and is logged", async () => {
  await using fixture = await GitFixture.create({});
  const state = stateFileOf(fixture.clone);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": appendingHooks(log),
    "web/.update-hooks.yaml": appendingHooks(log),
  });
  const first = await spawnCli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual((await readLines(log)).sort(), ["api", "web"]);
  const db = new DatabaseSync(state);
  db.exec(
    "UPDATE services SET deployed_commit = deployed_commit || char(10) WHERE name = 'api'",
  );
  db.exec(
    "UPDATE services SET deployed_commit = 'HEAD~1' WHERE name = 'web'",
  );
  db.close();

  const status = await spawnCli(["--repo", fixture.clone, "status", "--json"]);
  assert.equal(status.code, 0, status.stderr);
  const services = JSON.parse(status.stdout).services as {
    name: string;
    deployedCommit: string | null;
  }[];
  const head = await git(fixture.clone, "rev-parse", "HEAD");
  assert.deepEqual(
    services.map((service) => [service.name, service.deployedCommit]),
    [["api", head], ["web", null]],
  );

  const result = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(result.code, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /Uncaught|diff-tree answered/);
  assert.match(
    result.stderr,
    /records "HEAD~1" as the deployed commit of web, which is not a commit id; the service counts as never deployed/,
  );
  assert.deepEqual((await readLines(log)).sort(), ["api", "web", "web"]);
  assert.equal(serviceRow(state, "web")?.deployed_commit, head);
  const [{ n }] = queryState(
    state,
    "SELECT count(*) AS n FROM runs WHERE service = 'api'",
  );
  assert.equal(Number(n), 1, "api was not run again");
});

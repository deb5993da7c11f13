/**
 * The cost of a daemon's idle cycle (docs/design.md#idle-cost): a constant number of
 * git processes whatever the number of services, and no write to the state
 * database. Counted and compared, never timed; `deno task bench` has the times.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type App, openApp } from "../src/app/compose.ts";
import { isolateGitConfig } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { stateFileOf } from "./helpers/state_db.ts";
import {
  allowedSigners,
  signPushesWithSsh,
  sshKey,
} from "./helpers/signing.ts";
import { join } from "node:path";

/** Idle cycles measured after the first one (which fills the agent's caches). */
const IDLE_CYCLES = 3;

/** A clone with `count` services, all adopted at HEAD, so that nothing is due. */
async function adoptedServices(count: number): Promise<GitFixture> {
  const files: Record<string, string> = { "README.md": "services\n" };
  for (let index = 0; index < count; index++) {
    files[`svc-${String(index).padStart(3, "0")}/.update-hooks.yaml`] =
      hookFile({ update_commands: [["true"]] });
  }
  const fixture = await GitFixture.create(files);
  isolateGitConfig();
  using app = await openDaemonApp(fixture);
  const { services } = await app.agent.adopt("all");
  assert.equal(services.length, count);
  return fixture;
}

/** The agent as `run` builds it: writable state and the instance lock. */
function openDaemonApp(
  fixture: GitFixture,
  allowedSigners?: string,
): Promise<App> {
  return openApp({ repo: fixture.clone, allowedSigners }, {
    readOnly: false,
    lock: true,
  });
}

/** Git processes started by each idle cycle of one long-lived agent, after its first cycle. */
async function idleCycleGitProcesses(
  fixture: GitFixture,
  allowedSigners?: string,
): Promise<number[]> {
  isolateGitConfig();
  using app = await openDaemonApp(fixture, allowedSigners);
  await app.agent.runCycle({ trigger: "poll" });
  const counts: number[] = [];
  for (let cycle = 0; cycle < IDLE_CYCLES; cycle++) {
    const before = app.git.spawned;
    const result = await app.agent.runCycle({ trigger: "poll" });
    assert.deepEqual(result.runs, [], "nothing is due");
    counts.push(app.git.spawned - before);
  }
  return counts;
}

/** The bytes of the state file and of its write-ahead log (absent counts as empty). */
async function stateFileBytes(
  file: string,
): Promise<{ main: Uint8Array; wal: Uint8Array }> {
  const read = async (path: string) => {
    try {
      return await Deno.readFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return new Uint8Array();
      throw error;
    }
  };
  return { main: await read(file), wal: await read(`${file}-wal`) };
}

Deno.test("an idle daemon cycle starts the same at most 3 git processes for 60 services as for 3", async () => {
  await using few = await adoptedServices(3);
  await using many = await adoptedServices(60);

  const fewCounts = await idleCycleGitProcesses(few);
  const manyCounts = await idleCycleGitProcesses(many);

  assert.deepEqual(manyCounts, fewCounts);
  for (const count of fewCounts) {
    assert.ok(count <= 3, `an idle cycle started ${count} git processes`);
  }
});

Deno.test("idle daemon cycles leave the state database's file, its WAL and its data_version untouched", async () => {
  await using fixture = await adoptedServices(5);
  const state = stateFileOf(fixture.clone);
  isolateGitConfig();
  using app = await openDaemonApp(fixture);
  await app.agent.runCycle({ trigger: "poll" });
  const before = await stateFileBytes(state);
  // `data_version` read on this connection changes whenever another connection commits.
  const watcher = new DatabaseSync(state, { readOnly: true });
  try {
    const dataVersion = () =>
      Number(
        (watcher.prepare("PRAGMA data_version").get() as {
          data_version: number;
        }).data_version,
      );
    const versionBefore = dataVersion();

    for (let cycle = 0; cycle < IDLE_CYCLES; cycle++) {
      const result = await app.agent.runCycle({ trigger: "poll" });
      assert.deepEqual(result.runs, [], "nothing is due");
    }

    assert.equal(dataVersion(), versionBefore, "no transaction committed");
  } finally {
    watcher.close();
  }
  const after = await stateFileBytes(state);
  assert.deepEqual(after.main, before.main, "the state file's bytes");
  assert.deepEqual(after.wal, before.wal, "the write-ahead log's bytes");
});

Deno.test("with signed-commit verification on, an idle daemon cycle starts as many git processes as without, and writes nothing", async () => {
  await using fixture = await adoptedServices(5);
  const key = await sshKey(fixture.root, "alice");
  const signers = await allowedSigners(join(fixture.root, "allowed"), [
    { principal: "alice@example.test", key },
  ]);
  await signPushesWithSsh(fixture, key);
  await fixture.push({ "README.md": "signed\n" }, "signed");
  const without = await idleCycleGitProcesses(fixture);
  const withVerify = await idleCycleGitProcesses(fixture, signers);
  assert.deepEqual(withVerify, without);

  // A fresh agent finds the verified commit in the state: no verification, no write.
  const state = stateFileOf(fixture.clone);
  const before = await stateFileBytes(state);
  const firstCycle = async (signers?: string) => {
    isolateGitConfig();
    using app = await openDaemonApp(fixture, signers);
    const spawned = app.git.spawned;
    await app.agent.runCycle({ trigger: "poll" });
    return app.git.spawned - spawned;
  };
  assert.equal(await firstCycle(signers), await firstCycle());
  assert.deepEqual((await stateFileBytes(state)).main, before.main);
});

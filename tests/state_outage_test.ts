/**
 * A daemon whose state file cannot be written (locked by another process, a
 * full disk, a read-only file system, an immutable file) deploys nothing,
 * answers /healthz with 503 naming the cause, notifies once and resumes by
 * itself — it never exits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pause, waitUntil } from "./helpers/agent_process.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort, Receiver } from "./helpers/http_receiver.ts";
import { runRows } from "./helpers/state_db.ts";

const isRoot = Deno.build.os === "linux" && Deno.uid() === 0;
/** Mounting file systems and `chattr` need root; CI runs as root, so there they never skip. */
const needsRoot = !isRoot && !Deno.env.get("CI");

/** A repository whose `api` appends a line per run to `ran.log` (and prints `outputBytes` of output). */
async function daemonFixture(
  receiver: Receiver,
  options: { stateFile?: string; outputBytes?: number } = {},
) {
  const root = await Deno.makeTempDir({ prefix: "uw-outage-" });
  const log = join(root, "ran.log");
  const config = [
    `webhook:\n  listen: "127.0.0.1:${freePort()}"\n  insecure: true`,
    `notify:\n  - url: ${receiver.url}/hook`,
    options.stateFile ? `state_file: ${JSON.stringify(options.stateFile)}` : "",
  ].join("\n");
  const hooks = (version: string) =>
    hookFile({
      update_commands: [
        `echo ${version} >> ${shellQuote(log)}`,
        `head -c ${options.outputBytes ?? 10} /dev/zero | tr '\\0' x`,
      ],
    });
  // The configuration is in the first commit: the daemon starts with it.
  const fixture = await GitFixture.create({
    ".upstream-watch.yaml": `${config}\n`,
    "api/.update-hooks.yaml": hooks("v1"),
  });
  const cleanup = fixture[Symbol.asyncDispose].bind(fixture);
  fixture[Symbol.asyncDispose] = async () => {
    await cleanup();
    await Deno.remove(root, { recursive: true });
  };
  return {
    fixture,
    log,
    pushVersion: (v: string) =>
      fixture.push({ "api/.update-hooks.yaml": hooks(v) }),
  };
}

/** The daemon on `clone`, once it deployed v1. */
async function deployedDaemon(
  clone: string,
  log: string,
): Promise<DaemonProcess> {
  const daemon = await DaemonProcess.start([
    "--repo",
    clone,
    "run",
    "--interval",
    "0.3",
  ]);
  await waitUntil(async () => (await readLines(log)).length === 1, {
    message: "v1 deployed",
  });
  return daemon;
}

async function healthOf(
  url: string,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: await response.text() };
}

function eventsOf(receiver: Receiver): string[] {
  return receiver.requests.map((request) => JSON.parse(request.body).event);
}

/** Waits until the daemon has gone through an outage matching `cause`, checking what holds meanwhile. */
async function expectOutage(
  daemon: DaemonProcess,
  receiver: Receiver,
  cause: RegExp,
): Promise<void> {
  const health = await waitUntil(async () => {
    const answer = await healthOf(daemon.url);
    return answer.status === 503 && cause.test(answer.body)
      ? answer
      : undefined;
  }, { message: `/healthz answers 503 naming ${cause}` });
  assert.match(health.body, /nothing is deployed until it can be written/);
  await daemon.process.waitForLog(
    /deploying stops until the state file can be written again/,
  );
  await waitUntil(() => eventsOf(receiver).includes("state_unwritable"), {
    message: "state_unwritable was sent",
  });
}

/** Waits until the daemon resumed and its last hook run was `last`; returns the hook runs. */
async function expectResumed(
  daemon: DaemonProcess,
  receiver: Receiver,
  log: string,
  last: string,
): Promise<string[]> {
  await daemon.process.waitForLog(
    /the state file can be written again; deploying resumes/,
  );
  const lines = await waitUntil(async () => {
    const lines = await readLines(log);
    return lines.at(-1) === last ? lines : undefined;
  }, { message: `${last} ran` });
  await waitUntil(async () => (await healthOf(daemon.url)).status === 200, {
    message: "/healthz answers 200 again",
  });
  assert.equal(daemon.process.status, undefined, "the daemon still runs");
  assert.equal(
    eventsOf(receiver).filter((event) => event === "state_unwritable").length,
    1,
  );
  assert.doesNotMatch(daemon.process.stderr, /internal error/);
  return lines;
}

/** Every hook run has its run row (nothing ran unrecorded), and the last one succeeded. */
async function assertEveryRunRecorded(
  stateFile: string,
  lines: readonly string[],
): Promise<void> {
  const runs = await waitUntil(() => {
    const rows = runRows(stateFile, "api");
    return rows.at(-1)?.outcome === "succeeded" ? rows : undefined;
  }, { message: "the last run succeeded" });
  assert.equal(runs.length, lines.length, JSON.stringify(runs));
}

Deno.test("a write lock held by another process past the busy timeout stops deploying, answers 503 and resumes when it is released", async () => {
  await using receiver = Receiver.start();
  const { fixture, log, pushVersion } = await daemonFixture(receiver);
  await using _ = fixture;
  const stateFile = join(fixture.clone, ".upstream-watch.sqlite");
  await using daemon = await deployedDaemon(fixture.clone, log);

  const release = join(fixture.root, "release");
  const holder = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `
      import { DatabaseSync } from "node:sqlite";
      const db = new DatabaseSync(${JSON.stringify(stateFile)});
      db.exec("BEGIN EXCLUSIVE");
      console.log("locked");
      while (true) {
        try { Deno.statSync(${
        JSON.stringify(release)
      }); break; } catch { await new Promise((r) => setTimeout(r, 50)); }
      }
      db.exec("COMMIT");
      db.close();
    `,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = holder.stdout.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /locked/);
  reader.releaseLock();
  await pushVersion("v2");

  await expectOutage(daemon, receiver, /database is locked/);
  // Held for well past the 5 s busy timeout, with probes failing meanwhile.
  await pause(3000);
  assert.deepEqual(
    await readLines(log),
    ["v1"],
    "nothing ran while the state was locked",
  );

  await Deno.writeTextFile(release, "");
  await holder.stdout.cancel();
  assert.equal((await holder.status).code, 0);
  const lines = await expectResumed(daemon, receiver, log, "v2");
  assert.deepEqual(lines, ["v1", "v2"]);
  await assertEveryRunRecorded(stateFile, lines);
});

/** A small tmpfs at a fresh folder of `root`, unmounted by disposing it. */
async function smallFileSystem(root: string, size: string) {
  const dir = join(root, "statefs");
  await Deno.mkdir(dir);
  const mount = (...args: string[]) => {
    const result = new Deno.Command("mount", { args, stderr: "piped" })
      .outputSync();
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
  };
  mount("-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir);
  return {
    dir,
    async [Symbol.asyncDispose]() {
      new Deno.Command("umount", { args: ["-l", dir] }).outputSync();
      await Deno.remove(dir).catch(() => {});
    },
  };
}

Deno.test({
  name:
    "a full disk stops deploying, answers 503 and resumes when space is freed (needs root for a tmpfs)",
  ignore: needsRoot,
  fn: async () => {
    await using receiver = Receiver.start();
    const root = await Deno.makeTempDir({ prefix: "uw-full-" });
    await using fs = await smallFileSystem(root, "1m");
    const stateFile = join(fs.dir, "state.sqlite");
    const { fixture, log, pushVersion } = await daemonFixture(receiver, {
      stateFile,
      outputBytes: 60_000,
    });
    await using _ = fixture;
    await using daemon = await deployedDaemon(fixture.clone, log);
    // Fill what is left of the file system.
    const filler = join(fs.dir, "filler");
    new Deno.Command("sh", {
      args: [
        "-c",
        `dd if=/dev/zero of=${shellQuote(filler)} bs=4k 2>/dev/null; true`,
      ],
    }).outputSync();
    await pushVersion("v2");

    await expectOutage(daemon, receiver, /full/);

    await Deno.remove(filler);
    // A run whose end could not be written is marked interrupted and runs again.
    const lines = await expectResumed(daemon, receiver, log, "v2");
    await assertEveryRunRecorded(stateFile, lines);
    await daemon.stop();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  },
});

// The daemon must not touch the -shm mapping of an immutable file: a write
// to a mapping whose page the kernel has write-protected after writeback
// kills the process with SIGBUS, which no handler can turn into an error.
Deno.test({
  name:
    "a read-only (immutable, chattr +i) state file is logged and waited out instead of killing the daemon with SIGBUS (needs root)",
  ignore: needsRoot,
  fn: async () => {
    await using receiver = Receiver.start();
    const { fixture, log, pushVersion } = await daemonFixture(receiver);
    await using _ = fixture;
    const stateFile = join(fixture.clone, ".upstream-watch.sqlite");
    const files = ["", "-wal", "-shm"].map((end) => `${stateFile}${end}`);
    const chattr = (flag: string) =>
      new Deno.Command("chattr", { args: [flag, ...files] }).outputSync();
    await using daemon = await deployedDaemon(fixture.clone, log);
    try {
      assert.equal(
        chattr("+i").code,
        0,
        "chattr +i (ext4 or another file system with the flag)",
      );
      // Writing the dirty pages back makes the kernel write-protect the
      // mappings, so the daemon's next write to one faults as it would after
      // any writeback.
      new Deno.Command("sync").outputSync();
      await pushVersion("v2");

      try {
        await expectOutage(
          daemon,
          receiver,
          /cannot be written: Operation not permitted|disk I\/O error/,
        );
        // Every endpoint answers meanwhile, and none touches the file.
        for (const path of ["/", "/api/status", "/metrics"]) {
          const response = await fetch(`${daemon.url}${path}`);
          assert.equal(response.status, 503, path);
          assert.match(await response.text(), /cannot write state file/);
        }
        await pause(1000);
      } catch (error) {
        await pause(200);
        throw new Error(
          `${error}\ndaemon: ${
            JSON.stringify(daemon.process.status ?? "running")
          }\n${daemon.process.stderr}`,
        );
      }
      assert.deepEqual(await readLines(log), ["v1"]);
      assert.equal(daemon.process.status, undefined, "no SIGBUS");
    } finally {
      chattr("-i");
    }
    assert.deepEqual(await expectResumed(daemon, receiver, log, "v2"), [
      "v1",
      "v2",
    ]);
  },
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, runOnce } from "./helpers/cli.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { appendLine, hookFile, readLines } from "./helpers/hooks.ts";
import {
  queryState,
  runRows,
  serviceRow,
  stateFileOf,
} from "./helpers/state_db.ts";

/** True when no live process has this pid; a zombie (state Z) has exited and counts as dead. */
async function processIsGone(pid: number): Promise<boolean> {
  if (Deno.build.os !== "linux") {
    const ps = await new Deno.Command("ps", {
      args: ["-o", "stat=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    }).output();
    const state = new TextDecoder().decode(ps.stdout).trim();
    return !ps.success || state === "" || state.startsWith("Z");
  }
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // "pid (comm) S ...": the state is the field after the last ")".
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state === "Z";
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
}

Deno.test("a failing command stops the sequence and the run is recorded failed with its output", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      pre_update_commands: [appendLine(log, "pre")],
      update_commands: [
        appendLine(log, "update-1"),
        "echo 'pulling images'; echo 'boom: no such image' >&2; exit 7",
        appendLine(log, "update-3"),
      ],
      post_update_commands: [appendLine(log, "post")],
    }),
    "web/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "web")],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1, "run --once exits 1 when a service failed");
  assert.deepEqual(await readLines(log), ["pre", "update-1", "web"]);
  const state = stateFileOf(fixture.clone);
  const run = runRows(state).find((row) => row.service === "api")!;
  assert.equal(run.outcome, "failed");
  assert.equal(run.failed_step, "update");
  assert.match(String(run.error), /exit 7/);
  assert.equal(serviceRow(state, "api")?.deployed_commit, null);
  assert.equal(
    serviceRow(state, "web")?.deployed_commit,
    await fixture.cloneHead(),
  );
  const commands = queryState(
    state,
    "SELECT step, exit_code, output FROM run_commands WHERE run_id = ? ORDER BY seq",
    Number(run.id),
  );
  assert.deepEqual(commands.map((command) => command.step), [
    "pre",
    "update",
    "update",
  ]);
  assert.equal(commands[2].exit_code, 7);
  assert.match(String(commands[2].output), /pulling images\n/);
  assert.match(String(commands[2].output), /boom: no such image/);

  const logs = await cli(["--repo", fixture.clone, "logs", String(run.id)]);

  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /failed at update/);
  assert.match(logs.stdout, /exit 7/);
  assert.match(logs.stdout, /boom: no such image/);
  assert.ok(logs.stdout.includes("echo 'pulling images'"), logs.stdout);
  assert.ok(!logs.stdout.includes("update-3"), "the later command never ran");
});

Deno.test("a command that exceeds its timeout is killed together with its children", async () => {
  await using fixture = await GitFixture.create({});
  const pidFile = join(fixture.root, "sleep.pid");
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      timeout: 1,
      update_commands: [
        `sleep 1000 & echo $! > ${shellQuote(pidFile)}; wait`,
      ],
      post_update_commands: [appendLine(log, "post")],
    }),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  const pid = Number((await Deno.readTextFile(pidFile)).trim());
  assert.ok(pid > 0);
  assert.ok(await processIsGone(pid), `the background sleep ${pid} survived`);
  assert.deepEqual(await readLines(log), [], "post did not run");
  const state = stateFileOf(fixture.clone);
  const [run] = runRows(state);
  assert.equal(run.outcome, "failed");
  assert.equal(run.failed_step, "update");
  assert.match(String(run.error), /timed out/);
  const [command] = queryState(
    state,
    "SELECT timed_out FROM run_commands WHERE run_id = ?",
    Number(run.id),
  );
  assert.equal(command.timed_out, 1);
});

Deno.test("commands get the UPSTREAM_WATCH_* variables, the service's env and the service folder as cwd", async () => {
  await using fixture = await GitFixture.create({});
  const out = join(fixture.root, "env.log");
  const dump = (label: string) =>
    appendLine(
      out,
      `${label} service=$UPSTREAM_WATCH_SERVICE commit=$UPSTREAM_WATCH_COMMIT previous=$UPSTREAM_WATCH_PREVIOUS_COMMIT repo=$UPSTREAM_WATCH_REPO step=$UPSTREAM_WATCH_STEP greeting=$GREETING cwd=$(pwd -P)`,
    );
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      env: { GREETING: "hello world" },
      pre_update_commands: [dump("pre")],
      update_commands: [dump("update")],
      post_update_commands: [dump("post")],
    }),
  });
  const root = await Deno.realPath(fixture.clone);

  assert.equal((await runOnce(fixture.clone)).code, 0);
  const first = await fixture.cloneHead();
  const expected = (label: string, previous: string, commit: string) =>
    `${label} service=api commit=${commit} previous=${previous} repo=${root} step=${label} greeting=hello world cwd=${root}/api`;
  assert.deepEqual(await readLines(out), [
    expected("pre", "", first),
    expected("update", "", first),
    expected("post", "", first),
  ]);

  const second = await fixture.push({ "api/compose.yaml": "v2\n" });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.deepEqual((await readLines(out)).slice(3), [
    expected("pre", first, second),
    expected("update", first, second),
    expected("post", first, second),
  ]);
});

Deno.test("a list command runs without a shell", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [["printf", "%s|", "$HOME", "a b", "*", "; echo x"]],
    }),
  });

  assert.equal((await runOnce(fixture.clone)).code, 0);

  const state = stateFileOf(fixture.clone);
  const [command] = queryState(
    state,
    "SELECT command, output FROM run_commands",
  );
  assert.equal(command.output, "$HOME|a b|*|; echo x|");
  const [run] = runRows(state);
  const logs = await cli(["--repo", fixture.clone, "logs", String(run.id)]);
  assert.ok(logs.stdout.includes("$HOME|a b|*|; echo x|"), logs.stdout);
});

Deno.test("only the last 64 KiB of a command's output is kept, and logs says it was cut", async () => {
  await using fixture = await GitFixture.create({});
  const line = "x".repeat(99);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        `echo first-line; i=0; while [ $i -lt 1000 ]; do echo ${line}; i=$((i+1)); done; echo last-line`,
      ],
    }),
  });

  assert.equal((await runOnce(fixture.clone)).code, 0);

  const state = stateFileOf(fixture.clone);
  const [command] = queryState(
    state,
    "SELECT output, truncated FROM run_commands",
  );
  const output = String(command.output);
  assert.equal(command.truncated, 1);
  assert.equal(new TextEncoder().encode(output).length, 64 * 1024);
  assert.ok(output.endsWith(`${line}\nlast-line\n`));
  assert.ok(!output.includes("first-line"));
  const [run] = runRows(state);
  const logs = await cli(["--repo", fixture.clone, "logs", String(run.id)]);
  assert.match(logs.stdout, /earlier output truncated/);
  assert.match(logs.stdout, /last-line\n$/);
});

import assert from "node:assert/strict";
import {
  DenoProcessRunner,
  killTreeCommand,
  LineSplitter,
  OUTPUT_NOT_COLLECTED_NOTE,
  platformShell,
  TailBuffer,
} from "./run_process.ts";

const runner = new DenoProcessRunner();
const shell = (script: string) => ({ kind: "shell" as const, script });

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "run_process_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** True while `pid` runs; a zombie counts as dead since an init that does not reap may keep it. */
function isRunning(pid: number): boolean {
  try {
    Deno.kill(pid, 0);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The state follows the parenthesised command name.
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function readPid(file: string): Promise<number> {
  const pid = Number((await Deno.readTextFile(file)).trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `no pid in ${file}`);
  return pid;
}

function killIfRunning(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // Already gone: nothing to clean up.
  }
}

Deno.test("run reports the exit code and success of a shell script", async () => {
  const ok = await runner.run(shell("exit 0"), { output: "collect" });
  assert.equal(ok.exitCode, 0);
  assert.equal(ok.success, true);
  assert.equal(ok.signal, null);
  assert.equal(ok.timedOut, false);
  assert.equal(ok.interrupted, false);
  assert.ok(ok.durationMs >= 0);

  const failed = await runner.run(shell("exit 3"), { output: "collect" });
  assert.equal(failed.exitCode, 3);
  assert.equal(failed.success, false);
});

Deno.test("collect mode keeps stdout and stderr whole and apart", async () => {
  const result = await runner.run(
    shell("echo out; echo err >&2; printf 'h\\303\\251llo'"),
    { output: "collect" },
  );
  assert.equal(result.stdout, "out\nhéllo");
  assert.equal(result.stderr, "err\n");
  assert.equal(result.output, "");
  assert.equal(result.truncated, false);
});

Deno.test("tail mode combines stdout and stderr into one output", async () => {
  const result = await runner.run(
    shell("echo out; sleep 0.1; echo err >&2"),
    { output: "tail" },
  );
  assert.equal(result.output, "out\nerr\n");
  assert.equal(result.stdout, "");
  assert.equal(result.stderr, "");
  assert.equal(result.truncated, false);
});

Deno.test("tail mode keeps only the last tailBytes of a 5 MB output", async () => {
  const result = await runner.run(
    shell("yes | head -c 5000000; printf END"),
    { output: "tail", tailBytes: 1000 },
  );
  assert.equal(result.success, true);
  assert.equal(result.truncated, true);
  assert.ok(result.output.length <= 1000, `kept ${result.output.length}`);
  assert.ok(result.output.endsWith("y\ny\nEND"));
});

Deno.test("tail buffer drops the oldest bytes and never starts inside a character", () => {
  const tail = new TailBuffer(5);
  const encoder = new TextEncoder();
  tail.push(encoder.encode("ab"));
  tail.push(encoder.encode("cd"));
  assert.equal(tail.text(), "abcd");
  assert.equal(tail.truncated, false);
  // "é" is two bytes: the last five bytes begin with the second half of one.
  tail.push(encoder.encode("ééé"));
  assert.equal(tail.truncated, true);
  assert.equal(tail.bytes().length, 5);
  assert.equal(tail.text(), "éé");
  tail.push(encoder.encode("0123456789"));
  assert.equal(tail.text(), "56789");
});

Deno.test("onLine receives each line of each stream without its line ending", async () => {
  const lines: [string, string][] = [];
  const result = await runner.run(
    shell("printf 'one\\r\\ntwo\\n'; printf 'three' >&2"),
    { output: "tail", onLine: (line, stream) => lines.push([stream, line]) },
  );
  assert.equal(result.success, true);
  assert.deepEqual(
    lines.filter(([stream]) => stream === "stdout"),
    [["stdout", "one"], ["stdout", "two"]],
  );
  assert.deepEqual(
    lines.filter(([stream]) => stream === "stderr"),
    [["stderr", "three"]],
  );
});

Deno.test("onLine gets an overlong line in pieces no longer than tailBytes", async () => {
  const lengths: number[] = [];
  const result = await runner.run(
    shell("head -c 300000 /dev/zero | tr '\\000' x"),
    {
      output: "tail",
      tailBytes: 1000,
      onLine: (line) => lengths.push(line.length),
    },
  );
  assert.equal(result.success, true);
  assert.ok(lengths.every((length) => length <= 1000));
  assert.equal(lengths.reduce((sum, length) => sum + length, 0), 300000);
});

Deno.test("line splitter keeps characters whole across chunks", () => {
  const lines: string[] = [];
  const splitter = new LineSplitter(100, (line) => lines.push(line));
  const bytes = new TextEncoder().encode("añb\nc");
  splitter.push(bytes.subarray(0, 2));
  splitter.push(bytes.subarray(2));
  assert.deepEqual(lines, ["añb"]);
  splitter.finish();
  assert.deepEqual(lines, ["añb", "c"]);
});

Deno.test("timeout kills the command and its children", async () => {
  await withTempDir(async (dir) => {
    let sleeperPid: number | undefined;
    try {
      const result = await runner.run(
        shell("sleep 1000 & echo $! > pidfile; wait"),
        { output: "tail", cwd: dir, timeoutMs: 500, killGraceMs: 200 },
      );
      sleeperPid = await readPid(`${dir}/pidfile`);
      assert.equal(result.timedOut, true);
      assert.equal(result.interrupted, false);
      assert.equal(result.success, false);
      assert.equal(result.exitCode, null);
      assert.equal(result.signal, "SIGTERM");
      assert.equal(isRunning(sleeperPid), false);
    } finally {
      killIfRunning(sleeperPid);
    }
  });
});

Deno.test("a command that ignores SIGTERM is killed after the grace period", async () => {
  await withTempDir(async (dir) => {
    let sleeperPid: number | undefined;
    try {
      // An ignored signal stays ignored in the children, so neither the shell
      // nor the sleep ends on SIGTERM.
      const result = await runner.run(
        shell("trap '' TERM; sleep 1000 & echo $! > pidfile; wait"),
        { output: "tail", cwd: dir, timeoutMs: 500, killGraceMs: 300 },
      );
      sleeperPid = await readPid(`${dir}/pidfile`);
      assert.equal(result.timedOut, true);
      assert.equal(result.signal, "SIGKILL");
      assert.ok(result.durationMs >= 800, `took ${result.durationMs} ms`);
      assert.equal(isRunning(sleeperPid), false);
    } finally {
      killIfRunning(sleeperPid);
    }
  });
});

Deno.test("aborting the signal interrupts the command and its children", async () => {
  await withTempDir(async (dir) => {
    let sleeperPid: number | undefined;
    const controller = new AbortController();
    const abortTimer = setTimeout(() => controller.abort(), 500);
    try {
      const result = await runner.run(
        shell("sleep 1000 & echo $! > pidfile; wait"),
        {
          output: "collect",
          cwd: dir,
          signal: controller.signal,
          killGraceMs: 200,
        },
      );
      sleeperPid = await readPid(`${dir}/pidfile`);
      assert.equal(result.interrupted, true);
      assert.equal(result.timedOut, false);
      assert.equal(result.success, false);
      assert.equal(isRunning(sleeperPid), false);
    } finally {
      clearTimeout(abortTimer);
      killIfRunning(sleeperPid);
    }
  });
});

Deno.test("an already aborted signal does not start the command", async () => {
  await withTempDir(async (dir) => {
    const result = await runner.run(shell("touch started"), {
      output: "tail",
      cwd: dir,
      signal: AbortSignal.abort(),
    });
    assert.equal(result.interrupted, true);
    assert.equal(result.success, false);
    assert.equal(result.exitCode, null);
    await assert.rejects(Deno.stat(`${dir}/started`), Deno.errors.NotFound);
  });
});

Deno.test("a command that cannot start returns exit code 127 instead of throwing", async () => {
  const spec = {
    kind: "argv" as const,
    argv: ["upstream-watch-no-such-command"],
  };
  const collected = await runner.run(spec, { output: "collect" });
  assert.equal(collected.exitCode, 127);
  assert.equal(collected.success, false);
  assert.match(
    collected.stderr,
    /^cannot start "upstream-watch-no-such-command": /,
  );

  const lines: string[] = [];
  const tailed = await runner.run(spec, {
    output: "tail",
    onLine: (line) => lines.push(line),
  });
  assert.equal(tailed.exitCode, 127);
  assert.match(
    tailed.output,
    /^cannot start "upstream-watch-no-such-command": /,
  );
  assert.deepEqual(lines, [tailed.output]);
});

Deno.test("argv commands run without a shell", async () => {
  const result = await runner.run(
    { kind: "argv", argv: ["echo", "$HOME", "a b"] },
    { output: "collect" },
  );
  assert.equal(result.stdout, "$HOME a b\n");
});

Deno.test("a bounded drain does not wait for a background grandchild holding the pipes, and says so in the output", async () => {
  await withTempDir(async (dir) => {
    let sleeperPid: number | undefined;
    try {
      const result = await runner.run(
        shell("sleep 30 & echo $! > pidfile; echo started"),
        { output: "tail", cwd: dir, drain: { boundedMs: 300 } },
      );
      sleeperPid = await readPid(`${dir}/pidfile`);
      assert.equal(result.success, true);
      assert.equal(result.outputComplete, false);
      assert.equal(result.output, `started\n${OUTPUT_NOT_COLLECTED_NOTE}\n`);
      assert.ok(result.durationMs < 2000, `took ${result.durationMs} ms`);
      // A hook may start a daemon on purpose: it is left running.
      assert.equal(isRunning(sleeperPid), true);
    } finally {
      killIfRunning(sleeperPid);
    }
  });
});

Deno.test("stdin is written to the command and then closed", async () => {
  const result = await runner.run(
    { kind: "argv", argv: ["cat"] },
    { output: "collect", stdin: "hello\nworld" },
  );
  assert.equal(result.stdout, "hello\nworld");
});

Deno.test("env is merged over the inherited environment unless clearEnv", async () => {
  const merged = await runner.run(
    { kind: "argv", argv: ["/usr/bin/env"] },
    { output: "collect", env: { UPSTREAM_WATCH_TEST: "yes" } },
  );
  assert.match(merged.stdout, /^UPSTREAM_WATCH_TEST=yes$/m);
  assert.match(merged.stdout, /^PATH=/m);

  const cleared = await runner.run(
    { kind: "argv", argv: ["/usr/bin/env"] },
    { output: "collect", env: { UPSTREAM_WATCH_TEST: "yes" }, clearEnv: true },
  );
  assert.equal(cleared.stdout, "UPSTREAM_WATCH_TEST=yes\n");
});

Deno.test("cwd sets the working directory of the command", async () => {
  await withTempDir(async (dir) => {
    const result = await runner.run(
      { kind: "argv", argv: ["pwd", "-P"] },
      { output: "collect", cwd: dir },
    );
    assert.equal(result.stdout, `${await Deno.realPath(dir)}\n`);
  });
});

Deno.test("an onLine callback that throws fails run once the command ended", async () => {
  const failure = new Error("logger broke");
  await assert.rejects(
    runner.run(shell("yes | head -c 1000000"), {
      output: "tail",
      onLine: () => {
        throw failure;
      },
    }),
    (error) => error === failure,
  );
});

Deno.test("platformShell uses /bin/sh on Unix and cmd.exe on Windows", () => {
  assert.deepEqual(platformShell("echo hi", "linux"), {
    command: "/bin/sh",
    args: ["-c", "echo hi"],
  });
  assert.deepEqual(platformShell("echo hi", "darwin"), {
    command: "/bin/sh",
    args: ["-c", "echo hi"],
  });
  assert.deepEqual(platformShell('echo "hi" & exit 1', "windows"), {
    command: "cmd.exe",
    args: ["/d", "/s", "/c", '"echo "hi" & exit 1"'],
  });
});

Deno.test("killTreeCommand force-kills the whole Windows process tree", () => {
  assert.deepEqual(killTreeCommand(1234), {
    command: "taskkill",
    args: ["/T", "/F", "/PID", "1234"],
  });
});

Deno.test("collect mode reads to end of output: a grandchild writing after the command exited is not cut off", async () => {
  // The grandchild writes 1.5 s after its parent exited, later than any fixed
  // drain after exit would wait.
  const result = await runner.run(
    shell("(sleep 1.5; echo late) & echo early"),
    { output: "collect" },
  );
  assert.equal(result.success, true);
  assert.equal(result.stdout, "early\nlate\n");
  assert.equal(result.outputComplete, true);
});

Deno.test("collect mode fails rather than return part of the output when the pipes outlive the timeout", async () => {
  await withTempDir(async (dir) => {
    let sleeperPid: number | undefined;
    try {
      const result = await runner.run(
        shell("sleep 30 & echo $! > pidfile; echo early"),
        { output: "collect", cwd: dir, timeoutMs: 500, killGraceMs: 200 },
      );
      sleeperPid = await readPid(`${dir}/pidfile`);
      assert.equal(result.success, false);
      assert.equal(result.timedOut, true);
      assert.equal(result.exitCode, 0, "the command itself exited 0");
      // The grandchild holding the pipes was in the command's group: killed.
      assert.equal(isRunning(sleeperPid), false);
    } finally {
      killIfRunning(sleeperPid);
    }
  });
});

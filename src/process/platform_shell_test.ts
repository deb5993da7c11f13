/**
 * The platform shell, the Windows tree kill and CRLF output, tested for every
 * platform by injecting the operating system (docs/design.md#running-a-service:
 * `/bin/sh -c` on Unix, `cmd.exe /d /s /c` on Windows). The tests that start
 * real processes run on whatever platform runs the suite, so the Windows and
 * macOS CI jobs exercise the real shells there.
 */
import assert from "node:assert/strict";
import {
  DenoProcessRunner,
  killTreeCommand,
  LineSplitter,
  platformShell,
} from "./run_process.ts";

Deno.test("a string command runs through /bin/sh -c on Linux and macOS", () => {
  for (const os of ["linux", "darwin"] as const) {
    assert.deepEqual(platformShell(`echo "$HOME" | tr a-z A-Z`, os), {
      command: "/bin/sh",
      args: ["-c", `echo "$HOME" | tr a-z A-Z`],
    });
  }
});

Deno.test("a string command runs through cmd.exe /d /s /c on Windows, wrapped in one pair of quotes", () => {
  // With /s, cmd.exe removes exactly the first and the last quote of the
  // command line and runs the rest verbatim, so inner quotes, & and | keep
  // their meaning without escaping.
  const script =
    'docker compose -f "my app\\compose.yaml" up -d && echo "a & b"';
  assert.deepEqual(platformShell(script, "windows"), {
    command: "cmd.exe",
    args: ["/d", "/s", "/c", `"${script}"`],
  });
  assert.deepEqual(platformShell("", "windows").args, ["/d", "/s", "/c", '""']);
});

Deno.test("every other platform Deno builds for counts as Unix", () => {
  for (
    const os of [
      "freebsd",
      "netbsd",
      "aix",
      "solaris",
      "illumos",
      "android",
    ] as const
  ) {
    assert.equal(platformShell("true", os).command, "/bin/sh");
  }
});

Deno.test("a timed-out command on Windows is killed with its whole tree by taskkill", () => {
  assert.deepEqual(killTreeCommand(4242), {
    command: "taskkill",
    args: ["/T", "/F", "/PID", "4242"],
  });
});

Deno.test("a string command keeps its quoting through the real platform shell", async () => {
  const runner = new DenoProcessRunner();
  const result = await runner.run(
    { kind: "shell", script: 'echo "a & b"&& echo two' },
    { output: "collect", timeoutMs: 20_000 },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  // cmd.exe's echo prints the quotes, sh's removes them; either way the `&`
  // inside the quotes is text and the `&&` outside runs the second command.
  const expected = Deno.build.os === "windows" ? '"a & b"' : "a & b";
  assert.deepEqual(result.stdout.split(/\r?\n/).filter(Boolean), [
    expected,
    "two",
  ]);
});

Deno.test("an argument-list command reaches the program verbatim, without a shell", async () => {
  const runner = new DenoProcessRunner();
  const result = await runner.run(
    {
      kind: "argv",
      argv: [
        Deno.execPath(),
        "eval",
        "console.log(JSON.stringify(Deno.args))",
        "a b",
        "c&d",
        '"quoted"',
        "$HOME",
        "%PATH%",
      ],
    },
    { output: "collect", timeoutMs: 20_000 },
  );
  assert.equal(result.exitCode, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), [
    "a b",
    "c&d",
    '"quoted"',
    "$HOME",
    "%PATH%",
  ]);
});

Deno.test("output lines written with CRLF (Windows programs) lose the CR", () => {
  const lines: string[] = [];
  const splitter = new LineSplitter(1024, (line) => lines.push(line));
  splitter.push(new TextEncoder().encode("one\r\ntwo\r\nthr"));
  splitter.push(new TextEncoder().encode("ee\r\n"));
  splitter.finish();
  assert.deepEqual(lines, ["one", "two", "three"]);
});

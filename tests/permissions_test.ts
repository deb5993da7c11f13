/**
 * The compiled binaries carry exactly PERMISSION_FLAGS (scripts/permissions.ts)
 * and `deno compile` cannot run on every machine, so these tests run the real
 * entry point under exactly those flags (with `--no-prompt`, as a binary has no
 * one to ask) against real git repositories: the flags must suffice for every
 * command, and every flag must be needed, so that dropping one fails here.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import denoJson from "../deno.json" with { type: "json" };
import { compileArgs, TARGETS } from "../scripts/compile.ts";
import { PERMISSION_FLAGS, V8_FLAGS } from "../scripts/permissions.ts";
import type { CliResult } from "./helpers/cli.ts";
import { GIT_ENV, GitFixture } from "./helpers/git_fixture.ts";
import { freePort, Receiver } from "./helpers/http_receiver.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const DENO_CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** How Deno words a missing permission, e.g. `Requires net access to "127.0.0.1:9000", run again with the --allow-net flag`. */
function permissionDenial(flag: string): RegExp {
  return new RegExp(
    `(NotCapable|PermissionDenied|Requires \\S+ access).*${flag}`,
  );
}

/**
 * The environment of a spawned agent: this process's, with git isolated from
 * the user's configuration and without `UPSTREAM_WATCH_HOST`, so that the
 * agent has to ask the system for its hostname as it does in production.
 */
function agentEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    ...GIT_ENV,
    NO_COLOR: "1",
  };
  delete env.UPSTREAM_WATCH_HOST;
  return env;
}

/** `deno run --no-prompt FLAGS… main.ts ARGS…`, in `cwd` (the repository, like a systemd WorkingDirectory). */
function agentCommand(
  flags: readonly string[],
  args: readonly string[],
  cwd: string,
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--quiet",
      "--config",
      DENO_CONFIG,
      ...flags,
      MAIN,
      ...args,
    ],
    cwd,
    env: agentEnvironment(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Generous limit for one command, so that a regression cannot hang the suite. */
const COMMAND_TIMEOUT_MS = 60_000;

async function runAgent(
  flags: readonly string[],
  args: readonly string[],
  cwd: string,
): Promise<CliResult> {
  const child = agentCommand(flags, args, cwd).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
  let result: Deno.CommandOutput;
  try {
    result = await child.output();
  } finally {
    clearTimeout(timer);
  }
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** PERMISSION_FLAGS without `flag`. */
function without(flag: string): string[] {
  return PERMISSION_FLAGS.filter((candidate) => candidate !== flag);
}

function describe(outcome: CliResult): string {
  return `exit ${outcome.code}\nstdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
}

/**
 * A repository whose one service runs git from its hook (an argument list, so
 * no shell is involved and the test runs on every platform), notifies a local
 * receiver, and has the HTTP endpoint configured for the daemon.
 */
function repositoryFiles(
  notifyUrl: string,
  listenPort: number,
): Record<string, string> {
  return {
    ".upstream-watch.yaml": [
      "notify:",
      `  - url: ${JSON.stringify(notifyUrl)}`,
      "    format: json",
      "webhook:",
      `  listen: "127.0.0.1:${listenPort}"`,
      "  insecure: true",
      "",
    ].join("\n"),
    "app/.update-hooks.yaml": [
      "update_commands:",
      '  - ["git", "rev-parse", "HEAD"]',
      "",
    ].join("\n"),
    "app/compose.yaml": "services: {}\n",
  };
}

/** Starts the daemon (`run`), waits for its HTTP endpoint, checks `/healthz`, then stops it. */
async function daemonAnswersHealthz(
  flags: readonly string[],
  cwd: string,
): Promise<void> {
  const child = agentCommand(flags, ["run", "--interval", "0.5"], cwd).spawn();
  const stop = () => {
    try {
      // Windows has no SIGTERM to deliver: the process is simply terminated.
      child.kill(Deno.build.os === "windows" ? "SIGKILL" : "SIGTERM");
    } catch {
      // Already exited.
    }
  };
  // A daemon that never listens (nor exits) must not hang the suite.
  const timer = setTimeout(stop, COMMAND_TIMEOUT_MS);
  const stdout = new Response(child.stdout).text();
  const decoder = new TextDecoder();
  let log = "";
  const listening = Promise.withResolvers<string | undefined>();
  const stderr = (async () => {
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      const match = /listening on (http:\/\/[^\s:]+:\d+)/.exec(log);
      if (match) listening.resolve(match[1]);
    }
  })();
  const base = await Promise.race([
    listening.promise,
    stderr.then(() => undefined),
  ]);
  let health: number | undefined;
  if (base !== undefined) health = await eventuallyHealthy(`${base}/healthz`);
  stop();
  const status = await child.status;
  clearTimeout(timer);
  await stderr;
  await stdout;
  assert.ok(base, `the daemon never listened; log:\n${log}`);
  assert.equal(health, 200, `GET /healthz answered ${health}; log:\n${log}`);
  if (Deno.build.os !== "windows") {
    assert.equal(
      status.code,
      0,
      `the daemon exited ${status.code}; log:\n${log}`,
    );
  }
}

/** `/healthz` turns 200 once the first sync succeeded; polls until then. */
async function eventuallyHealthy(url: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < deadline) {
    const response = await fetch(url);
    await response.body?.cancel();
    status = response.status;
    if (status === 200) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return status;
}

/** Any flag that grants or denies a permission. */
const PERMISSION_FLAG = /^(-A|--allow-|--deny-)/;

Deno.test("the start and demo tasks and deno compile use exactly PERMISSION_FLAGS", async () => {
  for (const task of ["start", "demo"] as const) {
    const words = denoJson.tasks[task].split(/\s+/);
    const flags = words.filter((word) => PERMISSION_FLAG.test(word));
    assert.deepEqual(
      [...flags].sort(),
      [...PERMISSION_FLAGS].sort(),
      `deno task ${task}: ${denoJson.tasks[task]}`,
    );
  }
  assert.ok(
    denoJson.tasks.start.split(/\s+/).includes(V8_FLAGS),
    "deno task start runs with the daemon's V8 flags",
  );
  for (const target of TARGETS) {
    const args = compileArgs(target, "out");
    const flags = args.filter((arg) => PERMISSION_FLAG.test(arg));
    assert.deepEqual(flags, [...PERMISSION_FLAGS]);
    assert.ok(args.includes(V8_FLAGS), "binaries carry the daemon's V8 flags");
    assert.ok(!args.includes("-A") && !args.includes("--allow-all"));
    const included = args[args.indexOf("--include") + 1];
    assert.ok(
      included?.endsWith(join("src", "cli", "program.ts")),
      "binaries include the program main.ts imports by a computed specifier",
    );
    assert.ok(await Deno.stat(included).then((info) => info.isFile));
  }
  for (const flag of PERMISSION_FLAGS) {
    // `--allow-read=…` style scoping would be fine, blanket permission is not.
    assert.notEqual(flag, "--allow-all");
    assert.notEqual(flag, "-A");
  }
});

Deno.test("main.ts under exactly PERMISSION_FLAGS runs every command", async () => {
  await using receiver = Receiver.start();
  const port = freePort();
  await using fixture = await GitFixture.create(
    repositoryFiles(`${receiver.url}/notify`, port),
  );
  const cwd = fixture.clone;

  const run = await runAgent(PERMISSION_FLAGS, ["run", "--once"], cwd);
  assert.equal(run.code, 0, describe(run));
  const [notification] = await receiver.waitFor(1);
  assert.match(notification.body, /deploy_succeeded/);

  const status = await runAgent(PERMISSION_FLAGS, ["status", "--json"], cwd);
  assert.equal(status.code, 0, describe(status));
  const document = JSON.parse(status.stdout);
  assert.equal(document.services[0].name, "app");
  assert.equal(document.services[0].deployedCommit, await fixture.cloneHead());

  const history = await runAgent(PERMISSION_FLAGS, ["history"], cwd);
  assert.equal(history.code, 0, describe(history));
  assert.match(history.stdout, /app/);

  const validate = await runAgent(PERMISSION_FLAGS, ["validate"], cwd);
  assert.equal(validate.code, 0, describe(validate));

  const version = await runAgent(PERMISSION_FLAGS, ["version"], cwd);
  assert.equal(version.code, 0, describe(version));
  assert.match(
    version.stdout,
    new RegExp(`^upstream-watch ${denoJson.version} `),
  );

  const notifyTest = await runAgent(PERMISSION_FLAGS, ["notify", "test"], cwd);
  assert.equal(notifyTest.code, 0, describe(notifyTest));
  await receiver.waitFor(2);

  await daemonAnswersHealthz(PERMISSION_FLAGS, cwd);
});

/**
 * Every flag has a case that fails without it. `--allow-net` is only used by
 * notifications and the HTTP endpoint, and by design a notification that
 * cannot be delivered never fails a deploy: `run --once` without it deploys,
 * logs the denial and exits 0. Its failing cases are the daemon with the HTTP
 * endpoint (exit 2) and `notify test` (exit 1).
 */
const FAILS_WITHOUT: Record<
  string,
  (cwd: string, receiver: Receiver) => Promise<void>
> = {
  "--allow-run": runOnceFails("--allow-run"),
  "--allow-read": runOnceFails("--allow-read"),
  "--allow-write": runOnceFails("--allow-write"),
  "--allow-env": runOnceFails("--allow-env"),
  "--allow-sys": runOnceFails("--allow-sys"),
  "--allow-net": async (cwd, receiver) => {
    const flags = without("--allow-net");
    const daemon = await runAgent(flags, ["run"], cwd);
    assert.notEqual(daemon.code, 0, describe(daemon));
    assert.match(
      daemon.stderr,
      permissionDenial("--allow-net"),
      describe(daemon),
    );

    const notifyTest = await runAgent(flags, ["notify", "test"], cwd);
    assert.notEqual(notifyTest.code, 0, describe(notifyTest));
    assert.match(
      notifyTest.stdout + notifyTest.stderr,
      permissionDenial("--allow-net"),
      describe(notifyTest),
    );

    const run = await runAgent(flags, ["run", "--once"], cwd);
    assert.equal(
      run.code,
      0,
      `notifications never fail a deploy\n${describe(run)}`,
    );
    assert.match(run.stderr, /not delivered/, describe(run));
    assert.match(run.stderr, permissionDenial("--allow-net"), describe(run));
    assert.equal(receiver.requests.length, 0, "nothing was delivered");
  },
};

function runOnceFails(
  flag: string,
): (cwd: string, receiver: Receiver) => Promise<void> {
  return async (cwd) => {
    const run = await runAgent(without(flag), ["run", "--once"], cwd);
    assert.notEqual(run.code, 0, describe(run));
    assert.match(run.stderr, permissionDenial(flag), describe(run));
  };
}

Deno.test("main.ts fails without any one of PERMISSION_FLAGS", async (t) => {
  assert.deepEqual(
    Object.keys(FAILS_WITHOUT).sort(),
    [...PERMISSION_FLAGS].sort(),
    "every permission flag needs a case proving it is needed (and no more)",
  );
  for (const flag of PERMISSION_FLAGS) {
    await t.step(`without ${flag}`, async () => {
      await using receiver = Receiver.start();
      await using fixture = await GitFixture.create(
        repositoryFiles(`${receiver.url}/notify`, freePort()),
      );
      await FAILS_WITHOUT[flag](fixture.clone, receiver);
    });
  }
});

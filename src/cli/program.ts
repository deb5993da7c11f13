import { Command, CommanderError, Option } from "commander";
import {
  type App,
  type GlobalOptions,
  openApp,
  type OpenAppOptions,
} from "../app.ts";
import { HISTORY_LIMIT, INTERVAL_SECONDS, RUN_ID } from "./number_arguments.ts";
import { errorMessage, ExitCode, UpstreamWatchError } from "../errors.ts";
import { escapeControl } from "../log/escape.ts";
import {
  type CliLogLevel,
  configureLogging,
  type LogFormat,
} from "../log/logging.ts";
import { type Output, processOutput } from "./output.ts";
import { versionText } from "./version_text.ts";
import { addOperatorCommands } from "./operator_program.ts";

interface ProgramOptions extends GlobalOptions {
  logFormat: LogFormat;
  logLevel: CliLogLevel;
  color: boolean;
}

/** Parses the command line, runs one command and returns the process exit code (docs/design.md#exit-codes). */
export async function runCli(
  args: readonly string[],
  output: Output = processOutput(),
): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(output, (code) => exitCode = code);
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // Help and version exit 0; every parse error is a usage error (2).
      return thrown.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const options = program.opts<ProgramOptions>();
    const expected = expectedError(thrown);
    // A bug is reported in one line too; its stack only at debug level.
    const error = expected ?? internalError(thrown);
    const stack = options.logLevel === "debug" && thrown instanceof Error
      ? thrown.stack
      : undefined;
    // Log shippers read stderr line by line: in JSON mode the final error is JSON too.
    output.err(
      options.logFormat === "json"
        ? JSON.stringify({
          time: new Date().toISOString(),
          level: "error",
          message: error.message,
          exitCode: error.exitCode,
          ...(stack ? { stack } : {}),
        }) + "\n"
        : `upstream-watch: ${escapeControl(error.message)}\n` +
          (stack ? `${stack}\n` : ""),
    );
    return error.exitCode;
  }
}

/** An unexpected error as a one-line message; exit 1 like an uncaught error. */
function internalError(thrown: unknown): UpstreamWatchError {
  const message = errorMessage(thrown);
  return new UpstreamWatchError(
    `internal error: ${message} (run with --log-level debug for the stack trace)`,
    { exitCode: ExitCode.updateFailed, cause: thrown },
  );
}

/** Domain errors as they are; a missing permission or an unusable file becomes a one-line exit-2 error; bugs stay undefined. */
function expectedError(error: unknown): UpstreamWatchError | undefined {
  if (error instanceof UpstreamWatchError) return error;
  if (
    error instanceof Deno.errors.NotCapable ||
    error instanceof Deno.errors.PermissionDenied
  ) {
    return new UpstreamWatchError(
      `${error.message} (a missing Deno permission, or a file upstream-watch may not read or write; see scripts/permissions.ts for the flags it needs)`,
      { exitCode: ExitCode.usage, cause: error },
    );
  }
  return undefined;
}

function buildProgram(
  output: Output,
  setExit: (code: number) => void,
): Command {
  const program = new Command("upstream-watch")
    .description(
      "Pull-based GitOps agent: keeps a clone in sync with its upstream and runs the update commands of every service folder that changed",
    )
    .option("--repo <dir>", "repository to work on", ".")
    .option(
      "--config <file>",
      "repository configuration file (default: <repo>/.upstream-watch.yaml)",
    )
    .option(
      "--host <name>",
      "host name matched against services' hosts (default: $UPSTREAM_WATCH_HOST, else the machine's)",
    )
    .option(
      "--allowed-signers <path>",
      "deploy only commits signed by a key of this allowed-signers file (default: $UPSTREAM_WATCH_ALLOWED_SIGNERS, else verify: in the repository)",
    )
    .option(
      "--age-key-file <path>",
      "age identities for services' SOPS secrets, besides $SOPS_AGE_KEY_FILE and $SOPS_AGE_KEY",
    )
    .addOption(
      new Option("--log-format <format>", "log format").choices([
        "text",
        "json",
      ])
        .default("text"),
    )
    .addOption(
      new Option("--log-level <level>", "lowest level logged").choices([
        "debug",
        "info",
        "warn",
        "error",
      ]).default("info"),
    )
    .option("--no-color", "never colour log output")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (text) => output.out(text),
      writeErr: (text) => output.err(text),
      outputError: (text, write) =>
        write(`upstream-watch: ${text.replace(/^error: /, "")}`),
    })
    .hook("preAction", () => {
      const options = program.opts<ProgramOptions>();
      configureLogging({
        format: options.logFormat,
        level: options.logLevel,
        color: options.color && !Deno.noColor && Deno.stderr.isTerminal(),
      });
    });

  /**
   * Read-only commands open the state read-only; `writer` commands also take
   * the instance lock. Each command's module is imported when it runs: a
   * status need not load the daemon's HTTP server and notifiers.
   */
  const withApp = (
    mode: "reader" | "writer" | "beside",
    body: (app: App) => Promise<number> | number,
    options: Pick<
      OpenAppOptions,
      "lostState" | "configFallback" | "ownSettings"
    > = {},
  ) =>
  async () => {
    // `beside`: writes the state next to a running daemon, without its lock.
    using app = await openApp(program.opts<ProgramOptions>(), {
      readOnly: mode === "reader",
      lock: mode === "writer",
      ...options,
      recoverRuns: mode !== "beside",
    });
    setExit(await body(app));
  };

  program.command("run", { isDefault: true })
    .description(
      "poll the upstream and update changed services (the default command)",
    )
    .option("--once", "run one cycle, then exit")
    .option(
      "--interval <seconds>",
      "seconds between polls (default: retry_interval)",
      INTERVAL_SECONDS,
    )
    .option(FRESH_STATE_FLAG, FRESH_STATE_HELP)
    .action((
      options: { once?: boolean; interval?: number; freshState?: boolean },
    ) =>
      withApp(
        "writer",
        async (app) =>
          (await import("./commands/run.ts")).runCommand(app, {
            once: options.once ?? false,
            interval: options.interval,
          }),
        // The daemon's settings are its own flags and environment.
        { ...freshState(options), ownSettings: true },
      )()
    );

  program.command("plan")
    .description("show what the next cycle would run and why, changing nothing")
    .option(
      "--no-fetch",
      "compare with the last fetched commit instead of fetching",
    )
    .option("--json", "print JSON")
    .action((options: { fetch: boolean; json?: boolean }) =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/plan.ts")).planCommand(app, {
            fetch: options.fetch,
            json: options.json ?? false,
          }, output),
      )()
    );

  program.command("status")
    .description(
      "one row per service: deployed commit, last outcome, pending work",
    )
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/status.ts")).statusCommand(
            app,
            { json: options.json ?? false },
            output,
          ),
      )()
    );

  program.command("history")
    .description("past runs, newest first")
    .argument("[service]", "only runs of this service")
    .option("--limit <n>", "number of runs shown", HISTORY_LIMIT, 20)
    .option("--json", "print JSON")
    .action((
      service: string | undefined,
      options: { limit: number; json?: boolean },
    ) =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/history.ts")).historyCommand(app, {
            service,
            limit: options.limit,
            json: options.json ?? false,
          }, output),
      )()
    );

  program.command("logs")
    .description("the captured output of one run")
    .argument("<run-id>", "run id (see history)", RUN_ID)
    .option("--json", "print JSON")
    .action((runId: number, options: { json?: boolean }) =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/logs.ts")).logsCommand(app, {
            runId,
            json: options.json ?? false,
          }, output),
      )()
    );

  addOperatorCommands(program, {
    output,
    setExit,
    globals: () => program.opts<ProgramOptions>(),
    freshState: { flag: FRESH_STATE_FLAG, help: FRESH_STATE_HELP },
    besideDaemon: (body) => withApp("beside", body)(),
  });

  program.command("verify-reset")
    .description(
      "forget the recorded signature-verification settings, so the deployed configuration may lower or switch off verification (logged and notified)",
    )
    .option("--reason <text>", "why, logged and sent with the notification")
    .action((options: { reason?: string }) =>
      withApp(
        "beside",
        async (app) =>
          (await import("./commands/verify_reset.ts")).verifyResetCommand(
            app,
            { reason: options.reason },
            output,
          ),
      )()
    );

  program.command("adopt")
    .description(
      "record services (default: all) as deployed at HEAD without running anything",
    )
    .argument("[services...]", "services to adopt")
    // Adopting records the services itself: it is one way out of a lost state file.
    .action((services: string[]) =>
      withApp(
        "writer",
        async (app) =>
          (await import("./commands/deploy.ts")).adoptCommand(
            app,
            { services },
            output,
          ),
        {
          lostState: "start_fresh",
        },
      )()
    );

  program.command("validate")
    .description("check the repository config and every service's hook file")
    .option(
      "--ref <commit>",
      "check them as committed at COMMIT (a branch, tag or commit id) instead of HEAD",
    )
    .action((options: { ref?: string }) =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/validate.ts")).validateCommand(
            app,
            output,
            options,
          ),
        // HEAD's own configuration is what is checked: no fallback hides it.
        { configFallback: options.ref !== undefined },
      )()
    );

  program.command("notify")
    .description("notification targets (notify: in .upstream-watch.yaml)")
    .command("test")
    .description(
      "send a test message to every notification target and report each result",
    )
    .action(() =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/notify.ts")).notifyTestCommand(app, output),
      )()
    );

  program.command("status-report")
    .description(
      "commit status targets (commit_status: in .upstream-watch.yaml)",
    )
    .command("test")
    .description(
      "set a test status on HEAD for every commit status target and report each result",
    )
    .action(() =>
      withApp(
        "reader",
        async (app) =>
          (await import("./commands/status_report.ts")).statusReportTestCommand(
            app,
            output,
          ),
      )()
    );

  program.command("version")
    .description("print version, Deno version and platform")
    .action(() => {
      output.out(versionText());
    });

  return program;
}

const FRESH_STATE_FLAG = "--fresh-state";
const FRESH_STATE_HELP =
  "if the state file this clone had is missing or empty, start a new one (every service counts as never deployed)";

function freshState(
  options: { freshState?: boolean },
): Pick<OpenAppOptions, "lostState"> {
  return { lostState: options.freshState ? "start_fresh" : "refuse" };
}

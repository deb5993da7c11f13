import {
  Command,
  CommanderError,
  InvalidArgumentError,
  Option,
} from "commander";
import { type App, type GlobalOptions, openApp } from "../app.ts";
import { ExitCode, UpstreamWatchError } from "../errors.ts";
import {
  type CliLogLevel,
  configureLogging,
  type LogFormat,
} from "../log/logging.ts";
import { VERSION } from "../version.ts";
import { adoptCommand, deployCommand } from "./commands/deploy.ts";
import { historyCommand } from "./commands/history.ts";
import { logsCommand } from "./commands/logs.ts";
import { notifyTestCommand } from "./commands/notify.ts";
import { planCommand } from "./commands/plan.ts";
import { runCommand } from "./commands/run.ts";
import { statusCommand } from "./commands/status.ts";
import { statusReportTestCommand } from "./commands/status_report.ts";
import { validateCommand } from "./commands/validate.ts";
import { type Output, processOutput } from "./output.ts";

interface ProgramOptions extends GlobalOptions {
  logFormat: LogFormat;
  logLevel: CliLogLevel;
  color: boolean;
}

/** Parses the command line, runs one command and returns the process exit code (SPEC §6). */
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
    const error = expectedError(thrown);
    if (error) {
      // Log shippers read stderr line by line: in JSON mode the final error is JSON too.
      output.err(
        program.opts<ProgramOptions>().logFormat === "json"
          ? JSON.stringify({
            time: new Date().toISOString(),
            level: "error",
            message: error.message,
            exitCode: error.exitCode,
          }) + "\n"
          : `upstream-watch: ${error.message}\n`,
      );
      return error.exitCode;
    }
    throw thrown;
  }
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

  /** Read-only commands open the state read-only; `writer` commands also take the instance lock. */
  const withApp = (
    mode: "reader" | "writer",
    body: (app: App) => Promise<number> | number,
  ) =>
  async () => {
    using app = await openApp(program.opts<ProgramOptions>(), {
      readOnly: mode === "reader",
      lock: mode === "writer",
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
      positiveNumber,
    )
    .action((options: { once?: boolean; interval?: number }) =>
      withApp("writer", (app) =>
        runCommand(app, {
          once: options.once ?? false,
          interval: options.interval,
        }))()
    );

  program.command("plan")
    .description("show what the next cycle would run and why, changing nothing")
    .option(
      "--no-fetch",
      "compare with the last fetched commit instead of fetching",
    )
    .option("--json", "print JSON")
    .action((options: { fetch: boolean; json?: boolean }) =>
      withApp("reader", (app) =>
        planCommand(app, {
          fetch: options.fetch,
          json: options.json ?? false,
        }, output))()
    );

  program.command("status")
    .description(
      "one row per service: deployed commit, last outcome, pending work",
    )
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      withApp(
        "reader",
        (app) => statusCommand(app, { json: options.json ?? false }, output),
      )()
    );

  program.command("history")
    .description("past runs, newest first")
    .argument("[service]", "only runs of this service")
    .option("--limit <n>", "number of runs shown", positiveInteger, 20)
    .option("--json", "print JSON")
    .action((
      service: string | undefined,
      options: { limit: number; json?: boolean },
    ) =>
      withApp("reader", (app) =>
        historyCommand(app, {
          service,
          limit: options.limit,
          json: options.json ?? false,
        }, output))()
    );

  program.command("logs")
    .description("the captured output of one run")
    .argument("<run-id>", "run id (see history)", positiveInteger)
    .option("--json", "print JSON")
    .action((runId: number, options: { json?: boolean }) =>
      withApp(
        "reader",
        (app) =>
          logsCommand(app, { runId, json: options.json ?? false }, output),
      )()
    );

  program.command("deploy")
    .description("run the update of services now at HEAD, due or not")
    .argument("[services...]", "services to deploy")
    .option("--all", "deploy every service of this host")
    .action((services: string[], options: { all?: boolean }) =>
      withApp(
        "writer",
        (app) =>
          deployCommand(app, { services, all: options.all ?? false }, output),
      )()
    );

  program.command("adopt")
    .description(
      "record services (default: all) as deployed at HEAD without running anything",
    )
    .argument("[services...]", "services to adopt")
    .action((services: string[]) =>
      withApp("writer", (app) => adoptCommand(app, { services }, output))()
    );

  program.command("validate")
    .description("check the repository config and every service's hook file")
    .action(() => withApp("reader", (app) => validateCommand(app, output))());

  program.command("notify")
    .description("notification targets (notify: in .upstream-watch.yaml)")
    .command("test")
    .description(
      "send a test message to every notification target and report each result",
    )
    .action(() => withApp("reader", (app) => notifyTestCommand(app, output))());

  program.command("status-report")
    .description(
      "commit status targets (commit_status: in .upstream-watch.yaml)",
    )
    .command("test")
    .description(
      "set a test status on HEAD for every commit status target and report each result",
    )
    .action(() =>
      withApp("reader", (app) => statusReportTestCommand(app, output))()
    );

  program.command("version")
    .description("print version, Deno version and platform")
    .action(() => {
      output.out(
        `upstream-watch ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch})\n`,
      );
    });

  return program;
}

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive number`);
  }
  return number;
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  }
  return number;
}

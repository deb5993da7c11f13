/**
 * The subcommands: each one's arguments, options and help, and the module
 * that runs it (imported only when it runs: a status need not load the
 * daemon's HTTP server and notifiers). See docs/commands.md.
 * @module
 */
import type { Command } from "commander";
import type { App } from "../app/compose.ts";
import type {
  GlobalOptions,
  OpenAppOptions,
  StateApp,
} from "../app/open_state.ts";
import { HISTORY_LIMIT, INTERVAL_SECONDS, RUN_ID } from "./number_arguments.ts";
import { addOperatorCommands } from "./operator_program.ts";
import type { Output } from "./output.ts";
import { versionText } from "./version_text.ts";

/**
 * Runs `body` with the app opened for `mode`: `reader` opens the state
 * read-only; `writer` also takes the instance lock; `beside` writes the state
 * next to a running daemon, without its lock.
 */
export type WithApp = (
  mode: "reader" | "writer" | "beside",
  body: (app: App) => Promise<number> | number,
  options?: Pick<
    OpenAppOptions,
    "lostState" | "configFallback" | "ownSettings"
  >,
) => () => Promise<void>;

/** Runs `body` with the repository and its state opened read-only, without building the agent. */
export type WithState = (
  body: (state: StateApp) => Promise<number> | number,
) => () => Promise<void>;

/** Adds every subcommand to `program`. */
export function addSubcommands(
  program: Command,
  { withApp, withState, output, setExit, globals }: {
    withApp: WithApp;
    withState: WithState;
    output: Output;
    /** Sets the process's exit code (the operator commands that hand work to the daemon). */
    setExit: (code: number) => void;
    globals: () => GlobalOptions;
  },
): void {
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
      withState(
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
      withState(
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
    globals,
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
}

const FRESH_STATE_FLAG = "--fresh-state";
const FRESH_STATE_HELP =
  "if the state file this clone had is missing or empty, start a new one (every service counts as never deployed)";

function freshState(
  options: { freshState?: boolean },
): Pick<OpenAppOptions, "lostState"> {
  return { lostState: options.freshState ? "start_fresh" : "refuse" };
}

/**
 * The commands an operator steps in with. `deploy`, `rollback` and `check`
 * run here, or are handed to the running daemon when it holds the
 * repository's lock (docs/design.md#operator-requests); `suspend` and `resume`
 * write the state beside it.
 * @module
 */
import type { Command } from "commander";
import type { App } from "../app/compose.ts";
import type { GlobalOptions } from "../app/open_state.ts";
import { UsageError } from "../errors.ts";
import { daemonRecord } from "../state/daemon_record.ts";
import { LockedError } from "../state/instance_lock.ts";
import type { LostStatePolicy } from "../state/state_marker.ts";
import type { OperatorCall } from "./commands/operator.ts";
import type { Output } from "./output.ts";

/** What the commands need from the program. */
export interface OperatorProgramDeps {
  output: Output;
  setExit: (code: number) => void;
  globals: () => GlobalOptions;
  /** The `--fresh-state` flag and its help. */
  freshState: { flag: string; help: string };
  /** Runs `body` with the state opened beside a running daemon, without its lock. */
  besideDaemon: (body: (app: App) => Promise<number>) => Promise<void>;
}

/** Adds `deploy`, `rollback`, `check`, `suspend` and `resume` to `program`. */
export function addOperatorCommands(
  program: Command,
  deps: OperatorProgramDeps,
): void {
  const noWait = [
    "--no-wait",
    "with a daemon running: return once it accepted the request",
  ] as const;
  program.command("deploy")
    .description(
      "run the update of services now at HEAD, due or not; ends a hold",
    )
    .argument("[services...]", "services to deploy")
    .option("--all", "deploy every service of this host")
    .option(deps.freshState.flag, deps.freshState.help)
    .option("--force", "deploy suspended services too")
    .option(...noWait)
    .action((
      services: string[],
      options: {
        all?: boolean;
        force?: boolean;
        freshState?: boolean;
        wait: boolean;
      },
    ) => {
      if (options.all && services.length > 0) {
        throw new UsageError("deploy takes service names or --all, not both");
      }
      if (!options.all && services.length === 0) {
        throw new UsageError("deploy needs service names or --all");
      }
      return operate(deps, {
        action: "deploy",
        services: options.all ? [] : services,
        options: options.force ? { force: true } : {},
      }, {
        wait: options.wait,
        lostState: options.freshState ? "start_fresh" : "refuse",
      });
    });

  program.command("rollback")
    .description(
      "deploy a service's files as of an earlier commit it was deployed at; HEAD's revision is held until a new one",
    )
    .argument("<service>", "service to roll back")
    .option(
      "--to <commit>",
      "the commit to go back to (default: the one deployed before the current)",
    )
    .option(...noWait)
    .action((service: string, options: { to?: string; wait: boolean }) =>
      operate(deps, {
        action: "rollback",
        services: [service],
        options: options.to === undefined ? {} : { to: options.to },
      }, { wait: options.wait, lostState: "refuse" })
    );

  program.command("check")
    .description(
      "run a service's health commands now, at the revision it runs; heal it if they fail",
    )
    .argument("<service>", "service to check")
    .option(...noWait)
    .action((service: string, options: { wait: boolean }) =>
      operate(deps, { action: "check", services: [service], options: {} }, {
        wait: options.wait,
        lostState: "refuse",
      })
    );

  program.command("suspend")
    .description(
      "stop running services (or, with --all, the whole agent) until resume; fetching goes on",
    )
    .argument("[services...]", "services to suspend")
    .option("--all", "suspend the whole agent")
    .option("--reason <text>", "why, shown by status and the status page")
    .action((
      services: string[],
      options: { all?: boolean; reason?: string },
    ) =>
      deps.besideDaemon(async (app) =>
        (await import("./commands/suspend.ts")).suspendCommand(app, {
          services,
          all: options.all ?? false,
          reason: options.reason,
        }, deps.output)
      )
    );

  program.command("resume")
    .description(
      "undo suspend; what became due meanwhile runs in the next cycle",
    )
    .argument("[services...]", "services to resume")
    .option("--all", "lift every suspension")
    .action((services: string[], options: { all?: boolean }) =>
      deps.besideDaemon(async (app) =>
        (await import("./commands/suspend.ts")).resumeCommand(app, {
          services,
          all: options.all ?? false,
        }, deps.output)
      )
    );
}

/** Runs `call` here when this process gets the lock, else hands it to the daemon that holds it. */
async function operate(
  deps: OperatorProgramDeps,
  call: OperatorCall,
  options: { wait: boolean; lostState: LostStatePolicy },
): Promise<void> {
  const commands = await import("./commands/operator.ts");
  const { openApp } = await import("../app/compose.ts");
  const globals = deps.globals();
  let locked: LockedError;
  try {
    using app = await openApp(globals, {
      readOnly: false,
      lock: true,
      lostState: options.lostState,
    });
    deps.setExit(await commands.runHere(app, call, deps.output));
    return;
  } catch (error) {
    if (!(error instanceof LockedError)) throw error;
    locked = error;
  }
  using beside = await openApp(globals, {
    readOnly: false,
    lock: false,
    recoverRuns: false,
  });
  const daemon = daemonRecord(beside.store);
  // Only a daemon watches for requests: `run --once` or another `deploy` do not.
  if (!daemon?.running || daemon.pid !== locked.holderPid) throw locked;
  deps.setExit(
    await commands.handToDaemon(beside, call, {
      wait: options.wait,
      daemonPid: daemon.pid,
    }, deps.output),
  );
}

import type { App } from "../../app.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import {
  ALL_SERVICES,
  describeSuspension,
  resume,
  suspend,
  suspensions,
} from "../../state/suspensions.ts";
import { escapeControl } from "../../log/escape.ts";
import type { Output } from "../output.ts";

/** `suspend SERVICE... | --all [--reason TEXT]`: polls, webhooks, retries and self-heal leave them alone until `resume`. */
export async function suspendCommand(
  app: App,
  options: { services: string[]; all: boolean; reason?: string },
  output: Output,
): Promise<number> {
  const names = await checkedNames(app, options, "suspend");
  const reason = options.reason?.trim() || undefined;
  suspend(app.store, names, { reason, now: Date.now() });
  output.out(
    `suspended ${
      names[0] === ALL_SERVICES ? "the whole agent" : names.join(", ")
    }${reason ? ` (${escapeControl(reason)})` : ""}\n`,
  );
  return ExitCode.ok;
}

/** `resume SERVICE... | --all`: lifts suspensions; what became due meanwhile runs in the next cycle. */
export async function resumeCommand(
  app: App,
  options: { services: string[]; all: boolean },
  output: Output,
): Promise<number> {
  const names = options.all
    ? "all"
    : await checkedNames(app, options, "resume", { allowSuspended: true });
  const lifted = resume(app.store, names);
  output.out(
    lifted.length === 0
      ? "nothing was suspended\n"
      : `resumed ${
        lifted.map((name) => name === ALL_SERVICES ? "the whole agent" : name)
          .join(", ")
      }\n`,
  );
  const still = suspensions(app.store).get(ALL_SERVICES);
  if (still && names !== "all") {
    output.out(
      `note: the whole agent is still ${
        escapeControl(describeSuspension(still))
      }\n`,
    );
  }
  return ExitCode.ok;
}

async function checkedNames(
  app: App,
  options: { services: string[]; all: boolean },
  command: string,
  extra: { allowSuspended?: boolean } = {},
): Promise<string[]> {
  if (options.all && options.services.length > 0) {
    throw new UsageError(`${command} takes service names or --all, not both`);
  }
  if (options.all) return [ALL_SERVICES];
  if (options.services.length === 0) {
    throw new UsageError(`${command} needs service names or --all`);
  }
  const known = new Set(await app.agent.serviceNames());
  if (extra.allowSuspended) {
    for (const name of suspensions(app.store).keys()) known.add(name);
  }
  const unknown = options.services.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown service${unknown.length > 1 ? "s" : ""} ${
        unknown.join(", ")
      }; known services on this host: ${
        [...known].filter((name) => name !== ALL_SERVICES).join(", ") ||
        "(none)"
      }`,
    );
  }
  return [...new Set(options.services)];
}

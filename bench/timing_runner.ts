import { DenoProcessRunner } from "../src/process/run_process.ts";
import type {
  ProcessResult,
  ProcessSpec,
  RunProcessOptions,
} from "../src/process/types.ts";
import { wallMs } from "./stats.ts";

/** One process the agent ran, with wall-clock start and end (epoch ms). */
export interface ProcessEvent {
  /** `git <subcommand>`, or `hook` for a hook command. */
  label: string;
  argv: readonly string[];
  start: number;
  end: number;
}

/**
 * Records when every process of {@link DenoProcessRunner} starts and ends in
 * this process, while it is not disposed. It wraps the runner's prototype
 * rather than being injected, so the agent is built by `openApp` exactly as
 * the CLI builds it, whatever its dependencies become.
 */
export class ProcessRecorder implements Disposable {
  readonly #original = DenoProcessRunner.prototype.run;
  events: ProcessEvent[] = [];

  constructor() {
    const original = this.#original;
    const events = () => this.events;
    DenoProcessRunner.prototype.run = async function (
      this: DenoProcessRunner,
      spec: ProcessSpec,
      options: RunProcessOptions,
    ): Promise<ProcessResult> {
      const argv = spec.kind === "argv" ? spec.argv : ["sh", "-c", spec.script];
      const label = argv[0] === "git" ? `git ${gitSubcommand(argv)}` : "hook";
      const start = wallMs();
      try {
        return await original.call(this, spec, options);
      } finally {
        events().push({ label, argv, start, end: wallMs() });
      }
    };
  }

  /** Forgets the recorded events (call at the start of a measured cycle). */
  reset(): void {
    this.events = [];
  }

  /** The first recorded event with this label, if any. */
  first(label: string): ProcessEvent | undefined {
    return this.events.find((event) => event.label === label);
  }

  [Symbol.dispose](): void {
    DenoProcessRunner.prototype.run = this.#original;
  }
}

/** The subcommand of a git argv, after any `-c name=value` options. */
function gitSubcommand(argv: readonly string[]): string {
  let index = 1;
  while (argv[index] === "-c") index += 2;
  return argv[index] ?? "";
}

/**
 * Benchmark fixtures: a bare upstream, a pusher clone that plays the operator
 * and the agent's clone, with N service folders whose hooks append
 * `<service> <epoch ns>` to a log file. Built with a handful of git processes
 * whatever N is (one commit holds every folder).
 */
import { dirname, join } from "node:path";
import {
  git as gitIn,
  GIT_ENV,
  shellQuote,
} from "../tests/helpers/git_fixture.ts";

export { GIT_ENV, shellQuote };

/** Runs git in `cwd` (the tests' helper, taking the arguments as one list). */
export function git(cwd: string, args: readonly string[]): Promise<string> {
  return gitIn(cwd, ...args);
}

/** Name of service `index` (sorted names follow the index). */
export function serviceName(index: number): string {
  return `svc-${String(index).padStart(4, "0")}`;
}

/** Options of {@link BenchRepo.create}. */
export interface BenchRepoOptions {
  /** Number of service folders. */
  services: number;
  /** Services whose update command first writes this many bytes of output (the flood). */
  flood?: { service: string; bytes: number };
}

/** The repositories of one benchmark size. */
export class BenchRepo {
  readonly root: string;
  readonly upstream: string;
  readonly pusher: string;
  readonly clone: string;
  /** Every hook appends `<service> <epoch ns at command start>` here. */
  readonly hookLog: string;
  readonly services: number;
  #edits = 0;

  private constructor(root: string, services: number) {
    this.root = root;
    this.upstream = join(root, "upstream.git");
    this.pusher = join(root, "pusher");
    this.clone = join(root, "agent");
    this.hookLog = join(root, "hooks.log");
    this.services = services;
  }

  /** Creates upstream, pusher and agent clone with every service in one commit, under `parent`. */
  static async create(
    parent: string,
    options: BenchRepoOptions,
  ): Promise<BenchRepo> {
    const root = join(parent, `n${options.services}`);
    await Deno.mkdir(root, { recursive: true });
    const repo = new BenchRepo(root, options.services);
    await git(root, [
      "init",
      "--quiet",
      "--bare",
      "--initial-branch=main",
      repo.upstream,
    ]);
    await git(root, ["init", "--quiet", "--initial-branch=main", repo.pusher]);
    await git(repo.pusher, ["remote", "add", "origin", repo.upstream]);
    const files: Record<string, string> = {
      "README.md": "benchmark infrastructure repository\n",
    };
    for (let index = 0; index < options.services; index++) {
      const name = serviceName(index);
      const flood = options.flood?.service === name
        ? options.flood.bytes
        : undefined;
      files[`${name}/.update-hooks.yaml`] = repo.hookFile(name, flood);
      files[`${name}/version.txt`] = `${name} 0\n`;
    }
    await repo.#write(files);
    await repo.#commitAndPush("all services");
    await git(root, ["clone", "--quiet", repo.upstream, repo.clone]);
    return repo;
  }

  /** A hook file appending `<service> <epoch ns>` to the log, then `floodBytes` of output when given; unique per service, like real ones. */
  hookFile(service: string, floodBytes?: number): string {
    const stamp = `echo "$UPSTREAM_WATCH_SERVICE $(date +%s%N)" >> ${
      shellQuote(this.hookLog)
    }`;
    const commands = floodBytes === undefined ? [stamp] : [
      stamp,
      // Lines of 100 bytes, like a chatty `docker compose pull`.
      `yes '${"flood ".padEnd(99, "0123456789")}' | head -c ${floodBytes}`,
    ];
    return [
      `# hooks of ${service}`,
      "update_commands:",
      ...commands.map((command) => `  - ${JSON.stringify(command)}`),
      "env:",
      `  SERVICE_ID: ${JSON.stringify(service)}`,
      "",
    ].join("\n");
  }

  /** Commits a change to `service`'s folder (or to README.md without one) upstream; returns the commit. */
  async pushChange(service?: string): Promise<string> {
    this.#edits++;
    const path = service ? `${service}/version.txt` : "README.md";
    await this.#write({ [path]: `${service ?? "readme"} ${this.#edits}\n` });
    return await this.#commitAndPush(
      service ? `change ${service}` : "change README",
      path,
    );
  }

  /** Epoch nanoseconds at which `service`'s hook last started, from the hook log. */
  async lastHookStart(service: string): Promise<bigint | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.hookLog);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    const prefix = `${service} `;
    const line = text.split("\n").findLast((entry) => entry.startsWith(prefix));
    return line === undefined ? undefined : BigInt(line.slice(prefix.length));
  }

  async #write(files: Record<string, string>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.pusher, path);
      await Deno.mkdir(dirname(full), { recursive: true });
      await Deno.writeTextFile(full, content);
    }
  }

  async #commitAndPush(message: string, path?: string): Promise<string> {
    await git(this.pusher, ["add", path ? path : "--all"]);
    await git(this.pusher, ["commit", "--quiet", "-m", message]);
    await git(this.pusher, ["push", "--quiet", "origin", "HEAD:main"]);
    return await git(this.pusher, ["rev-parse", "HEAD"]);
  }
}

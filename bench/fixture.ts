/**
 * Benchmark fixtures: a bare upstream, a pusher clone that plays the operator
 * and the agent's clone, with N service folders whose hooks append
 * `<service> <epoch ns>` to a log file. The upstream's history is written by
 * one `git fast-import`, so 10,000 services or 50,000 commits cost seconds,
 * not a file write and a `git add` each.
 */
import { join } from "node:path";
import { openApp } from "../src/app/compose.ts";
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
  /** Directory name under the parent (default `n<services>`). */
  name?: string;
  /** Services whose update command first writes this many bytes of output (the flood). */
  flood?: { service: string; bytes: number };
  /**
   * A history of `commits` commits (the first holds every service, the rest
   * touch only README.md), with the agent's clone checked out `behind`
   * commits before the tip: what it adopts is that old.
   */
  history?: { commits: number; behind: number };
}

/** A `git fast-import` stream of commits on `refs/heads/main`, built in memory. */
export class ImportStream {
  readonly #parts: string[] = [];
  readonly #encoder = new TextEncoder();
  #marks = 0;

  /** Adds a commit with these files added or changed; returns its mark. */
  commit(message: string, files: Record<string, string>): number {
    const mark = ++this.#marks;
    const time = 1_700_000_000 + mark;
    this.#parts.push(
      `commit refs/heads/main\nmark :${mark}\n`,
      `author ${GIT_ENV.GIT_AUTHOR_NAME} <${GIT_ENV.GIT_AUTHOR_EMAIL}> ${time} +0000\n`,
      `committer ${GIT_ENV.GIT_COMMITTER_NAME} <${GIT_ENV.GIT_COMMITTER_EMAIL}> ${time} +0000\n`,
      this.#data(message),
    );
    for (const [path, content] of Object.entries(files)) {
      this.#parts.push(`M 100644 inline ${path}\n`, this.#data(content));
    }
    this.#parts.push("\n");
    return mark;
  }

  /** Points `ref` (e.g. `refs/tags/x`) at the commit of `mark`. */
  reset(ref: string, mark: number): void {
    this.#parts.push(`reset ${ref}\nfrom :${mark}\n\n`);
  }

  /** Writes the stream into the repository at `repo` (bare or not). */
  async importInto(repo: string): Promise<void> {
    const child = new Deno.Command("git", {
      args: ["fast-import", "--quiet", "--done"],
      cwd: repo,
      env: GIT_ENV,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(this.#encoder.encode(this.#parts.join("") + "done\n"));
    await writer.close();
    const result = await child.output();
    if (!result.success) {
      throw new Error(
        `git fast-import failed in ${repo}: ${
          new TextDecoder().decode(result.stderr)
        }`,
      );
    }
  }

  #data(text: string): string {
    return `data ${this.#encoder.encode(text).length}\n${text}\n`;
  }
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
  /** Set on the signed fixture: the allowed-signers file its commits verify against. */
  allowedSigners?: string;
  #edits = 0;

  private constructor(root: string, services: number) {
    this.root = root;
    this.upstream = join(root, "upstream.git");
    this.pusher = join(root, "pusher");
    this.clone = join(root, "agent");
    this.hookLog = join(root, "hooks.log");
    this.services = services;
  }

  /** Creates upstream, pusher and agent clone with every service in the first commit, under `parent`. */
  static async create(
    parent: string,
    options: BenchRepoOptions,
  ): Promise<BenchRepo> {
    const root = join(parent, options.name ?? `n${options.services}`);
    await Deno.mkdir(root, { recursive: true });
    const repo = new BenchRepo(root, options.services);
    await git(root, [
      "init",
      "--quiet",
      "--bare",
      "--initial-branch=main",
      repo.upstream,
    ]);
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
    const stream = new ImportStream();
    stream.commit("all services", files);
    const history = options.history;
    if (history) {
      for (let index = 1; index < history.commits; index++) {
        const mark = stream.commit(`history ${index}`, {
          "README.md": `history ${index}\n`,
        });
        if (mark === history.commits - history.behind) {
          stream.reset("refs/tags/deployed", mark);
        }
      }
    }
    await stream.importInto(repo.upstream);
    await git(root, ["clone", "--quiet", repo.upstream, repo.pusher]);
    await git(root, ["clone", "--quiet", repo.upstream, repo.clone]);
    if (history) {
      await git(repo.clone, ["reset", "--quiet", "--hard", "deployed"]);
    }
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
    await Deno.writeTextFile(
      join(this.pusher, path),
      `${service ?? "readme"} ${this.#edits}\n`,
    );
    await git(this.pusher, ["add", path]);
    await git(this.pusher, [
      "commit",
      "--quiet",
      "-m",
      service ? `change ${service}` : "change README",
    ]);
    await git(this.pusher, ["push", "--quiet", "origin", "HEAD:main"]);
    return await git(this.pusher, ["rev-parse", "HEAD"]);
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
}

/** Creates the state (schema and every service adopted at HEAD) unless it exists. */
export async function adoptAll(repo: BenchRepo): Promise<void> {
  using app = await openApp({ repo: repo.clone }, {
    readOnly: false,
    lock: true,
  });
  if (app.store.services().size === 0) await app.agent.adopt("all");
}

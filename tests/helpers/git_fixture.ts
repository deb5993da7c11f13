import { dirname, join } from "node:path";

/** Environment that isolates git from the user's and system's configuration, with a fixed author. */
export const GIT_ENV: Record<string, string> = {
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Test Author",
  GIT_AUTHOR_EMAIL: "author@example.test",
  GIT_COMMITTER_NAME: "Test Author",
  GIT_COMMITTER_EMAIL: "author@example.test",
  GIT_TERMINAL_PROMPT: "0",
};

/** Runs git in `cwd` with {@link GIT_ENV}; throws with stderr on failure, returns trimmed stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const result = await new Deno.Command("git", {
    args,
    cwd,
    env: GIT_ENV,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!result.success) {
    throw new Error(
      `git ${args.join(" ")} failed in ${cwd}: ${
        decoder.decode(result.stderr)
      }`,
    );
  }
  return decoder.decode(result.stdout).trim();
}

/** Files to write: repo-relative path → content. */
export type FileTree = Record<string, string>;

/**
 * A bare "upstream", the agent's clone and a "pusher" clone that plays the operator.
 * Disposing removes everything.
 */
export class GitFixture implements AsyncDisposable {
  readonly root: string;
  readonly upstream: string;
  readonly clone: string;
  readonly pusher: string;

  private constructor(root: string) {
    this.root = root;
    this.upstream = join(root, "upstream.git");
    this.clone = join(root, "agent");
    this.pusher = join(root, "pusher");
  }

  /** Creates the three repositories with `files` as the first commit, cloned by the agent. */
  static async create(files: FileTree): Promise<GitFixture> {
    const root = await Deno.makeTempDir({ prefix: "upstream-watch-test-" });
    const fixture = new GitFixture(root);
    await git(
      root,
      "init",
      "--quiet",
      "--bare",
      "--initial-branch=main",
      fixture.upstream,
    );
    await git(root, "init", "--quiet", "--initial-branch=main", fixture.pusher);
    await git(fixture.pusher, "remote", "add", "origin", fixture.upstream);
    await fixture.push(files, "initial commit");
    await git(root, "clone", "--quiet", fixture.upstream, fixture.clone);
    return fixture;
  }

  /** Writes (or, with `null`, deletes) files in the pusher clone, commits and pushes; returns the commit id. */
  async push(
    files: Record<string, string | null>,
    message = "change",
  ): Promise<string> {
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.pusher, path);
      if (content === null) {
        await Deno.remove(full, { recursive: true });
      } else {
        await Deno.mkdir(dirname(full), { recursive: true });
        await Deno.writeTextFile(full, content);
      }
    }
    await git(this.pusher, "add", "--all");
    await git(this.pusher, "commit", "--quiet", "--allow-empty", "-m", message);
    await git(this.pusher, "push", "--quiet", "--force", "origin", "HEAD:main");
    return await git(this.pusher, "rev-parse", "HEAD");
  }

  /** Points the upstream's branch at `commit` (a reset and force-push from the pusher). */
  async forcePushTo(commit: string): Promise<void> {
    await git(this.pusher, "reset", "--quiet", "--hard", commit);
    await git(this.pusher, "push", "--quiet", "--force", "origin", "HEAD:main");
  }

  /** The agent clone's HEAD commit. */
  cloneHead(): Promise<string> {
    return git(this.clone, "rev-parse", "HEAD");
  }

  /** The pusher's HEAD, i.e. what the upstream's branch points at after the last push. */
  pusherHead(): Promise<string> {
    return git(this.pusher, "rev-parse", "HEAD");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.root, { recursive: true });
  }
}

/** A hook file whose update command appends the service name and commit to `log`. */
export function recordingHooks(log: string, extra = ""): string {
  return [
    `update_commands:`,
    `  - ${
      yamlString(
        `echo "$UPSTREAM_WATCH_SERVICE $UPSTREAM_WATCH_COMMIT" >> ${
          shellQuote(log)
        }`,
      )
    }`,
    extra,
  ].join("\n") + "\n";
}

/** Single-quotes a string for /bin/sh. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'"'"'`)}'`;
}

/** A YAML double-quoted scalar holding `text` exactly (JSON strings are valid YAML). */
export function yamlString(text: string): string {
  return JSON.stringify(text);
}

/**
 * Signed-commit verification through the system git: the allowed keys are
 * passed per command (`-c`, `GNUPGHOME`), never written to any git config.
 * @module
 */
import { isAbsolute, join, relative } from "node:path";
import type { VerifyConfig } from "../config/verify_config.ts";
import { ConfigError } from "../errors.ts";
import type { GitClient } from "../git/git_client.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import type { Rejection } from "./verification_error.ts";

/** State key of the last commit that verified (with the settings it verified under). */
export const VERIFIED_COMMIT_KEY = "verified_commit";
/** State key of the current rejection (JSON), shown by `status`, `plan` and the status page. */
export const VERIFICATION_REJECTED_KEY = "verification_rejected";

/** How a verification ended. */
export type Verdict = { kind: "verified"; checked: number } | {
  kind: "rejected";
  rejection: Rejection;
};

/** A rejection as kept in the state database. */
export interface RecordedRejection extends Rejection {
  at: number;
  /** The target and settings it was refused under. */
  stamp: string;
}

/** Where verification settings come from when the command line overrides the repository. */
export interface VerifierOptions {
  git: GitClient;
  runner: ProcessRunner;
  store: StateStore;
  now: () => number;
  /** The settings in effect now (the repository's may change as HEAD moves). */
  config: () => VerifyConfig | undefined;
}

/** Checks fetched commits before the work tree moves to them; remembers the last one verified. */
export class CommitVerifier {
  readonly #options: VerifierOptions;
  #verified?: string;
  #gnupg?: { home: string; keyring: string; mtime: number };

  constructor(options: VerifierOptions) {
    this.#options = options;
  }

  /** True when verification is on. */
  get enabled(): boolean {
    return this.#options.config() !== undefined;
  }

  /** The settings in effect now. */
  get config(): VerifyConfig | undefined {
    return this.#options.config();
  }

  /**
   * Verifies what moving from `before` to `target` would deploy: the target
   * (`head`), or every commit of `before..target`, merges included (`all`).
   * A verified target is recorded unless `record` is false; an already
   * recorded one costs no git process.
   */
  async check(
    before: string,
    target: string,
    options: { record: boolean },
  ): Promise<Verdict> {
    const config = this.#options.config();
    if (!config) return { kind: "verified", checked: 0 };
    const { store, now } = this.#options;
    const stamp = `${target} ${config.kind} ${config.mode} ${config.path}`;
    if (this.#verified === undefined) {
      this.#verified = store.notificationState(VERIFIED_COMMIT_KEY) ?? "";
    }
    if (this.#verified === stamp) return { kind: "verified", checked: 0 };
    const known = recordedRejection(store);
    if (known?.stamp === stamp) return { kind: "rejected", rejection: known };
    const range = config.mode === "all" && before !== target
      ? [`${before}..${target}`]
      : ["-1", target];
    const commits = await this.#signatures(config, range);
    const bad = commits.find((commit) => commit.status !== "G");
    if (bad) {
      const rejection: Rejection = {
        commit: bad.commit,
        signer: bad.signer,
        reason: statusReason(bad.status, config),
      };
      if (options.record && !store.readOnly) {
        const recorded: RecordedRejection = { ...rejection, at: now(), stamp };
        store.setNotificationState(
          VERIFICATION_REJECTED_KEY,
          JSON.stringify(recorded),
          now(),
        );
      }
      return { kind: "rejected", rejection };
    }
    if (options.record && !store.readOnly) {
      store.setNotificationState(VERIFIED_COMMIT_KEY, stamp, now());
      store.clearNotificationState(VERIFICATION_REJECTED_KEY);
      this.#verified = stamp;
    }
    return { kind: "verified", checked: commits.length };
  }

  /** One `git log` verifies every commit of `range` (git runs the signature program per commit). */
  async #signatures(
    config: VerifyConfig,
    range: string[],
  ): Promise<{ commit: string; status: string; signer: string | null }[]> {
    const { args, env } = await this.#gitOptions(config);
    const { stdout } = await this.#options.git.git([
      ...args,
      "log",
      "--format=%H%x09%G?%x09%GK%x09%GS",
      ...range,
      "--",
    ], { env });
    return stdout.split("\n").filter((line) => line !== "").map((line) => {
      const [commit, status, key, signer] = line.split("\t");
      return {
        commit,
        status,
        signer: status === "N" ? null : signer || key || "an unknown key",
      };
    });
  }

  async #gitOptions(
    config: VerifyConfig,
  ): Promise<{ args: string[]; env?: Record<string, string> }> {
    if (config.kind === "ssh") {
      return {
        args: [
          "-c",
          "gpg.format=ssh",
          "-c",
          `gpg.ssh.allowedSignersFile=${config.path}`,
        ],
      };
    }
    return {
      args: ["-c", "gpg.format=openpgp"],
      env: { GNUPGHOME: await this.#gnupgHome(config.path) },
    };
  }

  /** A private GnuPG home holding only the configured keyring, rebuilt when the keyring file changes. */
  async #gnupgHome(keyring: string): Promise<string> {
    const info = await Deno.stat(keyring);
    const mtime = info.mtime?.getTime() ?? 0;
    const current = this.#gnupg;
    if (current?.keyring === keyring && current.mtime === mtime) {
      return current.home;
    }
    if (current) await removeGnupgHome(current.home);
    const home = await buildGnupgHome(keyring, this.#options.runner);
    this.#gnupg = { home, keyring, mtime };
    return home;
  }

  /** Removes the private GnuPG home, if one was built. */
  closeSync(): void {
    if (this.#gnupg) {
      try {
        Deno.removeSync(this.#gnupg.home, { recursive: true });
      } catch {
        // A temp dir left behind holds public keys only.
      }
    }
    this.#gnupg = undefined;
  }
}

/** The rejection kept in the state database, if the last verification failed. */
export function recordedRejection(
  store: StateStore,
): RecordedRejection | undefined {
  const text = store.notificationState(VERIFICATION_REJECTED_KEY);
  return text === undefined ? undefined : JSON.parse(text);
}

/** A key file inside the work tree could be changed by the pushes it checks: a configuration error. */
export function checkKeyOutsideWorkTree(
  config: VerifyConfig,
  options: { repoRoot: string; file: string },
): void {
  const inside = relative(options.repoRoot, config.path);
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside))) {
    throw new ConfigError(
      `${config.path} lies inside the work tree; keep the key file outside the repository, where a push cannot change it`,
      { file: options.file, key: config.source },
    );
  }
}

/** Builds a GnuPG home in a temp dir that trusts exactly the keys of `keyring`; throws a ConfigError if it cannot be read. */
export async function buildGnupgHome(
  keyring: string,
  runner: ProcessRunner,
): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "upstream-watch-gnupg-" });
  try {
    await Deno.chmod(home, 0o700);
    // Every key of the operator's keyring is trusted; no agent is started.
    await Deno.writeTextFile(
      join(home, "gpg.conf"),
      "trust-model always\nno-autostart\n",
    );
    const result = await runner.run({
      kind: "argv",
      argv: [
        "gpg",
        "--homedir",
        home,
        "--batch",
        "--no-autostart",
        "--import",
        keyring,
      ],
    }, { cwd: home, output: "collect", timeoutMs: 60_000 });
    const imported = /imported: \d+|unchanged: \d+/.test(result.stderr);
    if (!result.success || !imported) {
      const line = result.stderr.split("\n").find((text) => text.trim()) ??
        `exit ${result.exitCode}`;
      throw new ConfigError(`cannot import the OpenPGP keyring: ${line}`, {
        file: keyring,
      });
    }
    return home;
  } catch (error) {
    await removeGnupgHome(home);
    throw error;
  }
}

async function removeGnupgHome(home: string): Promise<void> {
  await Deno.remove(home, { recursive: true }).catch(() => {});
}

function statusReason(status: string, config: VerifyConfig): string {
  const keys = config.kind === "ssh"
    ? `the allowed signers in ${config.path}`
    : `the keyring ${config.path}`;
  switch (status) {
    case "N":
      return "the commit is not signed";
    case "U":
      return `the signature is valid but its key is not one of ${keys}`;
    case "B":
      return "the signature is bad (the commit was changed after signing)";
    case "E":
      return `the signature cannot be checked against ${keys} (unknown key or signature format)`;
    case "X":
      return "the signature has expired";
    case "Y":
      return "the signing key has expired";
    case "R":
      return "the signing key was revoked";
    default:
      return `git reports signature status "${status}"`;
  }
}

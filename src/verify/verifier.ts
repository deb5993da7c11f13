/**
 * Signed-commit verification: the agent reads each commit's signature itself
 * and checks it with the tool of the configured format only (`ssh-keygen -Y
 * verify` against the allowed-signers file, or `gpg` in a private home that
 * holds only the configured keyring), at the time the agent first checked the
 * commit. Nothing is written to any git config, and no trust store of the
 * agent's user is consulted.
 * @module
 */
import type { VerifyConfig } from "../config/verify_config.ts";
import type { GitClient } from "../git/git_client.ts";
import type { ProcessRunner } from "../process/types.ts";
import type { StateStore } from "../state/store.ts";
import {
  firstCheckTimes,
  type RecordedVerification,
  recordedVerification,
  recordFirstChecks,
  recordVerification,
} from "../state/verification_records.ts";
import { buildGnupgHome, removeGnupgHome } from "./gnupg_home.ts";
import { checkGpgSignature } from "./gpg_check.ts";
import { recordFor, settingsInEffect } from "./settings_in_effect.ts";
import { readSignedCommits, type SignedCommit } from "./signed_commit.ts";
import { checkSshSignature, type SignatureVerdict } from "./ssh_check.ts";
import { readTrustStore, type TrustStore } from "./trust_store.ts";
import type { Rejection } from "./verification_error.ts";
import {
  type RecordedRejection,
  recordedRejection,
  VERIFICATION_REJECTED_KEY,
} from "./recorded_rejection.ts";

/** State key of the last commit that verified (with the settings and key file content it verified under). */
export const VERIFIED_COMMIT_KEY = "verified_commit";

/** How a verification ended. */
export type Verdict = { kind: "verified"; checked: number } | {
  kind: "rejected";
  rejection: Rejection;
};

/** What the verifier works with. */
export interface VerifierOptions {
  git: GitClient;
  runner: ProcessRunner;
  store: StateStore;
  now: () => number;
  /** `--allowed-signers` (or its variable): the operator's settings, over the repository's. */
  commandLine?: VerifyConfig;
  /** The `verify:` of the configuration in effect (the last deployed one). */
  repository: () => VerifyConfig | undefined;
  /** Told (once per distinct line) when the recorded settings overrule the configuration. */
  onKept?: (line: string) => void;
}

const FORMAT_NAMES = { ssh: "SSH", openpgp: "OpenPGP", x509: "X.509" };

/** Checks fetched commits before the work tree moves to them; remembers the last one verified. */
export class CommitVerifier {
  readonly #options: VerifierOptions;
  #verified?: string;
  #kept?: string;
  #gnupg?: { home: string; keyring: string; hash: string };
  #scratch?: string;

  constructor(options: VerifierOptions) {
    this.#options = options;
  }

  /** True when verification is on. */
  get enabled(): boolean {
    return this.config !== undefined;
  }

  /** The settings in effect now: the command line's or the deployed configuration's, never below the recorded ones. */
  get config(): VerifyConfig | undefined {
    return this.#inEffect(recordedVerification(this.#options.store));
  }

  #inEffect(
    recorded: RecordedVerification | undefined,
  ): VerifyConfig | undefined {
    const { commandLine, repository, onKept } = this.#options;
    const effect = settingsInEffect({
      commandLine,
      repository: repository(),
      recorded,
    });
    if (effect.kept && effect.kept !== this.#kept) onKept?.(effect.kept);
    this.#kept = effect.kept;
    return effect.config;
  }

  /**
   * Verifies what moving from `before` to `target` would deploy: the target
   * itself always, and under mode `all` every commit of `before..target` too,
   * merges included. A verified target is recorded unless `record` is false;
   * an already recorded one (same settings, same key file content) costs no
   * process.
   */
  async check(
    before: string,
    target: string,
    options: { record: boolean },
  ): Promise<Verdict> {
    const { store, now } = this.#options;
    const recorded = recordedVerification(store);
    const config = this.#inEffect(recorded);
    if (!config) return { kind: "verified", checked: 0 };
    const record = options.record && !store.readOnly;
    if (record) {
      const settings = recordFor(config, recorded, now());
      if (settings) recordVerification(store, settings);
    }
    const trust = await readTrustStore(config);
    const stamp =
      `${target} ${config.kind} ${config.mode} ${config.path} ${trust.hash}`;
    if (this.#verified === undefined) {
      this.#verified = store.notificationState(VERIFIED_COMMIT_KEY) ?? "";
    }
    if (this.#verified === stamp) return { kind: "verified", checked: 0 };
    const known = recordedRejection(store);
    if (known?.stamp === stamp) return { kind: "rejected", rejection: known };
    const firstSeen = new Map<string, number>();
    const rejection = trust.kind === "unusable"
      ? { commit: target, signer: null, reason: trust.reason }
      : await this.#firstRejection(config, trust, {
        before,
        target,
        firstSeen,
      });
    if (record) {
      // One transaction: the first-check times and the verdict.
      store.transaction(() => {
        recordFirstChecks(store, firstSeen);
        if (rejection) {
          const recorded: RecordedRejection = {
            ...rejection,
            at: now(),
            stamp,
          };
          store.setNotificationState(
            VERIFICATION_REJECTED_KEY,
            JSON.stringify(recorded),
            now(),
          );
        } else {
          store.setNotificationState(VERIFIED_COMMIT_KEY, stamp, now());
          store.clearNotificationState(VERIFICATION_REJECTED_KEY);
        }
      });
      if (!rejection) this.#verified = stamp;
    }
    return rejection
      ? { kind: "rejected", rejection }
      : { kind: "verified", checked: 1 };
  }

  /**
   * Checks the commits a move deploys, newest first; the first refusal, or
   * undefined when all pass. Commits never checked before go into `firstSeen`
   * with the time they were checked at.
   */
  async #firstRejection(
    config: VerifyConfig,
    trust: Exclude<TrustStore, { kind: "unusable" }>,
    move: { before: string; target: string; firstSeen: Map<string, number> },
  ): Promise<Rejection | undefined> {
    const { git, store, now } = this.#options;
    const commits = [move.target];
    if (config.mode === "all" && move.before !== move.target) {
      const { stdout } = await git.git([
        "rev-list",
        `${move.before}..${move.target}`,
        "--",
      ]);
      for (const commit of stdout.split("\n")) {
        if (commit !== "" && commit !== move.target) commits.push(commit);
      }
    }
    const [signed, scratch] = await Promise.all([
      readSignedCommits(git, commits),
      this.#scratchDir(),
    ]);
    const known = firstCheckTimes(store, commits);
    const checkedNow = now();
    for (const commit of commits) {
      if (!known.has(commit)) move.firstSeen.set(commit, checkedNow);
    }
    for (const commit of signed) {
      const at = known.get(commit.commit) ?? checkedNow;
      const verdict = await this.#judge(commit, config, trust, { at, scratch });
      if (verdict.kind === "bad") {
        return {
          commit: commit.commit,
          signer: verdict.signer,
          reason: verdict.reason,
        };
      }
    }
    return undefined;
  }

  /** A private temp dir for signature files, made once and removed by {@link closeSync}. */
  async #scratchDir(): Promise<string> {
    this.#scratch ??= await Deno.makeTempDir({
      prefix: "upstream-watch-verify-",
    });
    return this.#scratch;
  }

  async #judge(
    commit: SignedCommit,
    config: VerifyConfig,
    trust: Exclude<TrustStore, { kind: "unusable" }>,
    options: { at: number; scratch: string },
  ): Promise<SignatureVerdict> {
    if (commit.unreadable) {
      return { kind: "bad", signer: null, reason: commit.unreadable };
    }
    const signature = commit.signature;
    if (!signature) {
      return { kind: "bad", signer: null, reason: "the commit is not signed" };
    }
    const wanted = config.kind === "ssh" ? "ssh" : "openpgp";
    if (signature.format !== wanted) {
      return {
        kind: "bad",
        signer: `an ${FORMAT_NAMES[signature.format]} key`,
        reason: `the commit carries an ${
          FORMAT_NAMES[signature.format]
        } signature, and ${config.source} accepts only ${
          FORMAT_NAMES[wanted]
        } signatures`,
      };
    }
    const { runner } = this.#options;
    if (trust.kind === "ssh") {
      return await checkSshSignature(commit, {
        runner,
        file: config.path,
        signers: trust.signers,
        ...options,
      });
    }
    return await checkGpgSignature(commit, {
      runner,
      home: await this.#gnupgHome(config.path, trust.hash),
      keyring: config.path,
      ...options,
    });
  }

  /** A private GnuPG home holding only the configured keyring, rebuilt when the keyring's content changes. */
  async #gnupgHome(keyring: string, hash: string): Promise<string> {
    const current = this.#gnupg;
    if (current?.keyring === keyring && current.hash === hash) {
      return current.home;
    }
    if (current) await removeGnupgHome(current.home);
    this.#gnupg = undefined;
    const home = await buildGnupgHome(keyring, this.#options.runner);
    this.#gnupg = { home, keyring, hash };
    return home;
  }

  /** Removes the private GnuPG home and the scratch dir, if they were made. */
  closeSync(): void {
    for (const dir of [this.#gnupg?.home, this.#scratch]) {
      if (dir === undefined) continue;
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // A temp dir left behind holds public keys and signatures only.
      }
    }
    this.#gnupg = undefined;
    this.#scratch = undefined;
  }
}

/**
 * The keys this host decrypts SOPS files with, read afresh for every run (a
 * rotated key file needs no restart): age identities from `--age-key-file`,
 * `SOPS_AGE_KEY_FILE` and `SOPS_AGE_KEY`, OpenPGP keys from the agent's gpg
 * keyring. See docs/secrets.md#keys-on-the-host.
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { ProcessRunner } from "../process/types.ts";
import { parseAgeIdentities } from "./age_identities.ts";
import type { SopsKeys } from "./data_key.ts";
import { gpgDecrypter } from "./gpg_decrypter.ts";
import { SecretError, SopsFormatError } from "./secret_error.ts";

/** Where the host's keys come from. */
export interface HostKeySource {
  /** The age key files named (absolute), with where each was named. */
  readonly files: readonly { path: string; source: string }[];
  /** Reads the identities now; an unreadable or malformed key file is a {@link SecretError}. */
  load(): Promise<SopsKeys>;
}

/** The key source of `--age-key-file` and the agent's environment. */
export function hostKeySource(options: {
  ageKeyFile?: string;
  env: Record<string, string | undefined>;
  runner: ProcessRunner;
}): HostKeySource {
  const files: { path: string; source: string }[] = [];
  if (options.ageKeyFile) {
    files.push({ path: resolve(options.ageKeyFile), source: "--age-key-file" });
  }
  if (options.env.SOPS_AGE_KEY_FILE) {
    files.push({
      path: resolve(options.env.SOPS_AGE_KEY_FILE),
      source: "SOPS_AGE_KEY_FILE",
    });
  }
  const inline = options.env.SOPS_AGE_KEY;
  const pgp = gpgDecrypter(options.runner);
  return {
    files,
    async load() {
      const ageIdentities: string[] = [];
      for (const { path, source } of files) {
        let text: string;
        try {
          text = await Deno.readTextFile(path);
        } catch (error) {
          const reason = error instanceof Deno.errors.NotFound
            ? "file not found"
            : error instanceof Error
            ? error.message
            : String(error);
          throw new SecretError(
            path,
            `cannot read the age key file (${source}): ${reason}`,
          );
        }
        ageIdentities.push(...identities(text, path));
      }
      if (inline) ageIdentities.push(...identities(inline, "SOPS_AGE_KEY"));
      return { ageIdentities, pgp };
    },
  };
}

/** The key files named that lie inside `repoRoot`, each with where it was named and the problem. */
export function keyFilesInsideWorkTree(
  source: HostKeySource,
  repoRoot: string,
): { source: string; reason: string }[] {
  return source.files.filter(({ path }) => {
    const inside = relative(repoRoot, path);
    return inside === "" || (!inside.startsWith("..") && !isAbsolute(inside));
  }).map(({ path, source }) => ({
    source,
    reason:
      `${path} lies inside the work tree; keep the age key file outside the repository, where a push cannot change or publish it`,
  }));
}

function identities(text: string, name: string): string[] {
  try {
    return parseAgeIdentities(text);
  } catch (error) {
    if (error instanceof SopsFormatError) {
      throw new SecretError(name, error.message);
    }
    throw error;
  }
}

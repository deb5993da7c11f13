/**
 * OpenPGP data keys decrypted by the system `gpg` with the agent's keyring
 * (`GNUPGHOME`, or gpg's default). The key is written by gpg to a file in a
 * private temporary folder (the runner's output is text; a data key is 32
 * raw bytes), read, and removed at once.
 * @module
 */
import { join } from "node:path";
import type { ProcessRunner } from "../process/types.ts";
import type { PgpDecrypter } from "./data_key.ts";

/** Seconds one gpg decryption may take (a key needing a passphrase fails instead of waiting). */
const GPG_TIMEOUT_MS = 30_000;

/** A {@link PgpDecrypter} running `gpg --decrypt` through the runner; `env` may name `GNUPGHOME`. */
export function gpgDecrypter(
  runner: ProcessRunner,
  env: Record<string, string> = {},
): PgpDecrypter {
  return async (armored) => {
    const folder = await Deno.makeTempDir({ prefix: "upstream-watch-pgp-" });
    const output = join(folder, "key");
    try {
      const result = await runner.run({
        kind: "argv",
        argv: [
          "gpg",
          "--batch",
          "--quiet",
          "--no-tty",
          "--pinentry-mode",
          "loopback",
          "--passphrase",
          "",
          "--yes",
          "--output",
          output,
          "--decrypt",
        ],
      }, {
        env,
        stdin: armored,
        output: "collect",
        timeoutMs: GPG_TIMEOUT_MS,
      });
      if (result.success) {
        return { kind: "key", bytes: await Deno.readFile(output) };
      }
      if (result.exitCode === 127) {
        return { kind: "failed", reason: "gpg is not installed" };
      }
      if (
        /no secret key|decryption failed: No secret key/i.test(result.stderr)
      ) {
        return { kind: "no_key" };
      }
      const reason = result.stderr.trim().split("\n").at(-1) ?? "";
      return {
        kind: "failed",
        reason: result.timedOut
          ? "gpg timed out"
          : `gpg: ${reason.replace(/^gpg: /, "")}`,
      };
    } finally {
      await Deno.remove(folder, { recursive: true }).catch(() => {});
    }
  };
}

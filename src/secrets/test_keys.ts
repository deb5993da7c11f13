/** Test helpers: the fixtures' keys, a throwaway gpg keyring holding the sops test key. */
import { join } from "node:path";
import { DenoProcessRunner } from "../process/run_process.ts";
import { parseAgeIdentities } from "./age_identities.ts";
import { gpgDecrypter } from "./gpg_decrypter.ts";
import type { SopsKeys } from "./data_key.ts";

/** The folder of the SOPS fixtures. */
export const TESTDATA = join(import.meta.dirname!, "testdata");

/** A fixture's text. */
export function fixture(name: string): string {
  return Deno.readTextFileSync(join(TESTDATA, name));
}

/** The age identity that opens `sops-nix-secrets.yaml`. */
export function nixAgeIdentities(): string[] {
  return parseAgeIdentities(fixture("sops-nix-age-keys.txt"));
}

/** A GNUPGHOME of its own with the sops functional-test key imported; disposing kills its agent and removes it. */
export async function testKeyring(
  options: { importKey?: boolean } = {},
): Promise<{ home: string; keys: SopsKeys } & AsyncDisposable> {
  const home = await Deno.makeTempDir({ prefix: "sops-gnupg-" });
  const env = { GNUPGHOME: home };
  if (options.importKey ?? true) {
    const imported = await new Deno.Command("gpg", {
      args: [
        "--batch",
        "--quiet",
        "--import",
        join(TESTDATA, "sops-pgp-test-key.asc"),
      ],
      env,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!imported.success) {
      throw new Error(new TextDecoder().decode(imported.stderr));
    }
  }
  const runner = new DenoProcessRunner();
  return {
    home,
    keys: { ageIdentities: [], pgp: gpgDecrypter(runner, env) },
    async [Symbol.asyncDispose]() {
      await new Deno.Command("gpgconf", {
        args: ["--kill", "gpg-agent"],
        env,
        stdout: "null",
        stderr: "null",
      }).output().catch(() => {});
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

/** A private GnuPG home that trusts exactly the keys of the configured keyring. */
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import type { ProcessRunner } from "../process/types.ts";

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

/** Removes a home built by {@link buildGnupgHome}; a leftover holds public keys only. */
export async function removeGnupgHome(home: string): Promise<void> {
  await Deno.remove(home, { recursive: true }).catch(() => {});
}

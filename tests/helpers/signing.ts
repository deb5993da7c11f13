/** Real signing keys for tests: `ssh-keygen` keys and allowed-signers files, and passphrase-less OpenPGP keys in a temp GNUPGHOME. */
import { join } from "node:path";
import { git, GIT_ENV, type GitFixture } from "./git_fixture.ts";

async function run(
  command: string,
  args: string[],
  env?: Record<string, string>,
  cwd?: string,
) {
  const result = await new Deno.Command(command, {
    args,
    env,
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${
        new TextDecoder().decode(result.stderr)
      }`,
    );
  }
  return new TextDecoder().decode(result.stdout);
}

/** An ed25519 key made by `ssh-keygen` in `dir`; returns the private key path. */
export async function sshKey(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  await run("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    name,
    "-f",
    path,
  ]);
  return path;
}

/** Writes an allowed-signers file listing `principal` with each key's public half. */
export async function allowedSigners(
  file: string,
  entries: { principal: string; key: string }[],
): Promise<string> {
  const lines = await Promise.all(entries.map(async ({ principal, key }) => {
    const [type, blob] = (await Deno.readTextFile(`${key}.pub`)).split(" ");
    return `${principal} ${type} ${blob}`;
  }));
  await Deno.writeTextFile(file, lines.join("\n") + "\n");
  return file;
}

/** Makes every later commit of the fixture's pusher SSH-signed with `key` (`git commit -S`, gpg.format=ssh). */
export async function signPushesWithSsh(
  fixture: GitFixture,
  key: string | null,
): Promise<void> {
  if (key === null) {
    await git(fixture.pusher, "config", "commit.gpgsign", "false");
    return;
  }
  await git(fixture.pusher, "config", "gpg.format", "ssh");
  await git(fixture.pusher, "config", "user.signingkey", key);
  await git(fixture.pusher, "config", "commit.gpgsign", "true");
}

/** A passphrase-less OpenPGP key made with `gpg --quick-gen-key` in its own GNUPGHOME; exports its public keyring. */
export async function gpgKey(
  dir: string,
  uid: string,
): Promise<
  { home: string; keyring: string; [Symbol.asyncDispose](): Promise<void> }
> {
  const home = join(dir, "gnupg-signer");
  await Deno.mkdir(home, { mode: 0o700 });
  await Deno.writeTextFile(
    join(home, "gpg-agent.conf"),
    "allow-loopback-pinentry\n",
  );
  const env = { GNUPGHOME: home };
  await run("gpg", [
    "--batch",
    "--pinentry-mode",
    "loopback",
    "--passphrase",
    "",
    "--quick-gen-key",
    uid,
    "default",
    "default",
    "never",
  ], env);
  const keyring = join(dir, "keyring.asc");
  await Deno.writeTextFile(
    keyring,
    await run("gpg", ["--batch", "--armor", "--export", uid], env),
  );
  return {
    home,
    keyring,
    // The key generation started a gpg-agent for this home: stop it.
    [Symbol.asyncDispose]: async () => {
      await run("gpgconf", ["--kill", "all"], env).catch(() => "");
    },
  };
}

/** Commits what is staged in the fixture's pusher, signed by the OpenPGP key `signingKey` of `home`, and pushes it. */
export async function pushSignedWithGpg(
  fixture: GitFixture,
  signer: { home: string; signingKey: string },
  message: string,
): Promise<void> {
  await run(
    "git",
    [
      "-c",
      "gpg.format=openpgp",
      "-c",
      `user.signingkey=${signer.signingKey}`,
      "commit",
      "--quiet",
      "-S",
      "--allow-empty",
      "-m",
      message,
    ],
    { ...GIT_ENV, GNUPGHOME: signer.home },
    fixture.pusher,
  );
  await git(fixture.pusher, "push", "--quiet", "origin", "HEAD:main");
}

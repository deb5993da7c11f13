/** A clone whose repository turns SSH signature verification on, and a pusher that signs with an allowed key. */
import { join } from "node:path";
import { git, GitFixture } from "./git_fixture.ts";
import { appendingHooks } from "./hooks.ts";
import { allowedSigners, signPushesWithSsh, sshKey } from "./signing.ts";

/** A fixture whose pusher signs with an allowed SSH key; `verify:` points at an allowed-signers file outside the clone. */
export async function signedFixture(
  verify: string,
  extraConfig = "",
): Promise<
  {
    fixture: GitFixture;
    log: string;
    key: string;
    other: string;
    signers: string;
  }
> {
  const fixture = await GitFixture.create({});
  const key = await sshKey(fixture.root, "alice");
  const other = await sshKey(fixture.root, "mallory");
  const signers = await allowedSigners(join(fixture.root, "allowed_signers"), [
    { principal: "alice@example.test", key },
  ]);
  await signPushesWithSsh(fixture, key);
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    ".upstream-watch.yaml":
      `verify:\n  allowed_signers: ${signers}\n${verify}${extraConfig}`,
    "api/.update-hooks.yaml": appendingHooks(log),
  }, "signed setup");
  await git(fixture.clone, "pull", "--quiet");
  return { fixture, log, key, other, signers };
}

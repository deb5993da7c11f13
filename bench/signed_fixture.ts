/**
 * The benchmark fixture with commit verification on: the pusher signs every
 * commit with an `ssh-keygen` key (`gpg.format=ssh`), and a committed
 * `.upstream-watch.yaml` points `verify.allowed_signers` at a file outside
 * the agent's clone.
 */
import { join } from "node:path";
import { allowedSigners, sshKey } from "../tests/helpers/signing.ts";
import type { BenchContext } from "./context.ts";
import { BenchRepo, git } from "./fixture.ts";

const built = new Map<string, Promise<BenchRepo>>();

/** The signed fixture with `size` services, built once per run. */
export function signedRepoOf(
  context: BenchContext,
  size: number,
): Promise<BenchRepo> {
  const key = `${context.tmp}\0${size}`;
  let repo = built.get(key);
  if (!repo) {
    repo = buildSigned(context.tmp, size);
    built.set(key, repo);
  }
  return repo;
}

async function buildSigned(tmp: string, size: number): Promise<BenchRepo> {
  const repo = await BenchRepo.create(tmp, {
    services: size,
    name: `n${size}-signed`,
  });
  const signer = await sshKey(repo.root, "signer");
  const signers = await allowedSigners(join(repo.root, "allowed_signers"), [
    { principal: "signer@example.test", key: signer },
  ]);
  repo.allowedSigners = signers;
  for (
    const [name, value] of [
      ["gpg.format", "ssh"],
      ["user.signingkey", signer],
      ["commit.gpgsign", "true"],
    ]
  ) {
    await git(repo.pusher, ["config", name, value]);
  }
  // The agent's first cycle moves onto this signed commit and turns verification on.
  await Deno.writeTextFile(
    join(repo.pusher, ".upstream-watch.yaml"),
    `verify:\n  allowed_signers: ${signers}\n`,
  );
  await git(repo.pusher, ["add", ".upstream-watch.yaml"]);
  await git(repo.pusher, ["commit", "--quiet", "-m", "verify signatures"]);
  await git(repo.pusher, ["push", "--quiet", "origin", "HEAD:main"]);
  return repo;
}

/** What git itself needs for a cycle: the floors the cycle figures are divided by, measured on a second clone. */
import { join } from "node:path";
import { type BenchRepo, git } from "./fixture.ts";
import { wallMs } from "./stats.ts";

/** The floor's fetch: the same refspec the agent fetches, by a plain git process. */
export async function floorFetch(clone: string): Promise<void> {
  await git(clone, [
    "fetch",
    "--quiet",
    "--no-tags",
    "--no-write-fetch-head",
    "origin",
    "+refs/heads/main:refs/remotes/origin/main",
  ]);
}

/** `git fetch` + `git rev-parse` + `git diff --name-only` back to back: what an idle cycle cannot go below. */
export async function idleFloor(clone: string): Promise<number> {
  const start = wallMs();
  await floorFetch(clone);
  await git(clone, ["rev-parse", "HEAD", "refs/remotes/origin/main"]);
  await git(clone, [
    "diff",
    "--name-only",
    "-z",
    "HEAD",
    "refs/remotes/origin/main",
    "--",
  ]);
  return wallMs() - start;
}

/** A second clone of the upstream on which the bench does by hand what a cycle must do. */
export async function ensureFloorClone(repo: BenchRepo): Promise<string> {
  const clone = join(repo.root, "floor");
  try {
    await Deno.stat(clone);
  } catch {
    await git(repo.root, ["clone", "--quiet", repo.upstream, clone]);
  }
  return clone;
}

/** The three times of one floor cycle, in ms. */
export interface ChangedFloor {
  cycleToHook: number;
  fetchToHook: number;
  cycle: number;
}

/**
 * What git itself needs for a changed cycle, in a second clone: fetch,
 * rev-parse, ff-merge, diff, then `sh -c date`. With `allowedSigners` the
 * merge is git's own verified one (`merge --verify-signatures` against that
 * file), the floor of a cycle with verification on.
 */
export async function changedFloor(
  clone: string,
  withHook: boolean,
  allowedSigners?: string,
): Promise<ChangedFloor> {
  const start = wallMs();
  await floorFetch(clone);
  const fetched = wallMs();
  const [before, after] = (await git(clone, [
    "rev-parse",
    "HEAD",
    "refs/remotes/origin/main",
  ])).split("\n");
  await git(clone, [
    ...(allowedSigners
      ? [
        "-c",
        "gpg.format=ssh",
        "-c",
        `gpg.ssh.allowedSignersFile=${allowedSigners}`,
      ]
      : []),
    "merge",
    "--ff-only",
    ...(allowedSigners ? ["--verify-signatures"] : []),
    "--quiet",
    "--no-stat",
    after,
  ]);
  await git(clone, ["diff", "--name-only", "-z", before, after, "--"]);
  let hook = wallMs();
  if (withHook) {
    const output = await new Deno.Command("/bin/sh", {
      args: ["-c", "date +%s%N"],
      stdout: "piped",
      stderr: "null",
    }).output();
    hook =
      Number(BigInt(new TextDecoder().decode(output.stdout).trim()) / 1000n) /
      1000;
  }
  const end = wallMs();
  return {
    cycleToHook: hook - start,
    fetchToHook: hook - fetched,
    cycle: end - start,
  };
}

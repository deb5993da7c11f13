/** Reading where HEAD and other refs point from the git dir's files (loose refs, packed-refs), without starting git. */
import { join } from "node:path";

/**
 * The commit HEAD names when it can be read from loose files (`HEAD` and the
 * loose ref it points to); undefined when the answer needs git (packed refs,
 * another ref storage), so callers ask git then.
 */
export async function headCommitFromFiles(
  gitDir: string,
): Promise<string | undefined> {
  const head = await readRefFile(gitDir, "HEAD");
  if (head === undefined || COMMIT_ID.test(head)) return head;
  const match = /^ref: (refs\/heads\/\S+)$/.exec(head);
  return match ? await refCommitFromFiles(gitDir, match[1]) : undefined;
}

/**
 * The commit a ref such as `refs/remotes/origin/main` names, read as git
 * does: its loose file, else its line in `packed-refs`. Undefined when only
 * git can tell (a symbolic ref, another ref storage, a ref that is not there).
 */
export async function refCommitFromFiles(
  gitDir: string,
  ref: string,
): Promise<string | undefined> {
  const content = await readRefFile(gitDir, ref) ??
    await packedRef(gitDir, ref);
  return content !== undefined && COMMIT_ID.test(content) ? content : undefined;
}

/** The id `packed-refs` gives `ref` (lines `<id> <ref>`, peeled `^<id>` lines after them). */
async function packedRef(
  gitDir: string,
  ref: string,
): Promise<string | undefined> {
  const packed = await readRefFile(gitDir, "packed-refs");
  if (packed === undefined) return undefined;
  for (const line of packed.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0 && line.slice(space + 1).trimEnd() === ref) {
      return line.slice(0, space);
    }
  }
  return undefined;
}

/** A SHA-1 or SHA-256 object id, as git writes it in a ref file. */
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

async function readRefFile(
  gitDir: string,
  ref: string,
): Promise<string | undefined> {
  try {
    return (await Deno.readTextFile(join(gitDir, ref))).trim();
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.IsADirectory
    ) return undefined;
    throw error;
  }
}

/** Reading where HEAD and other refs point from the git dir's files (loose refs, packed-refs), without starting git. */
import { join } from "node:path";

/**
 * The commit HEAD names when it can be read from the git dir's files (`HEAD`
 * and the branch it points to, see {@link refCommitFromFiles}); undefined
 * when the answer needs git (another ref storage), so callers ask git then.
 */
export function headCommitFromFiles(gitDir: string): string | undefined {
  const head = readRefFile(gitDir, "HEAD");
  if (head === undefined || COMMIT_ID.test(head)) return head;
  const match = /^ref: (refs\/heads\/\S+)$/.exec(head);
  return match ? refCommitFromFiles(gitDir, match[1]) : undefined;
}

/**
 * The commit a ref such as `refs/remotes/origin/main` names, read as git
 * does: its loose file, else its line in `packed-refs`. Undefined when only
 * git can tell (a symbolic ref, another ref storage, a ref that is not there).
 */
export function refCommitFromFiles(
  gitDir: string,
  ref: string,
): string | undefined {
  const content = readRefFile(gitDir, ref) ?? packedRef(gitDir, ref);
  return content !== undefined && COMMIT_ID.test(content) ? content : undefined;
}

/** The id `packed-refs` gives `ref` (lines `<id> <ref>`, peeled `^<id>` lines after them). */
function packedRef(gitDir: string, ref: string): string | undefined {
  const packed = readRefFile(gitDir, "packed-refs");
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

/**
 * A ref file's content. Read synchronously: each is a few bytes, and an
 * asynchronous read per idle cycle would run on a thread pool whose threads
 * each keep an allocator arena of their own (the daemon's RSS grew by 7 MB
 * over its first 1,000 cycles).
 */
function readRefFile(gitDir: string, ref: string): string | undefined {
  try {
    return Deno.readTextFileSync(join(gitDir, ref)).trim();
  } catch (error) {
    if (
      error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotADirectory ||
      error instanceof Deno.errors.IsADirectory
    ) return undefined;
    throw error;
  }
}

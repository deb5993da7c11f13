/** Reading where HEAD points from the git dir's files, without starting git. */
import { join } from "node:path";

/**
 * The commit HEAD names when it can be read from loose files (`HEAD` and the
 * loose ref it points to); undefined when the answer needs git (packed refs,
 * another ref storage), so callers ask git then.
 */
export async function looseHeadCommit(
  gitDir: string,
): Promise<string | undefined> {
  try {
    const head = (await Deno.readTextFile(join(gitDir, "HEAD"))).trim();
    if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(head)) return head;
    const match = /^ref: (refs\/heads\/\S+)$/.exec(head);
    if (!match) return undefined;
    const ref = (await Deno.readTextFile(join(gitDir, match[1]))).trim();
    return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(ref) ? ref : undefined;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

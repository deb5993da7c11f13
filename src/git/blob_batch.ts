/** Reading many blobs as text through one `git cat-file --batch`. */
import type { GitClient } from "./git_client.ts";

/**
 * The contents of several blobs as text, in one process (`git cat-file
 * --batch`); a blob that is not valid UTF-8 maps to null.
 */
export async function readBlobBatch(
  git: Pick<GitClient, "git">,
  blobs: readonly { id: string; size: number }[],
): Promise<Map<string, string | null>> {
  const texts = new Map<string, string | null>();
  const unique = [...new Map(blobs.map((blob) => [blob.id, blob])).values()];
  if (unique.length === 0) return texts;
  const { stdout } = await git.git(["cat-file", "--batch"], {
    stdin: unique.map(({ id }) => `${id}\n`).join(""),
  });
  // Each answer is `<id> blob <bytes>\n<content>\n`; the size counts UTF-8
  // bytes, so content is taken character by character until that many bytes.
  let index = 0;
  for (const [position, { id, size }] of unique.entries()) {
    const headerEnd = stdout.indexOf("\n", index);
    const header = headerEnd === -1 ? "" : stdout.slice(index, headerEnd);
    let end = headerEnd + 1;
    let counted = 0;
    while (counted < size && end < stdout.length) {
      const code = stdout.codePointAt(end)!;
      counted += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      end += code >= 0x10000 ? 2 : 1;
    }
    if (
      header !== `${id} blob ${size}` || counted !== size ||
      stdout[end] !== "\n"
    ) {
      // Invalid UTF-8 was decoded to replacement characters, so the byte
      // counts no longer line up: read the rest one blob at a time.
      for (const rest of unique.slice(position)) {
        texts.set(rest.id, await readBlob(git, rest.id, rest.size));
      }
      return texts;
    }
    texts.set(id, stdout.slice(headerEnd + 1, end));
    index = end + 1;
  }
  return texts;
}

/** One blob's text, or null when it is not valid UTF-8. */
async function readBlob(
  git: Pick<GitClient, "git">,
  id: string,
  size: number,
): Promise<string | null> {
  const { stdout } = await git.git(["cat-file", "blob", id]);
  return new TextEncoder().encode(stdout).length === size ? stdout : null;
}

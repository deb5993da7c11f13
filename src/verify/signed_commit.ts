/** Splitting a raw commit object into the signed payload and its signature, as git does before verifying. */
import type { GitClient } from "../git/git_client.ts";

/** The kinds of signature a commit can carry, told apart by their armor. */
export type SignatureFormat = "ssh" | "openpgp" | "x509";

/** A commit as the signer signed it. */
export interface SignedCommit {
  commit: string;
  /** The commit object without its signature header: the bytes that were signed. */
  payload: string;
  signature: { format: SignatureFormat; armored: string } | null;
  /** Set when the object could not be read as text: the commit is refused for this reason. */
  unreadable?: string;
}

const SIGNATURE_HEADERS = ["gpgsig", "gpgsig-sha256"];

/** Splits one raw commit object (`git cat-file commit`). */
export function splitSignedCommit(commit: string, raw: string): SignedCommit {
  const headerEnd = raw.indexOf("\n\n");
  const header = headerEnd === -1 ? raw : raw.slice(0, headerEnd + 1);
  const body = headerEnd === -1 ? "" : raw.slice(headerEnd + 1);
  const kept: string[] = [];
  const signature: string[] = [];
  let inSignature = false;
  for (const line of header.split("\n").slice(0, -1)) {
    if (line.startsWith(" ")) {
      if (inSignature) signature.push(line.slice(1));
      else kept.push(line);
      continue;
    }
    const name = line.slice(0, line.indexOf(" "));
    // Only the first signature header counts; git ignores a second one too.
    inSignature = SIGNATURE_HEADERS.includes(name) && signature.length === 0;
    if (inSignature) signature.push(line.slice(name.length + 1));
    else kept.push(line);
  }
  const payload = kept.map((line) => `${line}\n`).join("") + body;
  if (signature.length === 0) return { commit, payload, signature: null };
  const armored = signature.join("\n") + "\n";
  return { commit, payload, signature: { format: formatOf(armored), armored } };
}

function formatOf(armored: string): SignatureFormat {
  if (armored.startsWith("-----BEGIN SSH SIGNATURE-----")) return "ssh";
  if (armored.startsWith("-----BEGIN SIGNED MESSAGE-----")) return "x509";
  return "openpgp";
}

/**
 * The raw objects of `commits` through one `git cat-file --batch`. Sizes are
 * counted in UTF-8 bytes; a commit that is not valid UTF-8 ends the list,
 * marked `unreadable` (it is then refused, never read wrongly).
 */
export async function readSignedCommits(
  git: Pick<GitClient, "git">,
  commits: readonly string[],
): Promise<SignedCommit[]> {
  if (commits.length === 0) return [];
  const { stdout } = await git.git(["cat-file", "--batch"], {
    stdin: commits.map((commit) => `${commit}\n`).join(""),
  });
  const bytes = new TextEncoder().encode(stdout);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const read: SignedCommit[] = [];
  let at = 0;
  for (const commit of commits) {
    const headerEnd = bytes.indexOf(0x0a, at);
    const header = new TextDecoder().decode(bytes.slice(at, headerEnd));
    const match = /^([0-9a-f]+) commit (\d+)$/.exec(header);
    const end = match ? headerEnd + 1 + Number(match[2]) : -1;
    let text: string | undefined;
    if (match?.[1] === commit && bytes[end] === 0x0a) {
      try {
        text = decoder.decode(bytes.slice(headerEnd + 1, end));
      } catch {
        // Not UTF-8: refused below.
      }
    }
    if (text === undefined) {
      read.push({
        commit,
        payload: "",
        signature: null,
        unreadable: match?.[1] === commit
          ? "the commit object is not UTF-8 text, so its signature cannot be checked"
          : `git cannot read the commit object (it answered "${header}")`,
      });
      break;
    }
    read.push(splitSignedCommit(commit, text));
    at = end + 1;
  }
  return read;
}

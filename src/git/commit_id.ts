/** Commit ids as they enter the agent from outside git (state files, the original tool's database). */

/** A full commit id: 40 hex digits (SHA-1) or 64 (SHA-256), lower case. */
const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** True when `text` is a full commit id exactly as git prints it. */
export function isCommitId(text: string): boolean {
  return COMMIT_ID.test(text);
}

/**
 * The commit id `raw` stands for, or undefined when it is none: surrounding
 * whitespace (the newline `git rev-parse` prints) is dropped and upper-case
 * hex is lowered; anything else is not guessed at.
 */
export function normalizeCommitId(raw: string): string | undefined {
  const text = raw.trim().toLowerCase();
  return isCommitId(text) ? text : undefined;
}

/** Characters of a commit id shown in logs, tables and messages. */
export const SHORT_COMMIT_LENGTH = 12;

/** A commit id shortened for people to read. */
export function shortCommit(commit: string): string {
  return commit.slice(0, SHORT_COMMIT_LENGTH);
}

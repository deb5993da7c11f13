/** The error a rejected commit raises: the work tree stays, nothing runs, exit 3. */
import { shortCommit } from "../git/commit_id.ts";
import { SyncError } from "../errors.ts";

/** A fetched commit without a valid signature by an allowed key. */
export class VerificationError extends SyncError {
  /** The first commit that failed verification. */
  readonly commit: string;
  /** Who signed it (principal, user id or key), or null when unsigned. */
  readonly signer: string | null;
  /** Why it was refused, in words. */
  readonly reason: string;
  constructor(rejection: Rejection) {
    super(describeRejection(rejection));
    this.commit = rejection.commit;
    this.signer = rejection.signer;
    this.reason = rejection.reason;
  }
}

/** A commit refused by verification. */
export interface Rejection {
  commit: string;
  signer: string | null;
  reason: string;
}

/** `commit 1234abcd… (signed by x / unsigned) refused: reason`, the one line shown everywhere. */
export function describeRejection(rejection: Rejection): string {
  return `commit ${shortCommit(rejection.commit)} (${
    rejection.signer ? `signed by ${rejection.signer}` : "unsigned"
  }) refused by signature verification: ${rejection.reason}; the work tree stays where it is`;
}

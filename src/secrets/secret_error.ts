/** The one error a SOPS file that cannot be decrypted raises. */

/** Why a SOPS file was refused: `file` names it, `reason` is one line without it. */
export class SecretError extends Error {
  /** The file as the operator wrote it (service-relative or repo-relative). */
  readonly file: string;
  /** What is wrong, without the file name. */
  readonly reason: string;
  constructor(file: string, reason: string, options: { cause?: unknown } = {}) {
    super(`${file}: ${reason}`, { cause: options.cause });
    this.name = "SecretError";
    this.file = file;
    this.reason = reason;
  }
}

/** A problem found while reading a file, before the file name is known to the reader. */
export class SopsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SopsFormatError";
  }
}

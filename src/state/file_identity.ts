/** Noticing the state file being removed, emptied or replaced while the agent has it open. */
import { errorMessage, StateError } from "../errors.ts";

/** Device and inode of an open state file. */
export interface FileIdentity {
  dev: number;
  ino: number | null;
}

/** The identity of `file` as it is now. */
export function fileIdentity(file: string): FileIdentity {
  const info = Deno.statSync(file);
  return { dev: info.dev, ino: info.ino };
}

/**
 * Why `file` no longer leads to the file with `identity` (removed, emptied,
 * replaced by another file), or undefined while it does. One stat.
 */
export function fileProblem(
  file: string,
  identity: FileIdentity,
): string | undefined {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "was removed";
    return `cannot be read (${errorMessage(error)})`;
  }
  if (info.dev !== identity.dev || info.ino !== identity.ino) {
    return "was replaced by another file";
  }
  if (info.size === 0) return "was emptied";
  return undefined;
}

/** True when the state file exists; any other failure to stat it is a {@link StateError}. */
export function fileExists(file: string): boolean {
  try {
    Deno.statSync(file);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw new StateError(
      `cannot read state file ${file}: ${errorMessage(error)}`,
      {
        file,
        cause: error,
      },
    );
  }
}

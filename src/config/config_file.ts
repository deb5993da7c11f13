/**
 * Reading a configuration file from disk (`--config`): only a regular file,
 * never more than {@link MAX_CONFIG_BYTES}, so a FIFO, an endless device or a huge
 * file cannot hang the agent or fill its memory.
 */
import { ConfigError, errorMessage } from "../errors.ts";

/** Largest configuration file accepted, from disk or from git (1 MiB). */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Why a file of `bytes` bytes is refused, or undefined when it is small enough. */
export function oversizeReason(bytes: number): string | undefined {
  return bytes > MAX_CONFIG_BYTES
    ? `file is ${bytes} bytes; a configuration file may hold at most ${MAX_CONFIG_BYTES} bytes (1 MiB)`
    : undefined;
}

/** The text of a regular file of at most 1 MiB; a missing file is undefined when `optional`, else a ConfigError. */
export async function readConfigFile(
  path: string,
  displayFile: string,
  options: { optional: boolean },
): Promise<string | undefined> {
  let file: Deno.FsFile | undefined;
  try {
    // stat before open: opening a FIFO would block until a writer comes.
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw new ConfigError(
        `not a regular file (${describeKind(info)})`,
        { file: displayFile },
      );
    }
    const tooLarge = oversizeReason(info.size);
    if (tooLarge) throw new ConfigError(tooLarge, { file: displayFile });
    file = await Deno.open(path, { read: true });
    // The file may grow between stat and read: never read past the cap.
    const buffer = new Uint8Array(MAX_CONFIG_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = await file.read(buffer.subarray(length));
      if (read === null) break;
      length += read;
    }
    if (length > MAX_CONFIG_BYTES) {
      throw new ConfigError(
        `file grew past ${MAX_CONFIG_BYTES} bytes while being read; a configuration file may hold at most 1 MiB`,
        { file: displayFile },
      );
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(
        buffer.subarray(0, length),
      );
    } catch (error) {
      throw new ConfigError("file is not valid UTF-8 text", {
        file: displayFile,
      }, { cause: error });
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      if (options.optional) return undefined;
      throw new ConfigError("file not found", { file: displayFile }, {
        cause: error,
      });
    }
    throw new ConfigError(`cannot read file: ${errorMessage(error)}`, {
      file: displayFile,
    }, { cause: error });
  } finally {
    file?.close();
  }
}

function describeKind(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a file";
}

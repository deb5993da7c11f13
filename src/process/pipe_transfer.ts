/** Reading a child's output pipes and writing its stdin, and giving up on pipes a background process holds. */
import type { MemoryPressure } from "./memory.ts";

/** A stream being read or written; never rejects, keeps an unexpected failure in `error`. */
export interface Transfer {
  readonly done: Promise<void>;
  readonly error?: unknown;
  /** Stops the transfer early and releases its pipe. */
  cancel(): Promise<void>;
}

/** Reads `stream` to its end, handing each chunk to `onChunk`; each chunk read is told to `memory`. */
export function readInto(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
  memory?: MemoryPressure,
): Transfer {
  const reader = stream.getReader();
  let failure: unknown;
  const done = (async () => {
    try {
      while (true) {
        const { done, value } = await reader.read();
        if (done) return;
        onChunk(value);
        // A flood of output leaves read buffers behind faster than V8 frees them.
        memory?.read(value.byteLength);
      }
    } catch (error) {
      failure = error;
      await reader.cancel().catch(() => {});
    }
  })();
  return {
    done,
    get error() {
      return failure;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/** Writes `text` to a child's stdin and closes it; a child that stops reading is no error. */
export function writeAndClose(
  stream: WritableStream<Uint8Array>,
  text: string,
): Transfer {
  const writer = stream.getWriter();
  return {
    done: (async () => {
      try {
        await writer.write(new TextEncoder().encode(text));
        await writer.close();
      } catch {
        // The process may exit or close stdin without reading it all; its exit
        // status is what the caller judges, not our broken pipe.
      }
    })(),
    cancel: () => writer.abort().catch(() => {}),
  };
}

/** Waits for the pipes to end, but at most `graceMs`, then cancels them; true when they all ended. */
export async function finishTransfers(
  transfers: Transfer[],
  graceMs: number,
): Promise<boolean> {
  const allDone = Promise.all(transfers.map((transfer) => transfer.done));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), graceMs);
  });
  const outcome = await Promise.race([
    allDone.then(() => "done" as const),
    late,
  ]);
  clearTimeout(timer);
  if (outcome === "late") {
    await Promise.all(transfers.map((transfer) => transfer.cancel()));
    await allDone;
    return false;
  }
  return true;
}

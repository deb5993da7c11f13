/** A request body as a byte stream read under the body deadline, exactly Content-Length long. */
import type { ConnectionLimits } from "./connection.ts";
import {
  DeadlineError,
  type DeadlineReader,
  isConnectionGone,
} from "./deadline_reader.ts";

/** Body reads go straight into chunks this large (fewer, larger allocations fragment memory less). */
const BODY_CHUNK_BYTES = 256 * 1024;

/** A request body that ended early: the client closed the connection, or sent too slowly. */
export class IncompleteBodyError extends Error {
  /** `closed`: the client hung up; `timeout`: the body deadline passed. */
  readonly reason: "closed" | "timeout";
  constructor(
    reason: "closed" | "timeout",
    received: number,
    expected: number,
  ) {
    super(
      reason === "closed"
        ? `the client closed the connection after ${received} of ${expected} body bytes`
        : `the client sent ${received} of ${expected} body bytes before the body timeout`,
    );
    this.name = "IncompleteBodyError";
    this.reason = reason;
  }
}

/** The body of one request, or why its Content-Length is refused. */
export type Body =
  | { kind: "invalid"; reason: string }
  | {
    kind: "body";
    length: number;
    stream: ReadableStream<Uint8Array>;
    /** True once every byte of the body has been read (always for an empty body). */
    complete(): boolean;
    /** The handler is done without reading all of it. */
    abandon(): void;
  };

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * The body `headers` announce, read from `reader` as the consumer pulls it.
 * With `expectContinue`, `100 Continue` is written when the consumer first
 * asks for bytes the client has not sent: a handler that answers without
 * reading the body never invites it.
 */
export function requestBody(
  reader: DeadlineReader,
  headers: Headers,
  options: { limits: ConnectionLimits; expectContinue: boolean },
): Body {
  const { limits } = options;
  const declared = headers.get("content-length");
  let length = 0;
  if (declared !== null) {
    // Repeated identical values are allowed; anything else could smuggle a request.
    const values = new Set(declared.split(",").map((value) => value.trim()));
    const [value] = values;
    if (values.size !== 1 || !/^\d{1,15}$/.test(value)) {
      return { kind: "invalid", reason: "malformed Content-Length" };
    }
    length = Number(value);
    // The handler sees one value, whatever the client repeated.
    headers.set("content-length", value);
  }
  const deadline = Date.now() + limits.bodyTimeoutMs;
  let received = 0;
  let abandoned = false;
  let invite = options.expectContinue && length > 0;
  const fail = (error: unknown): never => {
    if (error instanceof DeadlineError) {
      throw new IncompleteBodyError("timeout", received, length);
    }
    if (isConnectionGone(error)) {
      throw new IncompleteBodyError("closed", received, length);
    }
    throw error;
  };
  // A byte stream: a reader that brings its own buffer (`mode: "byob"`) gets
  // the body read straight into it, so a webhook can reuse one buffer for
  // every body instead of allocating chunks that fragment the heap.
  const stream = new ReadableStream({
    type: "bytes",
    async pull(controller) {
      if (invite) {
        invite = false;
        if (reader.buffered.byteLength === 0) {
          try {
            await reader.writeAll(CONTINUE, deadline);
          } catch (error) {
            return fail(error);
          }
        }
      }
      const request = controller.byobRequest;
      const view = request?.view
        ? new Uint8Array(
          request.view.buffer,
          request.view.byteOffset,
          Math.min(request.view.byteLength, length - received),
        )
        : undefined;
      if (reader.buffered.byteLength > 0) {
        const chunk = reader.consume(
          Math.min(
            reader.buffered.byteLength,
            length - received,
            view?.byteLength ?? Infinity,
          ),
        );
        received += chunk.byteLength;
        if (request && view) {
          view.set(chunk);
          request.respond(chunk.byteLength);
        } else {
          controller.enqueue(chunk.slice());
        }
        if (received >= length) controller.close();
        return;
      }
      if (request && view) {
        let count: number | null;
        try {
          count = await reader.readInto(view, deadline);
        } catch (error) {
          return fail(error);
        }
        if (count === null) {
          throw new IncompleteBodyError("closed", received, length);
        }
        received += count;
        request.respond(count);
        if (received >= length) controller.close();
        return;
      }
      let chunk: Uint8Array | null;
      try {
        // Straight into a chunk the consumer keeps: no copies of body bytes.
        chunk = await reader.readDirect(
          Math.min(BODY_CHUNK_BYTES, length - received),
          deadline,
        );
      } catch (error) {
        return fail(error);
      }
      if (chunk === null) {
        throw new IncompleteBodyError("closed", received, length);
      }
      received += chunk.byteLength;
      controller.enqueue(chunk);
      if (received >= length) controller.close();
    },
    cancel() {
      abandoned = true;
    },
  });
  return {
    kind: "body",
    length,
    stream,
    complete: () => !abandoned && received >= length,
    abandon: () => {
      abandoned = true;
    },
  };
}

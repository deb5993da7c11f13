/**
 * HTTP/1.1 on one accepted connection: every read and write has a deadline,
 * so a client that stalls (in its headers, its body or between requests)
 * gives its connection back instead of holding it forever.
 */

/** Deadlines and sizes applied to every connection. */
export interface ConnectionLimits {
  /** From a request's first byte (a new connection: from accept) until its head is complete. */
  headerTimeoutMs: number;
  /** For the whole request body, and for writing the response. */
  bodyTimeoutMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  idleTimeoutMs: number;
  /** Largest request line plus headers. */
  maxHeaderBytes: number;
}

/** Who sent a request. */
export interface RequestInfo {
  remoteAddr: Deno.NetAddr;
}

/** What serves one parsed request. */
export type ConnectionHandler = (
  request: Request,
  info: RequestInfo,
) => Promise<Response>;

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

const READ_CHUNK_BYTES = 16 * 1024;
/** Body reads go straight into chunks this large (fewer, larger allocations fragment memory less). */
const BODY_CHUNK_BYTES = 256 * 1024;
const HEAD_END = new Uint8Array([13, 10, 13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Thrown inside this module when a deadline closed the connection. */
class DeadlineError extends Error {}

/** Reads from a connection with deadlines; a deadline closes the connection. */
class DeadlineReader {
  #buffer = new Uint8Array(0);
  #closed = false;
  constructor(readonly conn: Deno.Conn) {}

  get buffered(): Uint8Array {
    return this.#buffer;
  }

  /** Drops `count` bytes from the front of the buffer. */
  consume(count: number): Uint8Array {
    const taken = this.#buffer.subarray(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return taken;
  }

  /** Reads more bytes; false at end of stream. Rejects with DeadlineError after `deadline`. */
  async fill(deadline: number): Promise<boolean> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.#expire();
    const chunk = new Uint8Array(READ_CHUNK_BYTES);
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.close();
    }, remaining);
    try {
      const count = await this.conn.read(chunk);
      if (count === null) return false;
      const joined = new Uint8Array(this.#buffer.byteLength + count);
      joined.set(this.#buffer);
      joined.set(chunk.subarray(0, count), this.#buffer.byteLength);
      this.#buffer = joined;
      return true;
    } catch (error) {
      if (expired) throw new DeadlineError("deadline passed");
      // A reset or a connection closed under us reads as the end of the stream.
      if (isConnectionGone(error)) return false;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads at most `size` bytes past the (empty) buffer; null at end of stream. */
  async readDirect(size: number, deadline: number): Promise<Uint8Array | null> {
    const chunk = new Uint8Array(size);
    const count = await this.readInto(chunk, deadline);
    return count === null ? null : chunk.subarray(0, count);
  }

  /** Reads past the (empty) buffer straight into `view`: the count, or null at end of stream. */
  async readInto(view: Uint8Array, deadline: number): Promise<number | null> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.#expire();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      this.close();
    }, remaining);
    try {
      return await this.conn.read(view);
    } catch (error) {
      if (expired) throw new DeadlineError("deadline passed");
      if (isConnectionGone(error)) return null;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes everything before `deadline`, else closes the connection. */
  async writeAll(bytes: Uint8Array, deadline: number): Promise<void> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.#expire();
    const timer = setTimeout(() => this.close(), remaining);
    try {
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += await this.conn.write(bytes.subarray(offset));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }

  #expire(): DeadlineError {
    this.close();
    return new DeadlineError("deadline passed");
  }
}

/** True for the errors a read or write gets when the peer or a deadline closed the socket. */
export function isConnectionGone(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.NotConnected;
}

/** What reading a request head produced. */
type Head =
  | {
    kind: "request";
    method: string;
    target: string;
    headers: Headers;
    keepAlive: boolean;
  }
  | { kind: "closed" }
  | { kind: "invalid"; status: 400 | 411 | 431 | 505; reason: string };

/** Options of {@link serveConnection}. */
export interface ServeConnectionOptions {
  limits: ConnectionLimits;
  handler: ConnectionHandler;
  /** Called when a request starts (true) and when its response is written (false): shutdown closes idle connections at once. */
  onBusy?: (busy: boolean) => void;
  /** Told when the connection is dropped for a reason worth a debug line. */
  onDrop?: (reason: string) => void;
}

/** Serves requests on `conn` until the client closes, a deadline passes or a request cannot be parsed; always closes `conn`. */
export async function serveConnection(
  conn: Deno.Conn,
  options: ServeConnectionOptions,
): Promise<void> {
  const reader = new DeadlineReader(conn);
  const { limits } = options;
  const remoteAddr = conn.remoteAddr as Deno.NetAddr;
  try {
    let first = true;
    while (true) {
      const head = await readHead(reader, limits, first);
      first = false;
      if (head.kind === "closed") return;
      options.onBusy?.(true);
      if (head.kind === "invalid") {
        options.onDrop?.(`invalid request: ${head.reason}`);
        await writeResponse(
          reader,
          new Response(`${head.reason}\n`, { status: head.status }),
          { head: false, keepAlive: false, limits },
        );
        return;
      }
      const body = requestBody(reader, head.headers, limits);
      if (body.kind === "invalid") {
        options.onDrop?.(`invalid request: ${body.reason}`);
        await writeResponse(
          reader,
          new Response(`${body.reason}\n`, { status: 400 }),
          { head: false, keepAlive: false, limits },
        );
        return;
      }
      const bodyAllowed = head.method !== "GET" && head.method !== "HEAD";
      const request = new Request(`http://localhost${head.target}`, {
        method: head.method,
        headers: head.headers,
        body: bodyAllowed && body.length > 0 ? body.stream : undefined,
        // A ReadableStream body needs this in Deno's fetch types.
        ...({ duplex: "half" } as Record<string, string>),
      });
      let response: Response;
      try {
        response = await options.handler(request, { remoteAddr });
      } catch {
        response = new Response("internal error\n", { status: 500 });
      }
      // An unread rest of the body cannot be skipped safely: close instead.
      const keepAlive = head.keepAlive && body.complete();
      if (!body.complete()) body.abandon();
      await writeResponse(reader, response, {
        head: head.method === "HEAD",
        keepAlive,
        limits,
      });
      options.onBusy?.(false);
      if (!keepAlive) return;
    }
  } catch (error) {
    if (error instanceof DeadlineError) {
      options.onDrop?.("a deadline passed");
    } else if (!isConnectionGone(error)) {
      options.onDrop?.(error instanceof Error ? error.message : String(error));
    }
    return;
  } finally {
    reader.close();
  }
}

async function readHead(
  reader: DeadlineReader,
  limits: ConnectionLimits,
  first: boolean,
): Promise<Head> {
  // Waiting for the first byte of a further request is the idle phase.
  if (!first && reader.buffered.byteLength === 0) {
    if (!(await reader.fill(Date.now() + limits.idleTimeoutMs))) {
      return { kind: "closed" };
    }
  }
  const deadline = Date.now() + limits.headerTimeoutMs;
  let end = indexOf(reader.buffered, HEAD_END);
  while (end < 0) {
    if (reader.buffered.byteLength > limits.maxHeaderBytes) {
      return {
        kind: "invalid",
        status: 431,
        reason: `request head larger than ${limits.maxHeaderBytes} bytes`,
      };
    }
    if (!(await reader.fill(deadline))) return { kind: "closed" };
    end = indexOf(reader.buffered, HEAD_END);
  }
  if (end > limits.maxHeaderBytes) {
    return {
      kind: "invalid",
      status: 431,
      reason: `request head larger than ${limits.maxHeaderBytes} bytes`,
    };
  }
  const text = decoder.decode(reader.consume(end + HEAD_END.byteLength));
  return parseHead(text.slice(0, end).replace(/^(\r\n)+/, ""));
}

/** Parses a request line and its header lines. */
export function parseHead(text: string): Head {
  const [requestLine, ...lines] = text.split("\r\n");
  const match = /^([A-Z]{1,16}) (\/[^\s]*) HTTP\/1\.([01])$/.exec(
    requestLine,
  );
  if (!match) {
    if (/^[A-Z]+ \S+ HTTP\/\d/.test(requestLine)) {
      return {
        kind: "invalid",
        status: 505,
        reason: "only HTTP/1.0 and HTTP/1.1 are served",
      };
    }
    return { kind: "invalid", status: 400, reason: "malformed request line" };
  }
  const headers = new Headers();
  for (const line of lines) {
    const header = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(
      line,
    );
    // Control characters and folded lines are refused rather than guessed at.
    // deno-lint-ignore no-control-regex
    if (!header || /[\x00-\x08\x0a-\x1f\x7f]/.test(header[2])) {
      return { kind: "invalid", status: 400, reason: "malformed header line" };
    }
    try {
      headers.append(header[1], header[2]);
    } catch {
      return { kind: "invalid", status: 400, reason: "malformed header line" };
    }
  }
  if (headers.has("transfer-encoding")) {
    return {
      kind: "invalid",
      status: 411,
      reason: "chunked request bodies are not accepted; send Content-Length",
    };
  }
  const connection = headers.get("connection")?.toLowerCase() ?? "";
  const keepAlive = match[3] === "1"
    ? !/\bclose\b/.test(connection)
    : /\bkeep-alive\b/.test(connection);
  return {
    kind: "request",
    method: match[1],
    target: match[2],
    headers,
    keepAlive,
  };
}

type Body =
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

function requestBody(
  reader: DeadlineReader,
  headers: Headers,
  limits: ConnectionLimits,
): Body {
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
  }
  const deadline = Date.now() + limits.bodyTimeoutMs;
  let received = 0;
  let abandoned = false;
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

async function writeResponse(
  reader: DeadlineReader,
  response: Response,
  options: { head: boolean; keepAlive: boolean; limits: ConnectionLimits },
): Promise<void> {
  const body = new Uint8Array(await response.arrayBuffer());
  let head = `HTTP/1.1 ${response.status} ${
    response.statusText || reasonPhrase(response.status)
  }\r\n`;
  for (const [name, value] of response.headers) {
    if (name === "content-length" || name === "connection") continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.byteLength}\r\n`;
  head += `connection: ${options.keepAlive ? "keep-alive" : "close"}\r\n`;
  if (options.keepAlive) {
    head += `keep-alive: timeout=${
      Math.floor(options.limits.idleTimeoutMs / 1000)
    }\r\n`;
  }
  head += "\r\n";
  const headBytes = encoder.encode(head);
  const payload = options.head ? headBytes : concat(headBytes, body);
  await reader.writeAll(payload, Date.now() + options.limits.bodyTimeoutMs);
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Content Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
  };
  return phrases[status] ?? "Status";
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a);
  joined.set(b, a.byteLength);
  return joined;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (
    let index = 0;
    index <= haystack.byteLength - needle.byteLength;
    index++
  ) {
    for (let offset = 0; offset < needle.byteLength; offset++) {
      if (haystack[index + offset] !== needle[offset]) continue outer;
    }
    return index;
  }
  return -1;
}

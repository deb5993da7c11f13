/** Reading and parsing an HTTP/1.x request line and its headers. */
import type { ConnectionLimits } from "./connection.ts";
import type { DeadlineReader } from "./deadline_reader.ts";

const HEAD_END = new Uint8Array([13, 10, 13, 10]);
const decoder = new TextDecoder();

/** What reading a request head produced. */
export type Head =
  | {
    kind: "request";
    method: string;
    target: string;
    headers: Headers;
    keepAlive: boolean;
  }
  | { kind: "closed" }
  | { kind: "invalid"; status: 400 | 411 | 431 | 505; reason: string };

/** Reads one request head under the header (or, between requests, the idle) deadline. */
export async function readHead(
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

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
    /** The client waits for `100 Continue` before it sends the body. */
    expectContinue: boolean;
  }
  | { kind: "closed" }
  | { kind: "invalid"; status: 400 | 411 | 417 | 431 | 505; reason: string };

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
  const parts = /^([A-Z]{1,16}) (\S+) (HTTP\/\d(?:\.\d)?)$/.exec(requestLine);
  if (!parts) {
    return { kind: "invalid", status: 400, reason: "malformed request line" };
  }
  const [, method, target, version] = parts;
  const minor = /^HTTP\/1\.([01])$/.exec(version)?.[1];
  if (minor === undefined) {
    return {
      kind: "invalid",
      status: 505,
      reason: "only HTTP/1.0 and HTTP/1.1 are served",
    };
  }
  // Only a path is served: the absolute form is for proxies, and the
  // authority and asterisk forms are for CONNECT and OPTIONS.
  if (!target.startsWith("/")) {
    return {
      kind: "invalid",
      status: 400,
      reason: "the request target must be a path such as /webhook",
    };
  }
  const headers = new Headers();
  let hosts = 0;
  for (const line of lines) {
    const header = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(
      line,
    );
    // Control characters and folded lines are refused rather than guessed at.
    // deno-lint-ignore no-control-regex
    if (!header || /[\x00-\x08\x0a-\x1f\x7f]/.test(header[2])) {
      return { kind: "invalid", status: 400, reason: "malformed header line" };
    }
    if (header[1].toLowerCase() === "host") hosts++;
    try {
      headers.append(header[1], header[2]);
    } catch {
      return { kind: "invalid", status: 400, reason: "malformed header line" };
    }
  }
  // HTTP/1.1 requires exactly one Host; HTTP/1.0 clients may omit it.
  if (hosts > 1 || (hosts === 0 && minor === "1")) {
    return {
      kind: "invalid",
      status: 400,
      reason: hosts > 1 ? "more than one Host header" : "missing Host header",
    };
  }
  if (headers.has("transfer-encoding")) {
    return {
      kind: "invalid",
      status: 411,
      reason: "chunked request bodies are not accepted; send Content-Length",
    };
  }
  // 100-continue is the only expectation defined; HTTP/1.0 knows none.
  const expect = headers.get("expect")?.toLowerCase();
  if (expect !== undefined && minor === "1" && expect !== "100-continue") {
    return {
      kind: "invalid",
      status: 417,
      reason: "only Expect: 100-continue is understood",
    };
  }
  const connection = headers.get("connection")?.toLowerCase() ?? "";
  const keepAlive = minor === "1"
    ? !/\bclose\b/.test(connection)
    : /\bkeep-alive\b/.test(connection);
  return {
    kind: "request",
    method,
    target,
    headers,
    keepAlive,
    expectContinue: minor === "1" && expect === "100-continue",
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

/** Writing a response with its status line, headers and body under the body deadline. */
import type { ConnectionLimits } from "./connection.ts";
import type { DeadlineReader } from "./deadline_reader.ts";

const encoder = new TextEncoder();

/** Writes `response` (without its body for HEAD), announcing keep-alive or close. */
export async function writeResponse(
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
    417: "Expectation Failed",
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

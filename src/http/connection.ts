/**
 * HTTP/1.1 on one accepted connection: every read and write has a deadline,
 * so a client that stalls (in its headers, its body or between requests)
 * gives its connection back instead of holding it forever.
 */
import { errorMessage } from "../errors.ts";
import {
  DeadlineError,
  DeadlineReader,
  isConnectionGone,
} from "./deadline_reader.ts";
import { readHead } from "./request_head.ts";
import { requestBody } from "./request_body.ts";
import { writeResponse } from "./response_writer.ts";

export { isConnectionGone } from "./deadline_reader.ts";
export { parseHead } from "./request_head.ts";
export { IncompleteBodyError } from "./request_body.ts";

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
      const body = requestBody(reader, head.headers, {
        limits,
        expectContinue: head.expectContinue,
      });
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
      options.onDrop?.(errorMessage(error));
    }
    return;
  } finally {
    reader.close();
  }
}

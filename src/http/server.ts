/**
 * The one place that listens on a socket. It owns the listener so that it can
 * cap open connections and survive accept errors (such as running out of file
 * descriptors), which `Deno.serve` does not allow.
 */
import { ConfigError, errorMessage } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import {
  type ConnectionLimits,
  isConnectionGone,
  serveConnection,
} from "./connection.ts";
import type { Handler } from "./handler.ts";

/** A running HTTP server. */
export interface HttpServer {
  /** Base URL it answers on, e.g. `http://127.0.0.1:9000`. */
  url: string;
  /** Stops accepting connections; waits up to `deadlineMs` for requests in flight. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** Limits of the HTTP endpoint. */
export interface ServerLimits extends ConnectionLimits {
  /**
   * Connections open at once. A further one makes room by closing the
   * longest-waiting idle one; only when every one has a request in flight is it
   * closed as soon as it is accepted.
   */
  maxConnections: number;
}

/** The limits used when the configuration sets none. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  maxConnections: 128,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  idleTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
};

/** Options of {@link startHttpServer}. */
export interface StartServerOptions {
  /** `host:port` (`[::1]:9000` for IPv6), as validated by the config loader. */
  listen: string;
  logger: Logger;
  /** Where `listen` came from, for the error when the address is taken. */
  configFile: string;
  limits?: ServerLimits;
}

/** Pause after a failed accept, doubled up to the maximum while failures go on. */
const ACCEPT_RETRY_MS = 50;
const ACCEPT_RETRY_MAX_MS = 1_000;
/** Refused connections and accept errors are logged at most this often. */
const REFUSED_LOG_INTERVAL_MS = 60_000;

/** Splits `host:port` / `[v6]:port`. */
export function parseListen(
  listen: string,
): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`bug: unvalidated listen address "${listen}"`);
  return { hostname: match[1] ?? match[2], port: Number(match[3]) };
}

/** Starts serving `handler` on `options.listen`; a taken address is a ConfigError (exit 2). */
export function startHttpServer(
  handler: Handler,
  options: StartServerOptions,
): Promise<HttpServer> {
  const { hostname, port } = parseListen(options.listen);
  const limits = options.limits ?? DEFAULT_SERVER_LIMITS;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    return Promise.reject(
      new ConfigError(
        `cannot listen on ${options.listen}: ${errorMessage(error)}`,
        { file: options.configFile, key: "webhook.listen" },
        { cause: error },
      ),
    );
  }
  const addr = listener.addr;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  const server = new ConnectionPool(listener, handler, limits, options.logger);
  const accepting = server.acceptLoop();
  return Promise.resolve({
    url,
    async shutdown(deadlineMs) {
      server.stopAccepting();
      await accepting;
      await server.drain(deadlineMs);
    },
  });
}

/** The open connections, each with whether a request is in flight on it. */
class ConnectionPool {
  readonly #open = new Map<Deno.Conn, { busy: boolean }>();
  readonly #served = new Set<Promise<void>>();
  #stopping = false;
  #refused = 0;
  #evicted = 0;
  #lastEvictedLog = -Infinity;
  #acceptErrors = 0;
  #lastRefusedLog = -Infinity;
  #lastAcceptErrorLog = -Infinity;

  constructor(
    readonly listener: Deno.TcpListener,
    readonly handler: Handler,
    readonly limits: ServerLimits,
    readonly logger: Logger,
  ) {}

  /** Accepts until the listener closes; no error ends it. */
  async acceptLoop(): Promise<void> {
    let retryMs = ACCEPT_RETRY_MS;
    while (!this.#stopping) {
      let conn: Deno.Conn;
      try {
        conn = await this.listener.accept();
      } catch (error) {
        if (this.#stopping) return;
        if (error instanceof Deno.errors.BadResource) return;
        this.#logAcceptError(error);
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        retryMs = Math.min(retryMs * 2, ACCEPT_RETRY_MAX_MS);
        continue;
      }
      retryMs = ACCEPT_RETRY_MS;
      if (this.#stopping) {
        closeQuietly(conn);
        continue;
      }
      if (this.#open.size >= this.limits.maxConnections && !this.#evictIdle()) {
        this.#refuse(conn);
        continue;
      }
      this.#serve(conn);
    }
  }

  stopAccepting(): void {
    this.#stopping = true;
    try {
      this.listener.close();
    } catch {
      // Already closed.
    }
    // Idle connections have nothing to finish.
    for (const [conn, state] of this.#open) {
      if (!state.busy) closeQuietly(conn);
    }
  }

  /** Waits up to `deadlineMs` for requests in flight, then closes what is left. */
  async drain(deadlineMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    await Promise.race([Promise.all(this.#served), deadline]);
    clearTimeout(timer);
    for (const conn of this.#open.keys()) closeQuietly(conn);
    await Promise.all(this.#served);
  }

  #serve(conn: Deno.Conn): void {
    const state = { busy: false };
    this.#open.set(conn, state);
    const served = serveConnection(conn, {
      limits: this.limits,
      handler: this.handler,
      onBusy: (busy) => {
        state.busy = busy;
        if (!busy && this.#stopping) closeQuietly(conn);
      },
      onDrop: (reason) =>
        this.logger.debug("HTTP connection dropped: {reason}", { reason }),
    }).catch((error) => {
      // A bug in the connection code must not end the agent.
      this.logger.error("HTTP connection failed: {error}", {
        error: errorMessage(error),
      });
    }).finally(() => {
      this.#open.delete(conn);
      this.#served.delete(served);
    });
    this.#served.add(served);
  }

  /**
   * Closes the connection that has waited longest without a request in
   * flight (still sending its head, or idle between requests) to make room:
   * idle connections cannot lock out `/healthz`. False when every one is busy.
   */
  #evictIdle(): boolean {
    for (const [conn, state] of this.#open) {
      if (state.busy) continue;
      // Gone from the count now; its serving loop ends on the closed socket.
      this.#open.delete(conn);
      closeQuietly(conn);
      this.#evicted++;
      this.#logPressure();
      return true;
    }
    return false;
  }

  #logPressure(): void {
    const now = Date.now();
    if (now - this.#lastEvictedLog < REFUSED_LOG_INTERVAL_MS) return;
    this.logger.warn(
      "HTTP connections at the limit (webhook.max_connections: {max}): closed {count} idle one(s) to make room",
      { count: this.#evicted, max: this.limits.maxConnections },
    );
    this.#lastEvictedLog = now;
    this.#evicted = 0;
  }

  #refuse(conn: Deno.Conn): void {
    closeQuietly(conn);
    this.#refused++;
    const now = Date.now();
    if (now - this.#lastRefusedLog >= REFUSED_LOG_INTERVAL_MS) {
      this.logger.warn(
        "HTTP connections refused: {count} since the last message; {max} are open, the limit (webhook.max_connections)",
        { count: this.#refused, max: this.limits.maxConnections },
      );
      this.#lastRefusedLog = now;
      this.#refused = 0;
    }
  }

  #logAcceptError(error: unknown): void {
    this.#acceptErrors++;
    const now = Date.now();
    if (now - this.#lastAcceptErrorLog < REFUSED_LOG_INTERVAL_MS) return;
    this.logger.error(
      "accepting an HTTP connection failed {count} time(s): {error}; retrying",
      {
        count: this.#acceptErrors,
        error: errorMessage(error),
      },
    );
    this.#lastAcceptErrorLog = now;
    this.#acceptErrors = 0;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (error) {
    if (!isConnectionGone(error)) throw error;
  }
}

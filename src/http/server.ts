/** The one place that listens on a socket: `Deno.serve` around a {@link Handler}. */
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import type { Handler } from "./handler.ts";

/** A running HTTP server. */
export interface HttpServer {
  /** Base URL it answers on, e.g. `http://127.0.0.1:9000`. */
  url: string;
  /** Stops accepting connections; waits up to `deadlineMs` for requests in flight. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** Options of {@link startHttpServer}. */
export interface StartServerOptions {
  /** `host:port` (`[::1]:9000` for IPv6), as validated by the config loader. */
  listen: string;
  logger: Logger;
  /** Where `listen` came from, for the error when the address is taken. */
  configFile: string;
}

/** Splits `host:port` / `[v6]:port`. */
export function parseListen(
  listen: string,
): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`bug: unvalidated listen address "${listen}"`);
  return { hostname: match[1] ?? match[2], port: Number(match[3]) };
}

/** Starts serving `handler` on `options.listen`; a taken address is a ConfigError (exit 2). */
export async function startHttpServer(
  handler: Handler,
  options: StartServerOptions,
): Promise<HttpServer> {
  const { hostname, port } = parseListen(options.listen);
  const ready = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port,
      onListen: (addr) => ready.resolve(addr),
      onError: (error) => {
        options.logger.error("HTTP request failed: {error}", {
          error: error instanceof Error ? error.message : String(error),
        });
        return new Response("internal error\n", { status: 500 });
      },
    }, handler);
  } catch (error) {
    throw new ConfigError(
      `cannot listen on ${options.listen}: ${
        error instanceof Error ? error.message : String(error)
      }`,
      { file: options.configFile, key: "webhook.listen" },
      { cause: error },
    );
  }
  const addr = await ready.promise;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  return {
    url,
    async shutdown(deadlineMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([server.shutdown(), deadline]);
      clearTimeout(timer);
    },
  };
}

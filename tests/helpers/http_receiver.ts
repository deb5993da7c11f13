/** A real HTTP server on 127.0.0.1 that records the requests it receives (notification targets in tests). */

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, e.g. `/topic?x=1`. */
  path: string;
  headers: Headers;
  body: string;
}

/** Options of {@link Receiver.start}. */
export interface ReceiverOptions {
  /** Answers a request; 200 "ok" by default. */
  respond?: (request: ReceivedRequest) => Response | Promise<Response>;
}

/** Records every request; disposing stops the server. */
export class Receiver implements AsyncDisposable {
  readonly requests: ReceivedRequest[] = [];
  readonly url: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #waiters = new Set<() => void>();

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
    this.url = `http://127.0.0.1:${server.addr.port}`;
  }

  /** Starts listening on a free port of 127.0.0.1. */
  static start(options: ReceiverOptions = {}): Receiver {
    let receiver: Receiver | undefined = undefined;
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const url = new URL(request.url);
        const received: ReceivedRequest = {
          method: request.method,
          path: url.pathname + url.search,
          headers: request.headers,
          body: await request.text(),
        };
        receiver!.requests.push(received);
        for (const wake of receiver!.#waiters) wake();
        return options.respond
          ? await options.respond(received)
          : new Response("ok");
      },
    );
    receiver = new Receiver(server);
    return receiver;
  }

  /** Waits until at least `count` requests arrived (fails after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${count} requests, got ${this.requests.length}: ${
            JSON.stringify(this.requests.map((request) => request.path))
          }`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const waiters = this.#waiters;
        function done() {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        }
        waiters.add(done);
      });
    }
    return this.requests;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

/** A port on 127.0.0.1 that nothing listens on (a notifier that is down). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** A free port on 127.0.0.1 for a server the test starts in another process. */
export const freePort = closedPort;

/**
 * Hostile answers from notification targets and commit status APIs, served
 * by raw servers on 127.0.0.1: an endless body is cut at the byte limit and
 * its connection dropped, a slow one at the deadline, and a token in an error
 * answer never shows, wherever the quote is cut (docs/notifications.md#delivery-retries-and-timeouts).
 */
import assert from "node:assert/strict";
import type { StatusTarget } from "../src/commit_status/provider_request.ts";
import { sendCommitStatus } from "../src/commit_status/reporter.ts";
import { testEvent } from "../src/notify/event.ts";
import {
  ERROR_DETAIL_CHARS,
  MAX_RESPONSE_BYTES,
} from "../src/notify/http_post.ts";
import { sendNotification } from "../src/notify/queue.ts";
import { resolveTargets } from "../src/notify/target.ts";

const encoder = new TextEncoder();

/** Room for what the kernel's socket buffers hold on both ends of a loopback connection. */
const SOCKET_BUFFER_SLACK = 8 * 1024 * 1024;

/**
 * A server that answers every connection with `head`, then writes `chunk`
 * every `intervalMs` until the client goes away; it counts what it wrote.
 */
class HostilePeer implements AsyncDisposable {
  written = 0;
  closedByClient = 0;
  readonly #listener: Deno.TcpListener;
  readonly #serving: Promise<void>;
  readonly #connections = new Set<Promise<void>>();
  readonly #stop = new AbortController();

  constructor(
    readonly options: { head: string; chunk: string; intervalMs?: number },
  ) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#serving = this.#accept();
  }

  get url(): string {
    return `http://127.0.0.1:${this.#listener.addr.port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const served = this.#answer(conn);
        this.#connections.add(served);
        served.finally(() => this.#connections.delete(served));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #answer(conn: Deno.Conn): Promise<void> {
    const drain = (async () => {
      const buffer = new Uint8Array(64 * 1024);
      try {
        while ((await conn.read(buffer)) !== null) {
          // The request is of no interest.
        }
      } catch {
        // Reset by the client.
      }
    })();
    const chunk = encoder.encode(this.options.chunk);
    try {
      await conn.write(encoder.encode(this.options.head));
      while (chunk.byteLength > 0 && !this.#stop.signal.aborted) {
        let offset = 0;
        while (offset < chunk.byteLength) {
          offset += await conn.write(chunk.subarray(offset));
        }
        this.written += chunk.byteLength;
        if (this.options.intervalMs) {
          await new Promise((resolve) =>
            setTimeout(resolve, this.options.intervalMs)
          );
        }
      }
    } catch {
      this.closedByClient++;
    } finally {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
      await drain;
    }
  }

  /** Resolves once a client has closed its connection. */
  async clientClosed(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (this.closedByClient === 0) {
      if (Date.now() > deadline) throw new Error("the client never closed");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    this.#listener.close();
    await this.#serving;
    await Promise.all(this.#connections);
  }
}

function notifyTarget(url: string) {
  return resolveTargets([{ url: `${url}/hook` }], { env: () => undefined })[0];
}

function statusTarget(url: string, token: string): StatusTarget {
  return {
    index: 0,
    provider: "github",
    token,
    apiUrl: url,
    repository: "owner/name",
    context: "deploy/test",
    label: "commit_status[0] github owner/name",
  };
}

const event = () => testEvent({ host: "test-host", now: Date.now });

Deno.test("an endless 500 answer from a notification target is cut at the byte limit and its connection dropped", async () => {
  await using peer = new HostilePeer({
    head:
      "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n",
    chunk: "x".repeat(16 * 1024),
  });
  const result = await sendNotification(notifyTarget(peer.url), event(), {
    timeoutMs: 30_000,
  });
  assert.equal(result.kind, "failed");
  assert.equal(result.kind === "failed" && result.status, 500);
  assert.ok(result.kind === "failed" && result.retry);
  await peer.clientClosed();
  assert.ok(
    peer.written <= MAX_RESPONSE_BYTES + SOCKET_BUFFER_SLACK,
    `the peer wrote ${peer.written} bytes before the agent hung up`,
  );
});

Deno.test("an endless 200 answer from a commit status API counts as delivered and is not read to its end", async () => {
  await using peer = new HostilePeer({
    head: "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n",
    chunk: "[".repeat(16 * 1024),
  });
  const result = await sendCommitStatus(
    statusTarget(peer.url, "ghp_secret"),
    { sha: "a".repeat(40), state: "success", context: "c", description: "d" },
    { timeoutMs: 30_000 },
  );
  assert.deepEqual(result, { kind: "delivered", status: 201 });
  await peer.clientClosed();
  assert.ok(peer.written <= MAX_RESPONSE_BYTES + SOCKET_BUFFER_SLACK);
});

Deno.test("an answer that trickles in forever ends at the request's deadline", async () => {
  await using peer = new HostilePeer({
    head:
      "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n",
    chunk: "x",
    intervalMs: 50,
  });
  const result = await sendNotification(notifyTarget(peer.url), event(), {
    timeoutMs: 500,
  });
  assert.deepEqual(result, { kind: "failed", error: "timed out", retry: true });
  await peer.clientClosed();
});

Deno.test("a token that straddles the quoted length of an error answer is redacted whole", async () => {
  const token = "ghp_" + "T".repeat(36);
  // The token starts a few characters before the quote would end.
  const body = `${"e".repeat(ERROR_DETAIL_CHARS - 10)}${token} rest\nsecond`;
  await using peer = new HostilePeer({
    head: `HTTP/1.1 401 Unauthorized\r\nContent-Length: ${body.length}\r\n` +
      `Connection: close\r\n\r\n${body}`,
    chunk: "",
  });
  const result = await sendCommitStatus(
    statusTarget(peer.url, token),
    { sha: "a".repeat(40), state: "success", context: "c", description: "d" },
    { timeoutMs: 10_000 },
  );
  assert.equal(result.kind, "failed");
  const error = result.kind === "failed" ? result.error : "";
  assert.doesNotMatch(error, /ghp_|TTTT/);
  assert.match(error, /^HTTP 401: e+\*\*\*/);
  assert.ok(error.length <= `HTTP 401: `.length + ERROR_DETAIL_CHARS);
});

/**
 * How the agent's own HTTP/1.1 server frames requests on a real socket of
 * 127.0.0.1 (docs/security.md#request-framing): every refusal, keep-alive,
 * pipelining, `Expect: 100-continue` and bodies that end early.
 */
import assert from "node:assert/strict";
import { agentLogger } from "../src/log/logging.ts";
import {
  DEFAULT_SERVER_LIMITS,
  type HttpServer,
  type ServerLimits,
  startHttpServer,
} from "../src/http/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server whose handler answers with the method, path and body it read. */
async function echoServer(
  limits: Partial<ServerLimits> = {},
): Promise<HttpServer & AsyncDisposable> {
  const server = await startHttpServer(async (request) => {
    let body: string;
    try {
      body = await request.text();
    } catch (error) {
      return new Response(`body failed: ${(error as Error).name}\n`, {
        status: 400,
      });
    }
    return new Response(
      `${request.method} ${new URL(request.url).pathname} ${body}`,
    );
  }, {
    listen: "127.0.0.1:0",
    logger: agentLogger(),
    configFile: "test",
    limits: { ...DEFAULT_SERVER_LIMITS, ...limits },
  });
  return {
    ...server,
    [Symbol.asyncDispose]: () => server.shutdown(1_000),
  };
}

/** One response as it came off the wire. */
interface WireResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** A raw TCP connection that reads whole responses off the stream. */
class Wire implements AsyncDisposable {
  #buffer = "";
  #ended = false;
  private constructor(readonly conn: Deno.TcpConn) {}

  static async open(server: HttpServer): Promise<Wire> {
    const { hostname, port } = new URL(server.url);
    return new Wire(await Deno.connect({ hostname, port: Number(port) }));
  }

  async send(text: string): Promise<void> {
    await this.conn.write(encoder.encode(text));
  }

  /** The next response, or undefined when the server closed first. */
  async response(): Promise<WireResponse | undefined> {
    while (true) {
      const end = this.#buffer.indexOf("\r\n\r\n");
      if (end >= 0) {
        const [statusLine, ...lines] = this.#buffer.slice(0, end).split("\r\n");
        const headers = new Map(lines.map((line) => {
          const colon = line.indexOf(":");
          return [
            line.slice(0, colon).toLowerCase(),
            line.slice(colon + 1).trim(),
          ];
        }));
        const status = Number(statusLine.split(" ")[1]);
        // 1xx responses have no body.
        const length = status < 200
          ? 0
          : Number(headers.get("content-length") ?? 0);
        if (this.#buffer.length >= end + 4 + length) {
          const body = this.#buffer.slice(end + 4, end + 4 + length);
          this.#buffer = this.#buffer.slice(end + 4 + length);
          return { status, headers, body };
        }
      }
      if (!(await this.#read())) return undefined;
    }
  }

  /** True once the server closed the connection (after what it still sent). */
  async closedByServer(): Promise<boolean> {
    while (await this.#read()) {
      // Drain what is left.
    }
    return this.#ended;
  }

  async #read(): Promise<boolean> {
    if (this.#ended) return false;
    const chunk = new Uint8Array(16 * 1024);
    let count: number | null;
    try {
      count = await this.conn.read(chunk);
    } catch {
      count = null;
    }
    if (count === null) {
      this.#ended = true;
      return false;
    }
    this.#buffer += decoder.decode(chunk.subarray(0, count));
    return true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // Closed by the server already.
    }
    await Promise.resolve();
  }
}

/** Sends `request` on a new connection: its response, and whether the server then closed. */
async function exchange(
  server: HttpServer,
  request: string,
): Promise<{ response?: WireResponse; closed: boolean }> {
  await using wire = await Wire.open(server);
  await wire.send(request);
  const response = await wire.response();
  return { response, closed: await wire.closedByServer() };
}

Deno.test("a chunked body is refused with 411 and the connection closed", async () => {
  await using server = await echoServer();
  const { response, closed } = await exchange(
    server,
    "POST /webhook HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "3\r\nabc\r\n0\r\n\r\n",
  );
  assert.equal(response?.status, 411);
  assert.match(response.body, /Content-Length/);
  assert.equal(response.headers.get("connection"), "close");
  assert.ok(closed);
});

Deno.test("a head larger than the limit gets 431, whether or not it ever ends", async () => {
  await using server = await echoServer({ maxHeaderBytes: 1024 });
  const big = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(2000)}\r\n\r\n`;
  assert.equal((await exchange(server, big)).response?.status, 431);
  // No end of head at all: refused once the buffer passes the limit.
  const endless = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(40_000)}`;
  const { response, closed } = await exchange(server, endless);
  assert.equal(response?.status, 431);
  assert.ok(closed);
});

Deno.test("HTTP/2.0 and HTTP/1.2 get 505; an absolute-form target gets 400", async () => {
  await using server = await echoServer();
  for (const version of ["HTTP/2.0", "HTTP/1.2"]) {
    const { response } = await exchange(
      server,
      `GET /healthz ${version}\r\nHost: a\r\n\r\n`,
    );
    assert.equal(response?.status, 505, version);
  }
  const { response } = await exchange(
    server,
    "GET http://a/healthz HTTP/1.1\r\nHost: a\r\n\r\n",
  );
  assert.equal(response?.status, 400);
  assert.match(response.body, /must be a path/);
});

Deno.test("conflicting Content-Length values get 400; repeated equal ones are one length", async () => {
  await using server = await echoServer();
  for (
    const lengths of [["3", "4"], ["3, 4"], ["-1"], ["0x3"], ["3", ""]]
  ) {
    const head = lengths.map((value) => `Content-Length: ${value}\r\n`).join(
      "",
    );
    const { response, closed } = await exchange(
      server,
      `POST /x HTTP/1.1\r\nHost: a\r\n${head}\r\nabcd`,
    );
    assert.equal(response?.status, 400, lengths.join(" | "));
    assert.ok(closed);
  }
  const { response } = await exchange(
    server,
    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n" +
      "Connection: close\r\n\r\nabc",
  );
  assert.equal(response?.status, 200);
  assert.equal(response.body, "POST /x abc");
});

Deno.test("HTTP/1.1 without Host gets 400; HTTP/1.0 without it is served", async () => {
  await using server = await echoServer();
  const missing = await exchange(server, "GET /healthz HTTP/1.1\r\n\r\n");
  assert.equal(missing.response?.status, 400);
  assert.match(missing.response.body, /missing Host/);
  const old = await exchange(server, "GET /healthz HTTP/1.0\r\n\r\n");
  assert.equal(old.response?.status, 200);
  assert.equal(old.response.headers.get("connection"), "close");
  assert.ok(old.closed);
});

Deno.test("Expect: 100-continue gets 100 Continue before the body is read, then the answer", async () => {
  await using server = await echoServer();
  await using wire = await Wire.open(server);
  await wire.send(
    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
  );
  // The client holds the body back until it is invited.
  const interim = await wire.response();
  assert.equal(interim?.status, 100);
  await wire.send("hello");
  const final = await wire.response();
  assert.equal(final?.status, 200);
  assert.equal(final.body, "POST /x hello");
  assert.equal(final.headers.get("connection"), "keep-alive");
});

Deno.test("an expectation other than 100-continue gets 417", async () => {
  await using server = await echoServer();
  const { response } = await exchange(
    server,
    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 200-ok\r\n\r\nx",
  );
  assert.equal(response?.status, 417);
});

Deno.test("a kept-alive connection serves one request after another until Connection: close", async () => {
  await using server = await echoServer();
  await using wire = await Wire.open(server);
  for (const path of ["/one", "/two"]) {
    await wire.send(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
    const response = await wire.response();
    assert.equal(response?.body, `GET ${path} `);
    assert.equal(response.headers.get("connection"), "keep-alive");
  }
  await wire.send(
    "GET /three HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  );
  const last = await wire.response();
  assert.equal(last?.body, "GET /three ");
  assert.equal(last.headers.get("connection"), "close");
  assert.ok(await wire.closedByServer());
});

Deno.test("pipelined requests in one write are answered in order", async () => {
  await using server = await echoServer();
  await using wire = await Wire.open(server);
  await wire.send(
    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
      "GET /b HTTP/1.1\r\nHost: a\r\n\r\n" +
      "POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nde",
  );
  const bodies = [];
  for (let index = 0; index < 3; index++) {
    bodies.push((await wire.response())?.body);
  }
  assert.deepEqual(bodies, ["POST /a abc", "GET /b ", "POST /c de"]);
  assert.ok(await wire.closedByServer());
});

Deno.test("a body cut short by the client gets no 200 and the connection is closed", async () => {
  await using server = await echoServer();
  await using wire = await Wire.open(server);
  await wire.send(
    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123",
  );
  await wire.conn.closeWrite();
  const response = await wire.response();
  assert.equal(response?.status, 400);
  assert.match(response.body, /IncompleteBodyError/);
  assert.ok(await wire.closedByServer());
});

Deno.test("a body slower than the body timeout is cut off", async () => {
  await using server = await echoServer({ bodyTimeoutMs: 300 });
  await using wire = await Wire.open(server);
  await wire.send(
    "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0",
  );
  // The client never sends the rest: the server gives up and closes.
  assert.ok(await wire.closedByServer());
});

/** Framing a request body by its Content-Length, read from a scripted connection. */
import assert from "node:assert/strict";
import { DEFAULT_SERVER_LIMITS } from "./server.ts";
import { DeadlineReader } from "./deadline_reader.ts";
import { IncompleteBodyError, requestBody } from "./request_body.ts";

const encoder = new TextEncoder();

/** A connection that hands out `chunks` one read at a time, then the end of the stream, and keeps what is written. */
function scriptedConn(
  chunks: string[],
): { conn: Deno.Conn; written: string[] } {
  const written: string[] = [];
  const pending = chunks.map((chunk) => encoder.encode(chunk));
  const conn = {
    read(view: Uint8Array): Promise<number | null> {
      const next = pending.shift();
      if (!next) return Promise.resolve(null);
      view.set(next);
      return Promise.resolve(next.byteLength);
    },
    write(bytes: Uint8Array): Promise<number> {
      written.push(new TextDecoder().decode(bytes));
      return Promise.resolve(bytes.byteLength);
    },
    close() {},
  };
  return { conn: conn as unknown as Deno.Conn, written };
}

function body(
  headers: Record<string, string>,
  chunks: string[],
  expect = false,
) {
  const { conn, written } = scriptedConn(chunks);
  const reader = new DeadlineReader(conn);
  const list = new Headers(headers);
  const result = requestBody(reader, list, {
    limits: DEFAULT_SERVER_LIMITS,
    expectContinue: expect,
  });
  return { result, written, headers: list };
}

Deno.test("a repeated equal Content-Length is one length and the handler sees one value", async () => {
  const { result, headers } = body({ "content-length": "3, 3" }, ["abc"]);
  assert.equal(result.kind, "body");
  if (result.kind !== "body") return;
  assert.equal(headers.get("content-length"), "3");
  assert.equal(await new Response(result.stream).text(), "abc");
  assert.ok(result.complete());
});

Deno.test("conflicting, signed, hex or empty Content-Length values are refused", () => {
  for (
    const value of ["3, 4", "-1", "+3", "0x3", "3,", "1e3", "9".repeat(16)]
  ) {
    assert.equal(
      body({ "content-length": value }, []).result.kind,
      "invalid",
      value,
    );
  }
});

Deno.test("with 100-continue the invitation goes out on the first read, and only then", async () => {
  const { result, written } = body({ "content-length": "5" }, ["hello"], true);
  assert.deepEqual(written, []);
  if (result.kind !== "body") throw new Error("expected a body");
  assert.equal(await new Response(result.stream).text(), "hello");
  assert.deepEqual(written, ["HTTP/1.1 100 Continue\r\n\r\n"]);
});

Deno.test("a body that ends early fails with IncompleteBodyError naming the counts", async () => {
  const { result } = body({ "content-length": "10" }, ["abcd"]);
  if (result.kind !== "body") throw new Error("expected a body");
  await assert.rejects(
    () => new Response(result.stream).text(),
    (error: unknown) =>
      error instanceof IncompleteBodyError && error.reason === "closed" &&
      /after 4 of 10 body bytes/.test(error.message),
  );
  assert.equal(result.complete(), false);
});

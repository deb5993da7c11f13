/** How request lines and headers are framed (docs/security.md#request-framing). */
import assert from "node:assert/strict";
import { parseHead } from "./request_head.ts";

function head(...lines: string[]) {
  return parseHead(lines.join("\r\n"));
}

function refusal(result: ReturnType<typeof parseHead>) {
  assert.equal(result.kind, "invalid", JSON.stringify(result));
  return result.kind === "invalid" ? result.status : undefined;
}

Deno.test("a request line with HTTP/1.1 and a Host is a request kept alive", () => {
  const result = head("POST /webhook?x=1 HTTP/1.1", "Host: agent", "A: b");
  assert.equal(result.kind, "request");
  if (result.kind !== "request") return;
  assert.equal(result.method, "POST");
  assert.equal(result.target, "/webhook?x=1");
  assert.equal(result.headers.get("a"), "b");
  assert.equal(result.keepAlive, true);
  assert.equal(result.expectContinue, false);
});

Deno.test("Transfer-Encoding is refused with 411, whatever its value", () => {
  assert.equal(
    refusal(head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked")),
    411,
  );
  assert.equal(
    refusal(
      head(
        "POST / HTTP/1.1",
        "Host: a",
        "Content-Length: 3",
        "Transfer-Encoding: gzip, chunked",
      ),
    ),
    411,
  );
});

Deno.test("versions other than HTTP/1.0 and HTTP/1.1 get 505", () => {
  for (const version of ["HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3"]) {
    assert.equal(refusal(head(`GET / ${version}`, "Host: a")), 505, version);
  }
});

Deno.test("an absolute-form or asterisk target is a bad request, not a bad version", () => {
  assert.equal(
    refusal(head("GET http://agent/healthz HTTP/1.1", "Host: agent")),
    400,
  );
  assert.equal(refusal(head("OPTIONS * HTTP/1.1", "Host: agent")), 400);
  assert.equal(refusal(head("CONNECT agent:443 HTTP/1.1", "Host: a")), 400);
});

Deno.test("malformed request lines and header lines get 400", () => {
  for (
    const line of [
      "GET /",
      "get / HTTP/1.1",
      "GET  / HTTP/1.1",
      "GET / http/1.1",
    ]
  ) {
    assert.equal(refusal(head(line, "Host: a")), 400, line);
  }
  assert.equal(refusal(head("GET / HTTP/1.1", "Host: a", "Bad : x")), 400);
  assert.equal(refusal(head("GET / HTTP/1.1", "Host: a", " folded")), 400);
  assert.equal(refusal(head("GET / HTTP/1.1", "Host: a", "A: \x01")), 400);
});

Deno.test("HTTP/1.1 without a Host, or with two, gets 400; HTTP/1.0 may omit it", () => {
  assert.equal(refusal(head("GET / HTTP/1.1")), 400);
  assert.equal(refusal(head("GET / HTTP/1.1", "Host: a", "host: b")), 400);
  assert.equal(refusal(head("GET / HTTP/1.0", "Host: a", "Host: a")), 400);
  assert.equal(head("GET / HTTP/1.0").kind, "request");
});

Deno.test("Expect: 100-continue is noted; another expectation gets 417; HTTP/1.0 ignores it", () => {
  const result = head("POST / HTTP/1.1", "Host: a", "Expect: 100-Continue");
  assert.equal(result.kind === "request" && result.expectContinue, true);
  assert.equal(refusal(head("POST / HTTP/1.1", "Host: a", "Expect: x")), 417);
  const old = head("POST / HTTP/1.0", "Expect: 100-continue");
  assert.equal(old.kind === "request" && old.expectContinue, false);
});

Deno.test("keep-alive: HTTP/1.1 unless Connection: close, HTTP/1.0 only when asked", () => {
  const keepAlive = (...lines: string[]) => {
    const result = head(...lines);
    assert.equal(result.kind, "request");
    return result.kind === "request" && result.keepAlive;
  };
  assert.equal(keepAlive("GET / HTTP/1.1", "Host: a"), true);
  assert.equal(
    keepAlive("GET / HTTP/1.1", "Host: a", "Connection: close"),
    false,
  );
  assert.equal(keepAlive("GET / HTTP/1.0"), false);
  assert.equal(keepAlive("GET / HTTP/1.0", "Connection: Keep-Alive"), true);
});

/**
 * The HTTP endpoint against hostile and unlucky clients: idle and slow
 * connections, bursts of large unsigned bodies, floods of page views, and
 * clients that hang up mid-body. Every loop is bounded; figures measured
 * here are written to test-output/http_hardening.txt.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { pause, waitUntil } from "./helpers/agent_process.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { hookFile, readLines } from "./helpers/hooks.ts";
import { freePort } from "./helpers/http_receiver.ts";
import { pushBody, pushHeaders } from "./helpers/webhook_requests.ts";

const SECRET = "hardening secret";
const READ_TOKEN = "let me read";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Appends a measured figure for the operator's guide. */
async function recordFigure(line: string): Promise<void> {
  await Deno.mkdir("test-output", { recursive: true });
  await Deno.writeTextFile("test-output/http_hardening.txt", `${line}\n`, {
    append: true,
  });
}

/** A repository whose `api` service appends each deployed commit to `deploys`, served by a daemon with `webhook` settings. */
async function deployingDaemon(
  webhook: string[],
  options: {
    env?: Record<string, string>;
    logLevel?: string;
    v8Flags?: string;
  } = {},
): Promise<{ fixture: GitFixture; daemon: DaemonProcess; deploys: string }> {
  const fixture = await GitFixture.create({
    ".upstream-watch.yaml": [
      "retry_interval: 3600",
      "webhook:",
      `  listen: "127.0.0.1:${freePort()}"`,
      `  secret: "\${UW_HARDENING_SECRET}"`,
      ...webhook.map((line) => `  ${line}`),
    ].join("\n") + "\n",
  });
  const deploys = join(fixture.root, "deploys.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [`echo "$UPSTREAM_WATCH_COMMIT" >> '${deploys}'`],
    }),
  });
  let daemon: DaemonProcess;
  try {
    daemon = await DaemonProcess.start(
      [
        "--repo",
        fixture.clone,
        "--host",
        "test-host",
        "--log-level",
        options.logLevel ?? "info",
        "run",
      ],
      {
        env: { UW_HARDENING_SECRET: SECRET, ...options.env },
        v8Flags: options.v8Flags,
      },
    );
  } catch (error) {
    await fixture[Symbol.asyncDispose]();
    throw error;
  }
  await waitUntil(async () => (await readLines(deploys)).length === 1, {
    message: "the first deploy",
  });
  return { fixture, daemon, deploys };
}

/** The daemon still deploys: a push announced by a signed webhook reaches the hook. */
async function assertStillDeploys(
  fixture: GitFixture,
  daemon: DaemonProcess,
  deploys: string,
): Promise<void> {
  const commit = await fixture.push({ "api/app.conf": `${Date.now()}\n` });
  const body = pushBody("main");
  const response = await fetch(`${daemon.url}/webhook`, {
    method: "POST",
    headers: pushHeaders("github", SECRET, body),
    body,
  });
  assert.equal(response.status, 202);
  await response.body?.cancel();
  await waitUntil(async () => (await readLines(deploys)).includes(commit), {
    message: "the pushed commit deployed",
  });
}

/** Opens `count` raw connections to `url`, runs `use` with them and closes every one that opened, whatever `use` does. */
async function withClients(
  url: string,
  count: number,
  use: (clients: RawClient[]) => Promise<void>,
): Promise<void> {
  const clients: RawClient[] = [];
  try {
    for (let index = 0; index < count; index++) {
      clients.push(await RawClient.connect(url));
    }
    await use(clients);
  } finally {
    for (const client of clients) await client[Symbol.asyncDispose]();
  }
}

async function healthz(daemon: DaemonProcess): Promise<number> {
  const response = await fetch(`${daemon.url}/healthz`);
  await response.body?.cancel();
  return response.status;
}

/** A raw TCP client that records what the server sends and when it closes. */
class RawClient implements AsyncDisposable {
  received = "";
  closed = false;
  readonly #reading: Promise<void>;

  private constructor(readonly conn: Deno.TcpConn) {
    this.#reading = this.#read();
  }

  static async connect(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    return new RawClient(
      await Deno.connect({ hostname, port: Number(port) }),
    );
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(4096);
    try {
      while (true) {
        const count = await this.conn.read(buffer);
        if (count === null) break;
        this.received += decoder.decode(buffer.subarray(0, count));
      }
    } catch {
      // Reset by the server, or closed by us.
    }
    this.closed = true;
  }

  /** False once the connection is gone. */
  async send(text: string | Uint8Array): Promise<boolean> {
    try {
      const bytes = typeof text === "string" ? encoder.encode(text) : text;
      let offset = 0;
      while (offset < bytes.byteLength) {
        offset += await this.conn.write(bytes.subarray(offset));
      }
      return true;
    } catch {
      return false;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // The server closed it first.
    }
    await this.#reading;
  }
}

/** Resident memory of a process in bytes (Linux). */
async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

// ------------------------------------------------------------ connections

Deno.test("beyond max_connections idle connections are closed at once; the held ones time out and the daemon keeps deploying", async () => {
  const { fixture, daemon, deploys } = await deployingDaemon([
    "max_connections: 32",
    "header_timeout: 3",
  ]);
  await using _fixture = fixture;
  await using _daemon = daemon;
  await withClients(daemon.url, 100, async (clients) => {
    // The refused ones are closed as soon as they are accepted.
    await waitUntil(
      () => clients.filter((client) => client.closed).length >= 68,
      { message: "connections beyond the cap are closed" },
    );
    const held = clients.filter((client) => !client.closed).length;
    assert.equal(held, 32, "connections held at once");
    await recordFigure(
      `idle connections: 100 opened, ${held} held at once (max_connections: 32), the rest closed at once`,
    );
    // The held ones send nothing: the header timeout frees them.
    await waitUntil(() => clients.every((client) => client.closed), {
      message: "the idle connections time out",
    });
  });
  assert.equal(daemon.process.status, undefined, "the daemon runs");
  assert.equal(await healthz(daemon), 200);
  await assertStillDeploys(fixture, daemon, deploys);
});

Deno.test("128 idle connections do not lock out /healthz: the longest-waiting idle one makes room", async () => {
  const { fixture, daemon } = await deployingDaemon(["header_timeout: 60"]);
  await using _fixture = fixture;
  await using _daemon = daemon;
  await withClients(daemon.url, 130, async (clients) => {
    // Every slot is taken by a client that sends nothing.
    await waitUntil(
      () => clients.filter((client) => client.closed).length >= 2,
      { message: "the two oldest idle connections make room" },
    );
    for (let probe = 0; probe < 3; probe++) {
      const response = await fetch(`${daemon.url}/healthz`, {
        signal: AbortSignal.timeout(5_000),
      });
      await response.body?.cancel();
      assert.equal(response.status, 200);
    }
    // The oldest were closed first; the newest still wait.
    assert.ok(clients[0].closed && !clients.at(-1)!.closed);
  });
  await waitUntil(
    () => /closed \d+ idle one\(s\) to make room/.test(daemon.process.stderr),
    { message: "the pressure is logged" },
  );
});

Deno.test("out of file descriptors, accept errors are logged and the daemon recovers", async () => {
  // A cap above the descriptor limit: accept itself fails, as with Deno.serve at 1,024.
  const { fixture, daemon, deploys } = await deployingDaemon([
    "max_connections: 10000",
    "header_timeout: 3",
  ]);
  await using _fixture = fixture;
  await using _daemon = daemon;
  const limit = await new Deno.Command("prlimit", {
    args: ["--pid", String(daemon.process.pid), "--nofile=160:160"],
  }).output();
  assert.equal(limit.code, 0, decoder.decode(limit.stderr));
  await withClients(daemon.url, 300, async () => {
    await waitUntil(
      () => /accepting an HTTP connection failed/.test(daemon.process.stderr),
      { message: "the accept error is logged" },
    );
    assert.equal(daemon.process.status, undefined, "the daemon runs");
  });
  await waitUntil(async () => {
    try {
      return await healthz(daemon) === 200;
    } catch {
      return false;
    }
  }, { message: "/healthz answers again" });
  await assertStillDeploys(fixture, daemon, deploys);
  assert.equal(daemon.process.status, undefined, "the daemon runs");
});

Deno.test("a slowloris on the headers is cut off by the header timeout", async () => {
  const { fixture, daemon, deploys } = await deployingDaemon([
    "header_timeout: 1",
  ]);
  await using _fixture = fixture;
  await using _daemon = daemon;
  await using client = await RawClient.connect(daemon.url);
  await client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");
  let sent = 0;
  // 40 header lines at 250 ms would take 10 s; the server gives 1 s.
  while (!client.closed && sent < 40) {
    if (!(await client.send(`X-Slow-${sent}: 1\r\n`))) break;
    sent++;
    await pause(250);
  }
  await waitUntil(() => client.closed, { message: "the server closed it" });
  assert.ok(sent < 40, `the server waited for all ${sent} header lines`);
  assert.equal(client.received, "", "no request was served");
  assert.equal(await healthz(daemon), 200);
  await assertStillDeploys(fixture, daemon, deploys);
});

Deno.test("a slowloris on a signed body is cut off by the body timeout and logged at debug only", async () => {
  const { fixture, daemon, deploys } = await deployingDaemon([
    "body_timeout: 1",
  ], { logLevel: "debug" });
  await using _fixture = fixture;
  await using _daemon = daemon;
  await using client = await RawClient.connect(daemon.url);
  await client.send(
    "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
      `X-Hub-Signature-256: sha256=${"0".repeat(64)}\r\n` +
      "Content-Length: 100000\r\n\r\n",
  );
  let sent = 0;
  while (!client.closed && sent < 40) {
    if (!(await client.send("{{{{{{{{{{"))) break;
    sent++;
    await pause(250);
  }
  await waitUntil(() => client.closed, { message: "the server closed it" });
  assert.ok(sent < 40, `the server waited for all ${sent} body chunks`);
  assert.doesNotMatch(client.received, /^HTTP\/1\.1 500/);
  assert.equal(await healthz(daemon), 200);
  await assertStillDeploys(fixture, daemon, deploys);
  assert.doesNotMatch(daemon.process.stderr, /ERR.*HTTP|HTTP.*failed/);
});

Deno.test("a client that hangs up mid-body is logged at debug, not as an error, and gets no 500", async () => {
  const { fixture, daemon } = await deployingDaemon([], { logLevel: "debug" });
  await using _fixture = fixture;
  await using _daemon = daemon;
  {
    await using client = await RawClient.connect(daemon.url);
    await client.send(
      "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        `X-Hub-Signature-256: sha256=${"0".repeat(64)}\r\n` +
        "Content-Length: 1000\r\n\r\n0123456789",
    );
    await client.conn.closeWrite();
    await waitUntil(() => client.closed, { message: "the server closed it" });
    assert.doesNotMatch(client.received, /^HTTP\/1\.1 500/);
  }
  const line = await waitUntil(
    () =>
      daemon.process.stderr.split("\n").find((line) =>
        line.includes("closed the connection after 10 of 1000 body bytes")
      ),
    { message: "the dropped body is logged" },
  );
  assert.match(line, /DBG|debug/i);
  assert.doesNotMatch(daemon.process.stderr, /ERR.*HTTP|HTTP.*failed/);
  assert.equal(await healthz(daemon), 200);
});

/** Posts `count` near-limit bodies with a bad signature, `concurrency` at a time; the number refused with 401. */
async function postBadlySigned(
  url: string,
  options: {
    count: number;
    concurrency: number;
    onRound?: () => Promise<void>;
  },
): Promise<number> {
  const body = new Uint8Array(1024 * 1024 - 1).fill(0x7b);
  let rejected = 0;
  for (let sent = 0; sent < options.count; sent += options.concurrency) {
    const statuses = await Promise.all(
      Array.from(
        { length: Math.min(options.concurrency, options.count - sent) },
        async () => {
          const response = await fetch(`${url}/webhook`, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              "X-GitHub-Event": "push",
              "X-Hub-Signature-256": `sha256=${"0".repeat(64)}`,
            },
            body,
          });
          await response.body?.cancel();
          return response.status;
        },
      ),
    );
    rejected += statuses.filter((status) => status === 401).length;
    await options.onRound?.();
  }
  return rejected;
}

/** The lowest RSS seen within `ms` of polling. */
async function settledRss(pid: number, ms: number): Promise<number> {
  let lowest = Infinity;
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    lowest = Math.min(lowest, await rssBytes(pid));
    await pause(100);
  }
  return lowest;
}

/** Resident memory may exceed the idle level by this much once a burst is over. */
const BURST_RSS_MARGIN_BYTES = 10 * 1024 * 1024;
/** The buffers the daemon keeps for unauthenticated bodies: 8 of 1 MiB. */
const BODY_BUFFER_BYTES = 8 * 1024 * 1024;

Deno.test("a burst of 300 near-limit bodies with bad signatures leaves memory at its idle level", async () => {
  const { fixture, daemon, deploys } = await deployingDaemon([], {
    v8Flags: "--expose-gc,--max-semi-space-size=1",
  });
  await using _fixture = fixture;
  await using _daemon = daemon;
  const pid = daemon.process.pid;
  assert.equal(await healthz(daemon), 200);
  const cold = await settledRss(pid, 1_000);
  // Warm up first, so the idle level includes compiled code and the reused
  // body buffers, not what the burst leaves behind.
  assert.equal(
    await postBadlySigned(daemon.url, { count: 16, concurrency: 8 }),
    16,
  );
  await assertStillDeploys(fixture, daemon, deploys);
  const idle = await settledRss(pid, 1_500);
  let peak = idle;
  const rejected = await postBadlySigned(daemon.url, {
    count: 300,
    concurrency: 20,
    onRound: async () => {
      peak = Math.max(peak, await rssBytes(pid));
    },
  });
  assert.equal(rejected, 300, "every bad signature is refused");
  const after = await waitUntil(async () => {
    const rss = await rssBytes(pid);
    return rss <= idle + BURST_RSS_MARGIN_BYTES ? rss : undefined;
  }, {
    message: "memory returns to its idle level",
    timeoutMs: 5_000,
    intervalMs: 100,
  });
  // The warm-up must not hide a leak: beyond the body buffers, the same margin.
  assert.ok(
    after <= cold + BODY_BUFFER_BYTES + BURST_RSS_MARGIN_BYTES,
    `RSS ${after} after the burst, ${cold} before any webhook`,
  );
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
  await recordFigure(
    `300 bodies of 1 MiB - 1 byte, bad signatures, 20 at a time: RSS ${
      mb(cold)
    } MB before any webhook, ${mb(idle)} MB idle after warm-up, ${
      mb(peak)
    } MB at most during, ${mb(after)} MB after`,
  );
  assert.equal(await healthz(daemon), 200);
  await assertStillDeploys(fixture, daemon, deploys);
});

// ------------------------------------------------------------ read-only endpoints

/** A `git` on PATH that counts its runs in `count` and then runs the real git. */
async function countingGit(
  dir: string,
): Promise<{ path: string; count: string }> {
  const bin = join(dir, "bin");
  const count = join(dir, "git-runs.log");
  await Deno.mkdir(bin, { recursive: true });
  const real = new TextDecoder().decode(
    (await new Deno.Command("sh", { args: ["-c", "command -v git"] }).output())
      .stdout,
  ).trim();
  await Deno.writeTextFile(
    join(bin, "git"),
    `#!/bin/sh\necho "$1" >> '${count}'\nexec '${real}' "$@"\n`,
  );
  await Deno.chmod(join(bin, "git"), 0o755);
  return { path: `${bin}:${Deno.env.get("PATH")}`, count };
}

Deno.test("page views and /api/status start no git process, and the status follows a push", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uw-git-count-" });
  try {
    const git = await countingGit(dir);
    const { fixture, daemon, deploys } = await deployingDaemon([], {
      env: { PATH: git.path },
    });
    await using _fixture = fixture;
    await using _daemon = daemon;
    const first = await fetch(`${daemon.url}/api/status`);
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const before = (await readLines(git.count)).length;
    let served = 0;
    for (let index = 0; index < 12; index++) {
      for (const path of ["/", "/api/status"]) {
        const response = await fetch(`${daemon.url}${path}`);
        assert.equal(response.status, 200, path);
        await response.body?.cancel();
        served++;
      }
    }
    const started = (await readLines(git.count)).length - before;
    assert.equal(started, 0, `${served} GETs started ${started} git processes`);
    await recordFigure(
      `${served} GETs of / and /api/status: ${started} git processes`,
    );

    await assertStillDeploys(fixture, daemon, deploys);
    const [head] = (await readLines(deploys)).slice(-1);
    const answered = await waitUntil(async () => {
      const response = await fetch(`${daemon.url}/api/status`);
      const document = await response.json();
      return document.head === head ? document : undefined;
    }, { message: "/api/status shows the new HEAD", intervalMs: 1_000 });
    assert.equal(answered.services[0].deployedCommit, head);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a flood of page views from one client gets 429 with Retry-After; /healthz and webhooks still answer", async () => {
  const { fixture, daemon, deploys } = await deployingDaemon([]);
  await using _fixture = fixture;
  await using _daemon = daemon;
  const counts = new Map<number, number>();
  let retryAfter: string | null = null;
  for (let round = 0; round < 10; round++) {
    const statuses = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await fetch(`${daemon.url}/api/status`);
        if (response.status === 429) {
          retryAfter = response.headers.get("retry-after");
        }
        await response.body?.cancel();
        return response.status;
      }),
    );
    for (const status of statuses) {
      counts.set(status, (counts.get(status) ?? 0) + 1);
    }
  }
  const ok = counts.get(200) ?? 0;
  const limited = counts.get(429) ?? 0;
  assert.equal(ok + limited, 1000, JSON.stringify([...counts]));
  assert.ok(ok >= 1 && ok < 100, `${ok} of 1000 served`);
  assert.match(String(retryAfter), /^\d+$/);
  await recordFigure(
    `1000 GETs of /api/status from one client: ${ok} served, ${limited} answered 429`,
  );
  assert.equal(await healthz(daemon), 200);
  await assertStillDeploys(fixture, daemon, deploys);
});

Deno.test("with read_token the read-only endpoints answer 401 without it; /healthz stays open", async () => {
  const { fixture, daemon } = await deployingDaemon([
    `read_token: "\${UW_HARDENING_READ_TOKEN}"`,
  ], { env: { UW_HARDENING_READ_TOKEN: READ_TOKEN } });
  await using _fixture = fixture;
  await using _daemon = daemon;
  const status = async (path: string, headers: Record<string, string>) => {
    const response = await fetch(`${daemon.url}${path}`, { headers });
    await response.body?.cancel();
    return { status: response.status, headers: response.headers };
  };
  for (const path of ["/", "/api/status", "/metrics", "/runs/1"]) {
    const refused = await status(path, {});
    assert.equal(refused.status, 401, path);
    assert.match(refused.headers.get("www-authenticate") ?? "", /^Basic /);
    assert.equal(
      (await status(path, { Authorization: "Bearer wrong" })).status,
      401,
      path,
    );
    assert.equal(
      (await status(path, { Authorization: `Bearer ${READ_TOKEN}` })).status,
      200,
      path,
    );
  }
  assert.equal(
    (await status("/", {
      Authorization: `Basic ${btoa(`anyone:${READ_TOKEN}`)}`,
    })).status,
    200,
    "a browser's basic auth with the token as password",
  );
  assert.equal((await status("/healthz", {})).status, 200);
});

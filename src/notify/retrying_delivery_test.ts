import assert from "node:assert/strict";
import { agentLogger } from "../log/logging.ts";
import type { DeliveryResult } from "./http_post.ts";
import { DeliveryQueue } from "./retrying_delivery.ts";

Deno.test("a target that stays down loses its oldest waiting items first, and never holds up another target", async () => {
  const sent: string[] = [];
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => release = resolve);
  const queue = new DeliveryQueue<{ target: string; name: string }>({
    noun: "items",
    key: (item) => item.target,
    describe: (item) => ({ what: item.name, target: item.target }),
    send: async (item): Promise<DeliveryResult> => {
      // The first item of "down" hangs until released: everything behind it waits.
      if (item.name === "down-1") await blocked;
      sent.push(item.name);
      return { kind: "delivered", status: 201 };
    },
  }, { logger: agentLogger(), maxPending: 2 });

  for (const name of ["down-1", "down-2", "down-3", "down-4"]) {
    queue.enqueue({ target: "down", name });
  }
  queue.enqueue({ target: "up", name: "up-1" });
  // down-1 is in flight; down-2 was the oldest waiting when down-4 arrived.
  assert.equal(queue.counts.dropped, 1);
  assert.equal(queue.pending, 4);
  for (let turn = 0; turn < 100 && !sent.includes("up-1"); turn++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  assert.deepEqual(sent, ["up-1"], "the other target is not held up");
  release();
  assert.equal(await queue.close(5_000), 0);
  assert.deepEqual(sent, ["up-1", "down-1", "down-3", "down-4"]);
  assert.deepEqual(queue.counts, { delivered: 4, failed: 0, dropped: 1 });
});

Deno.test("items are retried with backoff until delivered, and a refusal is not retried", async () => {
  const attempts = new Map<string, number>();
  const queue = new DeliveryQueue<string>({
    noun: "items",
    key: (item) => item,
    describe: (item) => ({ what: item, target: item }),
    send: (item) => {
      const attempt = (attempts.get(item) ?? 0) + 1;
      attempts.set(item, attempt);
      if (item === "refused") {
        return Promise.resolve({
          kind: "failed",
          error: "HTTP 401",
          retry: false,
          status: 401,
        });
      }
      return Promise.resolve(
        attempt < 3
          ? { kind: "failed", error: "HTTP 503", retry: true, status: 503 }
          : { kind: "delivered", status: 201 },
      );
    },
  }, { logger: agentLogger(), backoffMs: () => 1 });
  queue.enqueue("flaky");
  queue.enqueue("refused");
  assert.equal(await queue.close(5_000), 0);
  assert.equal(attempts.get("flaky"), 3);
  assert.equal(attempts.get("refused"), 1);
  assert.deepEqual(queue.counts, { delivered: 1, failed: 1, dropped: 0 });
});

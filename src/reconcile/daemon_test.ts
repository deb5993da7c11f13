/** Cycle requests: how webhook pushes wake and coalesce with the daemon loop. */
import assert from "node:assert/strict";
import { CycleRequests } from "./daemon.ts";

Deno.test("cycle requests wake a waiting loop at once and coalesce while a cycle runs", async () => {
  const requests = new CycleRequests();
  const stop = new AbortController();
  const waiting = requests.next(60_000, stop.signal);
  assert.equal(requests.request(), "started");
  assert.equal(requests.request(), "coalesced");
  assert.equal(await waiting, "webhook", "woken long before the poll");

  requests.cycleRunning(true);
  const answers = Array.from({ length: 99 }, () => requests.request());
  requests.cycleRunning(false);
  assert.deepEqual(
    [answers[0], new Set(answers.slice(1))],
    ["queued", new Set(["coalesced"])],
  );
  assert.equal(await requests.next(60_000, stop.signal), "webhook");

  const idle = requests.next(60_000, stop.signal);
  stop.abort();
  assert.equal(await idle, undefined, "stop ends the wait");
});

/** Cycle requests: how webhook pushes wake and coalesce with the daemon loop. */
import assert from "node:assert/strict";
import { BURST_GAP_MS, CycleRequests } from "./daemon.ts";

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

Deno.test("a lone request queued while a cycle runs starts right after it, without waiting for a pause", async () => {
  const requests = new CycleRequests({ now: () => 0 });
  const stop = new AbortController();
  requests.cycleRunning(true);
  assert.equal(requests.request(), "queued");
  requests.cycleRunning(false);
  // The clock never moves: any wait for a pause would never end.
  assert.equal(await requests.next(60_000, stop.signal), "webhook");
});

Deno.test("a cycle queued during a burst starts only once the requests pause", async () => {
  let now = 1_000_000;
  const requests = new CycleRequests({ now: () => now });
  const stop = new AbortController();
  requests.cycleRunning(true);
  assert.equal(requests.request(), "queued");
  now += BURST_GAP_MS - 1;
  assert.equal(requests.request(), "coalesced");
  requests.cycleRunning(false);
  let started = false;
  const next = requests.next(60_000, stop.signal).then((trigger) => {
    started = true;
    return trigger;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(started, false, "no pause yet on the agent's clock");
  assert.equal(requests.request(), "coalesced");
  now += BURST_GAP_MS;
  assert.equal(await next, "webhook");
});

Deno.test("a lone request while the loop waits starts at once, without waiting for a pause", async () => {
  const requests = new CycleRequests({ now: () => 0 });
  const stop = new AbortController();
  const waiting = requests.next(60_000, stop.signal);
  assert.equal(requests.request(), "started");
  // The clock never moves: any wait for a pause would never end.
  assert.equal(await waiting, "webhook");
});

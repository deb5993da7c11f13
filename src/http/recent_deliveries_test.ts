import assert from "node:assert/strict";
import {
  DELIVERY_MEMORY_MS,
  deliveryId,
  MAX_REMEMBERED_DELIVERIES,
  RecentDeliveries,
} from "./recent_deliveries.ts";

Deno.test("a delivery id is a duplicate within the memory and new again after it", () => {
  let now = 0;
  const deliveries = new RecentDeliveries(() => now);
  assert.equal(deliveries.seenBefore("a"), false);
  now = DELIVERY_MEMORY_MS - 1;
  assert.equal(deliveries.seenBefore("a"), true);
  now = DELIVERY_MEMORY_MS;
  assert.equal(deliveries.seenBefore("a"), false);
});

Deno.test("beyond the limit the oldest ids are forgotten first", () => {
  const deliveries = new RecentDeliveries(() => 0);
  for (let index = 0; index <= MAX_REMEMBERED_DELIVERIES; index++) {
    deliveries.seenBefore(`id-${index}`);
  }
  assert.equal(deliveries.seenBefore(`id-${MAX_REMEMBERED_DELIVERIES}`), true);
  assert.equal(deliveries.seenBefore("id-0"), false);
});

Deno.test("each host's delivery header names the delivery; the same id from two hosts is two deliveries", () => {
  const id = (headers: Record<string, string>) =>
    deliveryId(new Headers(headers));
  assert.equal(id({ "X-GitHub-Delivery": "u1" }), "x-github-delivery: u1");
  assert.equal(id({ "X-Gitea-Delivery": "u1" }), "x-gitea-delivery: u1");
  assert.equal(id({ "X-Gogs-Delivery": "u1" }), "x-gogs-delivery: u1");
  assert.equal(id({ "X-Gitlab-Event-UUID": "u1" }), "x-gitlab-event-uuid: u1");
  assert.equal(id({ Authorization: "Bearer x" }), undefined);
  assert.equal(id({ "X-GitHub-Delivery": "x".repeat(200) }), undefined);
});

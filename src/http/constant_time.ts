/** Comparing secrets in constant time: the one place that calls `timingSafeEqual`. */
import { createHash, timingSafeEqual } from "node:crypto";

/** True when both byte strings are equal; the time taken depends only on their lengths. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}

/** True when `presented` is `secret`, in a time that depends on neither (both are hashed first). */
export function sameSecret(presented: string, secret: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return sameBytes(digest(presented), digest(secret));
}

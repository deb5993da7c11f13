// Imports nothing; says "ready" and idles until stdin closes: the RSS of Deno itself.
(globalThis as { gc?: () => void }).gc?.();
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
for await (const _ of Deno.stdin.readable) {
  // Waits for the bench to close stdin.
}

// Imports nothing and does nothing: `deno run` of this is the floor of `main.ts version`.

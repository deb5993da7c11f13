/**
 * The Deno permissions upstream-watch runs with, in one place: `deno task
 * compile` bakes them into the binaries, `deno task start` and `deno task
 * demo` run `main.ts` under them, and a test can spawn `main.ts` with exactly
 * these flags to prove they suffice.
 *
 * Why each one:
 * - `--allow-run`: git and the services' hook commands
 * - `--allow-read`, `--allow-write`: the repository, its config and the SQLite state file
 * - `--allow-env`: hook environments, `UPSTREAM_WATCH_HOST`, `${NAME}` references in the config
 * - `--allow-sys`: the machine's hostname, matched against services' `hosts`
 * - `--allow-net`: notifications and the optional webhook server
 *
 * Keep the `start` and `demo` tasks in deno.json in step with this list.
 */
export const PERMISSION_FLAGS: readonly string[] = [
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-net",
];

/**
 * V8 flags baked into the binaries and used by `deno task start`, for a
 * daemon's memory: `--expose-gc` lets the poll loop collect between cycles
 * (src/reconcile/daemon.ts) so RSS stays flat over thousands of idle cycles,
 * and a 1 MB semi-space keeps the young generation small while a hook floods
 * output. Measured by `deno task bench` (docs/performance.md).
 */
export const V8_FLAGS = "--v8-flags=--expose-gc,--max-semi-space-size=1";

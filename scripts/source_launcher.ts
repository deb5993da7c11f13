/**
 * `deno run --allow-write scripts/source_launcher.ts OUT APP_DIR`: writes to
 * OUT a POSIX shell launcher that runs upstream-watch from its sources in
 * APP_DIR with Deno, under the same permission and V8 flags as the compiled
 * binaries (scripts/permissions.ts), offline (`--cached-only`) from the
 * Deno cache in APP_DIR/deno-dir.
 *
 * The Dockerfile uses it for images built with `--build-arg AGENT=source`,
 * where `deno compile` cannot fetch the runtime it embeds.
 */
import { PERMISSION_FLAGS, V8_FLAGS } from "./permissions.ts";

/** The launcher's text for sources in `appDir`. */
export function sourceLauncher(appDir: string): string {
  const flags = [...PERMISSION_FLAGS, V8_FLAGS].join(" ");
  return [
    "#!/bin/sh",
    "# upstream-watch from source (written by scripts/source_launcher.ts).",
    `DENO_DIR='${appDir}/deno-dir'`,
    "export DENO_DIR",
    `exec deno run --quiet --cached-only --frozen ${flags} '${appDir}/main.ts' "$@"`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const [out, appDir] = Deno.args;
  if (!out || !appDir?.startsWith("/") || appDir.includes("'")) {
    throw new Error(
      "usage: source_launcher.ts OUT APP_DIR (APP_DIR absolute, without quotes)",
    );
  }
  await Deno.writeTextFile(out, sourceLauncher(appDir), { mode: 0o755 });
  await Deno.chmod(out, 0o755);
}

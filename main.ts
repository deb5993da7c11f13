import { isVersionAlone, versionText } from "./src/cli/version_text.ts";
import { writeAll } from "./src/log/write_all.ts";

if (import.meta.main) {
  // Loading the program (commander, yaml, every command) is most of a start:
  // `version` alone answers before it. The import stays a string literal so
  // `deno compile` bundles the program.
  if (isVersionAlone(Deno.args)) {
    writeAll(Deno.stdout, new TextEncoder().encode(versionText()));
    Deno.exit(0);
  }
  const { runCli } = await import("./src/cli/program.ts");
  Deno.exit(await runCli(Deno.args));
}

import { isVersionAlone, versionText } from "./src/cli/version_text.ts";
import { writeAll } from "./src/log/write_all.ts";
import type * as Program from "./src/cli/program.ts";

/**
 * Where the program is: not a string literal, since `deno run` loads the whole
 * graph of a literal dynamic import (npm packages included) before the first
 * line runs, which is most of a `version`. `deno compile` is told to include
 * it (scripts/compile.ts).
 */
export const PROGRAM_MODULE = "./src/cli/program.ts";

if (import.meta.main) {
  // Loading the program (commander, yaml, every command) is most of a start:
  // `version` alone answers before it.
  if (isVersionAlone(Deno.args)) {
    writeAll(Deno.stdout, new TextEncoder().encode(versionText()));
    Deno.exit(0);
  }
  let program: typeof Program;
  try {
    program = await import(new URL(PROGRAM_MODULE, import.meta.url).href);
  } catch (error) {
    // Typically run without --allow-read, which every command needs anyway.
    const reason = error instanceof Error ? error.message : String(error);
    writeAll(
      Deno.stderr,
      new TextEncoder().encode(
        `upstream-watch: cannot load the program: ${reason.split("\n")[0]}\n`,
      ),
    );
    Deno.exit(1);
  }
  Deno.exit(await program.runCli(Deno.args));
}

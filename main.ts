import { runCli } from "./src/cli/program.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}

import { VERSION } from "../version.ts";

/** The line `version` prints: version, Deno version and platform. */
export function versionText(): string {
  return `upstream-watch ${VERSION} (deno ${Deno.version.deno}, ${Deno.build.os} ${Deno.build.arch})\n`;
}

/** Whether the command line is `version` alone, which main.ts answers without loading the program. */
export function isVersionAlone(args: readonly string[]): boolean {
  return args.length === 1 && args[0] === "version";
}

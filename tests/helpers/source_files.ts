/** The project's TypeScript sources and the specifiers they import, for the tests that check the import graph. */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/** Static imports and re-exports (`import type`, `export * from`, side-effect imports); group 1 is the specifier. */
export const IMPORT_STATEMENT =
  /^[ \t]*(?:(?:import|export)\b[^;]*?\bfrom\s*|import\s*)["']([^"']+)["']/gm;

/** Every `.ts` file under `dir` except unit tests, keyed by its path relative to `dir`. */
export function sourceFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    if (entry.name.endsWith("_test.ts")) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), readFileSync(path, "utf8"));
  }
  return files;
}

/** A dynamic import with a literal specifier (`await import("pkg")`), which loads the module as surely as a static one, only later. */
const LITERAL_DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** The specifiers `text` imports, statically or by a dynamic import of a literal. */
export function importedSpecifiers(text: string): string[] {
  return [
    ...text.matchAll(IMPORT_STATEMENT),
    ...text.matchAll(LITERAL_DYNAMIC_IMPORT),
  ].map((match) => match[1]);
}

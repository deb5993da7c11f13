/** Keeping the agent's own files out of the repository's `git status`. */
import { isAbsolute, join, relative } from "node:path";

/** Keeps the state file (and its WAL files) out of `git status` via `.git/info/exclude`. */
export async function excludeFromGit(
  root: string,
  gitCommonDir: string,
  statePath: string,
): Promise<void> {
  const inside = relative(root, statePath);
  if (inside.startsWith("..") || isAbsolute(inside)) return;
  const pattern = `/${inside.split("\\").join("/")}*`;
  const excludeFile = join(gitCommonDir, "info", "exclude");
  let current = "";
  try {
    current = await Deno.readTextFile(excludeFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    await Deno.mkdir(join(gitCommonDir, "info"), { recursive: true });
  }
  if (current.split(/\r?\n/).includes(pattern)) return;
  const separator = current === "" || current.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile(
    excludeFile,
    `${current}${separator}# upstream-watch state\n${pattern}\n`,
  );
}

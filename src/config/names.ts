/**
 * Names and paths in the configuration: top-level folders, git remotes and
 * branches, the state file, host names and watch paths. Each is checked where
 * it is written, because each ends up in a path or a git command line.
 */
import { describe } from "./describe_value.ts";
import { type ConfigReader, type Entry, unique } from "./reader.ts";

/** A folder name at the top of the repository (service or ignored folder). */
export function folderName(reader: ConfigReader, item: Entry): string {
  const raw = reader.string(item).trim();
  const name = raw.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
  if (name.includes("/") || name.includes("\\")) {
    reader.fail(
      `must be a top-level folder name without "/", got ${describe(item.node)}`,
      item.node,
      item.path,
    );
  }
  if (name === "" || name === "." || name === "..") {
    reader.fail(
      `must be a folder name, got ${describe(item.node)}`,
      item.node,
      item.path,
    );
  }
  return name;
}

/** Top-level folder names, without repeats; one string is a one-item list. */
export function folderNames(reader: ConfigReader, entry: Entry): string[] {
  return unique(
    reader.stringList(entry).map((item) => folderName(reader, item)),
  );
}

/** A remote or branch name: passed to git, so it may not look like an option. */
export function gitName(reader: ConfigReader, entry: Entry): string {
  const value = reader.string(entry);
  if (value.startsWith("-")) {
    reader.fail(
      `must not start with "-", got ${describe(entry.node)}`,
      entry.node,
      entry.path,
    );
  }
  if (/\s/.test(value) || hasControlCharacter(value)) {
    reader.fail(
      `must not contain spaces or control characters, got ${
        describe(entry.node)
      }`,
      entry.node,
      entry.path,
    );
  }
  return value;
}

/** The state database's path: a file, never a folder. */
export function stateFile(reader: ConfigReader, entry: Entry): string {
  const value = reader.string(entry);
  if (value.includes("\0")) {
    reader.fail("must not contain a NUL character", entry.node, entry.path);
  }
  if (/[\\/]$/.test(value)) {
    reader.fail(
      `must name a file, not a folder, got ${describe(entry.node)}`,
      entry.node,
      entry.path,
    );
  }
  return value;
}

/** Host names a service is handled on; an empty list is an error. */
export function hosts(reader: ConfigReader, entry: Entry): string[] {
  const items = reader.stringList(entry);
  if (items.length === 0) {
    reader.fail(
      "must not be empty (remove the key to handle the service on every host)",
      entry.node,
      entry.path,
    );
  }
  return unique(items.map((item) => {
    const value = reader.string(item).trim();
    if (/\s/.test(value)) {
      reader.fail(
        `must be a host name, got ${describe(item.node)}`,
        item.node,
        item.path,
      );
    }
    return value;
  }));
}

/** Repository-relative paths, normalised: no leading `./`, no trailing `/`, no `..`. */
export function watchPaths(reader: ConfigReader, entry: Entry): string[] {
  return unique(
    reader.stringList(entry).map((item) => {
      const raw = reader.string(item);
      if (/^([\\/]|[A-Za-z]:)/.test(raw)) {
        reader.fail(
          `must be relative to the repository root, got ${describe(item.node)}`,
          item.node,
          item.path,
        );
      }
      const parts = raw.replaceAll("\\", "/").split("/").filter((part) =>
        part !== "" && part !== "."
      );
      if (parts.includes("..")) {
        reader.fail(
          `must stay inside the repository (no ".."), got ${
            describe(item.node)
          }`,
          item.node,
          item.path,
        );
      }
      if (parts.length === 0) {
        reader.fail(
          `must name a file or folder inside the repository, got ${
            describe(item.node)
          }`,
          item.node,
          item.path,
        );
      }
      return parts.join("/");
    }),
  );
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

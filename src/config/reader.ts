/**
 * Typed readers over a parsed YAML document: every value is read with its
 * file, line, column and key path, so an error points at what the operator
 * wrote; unknown keys are warnings with a "did you mean" hint.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseDocument,
} from "yaml";
import { ConfigError, type ConfigLocation } from "../errors.ts";
import { closestKey } from "./closest_key.ts";
import {
  describe,
  describeType,
  firstLineWithoutPosition,
  quotedNumberHint,
} from "./describe_value.ts";
import { expandEnv } from "./expand_env.ts";
import { MAX_SECONDS } from "./numbers.ts";
import type { ConfigWarning } from "./types.ts";

/** One `key: value` pair of a mapping, with its key path. */
export interface Entry {
  /** Key path, e.g. `notify[1].url`. */
  path: string;
  keyNode: YamlNode;
  /** The value, aliases resolved; null values are dropped as "not set" unless kept on request. */
  node: YamlNode;
}

/** Keys of the other configuration file, to point an operator at the right one. */
export interface ForeignKeys {
  keys: readonly string[];
  file: string;
}

/** The reader's primitives, for key parsers kept in their own modules. */
export type ConfigFieldReader = Pick<
  ConfigReader,
  "string" | "oneOf" | "fail" | "fields" | "list" | "envReferences"
>;

/** YAML 1.1 booleans that the original Go tool's parser accepted. */
const LEGACY_BOOLEANS = new Map<string, boolean>([
  ["yes", true],
  ["on", true],
  ["no", false],
  ["off", false],
]);

/** One configuration file's YAML, read value by value with locations; collects warnings. */
export class ConfigReader {
  readonly warnings: ConfigWarning[] = [];
  readonly #file: string;
  readonly #lines = new LineCounter();
  readonly #root: YamlNode | null;
  readonly #doc: ReturnType<typeof parseDocument>;

  constructor(text: string, file: string) {
    this.#file = file;
    // A BOM is not part of the first line's columns.
    const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
    this.#doc = parseDocument(source, {
      version: "1.2",
      lineCounter: this.#lines,
      prettyErrors: false,
      // Duplicates are reported below with both lines.
      uniqueKeys: false,
    });
    const [error] = this.#doc.errors;
    if (error) {
      const { line, col } = this.#lines.linePos(error.pos[0]);
      const reason = error.code === "MULTIPLE_DOCS"
        ? 'the file must hold a single YAML document (found a second "---")'
        : `invalid YAML: ${firstLineWithoutPosition(error.message)}`;
      throw new ConfigError(reason, { file, line, column: col }, {
        cause: error,
      });
    }
    for (const warning of this.#doc.warnings) {
      const { line } = this.#lines.linePos(warning.pos[0]);
      this.warnings.push({
        file,
        line,
        message: firstLineWithoutPosition(warning.message),
      });
    }
    this.#root = this.#resolve(this.#doc.contents as YamlNode | null);
  }

  /** The root mapping's known entries; an empty document has none. */
  readRoot(
    known: readonly string[],
    foreign: ForeignKeys,
  ): Map<string, Entry> {
    const root = this.#root;
    if (root === null || (isScalar(root) && root.value === null)) {
      return new Map();
    }
    if (!isMap(root)) {
      this.fail(
        `the file must be a mapping of keys to values, got ${describe(root)}`,
        root,
        undefined,
      );
    }
    return this.mapping(root, "", { known, foreign });
  }

  /** `true` or `false` (also the YAML 1.1 words yes/no/on/off). */
  boolean(entry: Entry): boolean {
    const { node } = entry;
    if (isScalar(node)) {
      if (typeof node.value === "boolean") return node.value;
      if (node.type === "PLAIN" && typeof node.value === "string") {
        const legacy = LEGACY_BOOLEANS.get(node.value.toLowerCase());
        if (legacy !== undefined) return legacy;
      }
    }
    this.fail(`must be true or false, got ${describe(node)}`, node, entry.path);
  }

  /** A positive number of seconds, decimals allowed. */
  seconds(entry: Entry): number {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value !== "number" || !(value > 0) || !Number.isFinite(value)) {
      this.fail(
        `must be a positive number of seconds, got ${describe(node)}${
          quotedNumberHint(node)
        }`,
        node,
        entry.path,
      );
    }
    if (value > MAX_SECONDS) {
      this.fail(
        `must be at most ${MAX_SECONDS} seconds (about 24 days), got ${
          describe(node)
        }`,
        node,
        entry.path,
      );
    }
    return value;
  }

  /** An integer of at least 1. */
  count(entry: Entry): number {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (
      typeof value !== "number" || !Number.isSafeInteger(value) || value < 1
    ) {
      this.fail(
        `must be a whole number of at least 1, got ${describe(node)}${
          quotedNumberHint(node)
        }`,
        node,
        entry.path,
      );
    }
    return value;
  }

  /** One of the `allowed` strings. */
  oneOf<T extends string>(entry: Entry, allowed: readonly T[]): T {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (
      typeof value === "string" &&
      (allowed as readonly string[]).includes(value)
    ) {
      return value as T;
    }
    const options = allowed.map((option) => `"${option}"`).join(", ");
    this.fail(
      `must be one of ${options}, got ${describe(node)}`,
      node,
      entry.path,
    );
  }

  /** A non-empty string; `hideValue` keeps a secret out of the message. */
  string(entry: Entry, options: { hideValue?: boolean } = {}): string {
    const { node } = entry;
    const value = isScalar(node) ? node.value : undefined;
    if (typeof value !== "string") {
      const got = options.hideValue ? describeType(node) : describe(node);
      this.fail(`must be a string, got ${got}`, node, entry.path);
    }
    if (value.trim() === "") this.fail("must not be empty", node, entry.path);
    return value;
  }

  /** A list of strings; a single string counts as a one-item list. */
  stringList(entry: Entry): Entry[] {
    const { node } = entry;
    if (isScalar(node) && typeof node.value === "string") return [entry];
    if (!isSeq(node)) {
      this.fail(
        `must be a list of strings, got ${describe(node)}`,
        node,
        entry.path,
      );
    }
    const items = this.items(node, entry.path);
    for (const item of items) this.string(item);
    return items;
  }

  /** The entries of a mapping value, unknown keys warned about; a non-mapping fails with `expected`. */
  fields(
    entry: Entry,
    known: readonly string[],
    expected: string,
  ): Map<string, Entry> {
    if (!isMap(entry.node)) {
      this.fail(
        `must be ${expected}, got ${describe(entry.node)}`,
        entry.node,
        entry.path,
      );
    }
    return this.mapping(entry.node, entry.path, { known });
  }

  /** The items of a list value; a single value is a one-item list. */
  list(entry: Entry): Entry[] {
    if (!isSeq(entry.node)) return [entry];
    return this.items(entry.node, entry.path);
  }

  /** Checks the `${NAME}` references of `text` are well formed (their values are read later). */
  envReferences(text: string, entry: Entry): void {
    expandEnv(text, () => "", this.#location(entry.node, entry.path));
  }

  /** Throws a ConfigError at `node`, naming the key path `key`. */
  fail(
    reason: string,
    node: YamlNode | undefined,
    key: string | undefined,
  ): never {
    throw new ConfigError(reason, this.#location(node, key));
  }

  /** Records a warning about `entry` (loading goes on). */
  warn(message: string, entry: Entry): void {
    const { line } = this.#location(entry.keyNode, undefined);
    this.warnings.push({ file: this.#file, line, key: entry.path, message });
  }

  /**
   * The entries of a mapping. Unknown keys (when `known` is given) become
   * warnings; a duplicate key is an error; null values are dropped as "not
   * set" unless `keepNull`.
   */
  mapping(
    map: YamlNode,
    path: string,
    options: {
      known?: readonly string[];
      foreign?: ForeignKeys;
      keepNull?: boolean;
    },
  ): Map<string, Entry> {
    if (!isMap(map)) throw new Error("bug: mapping needs a YAML mapping");
    const entries = new Map<string, Entry>();
    const seen = new Map<string, YamlNode>();
    for (const pair of map.items) {
      if (!isPair(pair)) continue;
      const keyNode = this.#resolve(pair.key as YamlNode | null) ??
        (map as YamlNode);
      if (!isScalar(keyNode) || keyNode.value === null) {
        this.fail("keys must be plain names", keyNode, path || undefined);
      }
      const name = String(keyNode.value);
      const keyPath = path === "" ? name : `${path}.${name}`;
      const first = seen.get(name);
      if (first) {
        const firstKeyLine = this.#location(first, undefined).line;
        this.fail(
          `duplicate key "${name}"${
            firstKeyLine ? ` (first at line ${firstKeyLine})` : ""
          }`,
          keyNode,
          keyPath,
        );
      }
      seen.set(name, keyNode);
      if (options.known && !options.known.includes(name)) {
        this.#warnUnknownKey(
          name,
          keyNode,
          keyPath,
          options.known,
          options.foreign,
        );
        continue;
      }
      const value = this.#resolve(pair.value as YamlNode | null);
      if (value === null || (isScalar(value) && value.value === null)) {
        if (!options.keepNull) continue;
      }
      entries.set(name, { path: keyPath, keyNode, node: value ?? keyNode });
    }
    return entries;
  }

  /** The items of a YAML sequence; an empty item is an error. */
  items(seq: YamlNode, path: string): Entry[] {
    if (!isSeq(seq)) throw new Error("bug: items needs a YAML sequence");
    return seq.items.map((raw, index) => {
      const itemPath = `${path}[${index}]`;
      const node = this.#resolve(raw as YamlNode | null);
      if (node === null || (isScalar(node) && node.value === null)) {
        this.fail("empty list item", node ?? seq, itemPath);
      }
      return { path: itemPath, keyNode: node, node };
    });
  }

  /** A scalar as the operator wrote it: `08080` stays `08080`, `true` becomes `"true"`. */
  scalarText(entry: Entry, expected: string): string {
    const { node } = entry;
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") {
        return node.type === "PLAIN" && node.source !== undefined
          ? node.source
          : String(value);
      }
    }
    this.fail(`must be ${expected}, got ${describe(node)}`, node, entry.path);
  }

  #location(
    node: YamlNode | undefined,
    key: string | undefined,
  ): ConfigLocation {
    const location: ConfigLocation = { file: this.#file };
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const { line, col } = this.#lines.linePos(offset);
      location.line = line;
      location.column = col;
    }
    if (key !== undefined && key !== "") location.key = key;
    return location;
  }

  #resolve(node: YamlNode | null | undefined): YamlNode | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (target === undefined) {
        this.fail(`unknown alias *${node.source}`, node, undefined);
      }
      return target;
    }
    return node;
  }

  #warnUnknownKey(
    name: string,
    keyNode: YamlNode,
    keyPath: string,
    known: readonly string[],
    foreign: ForeignKeys | undefined,
  ): void {
    let message = `unknown key "${name}"`;
    if (foreign?.keys.includes(name)) {
      message += ` (it belongs in ${foreign.file})`;
    } else {
      const suggestion = closestKey(name, known);
      if (suggestion !== undefined) {
        message += ` (did you mean "${suggestion}"?)`;
      }
    }
    const { line } = this.#location(keyNode, undefined);
    this.warnings.push({ file: this.#file, line, key: keyPath, message });
  }
}

/** `values` without repeats, in first-seen order. */
export function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

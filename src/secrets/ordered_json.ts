/**
 * JSON read and written with its key order kept (JavaScript objects reorder
 * integer-like keys), and written as Go's encoding/json writes it: `<`, `>`,
 * `&`, U+2028 and U+2029 escaped, tab indent, as `sops decrypt` prints JSON.
 * @module
 */
import { SopsFormatError } from "./secret_error.ts";

/** A JSON value whose objects keep their key order. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | JsonObject;

/** An object as an ordered list of entries. */
export interface JsonObject {
  entries: [string, JsonValue][];
}

/** Whether a value is an {@link JsonObject}. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    "entries" in value;
}

/** Parses JSON text, keeping each object's key order. */
export function parseOrderedJson(text: string): JsonValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new SopsFormatError(`not valid JSON: ${what} at offset ${at}`);
  };
  const space = () => {
    while (at < text.length && " \t\r\n".includes(text[at])) at++;
  };
  const value = (): JsonValue => {
    space();
    const char = text[at];
    if (char === "{") return object();
    if (char === "[") return array();
    if (char === '"') return string();
    const literal = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/
      .exec(text.slice(at, at + 400));
    if (!literal) return fail("unexpected character");
    at += literal[0].length;
    return JSON.parse(literal[0]);
  };
  const string = (): string => {
    // JSON.parse refuses control characters inside the string itself.
    const match = /^"(?:[^"\\]|\\.)*"/s.exec(text.slice(at));
    if (!match) return fail("bad string");
    at += match[0].length;
    return JSON.parse(match[0]);
  };
  const object = (): JsonObject => {
    at++;
    const entries: [string, JsonValue][] = [];
    space();
    if (text[at] === "}") {
      at++;
      return { entries };
    }
    for (;;) {
      space();
      if (text[at] !== '"') fail("expected a key");
      const key = string();
      space();
      if (text[at++] !== ":") fail("expected ':'");
      entries.push([key, value()]);
      space();
      const next = text[at++];
      if (next === "}") return { entries };
      if (next !== ",") fail("expected ',' or '}'");
    }
  };
  const array = (): JsonValue[] => {
    at++;
    const items: JsonValue[] = [];
    space();
    if (text[at] === "]") {
      at++;
      return items;
    }
    for (;;) {
      items.push(value());
      space();
      const next = text[at++];
      if (next === "]") return items;
      if (next !== ",") fail("expected ',' or ']'");
    }
  };
  const result = value();
  space();
  if (at < text.length) fail("trailing text");
  return result;
}

/** Writes a value as Go's `json.Indent(…, "", "\t")` of `json.Marshal` would. */
export function writeGoJson(value: JsonValue, indent = ""): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const inner = indent + "\t";
    return `[\n${
      value.map((item) => inner + writeGoJson(item, inner)).join(",\n")
    }\n${indent}]`;
  }
  if (isJsonObject(value)) {
    if (value.entries.length === 0) return "{}";
    const inner = indent + "\t";
    return `{\n${
      value.entries.map(([key, item]) =>
        `${inner}${goString(key)}: ${writeGoJson(item, inner)}`
      ).join(",\n")
    }\n${indent}}`;
  }
  if (typeof value === "string") return goString(value);
  return JSON.stringify(value);
}

function goString(text: string): string {
  return JSON.stringify(text).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Plain data of a value (objects as records) for reading metadata. */
export function jsonToPlain(value: JsonValue): unknown {
  if (Array.isArray(value)) return value.map(jsonToPlain);
  if (isJsonObject(value)) {
    return Object.fromEntries(
      value.entries.map(([key, item]) => [key, jsonToPlain(item)]),
    );
  }
  return value;
}

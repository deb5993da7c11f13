/** How a YAML value is shown in an error message after "got". */
import { isMap, isScalar, isSeq, type Node as YamlNode } from "yaml";

/** How a value is shown after "got": strings quoted, numbers as written. */
export function describe(node: YamlNode): string {
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "an empty value";
    if (typeof value === "string") {
      const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
      return JSON.stringify(shown);
    }
    if (typeof value === "number" || typeof value === "boolean") {
      return node.source ?? String(value);
    }
  }
  return describeType(node);
}

/** Like {@link describe} but never shows the value (for secrets). */
export function describeType(node: YamlNode): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "an empty value";
    if (typeof value === "string") return "a string";
    if (typeof value === "number") return "a number";
    if (typeof value === "boolean") return "a boolean";
  }
  return "an unsupported value";
}

/** A hint for a number written in quotes, or "". */
export function quotedNumberHint(node: YamlNode): string {
  if (
    isScalar(node) && typeof node.value === "string" &&
    node.value.trim() !== "" && Number.isFinite(Number(node.value))
  ) {
    return " (remove the quotes)";
  }
  return "";
}

/** The first line of a YAML parser message, without the position it repeats. */
export function firstLineWithoutPosition(message: string): string {
  return message.split("\n", 1)[0].replace(/\s*at line \d+, column \d+:?$/, "");
}

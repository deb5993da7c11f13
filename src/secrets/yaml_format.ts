/** YAML SOPS files, read and written with the `yaml` package (4-space indent, as `sops` writes). */
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
} from "yaml";
import { SopsFormatError } from "./secret_error.ts";
import type { SopsComment, SopsDocument, SopsLeaf } from "./sops_document.ts";

type Node = unknown;

/** Reads a one-document YAML SOPS file. */
export function readYamlSops(text: string): SopsDocument {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new SopsFormatError(
      `not valid YAML: ${firstLine(doc.errors[0].message)}`,
    );
  }
  const root = doc.contents;
  if (!isMap(root)) throw new SopsFormatError("the top level is not a mapping");
  const leaves: SopsLeaf[] = [];
  const comments: SopsComment[] = [];
  let metadata: unknown;
  collectComments(doc as unknown as Commented, [], comments);
  collectComments(root as unknown as Commented, [], comments);
  for (const pair of root.items) {
    const key = keyText(pair.key);
    if (key === "sops") {
      metadata = isMap(pair.value) || isSeq(pair.value)
        ? pair.value.toJSON()
        : undefined;
      continue;
    }
    collectComments(pair.key as Commented, [], comments);
    walk(pair.value, [key], leaves, comments);
  }
  return {
    metadata,
    leaves,
    comments,
    emit() {
      root.delete("sops");
      if (root.items.length === 0) return "{}\n";
      return (doc as Document).toString({
        indent: 4,
        indentSeq: true,
        lineWidth: 0,
      });
    },
  };
}

function walk(
  node: Node,
  path: string[],
  leaves: SopsLeaf[],
  comments: SopsComment[],
): void {
  if (node === null || node === undefined) return;
  if (isAlias(node)) {
    throw new SopsFormatError("YAML aliases are not supported");
  }
  collectComments(node as Commented, path, comments);
  if (isMap(node)) {
    for (const pair of node.items) {
      collectComments(pair.key as Commented, path, comments);
      walk(pair.value, [...path, keyText(pair.key)], leaves, comments);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) walk(item, path, leaves, comments);
  } else if (isScalar(node)) {
    const value = node.value;
    if (value === null || value === undefined) return;
    if (
      typeof value !== "string" && typeof value !== "number" &&
      typeof value !== "boolean"
    ) {
      throw new SopsFormatError(`unsupported YAML value at ${path.join(":")}`);
    }
    leaves.push({
      path,
      value,
      set(plain) {
        node.value = plain;
        // The style of the encrypted text does not fit the plaintext: the writer picks one.
        node.type = undefined;
      },
    });
  }
}

interface Commented {
  commentBefore?: string | null;
  comment?: string | null;
}

function collectComments(
  node: Commented | null | undefined,
  path: string[],
  comments: SopsComment[],
): void {
  if (!node || typeof node !== "object") return;
  for (const field of ["commentBefore", "comment"] as const) {
    const text = node[field];
    if (typeof text !== "string" || !text.includes("ENC[")) continue;
    const lines = text.split("\n");
    lines.forEach((line, index) =>
      comments.push({
        path,
        text: line.trim(),
        set(plain) {
          lines[index] = plain;
          node[field] = lines.join("\n");
        },
      })
    );
  }
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  throw new SopsFormatError("a mapping key is not a plain value");
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

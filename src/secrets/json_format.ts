/** JSON and binary SOPS files (a binary file is JSON whose `data` value is the whole plaintext). */
import {
  isJsonObject,
  type JsonObject,
  jsonToPlain,
  type JsonValue,
  parseOrderedJson,
  writeGoJson,
} from "./ordered_json.ts";
import { SopsFormatError } from "./secret_error.ts";
import type { SopsDocument, SopsLeaf } from "./sops_document.ts";

/** Reads a JSON SOPS file; the output is the tree as indented JSON. */
export function readJsonSops(text: string): SopsDocument {
  const { root, metadata } = readRoot(text);
  const leaves: SopsLeaf[] = [];
  root.entries.forEach((entry) =>
    walk(entry[1], [entry[0]], leaves, (value) => {
      entry[1] = value;
    })
  );
  return {
    metadata,
    leaves,
    comments: [],
    emit: () => writeGoJson(root) + "\n",
  };
}

/** Reads a binary SOPS file; the output is the decrypted `data` value, byte for byte. */
export function readBinarySops(text: string): SopsDocument {
  const document = readJsonSops(text);
  const data = document.leaves.find((leaf) =>
    leaf.path.length === 1 && leaf.path[0] === "data"
  );
  if (!data || typeof data.value !== "string") {
    throw new SopsFormatError("no binary data found (no `data` value)");
  }
  let plain: Uint8Array = new Uint8Array();
  return {
    ...document,
    leaves: document.leaves.map((leaf) =>
      leaf === data
        ? { ...leaf, set: (_value, bytes) => (plain = bytes) }
        : leaf
    ),
    emit: () => plain,
  };
}

function readRoot(text: string): { root: JsonObject; metadata: unknown } {
  const root = parseOrderedJson(text);
  if (!isJsonObject(root)) {
    throw new SopsFormatError("the top level is not a JSON object");
  }
  const at = root.entries.findIndex(([key]) => key === "sops");
  if (at < 0) return { root, metadata: undefined };
  const [[, metadata]] = root.entries.splice(at, 1);
  return { root, metadata: jsonToPlain(metadata) };
}

function walk(
  value: JsonValue,
  path: string[],
  leaves: SopsLeaf[],
  replace: (value: JsonValue) => void,
): void {
  if (value === null) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) =>
      walk(item, path, leaves, (next) => {
        value[index] = next;
      })
    );
  } else if (isJsonObject(value)) {
    value.entries.forEach((entry) =>
      walk(entry[1], [...path, entry[0]], leaves, (next) => {
        entry[1] = next;
      })
    );
  } else {
    leaves.push({ path, value, set: replace });
  }
}

/** dotenv SOPS files: `KEY=value` lines, `#` comments, `\n` escapes; metadata as `sops_…` keys. */
import { unflattenMetadata } from "./flat_metadata.ts";
import { SopsFormatError } from "./secret_error.ts";
import type { SopsComment, SopsDocument, SopsLeaf } from "./sops_document.ts";
import { decimalText } from "./decimal_text.ts";

type Line = { comment: string } | {
  key: string;
  value: string | number | boolean;
};

/** Reads a dotenv SOPS file; the output is `KEY=value` lines, as `sops decrypt` prints them. */
export function readDotenvSops(text: string): SopsDocument {
  const lines: Line[] = [];
  const metadata: [string, string][] = [];
  for (const raw of text.split("\n")) {
    if (raw === "") continue;
    if (raw.startsWith("#")) {
      lines.push({ comment: raw.slice(1) });
      continue;
    }
    const at = raw.indexOf("=");
    if (at < 0) {
      throw new SopsFormatError(
        `not a dotenv line (no "="): ${raw.slice(0, 40)}`,
      );
    }
    const key = raw.slice(0, at);
    const value = raw.slice(at + 1).replaceAll("\\n", "\n");
    if (key.startsWith("sops_")) metadata.push([key.slice(5), value]);
    else lines.push({ key, value });
  }
  const leaves: SopsLeaf[] = [];
  const comments: SopsComment[] = [];
  for (const line of lines) {
    if ("comment" in line) {
      comments.push({
        path: [],
        text: line.comment,
        set: (plain) => (line.comment = plain),
      });
    } else {
      leaves.push({
        path: [line.key],
        value: line.value,
        set: (plain) => (line.value = plain),
      });
    }
  }
  return {
    metadata: metadata.length > 0 ? unflattenMetadata(metadata) : undefined,
    leaves,
    comments,
    emit: () =>
      lines.map((line) =>
        "comment" in line
          ? `#${line.comment}\n`
          : `${line.key}=${dotenvValue(line.value)}\n`
      ).join(""),
  };
}

/** The variables of a decrypted dotenv text (for `env_from`): `KEY=value` lines, `\n` escapes undone. */
export function dotenvVariables(text: string): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const raw of text.split("\n")) {
    if (raw === "" || raw.startsWith("#")) continue;
    const at = raw.indexOf("=");
    if (at < 0) continue;
    variables[raw.slice(0, at).trim()] = raw.slice(at + 1).replaceAll(
      "\\n",
      "\n",
    );
  }
  return variables;
}

function dotenvValue(value: string | number | boolean): string {
  if (typeof value === "string") return value.replaceAll("\n", "\\n");
  return typeof value === "number" ? decimalText(value) : String(value);
}

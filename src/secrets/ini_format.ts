/**
 * INI SOPS files, read and written the way `sops` does through go-ini: a
 * section per top-level key, `=` aligned per section, a blank line between
 * sections, values quoted when they need it; metadata in section `[sops]`.
 * @module
 */
import { unflattenMetadata } from "./flat_metadata.ts";
import { SopsFormatError } from "./secret_error.ts";
import type { SopsComment, SopsDocument, SopsLeaf } from "./sops_document.ts";
import { decimalText } from "./decimal_text.ts";
import type { PlainValue } from "./sops_value.ts";

interface IniKey {
  name: string;
  value: string | number | boolean;
  /** Comment lines written above the key, their `;`/`#` removed from the first. */
  comment?: string;
}

interface IniSection {
  name: string;
  comment?: string;
  keys: IniKey[];
}

const DEFAULT_SECTION = "DEFAULT";

/** Reads an INI SOPS file; the output is INI as `sops decrypt` prints it. */
export function readIniSops(text: string): SopsDocument {
  const sections = parseIni(text);
  const at = sections.findIndex((section) => section.name === "sops");
  const metadata = at < 0 ? undefined : unflattenMetadata(
    sections.splice(at, 1)[0].keys.map((key) => [
      key.name,
      String(key.value).replaceAll("\\n", "\n"),
    ]),
  );
  const leaves: SopsLeaf[] = [];
  const comments: SopsComment[] = [];
  for (const section of sections) {
    addComment(comments, [], section);
    for (const key of section.keys) {
      leaves.push({
        path: [section.name, key.name],
        value: key.value,
        set: (plain: PlainValue) => (key.value = plain),
      });
      addComment(comments, [section.name], key);
    }
  }
  return { metadata, leaves, comments, emit: () => writeIni(sections) };
}

function addComment(
  comments: SopsComment[],
  path: string[],
  holder: { comment?: string },
): void {
  if (holder.comment === undefined) return;
  comments.push({
    path,
    text: holder.comment,
    set: (plain) => (holder.comment = plain),
  });
}

function parseIni(text: string): IniSection[] {
  const sections: IniSection[] = [{ name: DEFAULT_SECTION, keys: [] }];
  let current = sections[0];
  let pending: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trimStart();
    if (line === "") continue;
    if (line.startsWith(";") || line.startsWith("#")) {
      pending.push(line);
      continue;
    }
    const comment = pending.length > 0
      ? stripCommentChar(pending.join("\n"))
      : undefined;
    pending = [];
    if (line.startsWith("[")) {
      const end = line.indexOf("]");
      if (end < 0) {
        throw new SopsFormatError(
          `INI line ${index + 1}: unclosed section header`,
        );
      }
      const name = line.slice(1, end).trim();
      current = sections.find((section) => section.name === name) ??
        { name, keys: [] };
      if (!sections.includes(current)) sections.push(current);
      if (comment !== undefined) current.comment = comment;
      continue;
    }
    const { name, rest } = splitKey(line, index);
    let value = rest.trimStart();
    if (value.startsWith('"""')) {
      let body = value.slice(3);
      while (!body.includes('"""')) {
        index++;
        if (index >= lines.length) {
          throw new SopsFormatError(`INI: unclosed """ value of "${name}"`);
        }
        body += "\n" + lines[index];
      }
      value = body.slice(0, body.indexOf('"""'));
    } else if (value.startsWith("`") && value.indexOf("`", 1) > 0) {
      value = value.slice(1, value.indexOf("`", 1));
    } else {
      const cut = value.search(/[#;]/);
      if (cut >= 0) value = value.slice(0, cut);
      value = value.trimEnd();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
        value = value.slice(1, -1);
      }
    }
    current.keys.push({ name, value, comment });
  }
  return sections;
}

function splitKey(line: string, index: number): { name: string; rest: string } {
  if (line.startsWith("`")) {
    const end = line.indexOf("`", 1);
    const delimiter = line.slice(end + 1).search(/[=:]/);
    if (end > 0 && delimiter >= 0) {
      return {
        name: line.slice(1, end),
        rest: line.slice(end + 1 + delimiter + 1),
      };
    }
  }
  const at = line.search(/[=:]/);
  if (at < 0) {
    throw new SopsFormatError(`INI line ${index + 1}: no "=" in a key line`);
  }
  return { name: line.slice(0, at).trim(), rest: line.slice(at + 1) };
}

/** Removes the leading comment characters of the first line (`"; note"` → `note`). */
function stripCommentChar(comment: string): string {
  if (comment.startsWith(";")) return comment.replace(/^[; ]+/, "");
  if (comment.startsWith("#")) return comment.replace(/^[# ]+/, "");
  return comment;
}

function writeIni(sections: readonly IniSection[]): string {
  let out = "";
  sections.forEach((section, index) => {
    if (section.comment !== undefined) {
      out += commentLines(section.comment, false);
    }
    if (index > 0 || section.name !== DEFAULT_SECTION) {
      out += `[${section.name}]\n`;
    } else if (section.keys.length === 0) {
      return;
    }
    const names = section.keys.map((key) => quotedKey(key.name));
    const align = Math.max(0, ...names.map((name) => name.length));
    section.keys.forEach((key, at) => {
      if (key.comment !== undefined) out += commentLines(key.comment, true);
      out += `${names[at].padEnd(align)} = ${
        quotedValue(iniText(key.value))
      }\n`;
    });
    if (index < sections.length - 1) out += "\n";
  });
  return out;
}

function commentLines(comment: string, trim: boolean): string {
  return comment.split("\n").map((line) =>
    line[0] !== "#" && line[0] !== ";"
      ? `; ${trim ? line.trim() : line}\n`
      : `${line[0]} ${line.slice(1).trim()}\n`
  ).join("");
}

function quotedKey(name: string): string {
  if (name.includes('"') || /[=:]/.test(name)) return "`" + name + "`";
  if (name.includes("`")) return `"""${name}"""`;
  return name;
}

function quotedValue(value: string): string {
  if (/[\n`]/.test(value)) return `"""${value}"""`;
  if (/[#;]/.test(value)) return "`" + value + "`";
  if (value.trim().length !== value.length) return `"${value}"`;
  return value;
}

/** A value as go-ini receives it from SOPS (`ValToString`). */
function iniText(value: string | number | boolean): string {
  return typeof value === "number" ? decimalText(value) : String(value);
}

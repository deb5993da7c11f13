import assert from "node:assert/strict";
import { readDotenvSops } from "./dotenv_format.ts";
import { readIniSops } from "./ini_format.ts";
import { readJsonSops } from "./json_format.ts";
import { parseOrderedJson, writeGoJson } from "./ordered_json.ts";
import { readYamlSops } from "./yaml_format.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("JSON keeps key order (integer-like keys too) and escapes as Go does", () => {
  const value = parseOrderedJson(
    '{"b": 1, "10": [true, null, {}], "1": "<a & b>", "z": []}',
  );
  assert.equal(
    writeGoJson(value),
    '{\n\t"b": 1,\n\t"10": [\n\t\ttrue,\n\t\tnull,\n\t\t{}\n\t],\n\t"1": "\\u003ca \\u0026 b\\u003e",\n\t"z": []\n}',
  );
  assert.throws(() => parseOrderedJson('{"a": 1,}'), /not valid JSON/);
});

Deno.test("JSON leaves list positions out of a value's path and drops the metadata", () => {
  const document = readJsonSops(
    '{"a": {"b": ["x", "y"]}, "sops": {"mac": "m"}}',
  );
  assert.deepEqual(document.leaves.map((leaf) => leaf.path), [["a", "b"], [
    "a",
    "b",
  ]]);
  assert.deepEqual(document.metadata, { mac: "m" });
  document.leaves[1].set("secret", bytes("secret"));
  assert.equal(
    document.emit(),
    '{\n\t"a": {\n\t\t"b": [\n\t\t\t"x",\n\t\t\t"secret"\n\t\t]\n\t}\n}\n',
  );
});

Deno.test("INI aligns = per section, quotes values that need it, and unflattens [sops]", () => {
  const document = readIniSops(
    "; top\n[app]\nk = 1\nlonger_key = 2\n\n[sops]\npgp__list_0__map_fp = F\nmac = M\n",
  );
  assert.deepEqual(document.metadata, { pgp: [{ fp: "F" }], mac: "M" });
  const [short, long] = document.leaves;
  short.set("  padded", bytes("  padded"));
  long.set("a;b", bytes("a;b"));
  assert.equal(
    document.emit(),
    '; top\n[app]\nk          = "  padded"\nlonger_key = `a;b`\n',
  );
});

Deno.test("INI reads triple-quoted multi-line values and inline comments", () => {
  const document = readIniSops('[s]\na = """one\ntwo"""\nb = plain ; note\n');
  assert.deepEqual(document.leaves.map((leaf) => leaf.value), [
    "one\ntwo",
    "plain",
  ]);
});

Deno.test("dotenv escapes newlines both ways and keeps comments", () => {
  const document = readDotenvSops("#c\nA=x\\ny\nsops_mac=M\n");
  assert.deepEqual(document.leaves.map((leaf) => leaf.value), ["x\ny"]);
  assert.deepEqual(document.metadata, { mac: "M" });
  document.leaves[0].set("p\nq", bytes("p\nq"));
  assert.equal(document.emit(), "#c\nA=p\\nq\n");
});

Deno.test("YAML writes a decrypted multi-line value as a block and keeps comments", () => {
  const document = readYamlSops(
    "# head\nkey: ENC[x]\nlist:\n    - a\nsops:\n    mac: M\n",
  );
  document.leaves[0].set("line1\nline2", bytes("line1\nline2"));
  assert.equal(
    document.emit(),
    "# head\nkey: |-\n    line1\n    line2\nlist:\n    - a\n",
  );
  assert.deepEqual(document.metadata, { mac: "M" });
});

import assert from "node:assert/strict";
import {
  Encrypter,
  generateIdentity,
  identityToRecipient,
} from "age-encryption";
import { parseAgeIdentities } from "./age_identities.ts";
import { decryptSops } from "./decrypt_sops.ts";
import { SecretError } from "./secret_error.ts";
import type { SopsKeys } from "./data_key.ts";
import { formatFromName } from "../config/secrets_config.ts";
import { fixture, nixAgeIdentities, testKeyring } from "./test_keys.ts";

const NIX_PLAINTEXT = "test_key: test_value\n" +
  "a_list:\n    - e1\n    - e3\n" +
  "nested:\n    test:\n        file: another value\n";

async function decrypted(name: string, text: string, keys: SopsKeys) {
  const result = await decryptSops(text, {
    file: name,
    format: formatFromName(name),
    keys,
  });
  return new TextDecoder().decode(result.content);
}

async function refusal(name: string, text: string, keys: SopsKeys) {
  try {
    await decrypted(name, text, keys);
  } catch (caught) {
    assert.ok(caught instanceof SecretError, String(caught));
    assert.ok(caught.message.startsWith(`${name}: `), caught.message);
    assert.ok(!caught.message.includes("\n"), caught.message);
    return caught.reason;
  }
  return assert.fail(`${name} was decrypted`);
}

const PGP_FIXTURES: [string, string][] = [
  ["sops-format.enc.yaml", "foo: bar\n"],
  ["sops-format.enc.json", '{\n\t"foo": "bar"\n}\n'],
  ["sops-format.enc.env", "foo = bar\n"],
  ["sops-format.enc.ini", "[foo]\nbar = baz\n"],
  ["sops-format-2.enc.ini", "[foo]\nbar = baz\n"],
];

Deno.test("every PGP fixture decrypts to the exact bytes sops prints, with the test key in a throwaway keyring", async () => {
  await using keyring = await testKeyring();
  for (const [name, expected] of PGP_FIXTURES) {
    assert.equal(
      await decrypted(name, fixture(name), keyring.keys),
      expected,
      name,
    );
  }
});

Deno.test("the sops-nix file decrypts with its age identity to YAML indented as sops writes it", async () => {
  const text = await decrypted(
    "sops-nix-secrets.yaml",
    fixture("sops-nix-secrets.yaml"),
    {
      ageIdentities: nixAgeIdentities(),
    },
  );
  assert.equal(text, NIX_PLAINTEXT);
});

Deno.test("the decrypted values are returned for masking", async () => {
  const result = await decryptSops(fixture("sops-nix-secrets.yaml"), {
    file: "s.yaml",
    format: "yaml",
    keys: { ageIdentities: nixAgeIdentities() },
  });
  assert.deepEqual(result.values, ["test_value", "e1", "e3", "another value"]);
});

Deno.test("a file without a MAC is refused (sops-no_mac.yaml)", async () => {
  await using keyring = await testKeyring();
  const reason = await refusal(
    "sops-no_mac.yaml",
    fixture("sops-no_mac.yaml"),
    keyring.keys,
  );
  assert.match(reason, /no MAC/);
});

const age = () => ({ ageIdentities: nixAgeIdentities() });
const nix = () => fixture("sops-nix-secrets.yaml");

Deno.test("tampering: a value removed fails the MAC", async () => {
  const text = nix().replace(/^ {4}- ENC\[AES256_GCM,data:mYU=.*\n/m, "");
  assert.notEqual(text, nix());
  assert.match(await refusal("s.yaml", text, age()), /^MAC mismatch/);
});

Deno.test("tampering: two values swapped fails the MAC although each still decrypts", async () => {
  const lines = nix().split("\n");
  const first = lines.findIndex((line) => line.includes("data:oOQ="));
  [lines[first], lines[first + 1]] = [lines[first + 1], lines[first]];
  assert.match(
    await refusal("s.yaml", lines.join("\n"), age()),
    /^MAC mismatch/,
  );
});

Deno.test("tampering: a value moved to another key fails its GCM tag, naming the key", async () => {
  const text = nix();
  const value = /test_key: (ENC\[[^\]]+\])/.exec(text)![1];
  const other = /file: (ENC\[[^\]]+\])/.exec(text)![1];
  const swapped = text.replace(value, "@@").replace(other, value).replace(
    "@@",
    other,
  );
  assert.match(
    await refusal("s.yaml", swapped, age()),
    /value at test_key fails its GCM tag/,
  );
});

Deno.test("tampering: one ciphertext byte changed fails its GCM tag", async () => {
  // data:2mP+IAdczoEr0g== is the value of test_key; its first byte changes.
  const text = nix().replace("data:2mP+", "data:3mP+");
  assert.match(
    await refusal("s.yaml", text, age()),
    /value at test_key fails its GCM tag/,
  );
});

Deno.test("tampering: the MAC removed is refused", async () => {
  const text = nix().replace(/^ {4}mac: .*\n/m, "");
  assert.match(await refusal("s.yaml", text, age()), /no MAC/);
});

Deno.test("tampering: the file's date changed fails the MAC's tag", async () => {
  const text = nix().replace("2021-09-30T19:49:41Z", "2021-09-30T19:49:42Z");
  assert.match(await refusal("s.yaml", text, age()), /MAC fails its GCM tag/);
});

Deno.test("tampering: a dotenv and an INI value edited are refused", async () => {
  await using keyring = await testKeyring();
  const env = fixture("sops-format.enc.env").replace("foo =", "bar =");
  assert.match(
    await refusal("x.env", env, keyring.keys),
    /value at bar {2}fails its GCM tag/,
  );
  const ini = fixture("sops-format.enc.ini").replace("data:Upwq", "data:Vpwq");
  assert.match(
    await refusal("x.ini", ini, keyring.keys),
    /value at foo:bar fails/,
  );
});

Deno.test("a file no host key opens names what it is encrypted to", async () => {
  const other = await generateIdentity();
  const reason = await refusal("s.yaml", nix(), { ageIdentities: [other] });
  assert.equal(
    reason,
    "no identity for any of the file's 2 age recipients and 2 PGP keys",
  );
});

Deno.test("a PGP file with no secret key in the keyring fails with the count of keys", async () => {
  await using keyring = await testKeyring({ importKey: false });
  const reason = await refusal(
    "f.yaml",
    fixture("sops-format.enc.yaml"),
    keyring.keys,
  );
  assert.equal(reason, "no identity for any of the file's 1 PGP key");
});

Deno.test("a file stored only for KMS is refused as an unsupported key type", async () => {
  const text = fixture("sops-format.enc.yaml").replace("    pgp:", "    kms:");
  const reason = await refusal("f.yaml", text, {
    ageIdentities: nixAgeIdentities(),
  });
  assert.equal(
    reason,
    "its data key is stored only for key types this agent cannot use: 1 AWS KMS key",
  );
});

Deno.test("a file that is not SOPS at all is refused", async () => {
  const reason = await refusal("plain.yaml", "password: hunter2\n", age());
  assert.match(reason, /no sops metadata/);
});

Deno.test("age identity files: several identities, comments and blank lines", async () => {
  const one = await generateIdentity();
  const text = `# created: today\n${one}\n\n  # another\n${
    nixAgeIdentities()[0]
  }\n`;
  assert.deepEqual(parseAgeIdentities(text), [one, nixAgeIdentities()[0]]);
  assert.throws(
    () => parseAgeIdentities("# x\nnot-a-key\n"),
    /line 2 is not an age identity/,
  );
  // The second identity opens the file.
  assert.equal(
    await decrypted("s.yaml", nix(), {
      ageIdentities: parseAgeIdentities(text),
    }),
    NIX_PLAINTEXT,
  );
});

Deno.test("an age data key that is not 32 bytes is refused", async () => {
  const identity = await generateIdentity();
  const encrypter = new Encrypter();
  encrypter.addRecipient(await identityToRecipient(identity));
  const { armor } = await import("age-encryption");
  const enc = armor.encode(await encrypter.encrypt(new Uint8Array(16)));
  const text = nix().replace(
    /( {8}- recipient: age1yt3\S+\n {10}enc: \|\n)(?: {12}.*\n)+/,
    (_, head) =>
      head +
      enc.trimEnd().split("\n").map((l) => `            ${l}\n`).join(""),
  );
  assert.match(
    await refusal("s.yaml", text, { ageIdentities: [identity] }),
    /data key is 16 bytes/,
  );
});

import assert from "node:assert/strict";
import { ConfigError } from "../errors.ts";
import {
  matchesPatternList,
  parseAllowedSigners,
  parseSshTime,
} from "./allowed_signers.ts";

// An ed25519 public key blob (type string "ssh-ed25519" and 32 zero bytes).
const KEY = btoa(
  String.fromCharCode(
    0,
    0,
    0,
    11,
    ...new TextEncoder().encode("ssh-ed25519"),
    0,
    0,
    0,
    32,
    ...new Uint8Array(32),
  ),
);

Deno.test("options are parsed: namespaces, validity, cert-authority, quoted commas", () => {
  const [signer] = parseAllowedSigners(
    `"a@x,b@x" cert-authority,namespaces="git,file",valid-after="20200101Z",valid-before="20300101120000Z" ssh-ed25519 ${KEY} comment\n`,
    "/f",
  );
  assert.equal(signer.principals, "a@x,b@x");
  assert.equal(signer.certAuthority, true);
  assert.deepEqual(signer.namespaces, ["git", "file"]);
  assert.equal(signer.validAfter, Date.UTC(2020, 0, 1));
  assert.equal(signer.validBefore, Date.UTC(2030, 0, 1, 12, 0, 0));
});

Deno.test("a bad line, an unknown option or a bad time names file and line", () => {
  for (
    const text of [
      "a@x ssh-ed25519 notbase64\n",
      `a@x bogus ssh-ed25519 ${KEY}\n`,
      `a@x valid-before="yesterday" ssh-ed25519 ${KEY}\n`,
    ]
  ) {
    assert.throws(
      () => parseAllowedSigners(`# c\n${text}`, "/f"),
      (error) => error instanceof ConfigError && /^\/f:2: /.test(error.message),
    );
  }
  assert.throws(
    () => parseAllowedSigners("# only a comment\n", "/f"),
    /no key/,
  );
});

Deno.test("namespace patterns match like ssh-keygen's, a negation excluding", () => {
  assert.ok(matchesPatternList("git", ["file", "g*"]));
  assert.ok(!matchesPatternList("git", ["file"]));
  assert.ok(!matchesPatternList("git", ["*", "!git"]));
  assert.equal(parseSshTime("2020"), undefined);
});

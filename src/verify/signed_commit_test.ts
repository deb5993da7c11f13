import assert from "node:assert/strict";
import { splitSignedCommit } from "./signed_commit.ts";

const SIGNED = [
  "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  "author A <a@example.test> 1700000000 +0000",
  "committer A <a@example.test> 1700000000 +0000",
  "gpgsig -----BEGIN SSH SIGNATURE-----",
  " U1NIU0lH",
  " -----END SSH SIGNATURE-----",
  "mergetag object 1234",
  " type commit",
  "",
  "message",
  "",
].join("\n");

Deno.test("the signature header is cut out of the payload, other headers and the message stay", () => {
  const split = splitSignedCommit("c", SIGNED);
  assert.equal(split.signature?.format, "ssh");
  assert.equal(
    split.signature?.armored,
    "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
  );
  assert.equal(
    split.payload,
    [
      "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
      "author A <a@example.test> 1700000000 +0000",
      "committer A <a@example.test> 1700000000 +0000",
      "mergetag object 1234",
      " type commit",
      "",
      "message",
      "",
    ].join("\n"),
  );
});

Deno.test("an unsigned commit has no signature and its payload is the whole object", () => {
  const raw = "tree 1\nauthor A\ncommitter A\n\nmessage\n";
  assert.deepEqual(splitSignedCommit("c", raw), {
    commit: "c",
    payload: raw,
    signature: null,
  });
});

Deno.test("an OpenPGP signature is told apart from an SSH one", () => {
  const raw = SIGNED.replace(
    "-----BEGIN SSH SIGNATURE-----",
    "-----BEGIN PGP SIGNATURE-----",
  );
  assert.equal(splitSignedCommit("c", raw).signature?.format, "openpgp");
});

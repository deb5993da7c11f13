import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PERMISSION_FLAGS } from "../scripts/permissions.ts";
import { GIT_ENV } from "./helpers/git_fixture.ts";

const DEMO = fileURLToPath(new URL("../scripts/demo.ts", import.meta.url));

Deno.test("the demo validates examples/infra, deploys it, then updates only the changed service", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...PERMISSION_FLAGS, DEMO],
    env: { ...GIT_ENV, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const output = decoder.decode(result.stdout) + decoder.decode(result.stderr);
  assert.equal(result.code, 0, output);
  assert.match(output, /3 of 3 services valid/);
  assert.match(output, /first cycle: backup, proxy, whoami succeeded/);
  assert.match(
    output,
    /✓ backup\/\.env decrypted from backup\.sops\.env \(\d+ bytes, mode 0600/,
  );
  assert.match(output, /decrypt {4}\[decrypt, exit 0/);
  assert.ok(
    !output.includes("demo-passphrase-not-a-secret"),
    "the demo printed the secret",
  );
  assert.match(output, /second cycle: whoami succeeded/);
  assert.match(output, /third cycle: no runs/);
  assert.match(output, /== done: the demo passed ==/);
});

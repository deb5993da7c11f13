import assert from "node:assert/strict";
import {
  configEnvReferences,
  hookEnvironment,
  referencedNames,
} from "./env_references.ts";
import { parseRepoConfig } from "./load.ts";

Deno.test("referencedNames finds ${NAME} references but not the $${ literal", () => {
  assert.deepEqual(referencedNames("https://x/${A}?t=${B_2}&l=$${C}"), [
    "A",
    "B_2",
  ]);
  assert.deepEqual(referencedNames("plain"), []);
});

Deno.test("configEnvReferences lists the webhook secret's and notify URLs' variables", () => {
  const { config } = parseRepoConfig(
    [
      "webhook:",
      '  secret: "${HOOK_SECRET}"',
      "notify:",
      '  - "https://ntfy.example/${TOPIC}?auth=${NTFY_TOKEN}"',
      '  - url: "${WHOLE_URL}"',
    ].join("\n") + "\n",
    ".upstream-watch.yaml",
  );
  assert.deepEqual(configEnvReferences(config), [
    "HOOK_SECRET",
    "NTFY_TOKEN",
    "TOPIC",
    "WHOLE_URL",
  ]);
});

Deno.test("configEnvReferences also lists the read token's and commit-status tokens' variables", () => {
  const { config } = parseRepoConfig(
    [
      "webhook:",
      '  secret: "${HOOK_SECRET}"',
      '  read_token: "${READ_TOKEN}"',
      "commit_status:",
      '  - { provider: github, token: "${GITHUB_STATUS_TOKEN}" }',
    ].join("\n") + "\n",
    ".upstream-watch.yaml",
  );
  assert.deepEqual(configEnvReferences(config), [
    "GITHUB_STATUS_TOKEN",
    "HOOK_SECRET",
    "READ_TOKEN",
  ]);
});

Deno.test("hookEnvironment withholds referenced variables unless the service's env passes them", () => {
  const inherited = { PATH: "/bin", HOOK_SECRET: "s", NTFY_TOKEN: "t" };
  assert.deepEqual(
    hookEnvironment(inherited, ["HOOK_SECRET", "NTFY_TOKEN"], {
      NTFY_TOKEN: "${NTFY_TOKEN}",
      MODE: "prod",
    }),
    { PATH: "/bin", NTFY_TOKEN: "t", MODE: "prod" },
  );
  assert.deepEqual(
    hookEnvironment(inherited, ["HOOK_SECRET"], { HOOK_SECRET: "own" }),
    { PATH: "/bin", HOOK_SECRET: "own", NTFY_TOKEN: "t" },
  );
  assert.deepEqual(hookEnvironment({}, [], { UNSET: "${UNSET}" }), {});
});

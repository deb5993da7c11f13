import assert from "node:assert/strict";
import { expandEnv } from "./expand_env.ts";
import { configError, REPO_FILE } from "../../tests/helpers/config_parsing.ts";

Deno.test("expandEnv replaces ${NAME} references", () => {
  const env = (name: string) =>
    ({ TOKEN: "abc", EMPTY: "" } as Record<string, string>)[name];
  const location = { file: REPO_FILE, key: "notify[0].url" };
  assert.equal(
    expandEnv("https://x/${TOKEN}/${EMPTY}end", env, location),
    "https://x/abc/end",
  );
  assert.equal(
    expandEnv("cost $5 and $${TOKEN}", env, location),
    "cost $5 and ${TOKEN}",
  );
  assert.equal(expandEnv("plain", env, location), "plain");
});

Deno.test("expandEnv fails on an unset variable or a malformed reference", () => {
  const location = { file: REPO_FILE, line: 4, key: "webhook.secret" };
  let error = configError(() =>
    expandEnv("${MISSING}", () => undefined, location)
  );
  assert.equal(
    error.message,
    `${REPO_FILE}:4 (webhook.secret): environment variable MISSING is not set`,
  );
  error = configError(() => expandEnv("x${OPEN", () => "v", location));
  assert.match(error.reason, /unclosed/);
  error = configError(() => expandEnv("${}", () => "v", location));
  assert.match(error.reason, /invalid environment variable name ""/);
});

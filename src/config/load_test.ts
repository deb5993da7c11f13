import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { defaultRepoConfig } from "./defaults.ts";
import { loadRepoConfig, loadServiceConfig } from "./load.ts";
import { REPO_FILE, SERVICE_FILE } from "../../tests/helpers/config_parsing.ts";

Deno.test("loadRepoConfig treats a missing file as all defaults", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await loadRepoConfig(join(dir, REPO_FILE), REPO_FILE);
    assert.deepEqual(missing.config, defaultRepoConfig());
    await Deno.writeTextFile(join(dir, REPO_FILE), "parallel: 3\n");
    const present = await loadRepoConfig(join(dir, REPO_FILE), REPO_FILE);
    assert.equal(present.config.parallel, 3);
    await assert.rejects(
      () => loadRepoConfig(dir, REPO_FILE),
      (error) =>
        error instanceof ConfigError && error.location.file === REPO_FILE,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadServiceConfig requires the file to exist", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, ".update-hooks.yaml");
    await assert.rejects(
      () => loadServiceConfig(path, SERVICE_FILE),
      (error) =>
        error instanceof ConfigError &&
        error.message === `${SERVICE_FILE}: file not found` &&
        error.exitCode === 2,
    );
    await Deno.writeTextFile(path, "update_commands: [make]\n");
    const { config } = await loadServiceConfig(path, SERVICE_FILE);
    assert.deepEqual(config.updateCommands, ["make"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * A compose service whose `.env` comes from a SOPS file: the agent decrypts
 * it at step `decrypt`, `docker compose up -d` reads it through `env_file`,
 * and the container's real answer on 127.0.0.1 shows the value.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { spawnCli } from "./helpers/cli.ts";
import { DockerLab, dockerTest, freePort } from "./helpers/docker.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { ageKeyPair, encryptDotenv } from "./helpers/sops_encrypt.ts";

dockerTest(
  "a compose service reads its .env decrypted from a SOPS file, and a pushed secret change recreates its container",
  async () => {
    await using lab = await DockerLab.create();
    const image = await lab.webImage("v1");
    const app = lab.service("sops");
    const port = freePort();
    const keys = await ageKeyPair();
    const scratch = await lab.scratchDir("keys");
    const keyFile = join(scratch, "age.key");
    await Deno.writeTextFile(keyFile, `${keys.identity}\n`);
    const compose = lab.composeFile({
      app: {
        image,
        envFile: [".env"],
        command: [
          "sh",
          "-c",
          `echo "token=$APP_TOKEN" > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`,
        ],
      },
    });
    await using fixture = await GitFixture.create({
      [`${app}/docker-compose.yml`]: compose,
      [`${app}/.update-hooks.yaml`]: hookFile({
        secrets: [{ file: "app.sops.env", to: ".env" }],
        update_commands: ["docker compose up -d"],
      }),
      [`${app}/app.sops.env`]: await encryptDotenv(
        { APP_TOKEN: "from-sops-1" },
        keys.recipient,
      ),
    });
    const run = async () => {
      const result = await spawnCli(
        ["--repo", fixture.clone, "run", "--once"],
        {
          env: { ...lab.hookEnv(), SOPS_AGE_KEY_FILE: keyFile },
        },
      );
      assert.equal(result.code, 0, result.stderr);
    };

    await run();

    const first = await lab.onlyContainer(app);
    assert.equal(first.running, true);
    await lab.waitForBody(port, "token=from-sops-1\n");
    assert.equal(await git(fixture.clone, "status", "--porcelain"), "");

    await fixture.push({
      [`${app}/app.sops.env`]: await encryptDotenv(
        { APP_TOKEN: "from-sops-2" },
        keys.recipient,
      ),
    }, "rotate the token");
    await run();

    const second = await lab.onlyContainer(app);
    assert.notEqual(second.id, first.id);
    assert.equal(second.running, true);
    await lab.waitForBody(port, "token=from-sops-2\n");
  },
);

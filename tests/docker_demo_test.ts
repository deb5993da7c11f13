import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PERMISSION_FLAGS } from "../scripts/permissions.ts";
import { docker, dockerTest } from "./helpers/docker.ts";
import { GIT_ENV } from "./helpers/git_fixture.ts";

const DEMO = fileURLToPath(new URL("../scripts/demo.ts", import.meta.url));

/** Containers of the demo's compose projects, running or not. */
async function demoContainers(): Promise<string[]> {
  const ids = await Promise.all(
    ["upstream-watch-demo-whoami", "upstream-watch-demo-proxy"].map((project) =>
      docker([
        "ps",
        "--all",
        "--quiet",
        "--filter",
        `label=com.docker.compose.project=${project}`,
      ])
    ),
  );
  return ids.join("\n").split("\n").filter(Boolean);
}

dockerTest(
  "the demo --docker deploys examples/infra with real containers and removes them at the end",
  async () => {
    assert.deepEqual(await demoContainers(), []);
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...PERMISSION_FLAGS, DEMO, "--docker"],
      env: { ...GIT_ENV, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    const output = decoder.decode(result.stdout) +
      decoder.decode(result.stderr);

    assert.equal(result.code, 0, output);
    // The demo itself checks the containers over HTTP and by id.
    assert.match(output, /answers "whoami v1\.10\.3"/);
    assert.match(output, /answers "whoami v1\.11\.0"/);
    assert.match(output, /the proxy's container is untouched/);
    // The broken proxy revision cannot start, and the rollback brings back one that answers.
    assert.match(
      output,
      /proxy failed, was rolled back to its last good commit/,
    );
    assert.match(output, /== done: the demo passed ==/);
    assert.deepEqual(await demoContainers(), []);
  },
);

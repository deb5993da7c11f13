/**
 * The agent's own image (the project's Dockerfile), run with
 * examples/compose/compose.yaml beside the services it deploys through the
 * host's Docker socket. The tests run in order and share one image, which
 * the last one removes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { WAIT_MS, waitUntil } from "./helpers/agent_process.ts";
import {
  AGENT_BASE,
  agentBaseSupport,
  AgentImage,
} from "./helpers/agent_image.ts";
import {
  DOCKER,
  docker,
  DockerLab,
  dockerSupport,
  freePort,
  TEST_LABEL,
} from "./helpers/docker.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile } from "./helpers/hooks.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";
import { PROJECT_ROOT, testNeeding } from "./helpers/tool_setup.ts";

const EXAMPLE = join(PROJECT_ROOT, "examples/compose/compose.yaml");
/** The example's service. */
const AGENT_SERVICE = "upstream-watch";
const WEBHOOK_SECRET = "image-test-secret-0123456789abcdef";

const baseSupport = await agentBaseSupport(dockerSupport);

/** A Docker test that needs the base image too (skipped, or failing under CI, like the other Docker tests). */
function imageTest(name: string, fn: () => Promise<void>): void {
  const tool = dockerSupport.available ? AGENT_BASE : DOCKER;
  testNeeding(tool, baseSupport, { name: `docker: ${name}`, fn });
}

/** The image all tests here use, built by the first one that needs it. */
let image: Promise<AgentImage> | undefined;
let imageDir: string | undefined;
function agentImage(): Promise<AgentImage> {
  image ??= (async () => {
    imageDir = await Deno.makeTempDir({ prefix: "upstream-watch-image-" });
    const built = await AgentImage.build({
      prefix: `uwtimage${crypto.randomUUID().slice(0, 8)}`,
      dir: imageDir,
    });
    // For people to look at, like the other figures in test-output/.
    await Deno.mkdir(join(PROJECT_ROOT, "test-output"), { recursive: true });
    await Deno.writeTextFile(
      join(PROJECT_ROOT, "test-output", "agent_image_build.txt"),
      `docker build of the Dockerfile: ${built.buildSeconds.toFixed(1)} s\n`,
    );
    return built;
  })();
  return image;
}

/** `docker compose`, or Debian's docker-compose v1 where the plugin is absent. */
async function composeCommand(): Promise<string[]> {
  try {
    const result = await new Deno.Command("docker-compose", {
      args: ["version", "--short"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (result.success) return ["docker-compose"];
  } catch {
    // not installed: the v2 plugin then
  }
  return ["docker", "compose"];
}

/** What one test's agent container is started with, beyond the example. */
interface AgentOptions {
  /** The port on the host's 127.0.0.1 that the example publishes the HTTP endpoint on. */
  port: number;
  /** Host folders mounted at the same path (the upstream, scratch folders). */
  mounts: string[];
  /** Run as the image's unprivileged user, with this group for the socket. */
  userWithGroup?: number;
}

/**
 * The example's agent service, started with `compose up -d` from
 * examples/compose/compose.yaml plus an override file for what a test needs:
 * the test image, its label, the upstream's folder, and a short health-check
 * interval (the check itself stays the image's). The agent's container is on
 * the project's own network (no NAT on this engine), its endpoint published
 * on the host's 127.0.0.1 only, as in the example.
 */
class ComposedAgent implements AsyncDisposable {
  readonly #project: string;
  readonly #files: string[];
  readonly #env: Record<string, string>;
  readonly #compose: string[];

  private constructor(
    project: string,
    files: string[],
    env: Record<string, string>,
    compose: string[],
  ) {
    this.#project = project;
    this.#files = files;
    this.#env = env;
    this.#compose = compose;
  }

  static async up(
    lab: DockerLab,
    fixture: GitFixture,
    options: AgentOptions,
  ): Promise<ComposedAgent> {
    const built = await agentImage();
    const secrets = await lab.scratchDir("secrets");
    await Deno.writeTextFile(join(secrets, "deploy_key"), "");
    await Deno.writeTextFile(join(secrets, "known_hosts"), "");
    const service: Record<string, unknown> = {
      image: built.reference,
      restart: "no",
      labels: { [TEST_LABEL]: lab.prefix },
      volumes: options.mounts.map((path) => `${path}:${path}`),
      healthcheck: { interval: "1s", timeout: "5s", retries: 2 },
    };
    if (options.userWithGroup !== undefined) {
      service.user = "upstream-watch";
      service.group_add = [String(options.userWithGroup)];
    }
    const override = join(await lab.scratchDir("compose"), "override.json");
    await Deno.writeTextFile(
      override,
      JSON.stringify({ services: { [AGENT_SERVICE]: service } }, null, 2),
    );
    const agent = new ComposedAgent(
      lab.service("agent"),
      [EXAMPLE, override],
      {
        INFRA_DIR: fixture.clone,
        HTTP_PORT: String(options.port),
        SECRETS_DIR: secrets,
        WEBHOOK_SECRET,
      },
      await composeCommand(),
    );
    await agent.compose("up", "-d", "--no-build");
    return agent;
  }

  /** Runs compose with the example and the override; returns its stdout. */
  async compose(...args: string[]): Promise<string> {
    const [command, ...first] = this.#compose;
    const result = await new Deno.Command(command, {
      args: [
        ...first,
        "--project-name",
        this.#project,
        ...this.#files.flatMap((file) => ["--file", file]),
        ...args,
      ],
      env: this.#env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    if (!result.success) {
      throw new Error(
        `compose ${args.join(" ")} exited ${result.code}: ${
          decoder.decode(result.stderr)
        }`,
      );
    }
    return decoder.decode(result.stdout).trim();
  }

  /** The agent's container id. */
  async container(): Promise<string> {
    const id = await this.compose("ps", "--quiet", AGENT_SERVICE);
    assert.ok(id !== "", "the agent's container exists");
    return id;
  }

  /** `docker inspect --format FORMAT` of the agent's container. */
  async inspect(format: string): Promise<string> {
    return await docker([
      "inspect",
      "--format",
      format,
      await this.container(),
    ]);
  }

  /** The container's health status, as Docker reports it. */
  async health(): Promise<string> {
    return await this.inspect("{{.State.Health.Status}}");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.compose("down", "--timeout", "1").catch(() => undefined);
  }
}

/** The agent's settings: poll every second, the HTTP endpoint as the example has it (port 9000 of the container), with its secret. */
function agentSettings(): string {
  return [
    "retry_interval: 1",
    "webhook:",
    '  listen: "0.0.0.0:9000"',
    '  secret: "${WEBHOOK_SECRET}"',
    "",
  ].join("\n");
}

/** A service folder whose update command is `docker compose up -d`. */
function webService(
  lab: DockerLab,
  folder: string,
  image: string,
  port: number,
): Record<string, string> {
  return lab.serviceFiles(
    folder,
    { web: { image, port } },
    hookFile({ update_commands: ["docker compose up -d"] }),
  );
}

/** A repository with the agent's settings and one service `web` serving "web v1" on `webPort`; `port` is for the agent's endpoint. */
async function webFixture(lab: DockerLab) {
  const web = lab.service("web");
  const webPort = freePort();
  const fixture = await GitFixture.create({
    ".upstream-watch.yaml": agentSettings(),
    ...webService(lab, web, await lab.webImage("v1"), webPort),
  });
  return { web, webPort, port: freePort(), fixture };
}

async function waitForHealth(agent: ComposedAgent, status: string) {
  let last = "";
  await waitUntil(async () => {
    last = await agent.health();
    return last === status;
  }, {
    message: `the agent's container is ${status} (last: ${last})`,
    timeoutMs: WAIT_MS * 3,
  });
}

imageTest(
  "the agent's image, run with the compose example, the host's socket and the repository mounted, deploys a compose service and redeploys it after a push",
  async () => {
    await using lab = await DockerLab.create();
    const { web, webPort, port, ...setup } = await webFixture(lab);
    await using fixture = setup.fixture;
    const v2 = await lab.webImage("v2");
    await using agent = await ComposedAgent.up(lab, fixture, {
      port,
      mounts: [fixture.upstream],
    });

    await lab.waitForBody(webPort, "web v1\n");
    const pushed = await fixture.push(webService(lab, web, v2, webPort));
    await lab.waitForBody(webPort, "web v2\n");
    const running = await lab.running(web);
    assert.deepEqual(running.map((c) => c.image), [v2]);

    const state = stateFileOf(fixture.clone);
    await waitUntil(
      () =>
        runRows(state, web).filter((r) => r.outcome === "succeeded").length ===
          2,
      { message: "two succeeded runs recorded" },
    );
    assert.equal(runRows(state, web).at(-1)?.to_commit, pushed);
    assert.equal(await git(fixture.clone, "status", "--porcelain"), "");
    // The image's entrypoint under the example's `init: true`: Docker's init,
    // then tini, then the agent.
    assert.match(await agent.inspect("{{json .Config.Entrypoint}}"), /tini/);
    await waitForHealth(agent, "healthy");
  },
);

imageTest(
  "docker stop of the agent's container during a hook stops it gracefully: tini passes SIGTERM on and the run is recorded interrupted",
  async () => {
    await using lab = await DockerLab.create();
    const port = freePort();
    const marks = await lab.scratchDir("marks");
    const started = join(marks, "started");
    await using fixture = await GitFixture.create({
      ".upstream-watch.yaml": agentSettings(),
      "slow/.update-hooks.yaml": hookFile({
        update_commands: [`touch ${shellQuote(started)}; sleep 120`],
      }),
    });
    await using agent = await ComposedAgent.up(lab, fixture, {
      port,
      mounts: [fixture.upstream, marks],
    });
    await waitUntil(async () => {
      try {
        await Deno.stat(started);
        return true;
      } catch {
        return false;
      }
    }, { message: "the hook started", timeoutMs: WAIT_MS * 3 });

    // The example's stop_grace_period (45 s) outlasts the agent's 30 s for a
    // running hook, so Docker never needs SIGKILL.
    await agent.compose("stop", AGENT_SERVICE);
    assert.equal(await agent.inspect("{{.State.Status}}"), "exited");
    assert.equal(
      await agent.inspect("{{.State.ExitCode}}"),
      "0",
      "the agent exited by itself, not by SIGKILL (137)",
    );
    const runs = runRows(stateFileOf(fixture.clone), "slow");
    assert.deepEqual(runs.map((r) => r.outcome), ["interrupted"]);
  },
);

imageTest(
  "the image's HEALTHCHECK turns unhealthy when the agent's /healthz does, and healthy again when syncing works again",
  async () => {
    await using lab = await DockerLab.create();
    const port = freePort();
    await using fixture = await GitFixture.create({
      ".upstream-watch.yaml": agentSettings(),
      "app/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
    });
    await using agent = await ComposedAgent.up(lab, fixture, {
      port,
      mounts: [fixture.upstream],
    });
    await waitForHealth(agent, "healthy");

    // Every fetch fails from now on: after three intervals /healthz says 503.
    await git(fixture.clone, "remote", "set-url", "origin", "/nonexistent.git");
    await waitForHealth(agent, "unhealthy");
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(response.status, 503, await response.text());

    await git(fixture.clone, "remote", "set-url", "origin", fixture.upstream);
    await waitForHealth(agent, "healthy");
  },
);

imageTest(
  "as the image's unprivileged user, with group_add of the socket's group, the agent deploys a compose service",
  async () => {
    await using lab = await DockerLab.create();
    const { web, webPort, port, ...setup } = await webFixture(lab);
    await using fixture = setup.fixture;
    // The user (uid 1000) must be able to write the repository; the socket
    // stays root's, readable by its group only.
    const socket = await Deno.stat("/var/run/docker.sock");
    assert.ok(
      socket.gid !== null && socket.gid !== 0,
      "the socket has a group",
    );
    assert.equal(socket.mode! & 0o006, 0, "others may not use the socket");
    await using _lent = await lendTree(fixture.root, 1000);

    await using agent = await ComposedAgent.up(lab, fixture, {
      port,
      mounts: [fixture.upstream],
      userWithGroup: socket.gid!,
    });
    await lab.waitForBody(webPort, "web v1\n");
    assert.equal(await agent.inspect("{{.Config.User}}"), "upstream-watch");
    const state = stateFileOf(fixture.clone);
    await waitUntil(
      () => runRows(state, web).some((r) => r.outcome === "succeeded"),
      { message: "a succeeded run recorded" },
    );
    assert.equal((await Deno.stat(state)).uid, 1000);
  },
);

imageTest("the agent's image is removed at the end", async () => {
  const built = await agentImage();
  await built[Symbol.asyncDispose]();
  await assert.rejects(
    docker(["image", "inspect", built.reference]),
    /No such image/,
  );
  if (imageDir) await Deno.remove(imageDir, { recursive: true });
});

/**
 * Gives the tree at `path` to `uid` (and the same gid) with `chown -R` in a
 * container of the image, as root there, so that it works for a test that
 * is not root; disposing gives it back to this process's user, so the test
 * can remove it.
 */
async function lendTree(path: string, uid: number): Promise<AsyncDisposable> {
  const { reference } = await agentImage();
  const chown = (owner: string) =>
    docker([
      "run",
      "--rm",
      "--network",
      "none",
      "--user",
      "root",
      "--volume",
      `${path}:${path}`,
      "--entrypoint",
      "chown",
      reference,
      "-R",
      owner,
      path,
    ]);
  await chown(`${uid}:${uid}`);
  return {
    [Symbol.asyncDispose]: async () => {
      await chown(`${Deno.uid()}:${Deno.gid()}`);
    },
  };
}

/**
 * Real containers for the Docker tests (tests/docker_*_test.ts): whether an
 * engine answers, images built locally `FROM scratch` with the static
 * busybox (no registry is needed or contacted), compose files that only use
 * those images and the host network on 127.0.0.1, and one disposable
 * {@link DockerLab} per test that removes everything it made by name and label.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WAIT_MS, waitUntil } from "./agent_process.ts";
import { spawnCli } from "./cli.ts";
import {
  ensureTool,
  testNeeding,
  type TestTool,
  type ToolSupport,
} from "./tool_setup.ts";

/** The statically linked busybox of Debian's busybox-static, copied into every test image. */
export const BUSYBOX = "/bin/busybox";

/** Label on every image (and so every container) a {@link DockerLab} makes; its value is the lab's prefix. */
export const TEST_LABEL = "upstream-watch-test";

/** The directory holding the test-only `docker` shim that forwards `docker compose …` to `docker-compose …`. */
export const DOCKER_SHIM_DIR = fileURLToPath(
  new URL("./docker-shim", import.meta.url),
);

/** Whether the Docker tests can run here, and if not, why. */
export type DockerSupport = ToolSupport;

/** Result of one docker (or docker-compose) invocation. */
interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd?: string; stdin?: string } = {},
): Promise<CommandResult> {
  const child = new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const result = await child.output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** Runs `docker args…`; throws with docker's stderr unless it exits 0; returns trimmed stdout. */
export async function docker(
  args: readonly string[],
  options: { cwd?: string; stdin?: string } = {},
): Promise<string> {
  const result = await runCommand("docker", args, options);
  if (result.code !== 0) {
    throw new Error(
      `docker ${args.join(" ")} exited ${result.code}: ${result.stderr.trim()}`,
    );
  }
  return result.stdout.trim();
}

/** Why the Docker tests cannot run here, or undefined when they can. */
async function dockerMissing(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "the test images run a Linux busybox";
  const missing = async (command: string, args: string[]) => {
    try {
      const result = await runCommand(command, args);
      return result.code === 0 ? undefined : result.stderr.trim();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "not installed";
      throw error;
    }
  };
  const info = await missing("docker", ["info", "--format", "{{.ID}}"]);
  if (info !== undefined) {
    return `no Docker engine answers \`docker info\` (${info.split("\n")[0]})`;
  }
  // The shim runs docker-compose v1 where it exists, else the v2 plugin.
  const compose = await missing("docker-compose", ["version", "--short"]);
  if (
    compose !== undefined &&
    await missing("docker", ["compose", "version"]) !== undefined
  ) {
    return `neither docker-compose nor docker compose works (docker-compose: ${compose})`;
  }
  try {
    await Deno.stat(BUSYBOX);
  } catch {
    return `${BUSYBOX} is missing (Debian package busybox-static)`;
  }
  return undefined;
}

/** A Docker engine with compose and the static busybox; .ci/start-docker installs and starts what is missing. */
export const DOCKER: TestTool = {
  name: "Docker",
  setupScript: ".ci/start-docker",
  probe: dockerMissing,
};

/** Set up (or found missing) once per test module. */
export const dockerSupport: DockerSupport = await ensureTool(DOCKER);

/**
 * A Deno test named `docker: NAME` that needs a Docker engine. Without one
 * (and when .ci/start-docker cannot start one) it is ignored with the reason
 * in the run's summary, except under `CI=true` on Linux, where it fails with
 * the reason: the Linux CI starts an engine and must never pass by skipping
 * them.
 */
export function dockerTest(name: string, fn: () => Promise<void>): void {
  testNeeding(DOCKER, dockerSupport, { name: `docker: ${name}`, fn });
}

/** A port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** What `docker inspect` says about one container, as far as the tests check it. */
export interface ContainerState {
  id: string;
  name: string;
  image: string;
  running: boolean;
  status: string;
  created: string;
  startedAt: string;
  /** The compose service it belongs to (label `com.docker.compose.service`). */
  composeService: string;
}

/**
 * Nanoseconds since the epoch of a docker timestamp
 * ("2026-01-02T03:04:05.123456789Z"; Go drops trailing zeros of the
 * fraction, so these strings do not compare as text).
 */
export function dockerTime(text: string): bigint {
  const match = text.match(/^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/);
  if (!match) throw new Error(`Cannot parse docker time "${text}"`);
  const seconds = BigInt(Date.parse(`${match[1]}Z`)) / 1000n;
  const fraction = BigInt((match[2] ?? "").padEnd(9, "0").slice(0, 9));
  return seconds * 1_000_000_000n + fraction;
}

/** One service of a {@link DockerLab.composeFile}. */
export interface ComposeService {
  image: string;
  /** Serve the image's page on 127.0.0.1:PORT (busybox httpd in the foreground). */
  port?: number;
  /** Replaces the image's command. */
  command?: string[];
  /** Compose `depends_on` entries: names, or name → condition. */
  dependsOn?: string[] | Record<string, string>;
  /** Bind mounts, `HOST:CONTAINER`. */
  volumes?: string[];
  /** Compose `env_file` entries, relative to the service folder. */
  envFile?: string[];
}

/** How a test image behaves. */
export type TestImage =
  /** busybox httpd serving `page` as /index.html (the compose file sets its port). */
  | { kind: "http"; page: string }
  /** An entrypoint that does not exist: every `up` of it fails when the container starts. */
  | { kind: "broken" };

/** A project name like docker-compose v1 derives from a folder name. */
export function composeProjectName(folder: string): string {
  return folder.toLowerCase().replace(/[^-_a-z0-9]/g, "");
}

/**
 * Everything one test makes in the engine, under a unique prefix: images
 * `PREFIX-NAME:TAG` labelled {@link TEST_LABEL}=PREFIX, and services (compose
 * projects) whose folder names start with PREFIX. Disposing removes every
 * container, image and network with that label or name, and its temp files.
 */
export class DockerLab implements AsyncDisposable {
  /** Lower-case letters and digits, unique per lab: names every service folder and image. */
  readonly prefix: string;
  readonly #dir: string;

  private constructor(prefix: string, dir: string) {
    this.prefix = prefix;
    this.#dir = dir;
  }

  /** A new lab with its own prefix and scratch directory. */
  static async create(): Promise<DockerLab> {
    const prefix = `uwt${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
    const dir = await Deno.makeTempDir({ prefix: `${prefix}-` });
    return new DockerLab(prefix, dir);
  }

  /** The folder (and so compose project) name of service `name` in this lab. */
  service(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** A directory for the test's own files (e.g. bind mounts), removed with the lab. */
  async scratchDir(name: string): Promise<string> {
    const path = join(this.#dir, "scratch", name);
    await Deno.mkdir(path, { recursive: true });
    return path;
  }

  /** Builds `PREFIX-NAME:TAG` from scratch with busybox; returns the reference. */
  async buildImage(
    name: string,
    tag: string,
    image: TestImage,
  ): Promise<string> {
    const reference = `${this.prefix}-${name}:${tag}`;
    const context = join(this.#dir, "images", `${name}-${tag}`);
    const bin = join(context, "root", "bin");
    await Deno.mkdir(bin, { recursive: true });
    await Deno.copyFile(BUSYBOX, join(bin, "busybox"));
    await Deno.chmod(join(bin, "busybox"), 0o755);
    // What `busybox --install -s /bin` would do, without running a build
    // container (the engine has no bridge network to run it in).
    const applets = (await runCommand(BUSYBOX, ["--list"])).stdout.split("\n")
      .filter((applet) => applet !== "" && applet !== "busybox");
    for (const applet of applets) {
      await Deno.symlink("busybox", join(bin, applet));
    }
    const www = join(context, "root", "www");
    await Deno.mkdir(www);
    const lines = ["FROM scratch", "COPY root/ /"];
    if (image.kind === "http") {
      await Deno.writeTextFile(join(www, "index.html"), image.page);
      lines.push(
        `CMD ["/bin/httpd", "-f", "-p", "127.0.0.1:80", "-h", "/www"]`,
      );
    } else {
      lines.push(`ENTRYPOINT ["/bin/no-such-program"]`);
    }
    await Deno.writeTextFile(
      join(context, "Dockerfile"),
      lines.join("\n") + "\n",
    );
    // --no-cache: tests build identical steps at the same time, and a cached
    // step shared with another lab's image goes when that lab removes its
    // image ("failed to get digest"). Each lab's images own their layers.
    await docker([
      "build",
      "--quiet",
      "--no-cache",
      "--label",
      `${TEST_LABEL}=${this.prefix}`,
      "--tag",
      reference,
      context,
    ]);
    return reference;
  }

  /**
   * A compose file (format 2.4, which docker-compose v1 reads) whose services
   * use the host network, stop within a second, and carry the lab's label.
   */
  composeFile(services: Record<string, ComposeService>): string {
    const entries = Object.entries(services).map(([name, service]) => {
      const entry: Record<string, unknown> = {
        image: service.image,
        network_mode: "host",
        // busybox as pid 1 ignores SIGTERM; don't wait the default 10 s.
        stop_grace_period: "1s",
        labels: { [TEST_LABEL]: this.prefix },
      };
      if (service.port !== undefined) {
        entry.command = [
          "httpd",
          "-f",
          "-p",
          `127.0.0.1:${service.port}`,
          "-h",
          "/www",
        ];
      }
      if (service.command) entry.command = service.command;
      if (service.volumes) entry.volumes = service.volumes;
      if (service.envFile) entry.env_file = service.envFile;
      if (Array.isArray(service.dependsOn)) {
        entry.depends_on = service.dependsOn;
      } else if (service.dependsOn) {
        entry.depends_on = Object.fromEntries(
          Object.entries(service.dependsOn).map((
            [dependency, condition],
          ) => [dependency, { condition }]),
        );
      }
      return [name, entry];
    });
    // JSON is YAML; the version key keeps docker-compose v1 on format 2.4.
    return JSON.stringify(
      { version: "2.4", services: Object.fromEntries(entries) },
      null,
      2,
    ) + "\n";
  }

  /** Builds the http image `PREFIX-web:TAG` serving the page "web TAG\n" (the tests' usual service). */
  async webImage(tag: string): Promise<string> {
    return await this.buildImage("web", tag, {
      kind: "http",
      page: `web ${tag}\n`,
    });
  }

  /**
   * The files of service folder `folder` for a fixture or a push: its
   * `docker-compose.yml` made of `services`, and its `.update-hooks.yaml`
   * when `hooks` is given.
   */
  serviceFiles(
    folder: string,
    services: Record<string, ComposeService>,
    hooks?: string,
  ): Record<string, string> {
    const files: Record<string, string> = {
      [`${folder}/docker-compose.yml`]: this.composeFile(services),
    };
    if (hooks !== undefined) files[`${folder}/.update-hooks.yaml`] = hooks;
    return files;
  }

  /** One `run --once` of the agent in `clone` with the docker shim first on PATH; fails unless it exits `code`. */
  async runOnce(clone: string, code = 0): Promise<void> {
    const result = await spawnCli(["--repo", clone, "run", "--once"], {
      env: this.hookEnv(),
    });
    assert.equal(result.code, code, result.stderr);
  }

  /** The one container of `folder`'s project; fails when there is not exactly one. */
  async onlyContainer(folder: string): Promise<ContainerState> {
    const containers = await this.containers(folder);
    assert.equal(
      containers.length,
      1,
      `one container: ${JSON.stringify(containers)}`,
    );
    return containers[0];
  }

  /** The environment that puts the `docker` shim first on the hooks' PATH. */
  hookEnv(): Record<string, string> {
    return { PATH: `${DOCKER_SHIM_DIR}:${Deno.env.get("PATH") ?? ""}` };
  }

  /** Every container (running or not) of the compose project of service folder `folder`, oldest first. */
  async containers(folder: string): Promise<ContainerState[]> {
    // compose may remove a container between the listing and the inspect
    // (a redeploy in progress): list again until both agree.
    for (let attempt = 1;; attempt++) {
      const ids = await docker([
        "ps",
        "--all",
        "--quiet",
        "--no-trunc",
        "--filter",
        `label=com.docker.compose.project=${composeProjectName(folder)}`,
      ]);
      try {
        const states = await this.inspect(ids.split("\n").filter(Boolean));
        return states.sort((a, b) =>
          dockerTime(a.created) < dockerTime(b.created) ? -1 : 1
        );
      } catch (error) {
        const vanished = error instanceof Error &&
          error.message.includes("No such object");
        if (!vanished || attempt === 10) throw error;
      }
    }
  }

  /** The running containers of `folder`'s project. */
  async running(folder: string): Promise<ContainerState[]> {
    return (await this.containers(folder)).filter((state) => state.running);
  }

  /** `docker inspect` of the given containers. */
  async inspect(ids: readonly string[]): Promise<ContainerState[]> {
    if (ids.length === 0) return [];
    const parsed = JSON.parse(await docker(["inspect", ...ids])) as {
      Id: string;
      Name: string;
      Created: string;
      Config: { Image: string; Labels: Record<string, string> | null };
      State: { Running: boolean; Status: string; StartedAt: string };
    }[];
    return parsed.map((entry) => ({
      id: entry.Id,
      name: entry.Name.replace(/^\//, ""),
      image: entry.Config.Image,
      running: entry.State.Running,
      status: entry.State.Status,
      created: entry.Created,
      startedAt: entry.State.StartedAt,
      composeService: entry.Config.Labels?.["com.docker.compose.service"] ?? "",
    }));
  }

  /** The body served at http://127.0.0.1:PORT/, or undefined when nothing answers there. */
  async httpBody(port: number): Promise<string | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        signal: AbortSignal.timeout(2_000),
      });
      const body = await response.text();
      return response.ok ? body : undefined;
    } catch {
      return undefined;
    }
  }

  /** Waits until http://127.0.0.1:PORT/ serves `body` (httpd needs a moment after the container starts). */
  async waitForBody(port: number, body: string): Promise<void> {
    let last: string | undefined;
    await waitUntil(async () => {
      last = await this.httpBody(port);
      return last === body;
    }, {
      message: `127.0.0.1:${port} serves ${JSON.stringify(body)} (last: ${
        JSON.stringify(last)
      })`,
      timeoutMs: WAIT_MS,
    });
  }

  /** Names of everything left in the engine with this lab's label or prefix (empty after disposal). */
  async leftovers(): Promise<string[]> {
    const containers = await this.#containerIds();
    const images = await this.#imageIds();
    const networks = await this.#networkIds();
    return [...containers, ...images, ...networks];
  }

  async #containerIds(): Promise<string[]> {
    const byLabel = await docker([
      "ps",
      "--all",
      "--quiet",
      "--filter",
      `label=${TEST_LABEL}=${this.prefix}`,
    ]);
    const byName = await docker([
      "ps",
      "--all",
      "--quiet",
      "--filter",
      `name=${this.prefix}`,
    ]);
    return [...new Set(`${byLabel}\n${byName}`.split("\n").filter(Boolean))];
  }

  async #imageIds(): Promise<string[]> {
    const ids = await docker([
      "images",
      "--all",
      "--quiet",
      "--filter",
      `label=${TEST_LABEL}=${this.prefix}`,
    ]);
    return [...new Set(ids.split("\n").filter(Boolean))];
  }

  async #networkIds(): Promise<string[]> {
    const ids = await docker([
      "network",
      "ls",
      "--quiet",
      "--filter",
      `name=${this.prefix}`,
    ]);
    return ids.split("\n").filter(Boolean);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const containers = await this.#containerIds();
    if (containers.length > 0) {
      await docker(["rm", "--force", "--volumes", ...containers]);
    }
    const images = await this.#imageIds();
    if (images.length > 0) await docker(["rmi", "--force", ...images]);
    const networks = await this.#networkIds();
    if (networks.length > 0) await docker(["network", "rm", ...networks]);
    await Deno.remove(this.#dir, { recursive: true });
  }
}

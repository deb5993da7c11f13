/**
 * The agent's own container image for the Docker tests: the project's
 * Dockerfile, built with its build arguments for an engine that can pull
 * nothing. The base is the mmdebstrap image of .ci/make-test-base; the build
 * stage is that base with this machine's Deno and the program's npm packages
 * (AGENT=source, since `deno compile` cannot fetch its runtime offline); the
 * docker CLI is this machine's, with a compose plugin that runs Debian's
 * docker-compose v1.
 */
import { cp } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { docker, DOCKER_SHIM_DIR, TEST_LABEL } from "./docker.ts";
import {
  ensureTool,
  PROJECT_ROOT,
  type TestTool,
  type ToolSupport,
} from "./tool_setup.ts";

/** The base image's name, as .ci/make-test-base reports it. */
async function baseImageName(): Promise<string> {
  const result = await new Deno.Command("bash", {
    args: [".ci/make-test-base", "--name"],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(result.stdout).trim();
}

/** The Debian base image the agent's image is built on; .ci/make-test-base makes it when missing. */
export const AGENT_BASE: TestTool = {
  name: "the Debian base image",
  setupScript: ".ci/make-test-base",
  probe: async () => {
    const name = await baseImageName();
    try {
      await docker(["image", "inspect", "--format", "{{.Id}}", name]);
      return undefined;
    } catch {
      return `no image ${name} in the engine`;
    }
  },
};

/** Whether the base image is there (made once per test run when it can be). */
export async function agentBaseSupport(
  docker: ToolSupport,
): Promise<ToolSupport> {
  return docker.available ? await ensureTool(AGENT_BASE) : docker;
}

/** The test-only compose plugin that runs docker-compose v1 for `docker compose`. */
const COMPOSE_PLUGIN = join(
  PROJECT_ROOT,
  "tests/helpers/compose-plugin/docker-compose",
);

/** The real docker CLI on PATH (not the tests' shim). */
async function dockerBinary(): Promise<string> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(delimiter)) {
    if (dir === "" || dir === DOCKER_SHIM_DIR) continue;
    try {
      const path = await Deno.realPath(join(dir, "docker"));
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not in this folder
    }
  }
  throw new Error("no docker CLI on PATH");
}

/** `name@version` of every npm package in the program's deno.lock. */
async function lockedPackages(): Promise<{ name: string; version: string }[]> {
  const lock = JSON.parse(
    await Deno.readTextFile(join(PROJECT_ROOT, "deno.lock")),
  ) as { npm?: Record<string, unknown> };
  return Object.keys(lock.npm ?? {}).map((key) => {
    const at = key.lastIndexOf("@");
    return { name: key.slice(0, at), version: key.slice(at + 1) };
  });
}

/** The npm cache of this machine's Deno, with the program's packages in it. */
async function programNpmCache(): Promise<string> {
  // Fetches nothing when they are cached already (every CLI test loads them).
  const cached = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--frozen", "main.ts", "src/cli/program.ts"],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!cached.success) {
    throw new Error(
      `deno cache main.ts failed: ${new TextDecoder().decode(cached.stderr)}`,
    );
  }
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  }).output();
  return (JSON.parse(new TextDecoder().decode(info.stdout)) as {
    npmCache: string;
  }).npmCache;
}

/** The ids `docker build` (legacy builder, not quiet) printed as the images of its steps, cached ones included. */
function stepImages(output: string): string[] {
  return [...output.matchAll(/^ ---> ([0-9a-f]{12,})$/gm)].map((match) =>
    match[1]
  );
}

/** The first 12 hex digits of the SHA-256 of `parts`. */
async function cacheKey(...parts: (string | Uint8Array)[]): Promise<string> {
  const bytes = parts.map((part) =>
    typeof part === "string" ? new TextEncoder().encode(`${part}\n`) : part
  );
  const joined = new Uint8Array(bytes.reduce((sum, b) => sum + b.length, 0));
  let offset = 0;
  for (const part of bytes) {
    joined.set(part, offset);
    offset += part.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
  return [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function imageExists(reference: string): Promise<boolean> {
  try {
    await docker(["image", "inspect", "--format", "{{.Id}}", reference]);
    return true;
  } catch {
    return false;
  }
}

/** Runs `docker build`; returns the ids of its steps' images. */
async function dockerBuild(
  reference: string,
  args: readonly string[],
  context: string,
): Promise<string[]> {
  const output = await docker([
    "build",
    "--network",
    "none",
    "--tag",
    reference,
    ...args,
    context,
  ]);
  return stepImages(output);
}

/**
 * The build stage's image: the base with this machine's Deno and the npm
 * packages of the program's deno.lock in DENO_DIR. Kept between runs under a
 * name keyed by the base, Deno's version and the lockfile.
 */
async function denoBuildImage(base: string, dir: string): Promise<string> {
  const lock = await Deno.readTextFile(join(PROJECT_ROOT, "deno.lock"));
  const reference = `upstream-watch-test-deno:${await cacheKey(
    base,
    Deno.version.deno,
    lock,
  )}`;
  if (await imageExists(reference)) return reference;
  const context = join(dir, "deno-build");
  const npm = join(context, "deno-dir", "npm", "registry.npmjs.org");
  const npmCache = join(await programNpmCache(), "registry.npmjs.org");
  for (const { name, version } of await lockedPackages()) {
    await Deno.mkdir(join(npm, name), { recursive: true });
    await cp(join(npmCache, name, version), join(npm, name, version), {
      recursive: true,
    });
    await Deno.copyFile(
      join(npmCache, name, "registry.json"),
      join(npm, name, "registry.json"),
    );
  }
  await Deno.copyFile(Deno.execPath(), join(context, "deno"));
  await Deno.writeTextFile(
    join(context, "Dockerfile"),
    [
      "ARG BASE",
      "FROM ${BASE}",
      "COPY deno /usr/local/bin/deno",
      "COPY deno-dir/ /deno-dir/",
      "ENV DENO_DIR=/deno-dir",
      "",
    ].join("\n"),
  );
  await dockerBuild(reference, ["--build-arg", `BASE=${base}`], context);
  return reference;
}

/**
 * The docker CLI stage's image: this machine's docker CLI and the compose
 * plugin adapter, at the paths of Docker's own CLI image. Kept between runs
 * under a name keyed by both files.
 */
async function dockerCliImage(dir: string): Promise<string> {
  const cli = await dockerBinary();
  const plugin = await Deno.readFile(COMPOSE_PLUGIN);
  const version = await docker(["version", "--format", "{{.Client.Version}}"]);
  const stat = await Deno.stat(cli);
  const reference = `upstream-watch-test-docker-cli:${await cacheKey(
    version,
    `${stat.size} ${stat.mtime?.getTime()}`,
    plugin,
  )}`;
  if (await imageExists(reference)) return reference;
  const context = join(dir, "docker-cli");
  await Deno.mkdir(context, { recursive: true });
  await Deno.copyFile(cli, join(context, "docker"));
  await Deno.writeFile(join(context, "docker-compose"), plugin, {
    mode: 0o755,
  });
  await Deno.chmod(join(context, "docker-compose"), 0o755);
  await Deno.writeTextFile(
    join(context, "Dockerfile"),
    [
      "FROM scratch",
      "COPY docker /usr/local/bin/docker",
      "COPY docker-compose /usr/local/libexec/docker/cli-plugins/docker-compose",
      "",
    ].join("\n"),
  );
  await dockerBuild(reference, [], context);
  return reference;
}

/** The ids of `image` and its parents, newest first. */
async function imageChain(image: string): Promise<string[]> {
  const chain: string[] = [];
  let current = image;
  while (current !== "") {
    chain.push(current);
    current = await docker([
      "image",
      "inspect",
      "--format",
      "{{.Parent}}",
      current,
    ])
      .catch(() => "");
  }
  return chain;
}

/** Short ids as `docker build` prints them. */
function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

/**
 * Removes the untagged leftovers of earlier builds of the agent's image: the
 * dangling images whose parents lead to `base` and that the build just made
 * (`keep`) does not use. What a build leaves is its cache for the next one.
 */
async function removeStaleBuildCache(
  base: string,
  keep: readonly string[],
): Promise<void> {
  const baseId = shortId(
    await docker(["image", "inspect", "--format", "{{.Id}}", base]),
  );
  const kept = new Set(keep.map(shortId));
  const dangling = (await docker([
    "images",
    "--quiet",
    "--no-trunc",
    "--filter",
    "dangling=true",
  ])).split("\n").filter(Boolean);
  for (const leaf of dangling) {
    if (kept.has(shortId(leaf))) continue;
    const chain = (await imageChain(leaf)).map(shortId);
    if (!chain.includes(baseId)) continue;
    // Takes its untagged parents with it, up to one this build still uses.
    await docker(["rmi", leaf]).catch(() => undefined);
  }
}

/** Options of {@link AgentImage.build}. */
export interface AgentImageOptions {
  /** Prefix of the image name; the image carries {@link TEST_LABEL}=prefix. */
  prefix: string;
  /** A scratch folder for the build contexts. */
  dir: string;
}

/**
 * The agent's image, built from the project's Dockerfile on the images
 * above. Disposing removes it; the untagged layers below it stay as the
 * build cache of the next run (the oldest are removed by the next build).
 */
export class AgentImage implements AsyncDisposable {
  /** The image reference, `PREFIX-agent:test`. */
  readonly reference: string;
  /** How long `docker build` of the Dockerfile took. */
  readonly buildSeconds: number;

  private constructor(reference: string, buildSeconds: number) {
    this.reference = reference;
    this.buildSeconds = buildSeconds;
  }

  /** Builds the Dockerfile with `AGENT=source` on the test base. */
  static async build(options: AgentImageOptions): Promise<AgentImage> {
    const base = await baseImageName();
    const buildImage = await denoBuildImage(base, options.dir);
    const cliImage = await dockerCliImage(options.dir);
    const reference = `${options.prefix}-agent:test`;
    const started = performance.now();
    const steps = await dockerBuild(reference, [
      "--label",
      `${TEST_LABEL}=${options.prefix}`,
      "--file",
      join(PROJECT_ROOT, "Dockerfile"),
      "--build-arg",
      `BUILD_IMAGE=${buildImage}`,
      "--build-arg",
      `DOCKER_CLI_IMAGE=${cliImage}`,
      "--build-arg",
      `BASE_IMAGE=${base}`,
      "--build-arg",
      "AGENT=source",
    ], PROJECT_ROOT);
    const seconds = (performance.now() - started) / 1000;
    await removeStaleBuildCache(base, steps);
    return new AgentImage(reference, seconds);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // --no-prune: its untagged parents are the next build's cache.
    await docker(["rmi", "--force", "--no-prune", this.reference]);
  }
}

/**
 * `deno task demo [--keep] [--docker]`: runs upstream-watch end to end on a
 * throwaway copy of `examples/infra` — real git, real hook commands, real
 * SQLite — with a fake `docker` on PATH, because the demo must not need a
 * Docker engine. With `--docker` it deploys real containers instead: the
 * files of `examples/infra-docker` replace the ones naming registry images,
 * the images are built locally from busybox, and the demo checks the
 * containers' answers on 127.0.0.1.
 *
 * Layout of the temp dir:
 *   seed/          the example copied into a fresh repository and committed
 *   upstream.git   a bare clone of it, playing the git server
 *   agent/         the agent's checkout (what `--repo` points at)
 *   operator/      a second clone that pushes a change, like an operator would
 *   bin/docker     the fake docker
 *   backups/       where the example's backup service writes (BACKUP_DIR)
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PERMISSION_FLAGS } from "./permissions.ts";

const PROJECT_ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const MAIN = join(PROJECT_ROOT, "main.ts");
const EXAMPLE = join(PROJECT_ROOT, "examples", "infra");
const DOCKER_EXAMPLE = join(PROJECT_ROOT, "examples", "infra-docker");
/** The published demo age key that opens examples/infra/backup/backup.sops.env (it protects nothing). */
const DEMO_AGE_KEY = join(PROJECT_ROOT, "examples", "demo-age-key.txt");

/** Git isolated from the user's configuration, with a fixed author, for the git commands the demo runs itself. */
const GIT_ENV: Record<string, string> = {
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_AUTHOR_NAME: "Demo Operator",
  GIT_AUTHOR_EMAIL: "operator@example.test",
  GIT_COMMITTER_NAME: "Demo Operator",
  GIT_COMMITTER_EMAIL: "operator@example.test",
  GIT_TERMINAL_PROMPT: "0",
};

const FAKE_DOCKER = `#!/bin/sh
# Fake docker for the upstream-watch demo: prints what it was asked to do.
echo "[fake docker] docker $*"
# A tag nobody published fails the pull, as a real registry would.
if [ "$2" = pull ] && grep -q ':broken' docker-compose.yml 2>/dev/null; then
  echo "[fake docker] manifest unknown: no such tag 'broken'" >&2
  exit 1
fi
exit 0
`;

/** A demo step that did not go as expected. */
class DemoError extends Error {}

/** One entry of `history --json`, as far as the demo checks it. */
interface RunJson {
  id: number;
  service: string;
  trigger: string;
  outcome: string;
}

const encoder = new TextEncoder();

function print(text = ""): void {
  const data = encoder.encode(`${text}\n`);
  let offset = 0;
  while (offset < data.length) {
    offset += Deno.stdout.writeSync(data.subarray(offset));
  }
}

function heading(title: string): void {
  print();
  print(`== ${title} ==`);
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command("git", {
      args,
      cwd,
      env: GIT_ENV,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new DemoError(
      "git is not installed (or not on PATH); the demo needs it",
    );
  }
  if (!result.success) {
    throw new DemoError(
      `git ${args.join(" ")} failed in ${cwd}:\n${
        new TextDecoder().decode(result.stderr).trim()
      }`,
    );
  }
  return new TextDecoder().decode(result.stdout).trim();
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory) await copyTree(source, target);
    else if (entry.isFile) await Deno.copyFile(source, target);
  }
}

/** Runs the real CLI as a subprocess under the release permission flags. */
class Cli {
  readonly #repo: string;
  readonly #env: Record<string, string>;

  constructor(repo: string, env: Record<string, string>) {
    this.#repo = repo;
    this.#env = env;
  }

  /** Runs `upstream-watch --repo <agent> args…` with its output shown; fails unless it exits `expectedCode`. */
  async show(args: string[], expectedCode = 0): Promise<void> {
    print(`$ upstream-watch --repo agent ${args.join(" ")}`);
    const { code } = await this.#command(args, "inherit").output();
    if (code !== expectedCode) {
      throw new DemoError(
        `upstream-watch ${
          args.join(" ")
        } exited ${code}, expected ${expectedCode}`,
      );
    }
  }

  /** Runs a `--json` command quietly and returns its parsed output. */
  async json<T>(args: string[]): Promise<T> {
    const result = await this.#command(args, "piped").output();
    const stdout = new TextDecoder().decode(result.stdout);
    if (!result.success) {
      throw new DemoError(
        `upstream-watch ${args.join(" ")} exited ${result.code}:\n${
          new TextDecoder().decode(result.stderr)
        }`,
      );
    }
    return JSON.parse(stdout) as T;
  }

  #command(args: string[], stdio: "inherit" | "piped"): Deno.Command {
    return new Deno.Command(Deno.execPath(), {
      args: ["run", ...PERMISSION_FLAGS, MAIN, "--repo", this.#repo, ...args],
      cwd: PROJECT_ROOT,
      env: this.#env,
      stdin: "null",
      stdout: stdio,
      stderr: stdio,
    });
  }
}

/** Runs in `history --json` after run `afterId`, oldest first. */
async function runsAfter(cli: Cli, afterId: number): Promise<RunJson[]> {
  const { runs } = await cli.json<{ runs: RunJson[] }>([
    "history",
    "--json",
    "--limit",
    "1000",
  ]);
  return runs.filter((run) => run.id > afterId).reverse();
}

function expectRuns(
  runs: readonly RunJson[],
  services: readonly string[],
  when: string,
): void {
  const got = runs.map((run) => `${run.service}:${run.outcome}`).sort();
  const want = services.map((service) => `${service}:succeeded`).sort();
  if (got.join(",") !== want.join(",")) {
    throw new DemoError(
      `${when}: expected runs [${want.join(", ")}], got [${got.join(", ")}]`,
    );
  }
  print(
    `✓ ${when}: ${
      services.length === 0 ? "no runs" : services.join(", ") + " succeeded"
    }`,
  );
}

/** What `--docker` adds to the demo: the engine, the images it built and the ports it serves on. */
interface RealDocker {
  lab: import("../tests/helpers/docker.ts").DockerLab;
  env: Record<string, string>;
  whoamiPort: number;
  proxyPort: number;
}

/** Builds the images of examples/infra-docker; fails when no engine answers. */
async function startRealDocker(): Promise<RealDocker> {
  // Loaded only here: the module asks `docker info` when it is imported.
  const docker = await import("../tests/helpers/docker.ts");
  if (!docker.dockerSupport.available) {
    throw new DemoError(
      `--docker: ${docker.dockerSupport.reason} (or run the demo without --docker)`,
    );
  }
  const lab = await docker.DockerLab.create();
  try {
    for (const version of ["v1.10.3", "v1.11.0"]) {
      await lab.buildImage("whoami", version, {
        kind: "http",
        page: `whoami ${version}\n`,
      });
    }
    await lab.buildImage("proxy", "2.10", { kind: "http", page: "proxy\n" });
    // The revision the demo pushes to show a rollback: a container that cannot start.
    await lab.buildImage("proxy", "broken", { kind: "broken" });
  } catch (error) {
    await lab[Symbol.asyncDispose]();
    throw error;
  }
  const whoamiPort = docker.freePort();
  const proxyPort = docker.freePort();
  const env: Record<string, string> = {
    DEMO_IMAGES: lab.prefix,
    WHOAMI_PORT: String(whoamiPort),
    PROXY_PORT: String(proxyPort),
  };
  // Hooks say `docker compose`; where only docker-compose v1 is installed,
  // the test shim translates.
  const plugin = await new Deno.Command("docker", {
    args: ["compose", "version"],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!plugin.success) env.PATH = lab.hookEnv().PATH;
  return { lab, env, whoamiPort, proxyPort };
}

/** Fails unless http://127.0.0.1:PORT/ serves `body`. */
async function expectServes(
  docker: RealDocker,
  port: number,
  body: string,
): Promise<void> {
  try {
    await docker.lab.waitForBody(port, body);
  } catch (error) {
    throw new DemoError(error instanceof Error ? error.message : String(error));
  }
  print(`✓ 127.0.0.1:${port} answers ${JSON.stringify(body.trim())}`);
}

/** The one running container of a compose project, by id and start time. */
async function runningContainer(
  docker: RealDocker,
  project: string,
): Promise<string> {
  const running = await docker.lab.running(project);
  if (running.length !== 1) {
    throw new DemoError(
      `expected one running container of ${project}, found ${running.length}`,
    );
  }
  return `${running[0].id.slice(0, 12)} started ${running[0].startedAt}`;
}

/** Fails unless backup/.env was decrypted from backup.sops.env: mode 0600, its variables there, git status clean. */
async function expectDecryptedEnv(agent: string): Promise<void> {
  const env = join(agent, "backup", ".env");
  let info: Deno.FileInfo;
  let text: string;
  try {
    info = await Deno.stat(env);
    text = await Deno.readTextFile(env);
  } catch {
    throw new DemoError("backup/.env was not decrypted from backup.sops.env");
  }
  const names = text.split("\n").filter((line) => line.includes("="))
    .map((line) => line.slice(0, line.indexOf("=")));
  if ((info.mode! & 0o777) !== 0o600 || !names.includes("BACKUP_PASSPHRASE")) {
    throw new DemoError(
      `backup/.env has mode ${(info.mode! & 0o777).toString(8)} and ${
        names.join(", ")
      }; expected 600 and BACKUP_PASSPHRASE`,
    );
  }
  const status = await git(agent, "status", "--porcelain");
  if (status !== "") {
    throw new DemoError(`the work tree is not clean:\n${status}`);
  }
  print(
    `✓ backup/.env decrypted from backup.sops.env (${info.size} bytes, mode 0600, variables ${
      names.join(", ")
    }); git status is clean`,
  );
}

async function demo(root: string, docker?: RealDocker): Promise<void> {
  const seed = join(root, "seed");
  const upstream = join(root, "upstream.git");
  const agent = join(root, "agent");
  const operator = join(root, "operator");
  const bin = join(root, "bin");
  const backups = join(root, "backups");

  heading("setup: a throwaway upstream repository from examples/infra");
  await copyTree(EXAMPLE, seed);
  if (docker) {
    for (const service of ["whoami", "proxy"]) {
      await copyTree(join(DOCKER_EXAMPLE, service), join(seed, service));
    }
  }
  await git(seed, "init", "--quiet", "--initial-branch=main");
  await git(seed, "add", "--all");
  await git(seed, "commit", "--quiet", "-m", "Example infrastructure");
  await git(root, "clone", "--quiet", "--bare", seed, upstream);
  await git(root, "clone", "--quiet", upstream, agent);
  print(`upstream (bare):  ${upstream}`);
  print(`agent checkout:   ${agent}`);

  let path = Deno.env.get("PATH") ?? "";
  if (docker) {
    print(
      `real docker:      images ${docker.lab.prefix}-* built here, examples/infra-docker laid over the copy`,
    );
    print(
      `                  whoami on 127.0.0.1:${docker.whoamiPort}, proxy on 127.0.0.1:${docker.proxyPort}`,
    );
    path = docker.env.PATH ?? path;
  } else {
    await Deno.mkdir(bin);
    await Deno.writeTextFile(join(bin, "docker"), FAKE_DOCKER, {
      mode: 0o755,
    });
    print(
      `fake docker:      ${
        join(bin, "docker")
      } (first on PATH: there is no Docker engine,`,
    );
    print(
      "                  so every docker command only prints a [fake docker] line and exits 0)",
    );
    path = `${bin}:${path}`;
  }
  print(`backup target:    ${backups} (BACKUP_DIR for the backup service)`);
  print(
    `age key:          ${DEMO_AGE_KEY} (SOPS_AGE_KEY_FILE; a published demo key)`,
  );

  const cli = new Cli(agent, {
    ...docker?.env,
    PATH: path,
    BACKUP_DIR: backups,
    // Opens backup/backup.sops.env, from which backup/.env is decrypted.
    SOPS_AGE_KEY_FILE: DEMO_AGE_KEY,
    // The agent's git ignores the user's git configuration too (no global hooks).
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_CONFIG_NOSYSTEM: "1",
  });

  heading("validate: every hook file of the example parses");
  await cli.show(["validate"]);

  heading("first cycle: every service deploys (no state yet)");
  await cli.show(["run", "--once"]);
  const firstRuns = await runsAfter(cli, 0);
  expectRuns(firstRuns, ["backup", "proxy", "whoami"], "first cycle");
  const lastFirstId = Math.max(...firstRuns.map((run) => run.id));
  await expectDecryptedEnv(agent);
  let proxyBefore = "";
  if (docker) {
    await expectServes(docker, docker.whoamiPort, "whoami v1.10.3\n");
    await expectServes(docker, docker.proxyPort, "proxy\n");
    proxyBefore = await runningContainer(docker, "upstream-watch-demo-proxy");
  }

  heading("an operator pushes two commits: whoami's image, then the docs");
  await git(root, "clone", "--quiet", upstream, operator);
  const compose = join(operator, "whoami", "docker-compose.yml");
  const before = await Deno.readTextFile(compose);
  const image = docker ? "-whoami:v1.10.3" : "traefik/whoami:v1.10.3";
  const after = before.replace(image, image.replace("v1.10.3", "v1.11.0"));
  if (after === before) {
    throw new DemoError(
      `whoami/docker-compose.yml no longer pins ${image}`,
    );
  }
  await Deno.writeTextFile(compose, after);
  await git(operator, "commit", "--quiet", "-am", "whoami: update to v1.11.0");
  const readme = join(operator, "README.md");
  await Deno.writeTextFile(
    readme,
    `${await Deno.readTextFile(
      readme,
    )}\nChanges reach the servers within one retry_interval.\n`,
  );
  await git(operator, "commit", "--quiet", "-am", "docs: mention the delay");
  await git(operator, "push", "--quiet", "origin", "main");
  print(await git(operator, "log", "--oneline", "-3"));

  heading("plan: what the next cycle would run, and why");
  await cli.show(["plan"]);

  heading("second cycle: only whoami updates");
  await cli.show(["run", "--once"]);
  const secondRuns = await runsAfter(cli, lastFirstId);
  expectRuns(secondRuns, ["whoami"], "second cycle");
  const whoamiRun = secondRuns[0].id;
  if (docker) {
    await expectServes(docker, docker.whoamiPort, "whoami v1.11.0\n");
    const proxyAfter = await runningContainer(
      docker,
      "upstream-watch-demo-proxy",
    );
    if (proxyAfter !== proxyBefore) {
      throw new DemoError(
        `the proxy container changed (${proxyBefore} → ${proxyAfter}) though the proxy did not`,
      );
    }
    print(`✓ the proxy's container is untouched: ${proxyAfter}`);
  }

  heading("third cycle: nothing changed, nothing runs");
  await cli.show(["run", "--once"]);
  expectRuns(await runsAfter(cli, whoamiRun), [], "third cycle");

  heading(
    docker
      ? "a broken revision is pushed: proxy's new image cannot start"
      : "a broken revision is pushed: proxy's image tag does not exist",
  );
  const proxyCompose = join(operator, "proxy", "docker-compose.yml");
  const goodProxy = await Deno.readTextFile(proxyCompose);
  const goodTag = docker ? "-proxy:2.10" : "caddy:2.10";
  const brokenProxy = goodProxy.replace(
    goodTag,
    goodTag.replace("2.10", "broken"),
  );
  if (brokenProxy === goodProxy) {
    throw new DemoError(
      `proxy/docker-compose.yml no longer pins ${goodTag}`,
    );
  }
  await Deno.writeTextFile(proxyCompose, brokenProxy);
  await git(operator, "commit", "--quiet", "-am", "proxy: caddy:broken");
  await git(operator, "push", "--quiet", "origin", "main");
  const brokenCommit = await git(operator, "rev-parse", "HEAD");

  heading(
    docker
      ? "fourth cycle: proxy's new container cannot start; it is rolled back (exit 1)"
      : "fourth cycle: proxy fails at update and is rolled back (exit 1)",
  );
  await cli.show(["run", "--once"], 1);
  const fourthRuns = await runsAfter(cli, whoamiRun);
  const shape = fourthRuns.map((run) =>
    `${run.service}:${run.trigger}:${run.outcome}`
  ).join(", ");
  if (shape !== "proxy:poll:failed, proxy:rollback:succeeded") {
    throw new DemoError(
      `fourth cycle: expected a failed proxy run and its rollback, got [${shape}]`,
    );
  }
  const agentProxy = await Deno.readTextFile(
    join(agent, "proxy", "docker-compose.yml"),
  );
  if (!agentProxy.includes(goodTag.replace("2.10", "broken"))) {
    throw new DemoError("the agent's proxy folder was not restored to HEAD");
  }
  if (docker) {
    await expectServes(docker, docker.proxyPort, "proxy\n");
    await runningContainer(docker, "upstream-watch-demo-proxy");
  }
  print(
    "✓ fourth cycle: proxy failed, was rolled back to its last good commit, and its folder is back at HEAD",
  );

  heading("fifth cycle: the broken revision is held, nothing runs");
  await cli.show(["run", "--once"]);
  expectRuns(
    await runsAfter(cli, fourthRuns[fourthRuns.length - 1].id),
    [],
    "fifth cycle",
  );

  heading("status");
  await cli.show(["status"]);
  const { services } = await cli.json<
    { services: { name: string; rollback: { from: string } | null }[] }
  >(["status", "--json"]);
  const proxyStatus = services.find((service) => service.name === "proxy");
  if (proxyStatus?.rollback?.from !== brokenCommit) {
    throw new DemoError("status does not show proxy rolled back");
  }

  heading("history");
  await cli.show(["history"]);

  heading(`logs of run ${whoamiRun} (the captured output of whoami's update)`);
  await cli.show(["logs", String(whoamiRun)]);

  const backupRun = firstRuns.find((run) => run.service === "backup")!;
  heading(
    `logs of run ${backupRun.id}: backup's first deploy, step decrypt first (names and sizes, never values)`,
  );
  await cli.show(["logs", String(backupRun.id)]);

  heading("what the backup service's shell command wrote");
  print((await Deno.readTextFile(join(backups, "deployments.log"))).trimEnd());
}

async function main(args: readonly string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== "--keep" && arg !== "--docker");
  if (unknown.length > 0) {
    print(
      `usage: deno task demo [--keep] [--docker]  (unknown: ${
        unknown.join(" ")
      })`,
    );
    return 2;
  }
  const keep = args.includes("--keep");
  if (Deno.build.os === "windows") {
    print(
      "The demo needs a POSIX shell: the example services run sh commands. Run it on Linux or macOS (or WSL).",
    );
    return 1;
  }
  const root = await Deno.makeTempDir({ prefix: "upstream-watch-demo-" });
  print(`upstream-watch demo in ${root}`);
  let failed = false;
  let docker: RealDocker | undefined;
  try {
    if (args.includes("--docker")) docker = await startRealDocker();
    await demo(root, docker);
    heading("done: the demo passed");
  } catch (error) {
    failed = true;
    const message = error instanceof DemoError
      ? error.message
      : error instanceof Error
      ? error.stack ?? error.message
      : String(error);
    print();
    print(`demo FAILED: ${message}`);
  } finally {
    if (docker) {
      await docker.lab[Symbol.asyncDispose]();
      print(
        `removed the demo's containers and images (${docker.lab.prefix}-*)`,
      );
    }
    if (keep) {
      print(`kept ${root} (remove it with: rm -rf ${root})`);
    } else {
      await Deno.remove(root, { recursive: true });
      print(
        `removed ${root}${failed ? " (rerun with --keep to inspect)" : ""}`,
      );
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

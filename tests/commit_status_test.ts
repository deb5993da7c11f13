import assert from "node:assert/strict";
import { cli, cliOnTestHost, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { checkGitHubRequest } from "./helpers/github_openapi.ts";
import { hookFile } from "./helpers/hooks.ts";
import {
  closedPort,
  type ReceivedRequest,
  Receiver,
} from "./helpers/http_receiver.ts";
import { runRows, stateFileOf } from "./helpers/state_db.ts";

const GITHUB_REMOTE = "git@github.com:ops/infra.git";

/** `.upstream-watch.yaml` with `commit_status:` and optional `public_url` (JSON is YAML flow style). */
function statusConfig(
  targets: unknown[],
  extra: Record<string, unknown> = {},
): string {
  return hookFile({ ...extra, commit_status: targets });
}

/**
 * A fixture whose clone's remote is configured as `remoteUrl` (what the agent
 * reads owner/name from) while git fetches from the local bare upstream.
 */
async function fixtureWithRemote(
  files: Record<string, string>,
  remoteUrl: string,
): Promise<GitFixture> {
  const fixture = await GitFixture.create(files);
  await git(fixture.clone, "config", "remote.origin.url", remoteUrl);
  await git(
    fixture.clone,
    "config",
    `url.${fixture.upstream}.insteadOf`,
    remoteUrl,
  );
  return fixture;
}

function body(request: ReceivedRequest): Record<string, unknown> {
  return JSON.parse(request.body);
}

/** Requests whose context (GitHub, Gitea) or name (GitLab) ends with `/service`. */
function forService(
  requests: readonly ReceivedRequest[],
  service: string,
): ReceivedRequest[] {
  return requests.filter((request) => {
    const fields = body(request);
    return String(fields.context ?? fields.name).endsWith(`/${service}`);
  });
}

function runId(clone: string, service: string): number {
  return Number(runRows(stateFileOf(clone), service).at(-1)!.id);
}

const TWO_SERVICES = {
  "api/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  "web/.update-hooks.yaml": hookFile({ update_commands: ["exit 3"] }),
};

Deno.test("GitHub: each run sets pending then success or failure on the deployed commit, as GitHub's OpenAPI description allows", async () => {
  await using api = Receiver.start({
    respond: () => new Response("{}", { status: 201 }),
  });
  Deno.env.set("UW_CS_GITHUB_TOKEN", "ghp_test_token_for_github");
  await using fixture = await fixtureWithRemote({}, GITHUB_REMOTE);
  const head = await fixture.push({
    ".upstream-watch.yaml": statusConfig([{
      provider: "github",
      token: "${UW_CS_GITHUB_TOKEN}",
      api_url: api.url,
    }], { public_url: "https://deploys.example.com/" }),
    ...TWO_SERVICES,
  }, "Bump api and web\n\nThe body is not repeated.");
  const about = `${head.slice(0, 12)} Bump api and web (Test Author)`;

  const result = await cliOnTestHost(fixture.clone, ["run", "--once"]);

  assert.equal(result.code, 1, result.stderr);
  // run --once waits for delivery before it returns.
  assert.equal(
    api.requests.length,
    4,
    JSON.stringify(api.requests.map((r) => r.body)),
  );
  for (const request of api.requests) {
    const operation = checkGitHubRequest(request);
    assert.equal(operation.operationId, "repos/create-commit-status");
    assert.deepEqual(operation.params, {
      owner: "ops",
      repo: "infra",
      sha: head,
    });
    assert.equal(
      request.headers.get("authorization"),
      "Bearer ghp_test_token_for_github",
    );
  }
  const api_ = forService(api.requests, "api").map(body);
  const apiRun = runId(fixture.clone, "api");
  assert.deepEqual(api_.map((status) => status.state), ["pending", "success"]);
  for (const status of api_) {
    assert.equal(status.context, "upstream-watch/test-host/api");
    assert.equal(
      status.target_url,
      `https://deploys.example.com/runs/${apiRun}`,
    );
  }
  // Each description names the commit: short id, subject and author.
  assert.equal(api_[0].description, `Deploying on test-host (poll) · ${about}`);
  assert.equal(api_[1].description, `Deployed on test-host · ${about}`);
  const web = forService(api.requests, "web").map(body);
  assert.deepEqual(web.map((status) => status.state), ["pending", "failure"]);
  const failed = String(web[1].description);
  assert.ok(
    failed.startsWith(`Failed at update on test-host · ${about} · `),
    failed,
  );
  assert.match(failed, /exit 3/);
  assert.ok(String(web[1].description).length <= 140);
  assert.equal(
    web[1].target_url,
    `https://deploys.example.com/runs/${runId(fixture.clone, "web")}`,
  );

  // A manual deploy reports the same way, naming its trigger.
  const deploy = await cliOnTestHost(fixture.clone, ["deploy", "api"]);
  assert.equal(deploy.code, 0, deploy.stderr);
  const manual = forService(api.requests.slice(4), "api").map(body);
  assert.deepEqual(manual.map((status) => status.state), [
    "pending",
    "success",
  ]);
  assert.equal(
    manual[0].description,
    `Deploying on test-host (manual) · ${about}`,
  );
  for (const request of api.requests.slice(4)) checkGitHubRequest(request);
});

Deno.test("Gitea, Forgejo and GitLab get their own endpoints, headers and states; GitLab's subgroup path is URL-encoded", async () => {
  await using api = Receiver.start({
    respond: () => new Response("{}", { status: 201 }),
  });
  Deno.env.set("UW_CS_GITEA_TOKEN", "gitea-token-1");
  Deno.env.set("UW_CS_GITLAB_TOKEN", "glpat-token-2");
  // Credentials in the remote's URL are ignored; the subgroup path is GitLab's project id.
  await using fixture = await fixtureWithRemote(
    {},
    "https://deploy:hunter2@git.example.com/group/sub/infra.git",
  );
  const head = await fixture.push({
    ".upstream-watch.yaml": statusConfig([
      {
        provider: "gitea",
        token: "${UW_CS_GITEA_TOKEN}",
        api_url: `${api.url}/gitea/api/v1`,
        repository: "ops/infra",
      },
      {
        provider: "forgejo",
        token: "${UW_CS_GITEA_TOKEN}",
        api_url: `${api.url}/forgejo/api/v1/`,
        repository: "ops/infra",
        context: "deploy/<service>@<host>",
      },
      {
        provider: "gitlab",
        token: "${UW_CS_GITLAB_TOKEN}",
        api_url: `${api.url}/gitlab/api/v4`,
      },
    ]),
    ...TWO_SERVICES,
  });

  const result = await cliOnTestHost(fixture.clone, ["run", "--once"]);

  assert.equal(result.code, 1, result.stderr);
  assert.equal(api.requests.length, 12);
  const under = (prefix: string) =>
    api.requests.filter((request) => request.path.startsWith(prefix));

  // Gitea and Forgejo: POST /repos/{owner}/{repo}/statuses/{sha} with a CreateStatusOption body
  // (https://gitea.com/api/swagger#/repository/repoCreateStatus,
  //  https://codeberg.org/api/swagger#/repository/repoCreateStatus);
  // states pending, success, error, failure, warning; `Authorization: token …`.
  for (const provider of ["gitea", "forgejo"]) {
    const requests = under(`/${provider}/`);
    assert.equal(requests.length, 4, provider);
    for (const request of requests) {
      assert.equal(request.method, "POST");
      assert.equal(
        request.path,
        `/${provider}/api/v1/repos/ops/infra/statuses/${head}`,
      );
      assert.equal(request.headers.get("authorization"), "token gitea-token-1");
      assert.equal(request.headers.get("content-type"), "application/json");
      const fields = body(request);
      for (const key of Object.keys(fields)) {
        assert.ok(
          ["state", "target_url", "description", "context"].includes(key),
          key,
        );
      }
      assert.ok(
        ["pending", "success", "error", "failure", "warning"].includes(
          String(fields.state),
        ),
      );
    }
    const contexts = requests.map((request) => body(request).context);
    assert.ok(
      contexts.includes(
        provider === "gitea"
          ? "upstream-watch/test-host/web"
          : "deploy/web@test-host",
      ),
      JSON.stringify(contexts),
    );
  }
  const forgejoWeb = under("/forgejo/").map(body).filter((fields) =>
    fields.context === "deploy/web@test-host"
  );
  assert.deepEqual(forgejoWeb.map((fields) => fields.state), [
    "pending",
    "failure",
  ]);

  // GitLab: POST /projects/:id/statuses/:sha, `PRIVATE-TOKEN`, fields state, name (or context),
  // target_url, description; states pending, running, success, failed, canceled
  // (https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit).
  const gitlab = under("/gitlab/");
  assert.equal(gitlab.length, 4);
  for (const request of gitlab) {
    assert.equal(request.method, "POST");
    assert.equal(
      request.path,
      `/gitlab/api/v4/projects/group%2Fsub%2Finfra/statuses/${head}`,
    );
    assert.equal(request.headers.get("private-token"), "glpat-token-2");
    assert.equal(request.headers.get("authorization"), null);
    const fields = body(request);
    for (const key of Object.keys(fields)) {
      assert.ok(
        [
          "state",
          "ref",
          "name",
          "context",
          "target_url",
          "description",
          "coverage",
          "pipeline_id",
        ].includes(key),
        key,
      );
    }
  }
  assert.deepEqual(forService(gitlab, "api").map((r) => body(r).state), [
    "running",
    "success",
  ]);
  assert.deepEqual(forService(gitlab, "web").map((r) => body(r).state), [
    "running",
    "failed",
  ]);
  assert.equal(
    forService(gitlab, "web")[0].headers.get("content-type"),
    "application/json",
  );
});

Deno.test("a status API that is down or refuses the token neither delays nor fails the deploy, and the token appears nowhere", async () => {
  const token = "uw-secret-token-4f1c9e";
  // A host that refuses the token and echoes it back, as a careless proxy might.
  await using refusing = Receiver.start({
    respond: (request) =>
      new Response(`bad credentials: ${request.headers.get("authorization")}`, {
        status: 401,
      }),
  });
  await using fixture = await fixtureWithRemote({}, GITHUB_REMOTE);
  await fixture.push({
    ".upstream-watch.yaml": statusConfig([
      {
        provider: "github",
        token: "${UW_CS_SECRET}",
        api_url: `http://127.0.0.1:${closedPort()}`,
      },
      { provider: "github", token: "${UW_CS_SECRET}", api_url: refusing.url },
    ], { public_url: "https://deploys.example.com" }),
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["echo deployed > done.txt"],
    }),
  });
  const env = { UW_CS_SECRET: token };

  const result = await spawnCli(
    ["--repo", fixture.clone, "--log-level", "debug", "run", "--once"],
    { env },
  );

  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    await Deno.readTextFile(`${fixture.clone}/api/done.txt`),
    "deployed\n",
  );
  const [run] = runRows(stateFileOf(fixture.clone), "api");
  assert.equal(run.outcome, "succeeded");
  assert.match(
    result.stderr,
    /cannot send pending status of api on \w+ to commit_status\[0\] github ops\/infra: .*Connection refused/,
  );
  assert.match(
    result.stderr,
    /commit_status\[1\] github ops\/infra: HTTP 401: bad credentials: Bearer \*\*\*/,
  );
  assert.ok(refusing.requests.length >= 1, "the refusing host was asked");
  assert.equal(
    refusing.requests.length,
    2,
    "a refusal is not retried: one pending, one success",
  );
  const status = await spawnCli(["--repo", fixture.clone, "status", "--json"], {
    env,
  });
  assert.equal(status.code, 0, status.stderr);
  const tested = await spawnCli([
    "--repo",
    fixture.clone,
    "status-report",
    "test",
  ], { env });
  for (
    const text of [
      result.stdout,
      result.stderr,
      status.stdout,
      status.stderr,
      tested.stdout,
      tested.stderr,
    ]
  ) {
    assert.ok(!text.includes(token), `the token leaked: ${text}`);
  }
  for await (const entry of Deno.readDir(fixture.clone)) {
    if (!entry.name.startsWith(".upstream-watch.sqlite")) continue;
    const bytes = await Deno.readFile(`${fixture.clone}/${entry.name}`);
    assert.ok(
      !new TextDecoder("latin1").decode(bytes).includes(token),
      entry.name,
    );
  }
});

Deno.test("status-report test sets one status on HEAD per target and prints ok or failed with the HTTP status", async () => {
  await using api = Receiver.start({
    respond: (request) =>
      request.path.startsWith("/refuse/")
        ? new Response(`{"message":"Bad credentials"}`, { status: 401 })
        : new Response("{}", { status: 201 }),
  });
  Deno.env.set("UW_CS_TEST_TOKEN", "test-token-9");
  await using fixture = await fixtureWithRemote({}, GITHUB_REMOTE);
  await fixture.push({
    ".upstream-watch.yaml": statusConfig([
      {
        provider: "github",
        token: "${UW_CS_TEST_TOKEN}",
        api_url: `${api.url}/accept`,
      },
      {
        provider: "gitea",
        token: "${UW_CS_TEST_TOKEN}",
        api_url: `${api.url}/refuse/api/v1`,
      },
    ]),
  });
  await git(fixture.clone, "pull", "--quiet");
  const head = await fixture.cloneHead();

  const result = await cliOnTestHost(fixture.clone, ["status-report", "test"]);

  assert.equal(result.code, 1, result.stderr);
  const lines = result.stdout.trimEnd().split("\n");
  assert.deepEqual(lines, [
    `ok      commit_status[0] github ops/infra ${head.slice(0, 12)} (HTTP 201)`,
    `failed  commit_status[1] gitea ops/infra ${
      head.slice(0, 12)
    }: HTTP 401: {"message":"Bad credentials"}`,
  ]);
  assert.match(result.stderr, /1 of 2 commit status target\(s\) failed/);
  const github = api.requests.find((request) =>
    request.path.startsWith("/accept/")
  )!;
  const operation = checkGitHubRequest({
    ...github,
    path: github.path.slice("/accept".length),
  });
  assert.equal(operation.params.sha, head);
  assert.equal(
    body(github).context,
    "upstream-watch/test-host/status-report-test",
  );
  assert.equal(body(github).state, "success");
  // A read-only command: nothing deployed, no state file created.
  await assert.rejects(Deno.stat(stateFileOf(fixture.clone)));
});

Deno.test("status-report test without commit_status: is a usage error; an unset token variable is a configuration error before anything runs", async () => {
  await using fixture = await fixtureWithRemote({}, GITHUB_REMOTE);
  const none = await cli(["--repo", fixture.clone, "status-report", "test"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no commit status targets configured/);

  await fixture.push({
    ".upstream-watch.yaml": statusConfig([
      { provider: "gitlab", token: "${UW_CS_NEVER_SET}" },
    ]),
    "api/.update-hooks.yaml": hookFile({ update_commands: ["touch ran"] }),
  });
  await git(fixture.clone, "pull", "--quiet");
  const run = await cli(["--repo", fixture.clone, "run", "--once"]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /commit_status\[0\]\.token/);
  assert.match(run.stderr, /UW_CS_NEVER_SET/);
  await assert.rejects(Deno.stat(`${fixture.clone}/api/ran`));
});

import assert from "node:assert/strict";
import { parseRemoteUrl } from "./remote_repository.ts";
import { resolveStatusTargets } from "./reporter.ts";
import { ConfigError } from "../errors.ts";

Deno.test("owner/name comes from scp-like, ssh:// and https:// remotes, credentials and .git removed", () => {
  const cases: [string, string, string][] = [
    ["git@github.com:ops/infra.git", "github.com", "ops/infra"],
    ["github.com:ops/infra", "github.com", "ops/infra"],
    [
      "ssh://git@git.example.com:22/ops/infra.git",
      "git.example.com",
      "ops/infra",
    ],
    ["ssh://git@git.example.com/ops/infra", "git.example.com", "ops/infra"],
    ["https://github.com/ops/infra", "github.com", "ops/infra"],
    ["https://github.com/ops/infra.git", "github.com", "ops/infra"],
    ["https://github.com/ops/infra/", "github.com", "ops/infra"],
    [
      "https://x-access-token:ghp_secret@github.com/ops/infra.git",
      "github.com",
      "ops/infra",
    ],
    ["http://gitea.lan:3000/ops/infra.git", "gitea.lan", "ops/infra"],
    ["https://gitlab.com/group/sub/infra.git", "gitlab.com", "group/sub/infra"],
    [
      "git@gitlab.com:group/sub/deeper/infra.git",
      "gitlab.com",
      "group/sub/deeper/infra",
    ],
  ];
  for (const [url, host, path] of cases) {
    assert.deepEqual(parseRemoteUrl(url), { host, path }, url);
  }
  for (
    const url of [
      "/srv/git/infra.git",
      "file:///srv/git/infra.git",
      "../infra",
      "https://github.com/infra",
      "C:/repos/infra",
    ]
  ) {
    assert.equal(parseRemoteUrl(url), undefined, url);
  }
});

Deno.test("api_url defaults per provider from the remote's host; repository overrides the remote's path", () => {
  const env = (name: string) =>
    ({ TOKEN: "t0ken" } as Record<string, string>)[name];
  const [github, gitea, forgejo, gitlab, named] = resolveStatusTargets([
    { provider: "github", token: "${TOKEN}" },
    { provider: "gitea", token: "${TOKEN}" },
    {
      provider: "forgejo",
      token: "${TOKEN}",
      apiUrl: "https://forge.example.com/api/v1/",
    },
    { provider: "gitlab", token: "${TOKEN}" },
    {
      provider: "github",
      token: "${TOKEN}",
      repository: "other/repo",
      context: "ci/<service>",
    },
  ], { env, remoteUrl: "git@git.example.com:ops/infra.git", host: "box" });
  assert.equal(github.apiUrl, "https://api.github.com");
  assert.equal(gitea.apiUrl, "https://git.example.com/api/v1");
  assert.equal(forgejo.apiUrl, "https://forge.example.com/api/v1");
  assert.equal(gitlab.apiUrl, "https://git.example.com/api/v4");
  assert.equal(github.repository, "ops/infra");
  assert.equal(named.repository, "other/repo");
  assert.equal(github.context, "upstream-watch/box/<service>");
  assert.equal(named.context, "ci/<service>");
  assert.equal(github.token, "t0ken");
  assert.ok(!github.label.includes("t0ken"));
});

Deno.test("a remote without owner/name needs repository; a GitHub repository must be owner/name", () => {
  const env = () => "t";
  assert.throws(
    () =>
      resolveStatusTargets([{
        provider: "gitea",
        token: "x",
        repository: "ops/infra",
      }], { env, remoteUrl: "/srv/git/infra.git", host: "h" }),
    (error: unknown) =>
      error instanceof ConfigError && /set api_url/.test(error.message),
  );
  assert.throws(
    () =>
      resolveStatusTargets([{ provider: "github", token: "x" }], {
        env,
        remoteUrl: "https://u:secret@host/infra",
        host: "h",
      }),
    (error: unknown) =>
      error instanceof ConfigError && /set repository/.test(error.message) &&
      !error.message.includes("secret"),
  );
  assert.throws(
    () =>
      resolveStatusTargets([{
        provider: "github",
        token: "x",
        repository: "a/b/c",
      }], { env, host: "h" }),
    /must be "owner\/name" for github/,
  );
});

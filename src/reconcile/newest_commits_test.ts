import assert from "node:assert/strict";
import { join } from "node:path";
import { git } from "../../tests/helpers/git_fixture.ts";
import { GitClient } from "../git/git_client.ts";
import { DenoProcessRunner } from "../process/run_process.ts";
import { NewestCommits } from "./newest_commits.ts";
import type { ServiceEntry } from "./services.ts";

async function commit(
  dir: string,
  subject: string,
  files: Record<string, string>,
): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, path), content);
  }
  await git(dir, "add", "-A");
  await git(dir, "commit", "-q", "-m", subject);
  return await git(dir, "rev-parse", "HEAD");
}

function service(dir: string, watchPaths: string[] = []): ServiceEntry {
  return {
    name: dir,
    dir,
    configFile: `${dir}/.update-hooks.yaml`,
    config: { watchPaths } as unknown as ServiceEntry["config"],
    warnings: [],
  };
}

async function repository(): Promise<{ dir: string; client: GitClient }> {
  const dir = await Deno.makeTempDir({ prefix: "uw-newest-" });
  await git(dir, "init", "-q", "-b", "main");
  return { dir, client: new GitClient(new DenoProcessRunner(), { cwd: dir }) };
}

Deno.test("after a push of one ordinary commit, the commits touching a service need no git log, and agree with it", async () => {
  const { dir, client } = await repository();
  try {
    const first = await commit(dir, "first", {
      "api/a": "1\n",
      "web/w": "1\n",
      "shared/s": "1\n",
    });
    const before = await commit(dir, "second", { "web/w": "2\n" });
    const upstream = await commit(dir, "touch api and shared", {
      "api/a": "2\n",
      "shared/s": "2\n",
    });
    const api = service("api");
    const web = service("web");
    const watching = service("web", ["shared"]);
    const spawned = client.spawned;
    const newest = new NewestCommits(client);
    newest.moving(before, upstream);

    const touched = await newest.newest(api, upstream);
    const why = await newest.since(api, {
      from: before,
      to: upstream,
      limit: 20,
    });
    const untouchedWhy = await newest.since(web, {
      from: before,
      to: upstream,
      limit: 20,
    });
    const byWatchPath = await newest.newest(watching, upstream);
    // The header and one diff, nothing per service.
    assert.equal(client.spawned - spawned, 2);

    const expected = [{ commit: upstream, subject: "touch api and shared" }];
    assert.deepEqual(touched, expected);
    assert.deepEqual(why, expected);
    assert.deepEqual(byWatchPath, expected);
    assert.deepEqual(untouchedWhy, []);
    for (
      const [entry, answer] of [[api, touched], [
        watching,
        byWatchPath,
      ]] as const
    ) {
      assert.deepEqual(
        answer,
        await client.commitsTouching({
          to: upstream,
          paths: [entry.dir, ...(entry.config?.watchPaths ?? [])],
          limit: 1,
        }),
      );
    }

    // Untouched by the push: its newest commit is older, and git log says which.
    assert.deepEqual(await newest.newest(web, upstream), [
      { commit: before, subject: "second" },
    ]);
    // A range that does not start at the commit the work tree left.
    assert.deepEqual(
      (await newest.since(web, { from: first, to: upstream, limit: 20 })).map(
        (entry) => entry.subject,
      ),
      ["second"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a push of several commits or a merge is left to git log", async () => {
  const { dir, client } = await repository();
  try {
    const before = await commit(dir, "base", { "api/a": "1\n" });
    await commit(dir, "one", { "api/a": "2\n" });
    const upstream = await commit(dir, "two", { "other/o": "1\n" });
    const newest = new NewestCommits(client);
    newest.moving(before, upstream);
    const api = service("api");
    assert.deepEqual(
      (await newest.newest(api, upstream)).map((entry) => entry.subject),
      ["one"],
    );
    assert.deepEqual(
      (await newest.since(api, { from: before, to: upstream, limit: 20 }))
        .map((entry) => entry.subject),
      ["one"],
    );

    await git(dir, "checkout", "-q", "-b", "side", before);
    await commit(dir, "side", { "api/b": "3\n" });
    await git(dir, "checkout", "-q", "main");
    await git(dir, "merge", "-q", "--no-ff", "-m", "merge side", "side");
    const merge = await git(dir, "rev-parse", "HEAD");
    newest.moving(upstream, merge);
    assert.deepEqual(
      await newest.newest(api, merge),
      await client.commitsTouching({ to: merge, paths: ["api"], limit: 1 }),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

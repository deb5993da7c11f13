import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, parseJson, runOnce } from "./helpers/cli.ts";
import { git, GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, hookFile, readLines } from "./helpers/hooks.ts";

/** Commits a symlink at `path` (in the pusher clone) pointing at `target`, and pushes. */
async function pushSymlink(
  fixture: GitFixture,
  path: string,
  target: string,
  extra: Record<string, string> = {},
): Promise<void> {
  const full = join(fixture.pusher, path);
  await Deno.mkdir(join(full, ".."), { recursive: true });
  await Deno.remove(full).catch(() => {});
  await Deno.symlink(target, full);
  await fixture.push(extra, "symlinked config");
}

interface StatusJson {
  services: { name: string; configError: string | null }[];
}

Deno.test("a committed symlink as hook file is a config error of that service and runs nothing it points at", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  const outside = join(fixture.root, "outside.yaml");
  await Deno.writeTextFile(outside, appendingHooks(log));
  await pushSymlink(fixture, "evil/.update-hooks.yaml", outside, {
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(await readLines(log), ["web"], "only web ran");
  const status = parseJson<StatusJson>(
    await cli(["--repo", fixture.clone, "status", "--json"]),
  );
  const evil = status.services.find((service) => service.name === "evil");
  assert.match(
    evil?.configError ?? "",
    /evil\/\.update-hooks\.yaml: .*symlink/,
  );
  const validate = await cli(["--repo", fixture.clone, "validate"]);
  assert.equal(validate.code, 2);
  assert.match(validate.stderr, /evil\/\.update-hooks\.yaml: .*symlink/);
});

Deno.test({
  name:
    "a hook file symlinked to /proc/self/environ puts no environment into the error",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using fixture = await GitFixture.create({});
    await pushSymlink(fixture, "api/.update-hooks.yaml", "/proc/self/environ");
    Deno.env.set("UW_TEST_SECRET", "hunter2-environ");
    try {
      await runOnce(fixture.clone);
      const status = await cli(["--repo", fixture.clone, "status", "--json"]);
      assert.doesNotMatch(status.stdout, /hunter2-environ/);
      assert.match(status.stdout, /symlink/);
    } finally {
      Deno.env.delete("UW_TEST_SECRET");
    }
  },
});

Deno.test("a hook file over 1 MiB is a config error of that service; the others still deploy", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  const padding = `# ${"x".repeat(1024 * 1024)}\n`;
  await fixture.push({
    "big/.update-hooks.yaml": appendingHooks(log) + padding,
    "web/.update-hooks.yaml": appendingHooks(log),
  });

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual(await readLines(log), ["web"]);
  const validate = await cli(["--repo", fixture.clone, "validate"]);
  assert.match(
    validate.stderr,
    /big\/\.update-hooks\.yaml: file is \d+ bytes; a configuration file may hold at most 1048576 bytes/,
  );
});

Deno.test("a committed symlink as .upstream-watch.yaml is a config error with exit 2", async () => {
  await using fixture = await GitFixture.create({});
  const outside = join(fixture.root, "outside.yaml");
  await Deno.writeTextFile(outside, hookFile({ parallel: 2 }));
  await pushSymlink(fixture, ".upstream-watch.yaml", outside, {
    "api/.update-hooks.yaml": hookFile({ update_commands: [["true"]] }),
  });
  await git(fixture.clone, "pull", "--quiet", "--ff-only");

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /^upstream-watch: \.upstream-watch\.yaml: is a symlink in git/,
  );
});

Deno.test("the repository configuration is read from HEAD, not from an uncommitted file in the clone", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({ update_commands: [["true"]] }),
  });
  // Not committed: an invalid value here would stop the agent if it were read.
  await Deno.writeTextFile(
    join(fixture.clone, ".upstream-watch.yaml"),
    "parallel: many\n",
  );

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 0, result.stderr);
});

Deno.test("a hook file edited in the work tree but not committed is not what runs", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({ "api/.update-hooks.yaml": appendingHooks(log) });
  await git(fixture.clone, "pull", "--quiet", "--ff-only");
  await Deno.writeTextFile(
    join(fixture.clone, "api/.update-hooks.yaml"),
    hookFile({ update_commands: [`echo uncommitted >> ${log}`] }),
  );

  // `deploy` runs HEAD's hook file without moving the work tree.
  const result = await cli(["--repo", fixture.clone, "deploy", "api"]);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await readLines(log), ["api"]);
});

Deno.test({
  name:
    "--config must be a regular file of at most 1 MiB: a FIFO, /dev/zero and a huge file are exit 2",
  ignore: Deno.build.os === "windows",
  async fn() {
    await using fixture = await GitFixture.create({
      "api/.update-hooks.yaml": hookFile({ update_commands: [["true"]] }),
    });
    const fifo = join(fixture.root, "config.fifo");
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    const huge = join(fixture.root, "huge.yaml");
    await Deno.writeTextFile(huge, `# ${"x".repeat(1024 * 1024)}\n`);

    const cases: [string, RegExp][] = [
      [fifo, /config\.fifo: not a regular file \(a FIFO\)/],
      ["/dev/zero", /\/dev\/zero: not a regular file \(a character device\)/],
      [huge, /huge\.yaml: file is \d+ bytes; .*at most 1048576 bytes/],
      [fixture.root, /not a regular file \(a directory\)/],
    ];
    for (const [path, message] of cases) {
      const result = await cli([
        "--repo",
        fixture.clone,
        "--config",
        path,
        "validate",
      ]);
      assert.equal(result.code, 2, `${path}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
  },
});

Deno.test("hook files read from git keep their UTF-8 text; one that is not UTF-8 is a config error of its own", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "a-unicode/.update-hooks.yaml": appendingHooks(log, {
      env: { GREETING: "héllo 🚀" },
    }),
    "c-web/.update-hooks.yaml": appendingHooks(log),
  });
  // Latin-1 bytes: not valid UTF-8.
  await Deno.mkdir(join(fixture.pusher, "b-latin1"));
  await Deno.writeFile(
    join(fixture.pusher, "b-latin1/.update-hooks.yaml"),
    new Uint8Array([...new TextEncoder().encode("# caf"), 0xe9, 0x0a]),
  );
  await fixture.push({});

  const result = await runOnce(fixture.clone);

  assert.equal(result.code, 1);
  assert.deepEqual(await readLines(log), ["a-unicode", "c-web"]);
  const validate = await cli(["--repo", fixture.clone, "validate"]);
  assert.match(
    validate.stderr,
    /^b-latin1\/\.update-hooks\.yaml: file is not valid UTF-8 text$/m,
  );
  assert.match(validate.stdout, /2 of 3 services valid/);
});

Deno.test("--config naming a dangling symlink is 'not found', not silently the defaults", async () => {
  await using fixture = await GitFixture.create({
    "api/.update-hooks.yaml": hookFile({ update_commands: [["true"]] }),
  });
  const link = join(fixture.root, "dangling.yaml");
  await Deno.symlink(join(fixture.root, "nowhere.yaml"), link);

  const result = await cli([
    "--repo",
    fixture.clone,
    "--config",
    link,
    "validate",
  ]);

  assert.equal(result.code, 2);
  assert.match(result.stderr, /dangling\.yaml: configuration file not found/);
});

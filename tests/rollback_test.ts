import assert from "node:assert/strict";
import { join } from "node:path";
import { AgentProcess } from "./helpers/agent_process.ts";
import { cli, parseJson, runOnce, spawnCli } from "./helpers/cli.ts";
import { git, GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import {
  appendLine,
  hookFile,
  hookPid,
  killGroup,
  readLines,
} from "./helpers/hooks.ts";
import { Receiver } from "./helpers/http_receiver.ts";
import { runRows, serviceRow, stateFileOf } from "./helpers/state_db.ts";

/** Update commands that log what the folder holds and the rollback variables. */
function describingUpdate(log: string, label: string): string[] {
  return [
    `echo "${label} trigger=$UPSTREAM_WATCH_TRIGGER commit=$UPSTREAM_WATCH_COMMIT from=$UPSTREAM_WATCH_ROLLBACK_FROM version=$(cat version) files=$(ls -A | tr '\\n' ,)" >> ${
      shellQuote(log)
    }`,
  ];
}

async function gitStatus(clone: string): Promise<string> {
  return await git(clone, "status", "--porcelain", "--untracked-files=no");
}

Deno.test("a failed deploy is rolled back with the old revision's files and commands, the folder is clean after, and the revision is held", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  const v1 = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: describingUpdate(log, "old-hooks"),
      rollback: true,
    }),
    "api/version": "1\n",
    "api/only-in-v1": "x\n",
    "web/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "web")],
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await Deno.writeTextFile(join(fixture.clone, "api", ".env"), "SECRET=1\n");
  await Deno.writeTextFile(join(log), "");

  const v2 = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [...describingUpdate(log, "new-hooks"), "exit 5"],
      rollback: true,
    }),
    "api/version": "2\n",
    "api/only-in-v1": null,
    "api/only-in-v2": "y\n",
  });
  const failed = await runOnce(fixture.clone);

  assert.equal(failed.code, 1);
  const lines = await readLines(log);
  assert.equal(lines.length, 2, lines.join("\n"));
  assert.match(lines[0], /^new-hooks trigger=poll .*version=2 /);
  assert.equal(
    lines[1],
    `old-hooks trigger=rollback commit=${v1} from=${v2} version=1 files=.env,.update-hooks.yaml,only-in-v1,version,`,
  );
  assert.equal(
    await gitStatus(fixture.clone),
    "",
    "the folder is back at HEAD",
  );
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", ".env")),
    "SECRET=1\n",
    "untracked files are never touched",
  );
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", "version")),
    "2\n",
  );
  const state = stateFileOf(fixture.clone);
  const [, deploy, rollback] = runRows(state, "api");
  assert.equal(deploy.outcome, "failed");
  assert.equal(rollback.trigger, "rollback");
  assert.equal(rollback.outcome, "succeeded");
  assert.equal(rollback.to_commit, v1);
  assert.equal(serviceRow(state, "api")?.deployed_commit, v1);

  // Held: the next cycles run nothing for it.
  await Deno.writeTextFile(log, "");
  const again = await runOnce(fixture.clone);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await readLines(log), []);
  assert.equal(runRows(state, "api").length, 3);
  const plan = parseJson<
    { services: { name: string; hold?: { kind: string } }[] }
  >(
    await cli(["--repo", fixture.clone, "plan", "--no-fetch", "--json"]),
  );
  assert.equal(
    plan.services.find((item) => item.name === "api")?.hold?.kind,
    "rolled_back",
  );
  const status = await cli(["--repo", fixture.clone, "status"]);
  assert.match(
    status.stdout,
    new RegExp(`rolled back from ${v2.slice(0, 12)}`),
  );

  // A new revision of the service tries again.
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: describingUpdate(log, "fixed"),
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  assert.match((await readLines(log))[0], /^fixed trigger=poll/);
  assert.equal(
    serviceRow(state, "api")?.deployed_commit,
    await fixture.cloneHead(),
  );
});

Deno.test("deploy tries a held revision again", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "v1 $UPSTREAM_WATCH_TRIGGER")],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const marker = join(fixture.root, "works-now");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        appendLine(log, "v2 $UPSTREAM_WATCH_TRIGGER"),
        `test -f ${shellQuote(marker)}`,
      ],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  await Deno.writeTextFile(marker, "");

  const deployed = await cli(["--repo", fixture.clone, "deploy", "api"]);

  assert.equal(deployed.code, 0, deployed.stderr);
  assert.deepEqual(await readLines(log), [
    "v1 poll",
    "v2 poll",
    "v1 rollback",
    "v2 manual",
  ]);
});

Deno.test("a first deploy that fails is a plain failure, and a failure at pre is not rolled back", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "$UPSTREAM_WATCH_TRIGGER"), "false"],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  assert.deepEqual(await readLines(log), ["poll"]);
  assert.equal(runRows(stateFileOf(fixture.clone), "api").length, 1);

  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [appendLine(log, "$UPSTREAM_WATCH_TRIGGER")],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      pre_update_commands: ["false"],
      update_commands: [appendLine(log, "$UPSTREAM_WATCH_TRIGGER")],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  assert.deepEqual(await readLines(log), ["poll", "poll"]);
});

Deno.test("a rollback notifies rolled_back, and a failed rollback is a failed run notified as deploy_failed", async () => {
  await using receiver = Receiver.start();
  await using fixture = await GitFixture.create({});
  const notify = `notify:\n  - url: ${receiver.url}/hook\n`;
  const broken = join(fixture.root, "old-is-broken");
  await fixture.push({
    ".upstream-watch.yaml": notify,
    "api/.update-hooks.yaml": hookFile({
      update_commands: [`test ! -f ${shellQuote(broken)}`],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await receiver.waitFor(1);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["exit 1"],
      rollback: true,
      timeout: 30,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  const events = (await receiver.waitFor(3)).map((request) =>
    JSON.parse(request.body)
  );
  assert.deepEqual(events.map((event) => event.event), [
    "deploy_succeeded",
    "deploy_failed",
    "rolled_back",
  ]);
  assert.equal(events[2].outcome, "succeeded");

  await Deno.writeTextFile(broken, "");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["exit 2"],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  const later = (await receiver.waitFor(5)).slice(3).map((request) =>
    JSON.parse(request.body)
  );
  assert.deepEqual(later.map((event) => event.event), [
    "deploy_failed",
    "deploy_failed",
  ]);
  assert.match(later[1].reason, /rolling back/);
  const rollback = runRows(stateFileOf(fixture.clone), "api").at(-1)!;
  assert.equal(rollback.trigger, "rollback");
  assert.equal(rollback.outcome, "failed");
  assert.equal(await gitStatus(fixture.clone), "");
});

Deno.test("no other service runs during a rollback", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  const slow = (label: string) =>
    `echo "${label} start" >> ${
      shellQuote(log)
    }; sleep 0.5; echo "${label} end" >> ${shellQuote(log)}`;
  await fixture.push({
    ".upstream-watch.yaml": "parallel: 2\n",
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        `if [ "$UPSTREAM_WATCH_TRIGGER" = rollback ]; then ${
          slow("rollback")
        }; fi`,
      ],
      rollback: true,
    }),
    "web/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["exit 1"],
      rollback: true,
    }),
    "web/.update-hooks.yaml": hookFile({
      update_commands: [`sleep 0.2; ${slow("web")}`],
    }),
  });

  assert.equal((await runOnce(fixture.clone)).code, 1);

  const lines = await readLines(log);
  const start = lines.indexOf("rollback start");
  assert.equal(lines[start + 1], "rollback end", lines.join("\n"));
});

Deno.test("a crash during a rollback is repaired at the next start: folder restored to HEAD, then the rollback runs again", async () => {
  await using fixture = await GitFixture.create({});
  const log = join(fixture.root, "ran.log");
  const pidFile = join(fixture.root, "rollback.pid");
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: [
        `if [ "$UPSTREAM_WATCH_TRIGGER" = rollback ] && [ ! -f ${
          shellQuote(pidFile)
        } ]; then echo $$ > ${shellQuote(pidFile)}; sleep 30; fi`,
        appendLine(log, "$UPSTREAM_WATCH_TRIGGER version=$(cat version)"),
      ],
      rollback: true,
    }),
    "api/version": "1\n",
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["exit 1"],
      rollback: true,
    }),
    "api/version": "2\n",
    "api/added": "new\n",
  });
  let pgid: number | undefined;
  try {
    await using agent = AgentProcess.start(fixture.clone);
    pgid = await hookPid(pidFile);
    agent.kill("SIGKILL");
    await agent.exited();
  } finally {
    killGroup(pgid);
  }
  assert.notEqual(await gitStatus(fixture.clone), "", "cut off mid-rollback");

  const restart = await spawnCli(["--repo", fixture.clone, "run", "--once"]);

  assert.equal(restart.code, 0, restart.stderr);
  assert.match(restart.stderr, /rollback of api was cut off/);
  assert.deepEqual(await readLines(log), [
    "poll version=1",
    "rollback version=1",
  ]);
  assert.equal(await gitStatus(fixture.clone), "");
  assert.equal(
    await Deno.readTextFile(join(fixture.clone, "api", "added")),
    "new\n",
  );
  const [, , cutOff, rerun] = runRows(stateFileOf(fixture.clone), "api");
  assert.equal(cutOff.outcome, "interrupted");
  assert.equal(rerun.trigger, "rollback");
  assert.equal(rerun.outcome, "succeeded");
});

Deno.test("validate warns about rollback without update commands and rejects a bad health_timeout with file and line", async () => {
  await using fixture = await GitFixture.create({});
  await fixture.push({
    "api/.update-hooks.yaml": "rollback: true\n",
    "web/.update-hooks.yaml": "update_commands: [x]\nhealth_timeout: -5\n",
  });
  await git(fixture.clone, "pull", "--quiet");

  const result = await cli(["--repo", fixture.clone, "validate"]);

  assert.equal(result.code, 2);
  assert.match(result.stdout + result.stderr, /1 warning/);
  assert.match(
    result.stdout + result.stderr,
    /web\/\.update-hooks\.yaml:2.*health_timeout.*must be a positive number of seconds/,
  );
});

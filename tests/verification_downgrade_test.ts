/**
 * A push (or force-push) cannot switch signed-commit verification off: the
 * commit a move goes to is always checked, under the settings in effect
 * before it, and settings once on stay on whatever the deployed
 * configuration says later. Every sync mode × verify mode, with the key file
 * from the repository and from `--allowed-signers`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cli, runOnce } from "./helpers/cli.ts";
import { GitFixture } from "./helpers/git_fixture.ts";
import { appendingHooks, readLines } from "./helpers/hooks.ts";
import {
  allowedSigners,
  signPushesWithSsh,
  sshKey,
} from "./helpers/signing.ts";

type Variant = {
  mode: "head" | "all";
  sync: "ff-only" | "reset";
  commandLine: boolean;
};

const VARIANTS: Variant[] = (["head", "all"] as const).flatMap((mode) =>
  (["ff-only", "reset"] as const).flatMap((sync) =>
    [false, true].map((commandLine) => ({ mode, sync, commandLine }))
  )
);

function label(variant: Variant): string {
  return `mode ${variant.mode}, sync ${variant.sync}${
    variant.commandLine ? ", --allowed-signers" : ""
  }`;
}

/**
 * History: `unsigned` (the first commit, no verify:), `oldSigned` (signed by
 * alice, still no verify:), `verified` (signed, turns verify: on). The agent
 * has deployed `verified`.
 */
async function deployedWithVerification(variant: Variant) {
  const fixture = await GitFixture.create({});
  const key = await sshKey(fixture.root, "alice");
  const signers = await allowedSigners(join(fixture.root, "allowed_signers"), [
    { principal: "alice@example.test", key },
  ]);
  const log = join(fixture.root, "ran.log");
  const globals = variant.commandLine ? ["--allowed-signers", signers] : [];
  const before = `sync: ${variant.sync}\n`;
  const unsigned = await fixture.push({
    ".upstream-watch.yaml": before,
    "api/.update-hooks.yaml": appendingHooks(log),
  }, "unsigned, before verification");
  await signPushesWithSsh(fixture, key);
  const oldSigned = await fixture.push({ "api/v": "1" }, "signed, no verify:");
  const verified = await fixture.push({
    ".upstream-watch.yaml":
      `${before}verify:\n  allowed_signers: ${signers}\n  mode: ${variant.mode}\n`,
    "api/v": "2",
  }, "turns verification on");
  const first = await runOnce(fixture.clone, globals);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await fixture.cloneHead(), verified);
  const ran = (await readLines(log)).length;
  return { fixture, key, log, globals, unsigned, oldSigned, verified, ran };
}

for (const variant of VARIANTS) {
  Deno.test(`${label(variant)}: a force-push to an unsigned ancestor is refused by verification, and so is the unsigned push after it`, async () => {
    const setup = await deployedWithVerification(variant);
    const { fixture, log, globals, unsigned, verified, ran } = setup;
    await using _ = fixture;
    await fixture.forcePushTo(unsigned);
    const rewind = await runOnce(fixture.clone, globals);
    assert.equal(rewind.code, 3);
    assert.match(
      rewind.stderr,
      new RegExp(
        `${
          unsigned.slice(0, 12)
        } \\(unsigned\\) refused by signature verification`,
      ),
    );
    assert.equal(await fixture.cloneHead(), verified, "the work tree stays");
    await signPushesWithSsh(fixture, null);
    const next = await fixture.push({ "api/evil": "1" }, "unsigned on top");
    const after = await runOnce(fixture.clone, globals);
    assert.equal(after.code, 3);
    assert.match(
      after.stderr,
      new RegExp(`${next.slice(0, 12)}|${unsigned.slice(0, 12)}`),
    );
    assert.equal(await fixture.cloneHead(), verified);
    assert.equal((await readLines(log)).length, ran, "nothing ran");
  });

  const downgrade = variant.sync === "reset"
    ? "a force-push back to an old signed commit without verify:"
    : "a signed commit that drops verify:";
  Deno.test(`${label(variant)}: ${downgrade} deploys, and verification stays on (mode ${variant.mode}) for the pushes after it`, async () => {
    const setup = await deployedWithVerification(variant);
    const { fixture, key, log, globals, oldSigned, ran } = setup;
    await using _ = fixture;
    let signedTarget: string;
    if (variant.sync === "reset") {
      await fixture.forcePushTo(oldSigned);
      signedTarget = oldSigned;
    } else {
      signedTarget = await fixture.push({
        ".upstream-watch.yaml": `sync: ${variant.sync}\n`,
        "api/v": "3",
      }, "signed, drops verify:");
    }
    const moved = await runOnce(fixture.clone, globals);
    assert.equal(moved.code, 0, moved.stderr);
    assert.equal(await fixture.cloneHead(), signedTarget);
    if (variant.sync === "reset") {
      const status = await cli(["--repo", fixture.clone, "status"]);
      assert.match(status.stdout, /rewound at .*does not descend from it/);
    }
    const deployed = (await readLines(log)).length;
    assert.ok(deployed > ran);

    await signPushesWithSsh(fixture, null);
    const evil = await fixture.push({ "api/evil": "1" }, "unsigned");
    const refused = await runOnce(fixture.clone, globals);
    assert.equal(refused.code, 3, "the unsigned push must be refused");
    assert.match(
      refused.stderr,
      new RegExp(`${evil.slice(0, 12)} \\(unsigned\\)`),
    );
    assert.equal(await fixture.cloneHead(), signedTarget);

    // A signed commit on top is enough under mode head; mode all stays all.
    await signPushesWithSsh(fixture, key);
    await fixture.push(
      { "api/evil": "2" },
      "signed on top of the unsigned one",
    );
    const onTop = await runOnce(fixture.clone, globals);
    if (variant.mode === "head") {
      assert.equal(onTop.code, 0, onTop.stderr);
      assert.equal((await readLines(log)).length, deployed + 1);
    } else {
      assert.equal(onTop.code, 3, "mode all must still check the range");
      assert.match(
        onTop.stderr,
        new RegExp(`${evil.slice(0, 12)} \\(unsigned\\)`),
      );
      assert.equal((await readLines(log)).length, deployed, "nothing ran");
    }
  });
}

import assert from "node:assert/strict";
import type { VerifyConfig } from "../config/verify_config.ts";
import {
  RECORDED_SOURCE,
  recordFor,
  settingsInEffect,
} from "./settings_in_effect.ts";

const repository: VerifyConfig = {
  kind: "ssh",
  path: "/etc/uw/signers",
  mode: "head",
  source: "verify.allowed_signers",
};
const recordedAll = {
  kind: "ssh",
  path: "/etc/uw/signers",
  mode: "all",
  source: "verify.allowed_signers",
  recordedAt: 1,
};

Deno.test("without a record the deployed configuration decides", () => {
  assert.deepEqual(settingsInEffect({ repository }), { config: repository });
  assert.deepEqual(settingsInEffect({}), { config: undefined });
});

Deno.test("a configuration without verify: keeps the recorded settings and says so", () => {
  const effect = settingsInEffect({ recorded: recordedAll });
  assert.equal(effect.config?.path, "/etc/uw/signers");
  assert.equal(effect.config?.mode, "all");
  assert.equal(effect.config?.source, RECORDED_SOURCE);
  assert.match(
    effect.kept!,
    /no verify:.*until the operator runs verify-reset/,
  );
});

Deno.test("mode head does not lower a recorded mode all; all raises a recorded head", () => {
  const lowered = settingsInEffect({ repository, recorded: recordedAll });
  assert.equal(lowered.config?.mode, "all");
  assert.match(
    lowered.kept!,
    /asks for mode head; verification keeps mode all/,
  );
  const raised = settingsInEffect({
    repository: { ...repository, mode: "all" },
    recorded: { ...recordedAll, mode: "head" },
  });
  assert.equal(raised.config?.mode, "all");
  assert.equal(raised.kept, undefined);
});

Deno.test("another key file from the repository is not taken; the command line's is", () => {
  const other = { ...repository, path: "/tmp/other" };
  const kept = settingsInEffect({ repository: other, recorded: recordedAll });
  assert.equal(kept.config?.path, "/etc/uw/signers");
  assert.match(kept.kept!, /names allowed_signers \/tmp\/other/);
  const commandLine: VerifyConfig = {
    kind: "ssh",
    path: "/srv/keys",
    mode: "head",
    source: "--allowed-signers",
  };
  const operator = settingsInEffect({
    commandLine,
    repository: other,
    recorded: recordedAll,
  });
  assert.equal(operator.config?.path, "/srv/keys");
  assert.equal(operator.config?.mode, "all", "the mode never drops");
});

Deno.test("the record changes only when the settings in effect do", () => {
  assert.equal(
    recordFor({ ...repository, mode: "all" }, recordedAll, 5),
    undefined,
  );
  assert.deepEqual(recordFor(repository, undefined, 5), {
    kind: "ssh",
    path: "/etc/uw/signers",
    mode: "head",
    source: "verify.allowed_signers",
    recordedAt: 5,
  });
});

import assert from "node:assert/strict";
import {
  decideDue,
  type DeployedService,
  diffBases,
  type DueInputs,
  MAX_RECORDED_PATHS,
  pathIsWithin,
  pathsConcerning,
  type ServiceTarget,
} from "./due.ts";

const HEAD = "c".repeat(40);
const OLD = "a".repeat(40);
const OLDER = "b".repeat(40);

function target(
  name: string,
  watchPaths: readonly string[] = [],
): ServiceTarget {
  return { name, dir: name, watchPaths };
}

function inputs(overrides: Partial<DueInputs>): DueInputs {
  return {
    targets: [],
    state: new Map(),
    head: HEAD,
    changedSince: new Map(),
    missingCommits: new Set(),
    ...overrides,
  };
}

function deployed(
  entries: Record<string, string | null>,
  lastOutcome?: string,
): Map<string, DeployedService> {
  return new Map(
    Object.entries(entries).map((
      [name, deployedCommit],
    ) => [name, { deployedCommit, lastOutcome }]),
  );
}

Deno.test("pathIsWithin matches a folder and everything below it", () => {
  assert.equal(pathIsWithin("api", "api"), true);
  assert.equal(pathIsWithin("api/compose.yaml", "api"), true);
  assert.equal(pathIsWithin("api/deep/nested/file", "api"), true);
  assert.equal(pathIsWithin("shared/config.yml", "shared/config.yml"), true);
});

Deno.test("pathIsWithin matches whole path components only", () => {
  assert.equal(pathIsWithin("api-gateway/compose.yaml", "api"), false);
  assert.equal(pathIsWithin("apis", "api"), false);
  assert.equal(pathIsWithin("ap", "api"), false);
  assert.equal(pathIsWithin("other/api/file", "api"), false);
  assert.equal(
    pathIsWithin("shared/config.yml.bak", "shared/config.yml"),
    false,
  );
});

Deno.test("pathIsWithin treats the repository root as containing every path", () => {
  assert.equal(pathIsWithin("anything/at/all", "."), true);
  assert.equal(pathIsWithin("README.md", ""), true);
});

Deno.test("pathsConcerning keeps the changes in the service folder and its watch paths", () => {
  const api = target("api", ["shared/config.yml", "lib"]);
  const changed = [
    "api/compose.yaml",
    "api-gateway/compose.yaml",
    "shared/config.yml",
    "shared/other.yml",
    "lib/util/strings.ts",
    "library/readme",
    "README.md",
  ];
  assert.deepEqual(pathsConcerning(api, changed), [
    "api/compose.yaml",
    "shared/config.yml",
    "lib/util/strings.ts",
  ]);
});

Deno.test("pathsConcerning never counts ignored paths such as the state file", () => {
  const root: ServiceTarget = { name: ".", dir: ".", watchPaths: [] };
  const ignoredPaths = [
    ".upstream-watch.sqlite",
    ".upstream-watch.sqlite-wal",
    ".upstream-watch.sqlite-shm",
  ];
  assert.deepEqual(
    pathsConcerning(
      root,
      [
        ".upstream-watch.sqlite",
        ".upstream-watch.sqlite-wal",
        "compose.yaml",
      ],
      { ignoredPaths },
    ),
    ["compose.yaml"],
  );
  assert.deepEqual(
    pathsConcerning(root, [".upstream-watch.sqlite-shm"], { ignoredPaths }),
    [],
  );
});

Deno.test("decideDue makes a service that was never deployed due as a first deploy", () => {
  const verdicts = decideDue(inputs({
    targets: [target("api"), target("web")],
    state: deployed({ web: null }),
  }));
  assert.deepEqual(verdicts, [
    {
      service: "api",
      deployedCommit: null,
      due: true,
      reason: { kind: "first_deploy" },
    },
    {
      service: "web",
      deployedCommit: null,
      due: true,
      reason: { kind: "first_deploy" },
    },
  ]);
});

Deno.test("decideDue makes a service due when the diff from its deployed commit touches it", () => {
  const verdicts = decideDue(inputs({
    targets: [target("api"), target("web"), target("db", ["shared"])],
    state: deployed({ api: OLD, web: OLD, db: OLD }),
    changedSince: new Map([[OLD, [
      "api/compose.yaml",
      "shared/env",
      "README.md",
    ]]]),
  }));
  assert.deepEqual(verdicts.map((verdict) => [verdict.service, verdict.due]), [
    ["api", true],
    ["web", false],
    ["db", true],
  ]);
  assert.deepEqual(verdicts[0].reason, {
    kind: "changed",
    paths: ["api/compose.yaml"],
    totalPaths: 1,
  });
  assert.deepEqual(verdicts[2].reason, {
    kind: "changed",
    paths: ["shared/env"],
    totalPaths: 1,
  });
  assert.equal(verdicts[1].reason, undefined);
  assert.equal(verdicts[1].deployedCommit, OLD);
});

Deno.test("decideDue compares each service with its own deployed commit", () => {
  const verdicts = decideDue(inputs({
    targets: [target("api"), target("web")],
    state: deployed({ api: OLDER, web: OLD }),
    changedSince: new Map([
      [OLDER, ["api/compose.yaml", "web/compose.yaml"]],
      [OLD, []],
    ]),
  }));
  assert.deepEqual(verdicts.map((verdict) => verdict.due), [true, false]);
});

Deno.test("decideDue needs no diff for a service deployed at HEAD", () => {
  const verdicts = decideDue(inputs({
    targets: [target("api")],
    state: deployed({ api: HEAD }),
  }));
  assert.deepEqual(verdicts, [{
    service: "api",
    deployedCommit: HEAD,
    due: false,
    reason: undefined,
  }]);
});

Deno.test("decideDue makes a service whose deployed commit vanished due as history rewritten", () => {
  const verdicts = decideDue(inputs({
    targets: [target("api")],
    state: deployed({ api: OLD }),
    missingCommits: new Set([OLD]),
  }));
  assert.deepEqual(verdicts[0].reason, {
    kind: "history_rewritten",
    deployedCommit: OLD,
  });
  assert.equal(verdicts[0].due, true);
});

Deno.test("decideDue runs an interrupted service again even when nothing changed", () => {
  const verdicts = decideDue(inputs({
    targets: [target("api"), target("web")],
    state: new Map([
      ["api", { deployedCommit: HEAD, lastOutcome: "interrupted" }],
      ["web", { deployedCommit: HEAD, lastOutcome: "succeeded" }],
    ]),
  }));
  assert.deepEqual(verdicts.map((verdict) => verdict.reason), [
    { kind: "interrupted" },
    undefined,
  ]);
});

Deno.test("decideDue records at most the first 100 changed paths and their total", () => {
  const changed = Array.from(
    { length: 150 },
    (_, index) => `api/file-${index}`,
  );
  const [verdict] = decideDue(inputs({
    targets: [target("api")],
    state: deployed({ api: OLD }),
    changedSince: new Map([[OLD, changed]]),
  }));
  assert.equal(MAX_RECORDED_PATHS, 100);
  assert.ok(verdict.reason?.kind === "changed");
  assert.equal(verdict.reason.paths.length, 100);
  assert.equal(verdict.reason.totalPaths, 150);
  assert.deepEqual(verdict.reason.paths, changed.slice(0, 100));
});

Deno.test("decideDue ignores the state file in single-directory mode", () => {
  const [verdict] = decideDue(inputs({
    targets: [{ name: ".", dir: ".", watchPaths: [] }],
    state: deployed({ ".": OLD }),
    changedSince: new Map([[OLD, [".upstream-watch.sqlite"]]]),
    ignoredPaths: [".upstream-watch.sqlite"],
  }));
  assert.equal(verdict.due, false);
});

Deno.test("decideDue refuses to guess when a needed diff was not computed", () => {
  assert.throws(
    () =>
      decideDue(inputs({
        targets: [target("api")],
        state: deployed({ api: OLD }),
      })),
    /no diff was computed/,
  );
});

Deno.test("diffBases lists each distinct deployed commit once, skipping HEAD and undeployed services", () => {
  const state = deployed({
    api: OLD,
    web: OLD,
    db: OLDER,
    cache: HEAD,
    fresh: null,
    gone: "d".repeat(40),
  });
  const targets = ["api", "web", "db", "cache", "fresh", "unknown"].map((
    name,
  ) => target(name));
  assert.deepEqual(diffBases(state, targets, HEAD), [OLD, OLDER]);
});

Deno.test("diffBases needs a single diff however many services share a deployed commit", () => {
  const names = Array.from({ length: 50 }, (_, index) => `service-${index}`);
  const state = deployed(
    Object.fromEntries(names.map((name) => [name, OLD])),
  );
  assert.deepEqual(
    diffBases(state, names.map((name) => target(name)), HEAD),
    [OLD],
  );
});

Deno.test("pathsConcerning keeps the diff's order across the service's folder and watch paths", () => {
  const changed = ["b/1", "a/1", "shared/x", "a/2", "README.md", "ab/3"];
  const target = {
    name: "a",
    dir: "a",
    watchPaths: ["shared", "README.md"],
  };
  assert.deepEqual(pathsConcerning(target, changed), [
    "a/1",
    "shared/x",
    "a/2",
    "README.md",
  ]);
  // Asked again of the same diff (now grouped), and of a service at the root.
  assert.deepEqual(pathsConcerning({ ...target, watchPaths: [] }, changed), [
    "a/1",
    "a/2",
  ]);
  assert.deepEqual(
    pathsConcerning({ name: ".", dir: ".", watchPaths: [] }, changed, {
      ignoredPaths: ["README.md"],
    }),
    ["b/1", "a/1", "shared/x", "a/2", "ab/3"],
  );
});

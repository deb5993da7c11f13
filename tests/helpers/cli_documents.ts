/** The `status --json` and `history --json` documents as the feature tests read them. */
import assert from "node:assert/strict";
import { cli, parseJson } from "./cli.ts";
import type { RunJson } from "../../src/report/documents.ts";

interface StatusService {
  name: string;
  deployedCommit: string | null;
  failedAttempts: number;
  due: boolean;
  outOfDate: boolean;
  hold: { kind: string; attempts?: number; nextAttemptAt?: string } | null;
  lastRun: (RunJson & { finishedAt: string | null }) | null;
}

/** The services of `status --json`, by name. */
export async function statusOf(
  repo: string,
  globals: string[] = [],
): Promise<Map<string, StatusService>> {
  const result = await cli(["--repo", repo, ...globals, "status", "--json"]);
  assert.equal(result.code, 0, result.stderr);
  const { services } = parseJson<{ services: StatusService[] }>(result);
  return new Map(services.map((service) => [service.name, service]));
}

/** The runs of `history --json`, newest first. */
export async function historyOf(
  repo: string,
  service?: string,
): Promise<RunJson[]> {
  const result = await cli([
    "--repo",
    repo,
    "history",
    ...(service ? [service] : []),
    "--limit",
    "100",
    "--json",
  ]);
  assert.equal(result.code, 0, result.stderr);
  return parseJson<{ runs: RunJson[] }>(result).runs;
}

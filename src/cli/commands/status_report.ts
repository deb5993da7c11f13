import type { App } from "../../app.ts";
import { commitStatusTargets } from "../../app/commit_status.ts";
import { contextFor, sendCommitStatus } from "../../commit_status/reporter.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import { shortCommit } from "../../git/commit_id.ts";
import { REQUEST_TIMEOUT_MS } from "../../notify/http_post.ts";
import type { Output } from "../output.ts";

/** Service name in the context of the test status, so it never hides a real deploy's. */
export const TEST_SERVICE = "status-report-test";

/**
 * `status-report test`: sets one `success` status on HEAD for every
 * `commit_status` entry, once, and prints ok/failed with the HTTP status.
 */
export async function statusReportTestCommand(
  app: App,
  output: Output,
): Promise<number> {
  const targets = await commitStatusTargets(app);
  if (targets.length === 0) {
    throw new UsageError(
      `no commit status targets configured (add commit_status: to ${app.configFile})`,
    );
  }
  const [head] = await app.git.revParse(["HEAD"]);
  // One attempt each, all at once: the operator wants the answer now, not after retries.
  const results = await Promise.all(
    targets.map((target) =>
      sendCommitStatus(target, {
        sha: head,
        state: "success",
        context: contextFor(target, TEST_SERVICE),
        description: `Test status from upstream-watch on ${app.host}`,
        targetUrl: app.config.publicUrl,
      }, { timeoutMs: REQUEST_TIMEOUT_MS })
    ),
  );
  let failed = 0;
  results.forEach((result, index) => {
    const label = `${targets[index].label} ${shortCommit(head)}`;
    if (result.kind === "delivered") {
      output.out(`ok      ${label} (HTTP ${result.status})\n`);
    } else {
      failed++;
      output.out(`failed  ${label}: ${result.error}\n`);
    }
  });
  if (failed > 0) {
    output.err(
      `upstream-watch: ${failed} of ${targets.length} commit status target(s) failed\n`,
    );
    return ExitCode.updateFailed;
  }
  return ExitCode.ok;
}

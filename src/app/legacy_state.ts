/** The original Go tool's database, migrated in place on first start (docs/migrating-from-go.md). */
import { type RepoConfig, SINGLE_SERVICE_NAME } from "../config/types.ts";
import { shortCommit } from "../git/commit_id.ts";
import type { GitClient } from "../git/git_client.ts";
import type { Logger } from "../log/logging.ts";
import { decideLegacyDeployments } from "../state/legacy_import.ts";
import type { StateStore } from "../state/store.ts";

/** The Go tool's database is migrated in place on first start (docs/migrating-from-go.md). */
export async function importLegacyState(
  store: StateStore,
  git: GitClient,
  config: RepoConfig,
  logger: Logger,
): Promise<void> {
  const found = store.legacyModules.length;
  const { verdicts, invalid, withoutCommit } = await decideLegacyDeployments(
    store.legacyModules,
    git,
    {
      singleService: config.singleDirectoryMode
        ? SINGLE_SERVICE_NAME
        : undefined,
    },
  );
  for (const { service, value } of invalid) {
    logger.error(
      "the original database records {value} for {service}, which is not a commit id; that record is ignored",
      { service, value: JSON.stringify(value) },
    );
  }
  if (withoutCommit > 0) {
    logger.info("{count} records of the original database hold no commit", {
      count: withoutCommit,
    });
  }
  const imported = new Map<string, string>();
  for (const verdict of verdicts) {
    if (verdict.kind === "imported") {
      imported.set(verdict.service, verdict.commit);
    } else {
      logger.warn(
        "none of the {recorded} commits recorded for {service} is in the repository; it counts as never deployed",
        { service: verdict.service, recorded: verdict.recorded },
      );
    }
  }
  store.importLegacy(imported, Date.now());
  logger.info(
    "migrated the original upstream-watch database: {count} services imported from {found} records",
    { count: imported.size, found },
  );
  for (const [service, commit] of imported) {
    logger.info("imported {service} as deployed at {commit}", {
      service,
      commit: shortCommit(commit),
    });
  }
}

/**
 * Parsing `.upstream-watch.yaml` (docs/configuration.md): the agent's
 * settings for the whole repository. Each section with more to it than a
 * value has its own module (notify, webhook, verify, commit_status).
 */
import { parseCommitStatus, parsePublicUrl } from "./commit_status_config.ts";
import { defaultRepoConfig, defaultRetryBackoff } from "./defaults.ts";
import { folderNames, gitName, stateFile } from "./names.ts";
import { parseNotify } from "./notify_config.ts";
import { ConfigReader, unique } from "./reader.ts";
import {
  type LoadedConfig,
  type RepoConfig,
  SERVICE_CONFIG_FILE,
} from "./types.ts";
import { parseVerify } from "./verify_config.ts";
import {
  REPO_KEYS,
  type RepoKey,
  SERVICE_KEYS,
  SYNC_MODES,
} from "./vocabulary.ts";
import { parseWebhook } from "./webhook_config.ts";

/** Parses `.upstream-watch.yaml` text; empty text yields all defaults. */
export function parseRepoConfig(
  text: string,
  file: string,
): LoadedConfig<RepoConfig> {
  const reader = new ConfigReader(text, file);
  const entries = reader.readRoot(REPO_KEYS, {
    keys: SERVICE_KEYS,
    file: `<service>/${SERVICE_CONFIG_FILE}`,
  });
  const config = defaultRepoConfig();
  const value = (key: RepoKey) => entries.get(key);

  let entry = value("single_directory_mode");
  if (entry) config.singleDirectoryMode = reader.boolean(entry);
  entry = value("retry_interval");
  if (entry) config.retryInterval = reader.seconds(entry);
  config.retryBackoff = defaultRetryBackoff(config.retryInterval);
  entry = value("ignore_folders");
  if (entry) {
    config.ignoreFolders = unique([".git", ...folderNames(reader, entry)]);
  }
  entry = value("remote");
  if (entry) config.remote = gitName(reader, entry);
  entry = value("branch");
  if (entry) config.branch = gitName(reader, entry);
  entry = value("sync");
  if (entry) config.sync = reader.oneOf(entry, SYNC_MODES);
  entry = value("state_file");
  if (entry) config.stateFile = stateFile(reader, entry);
  entry = value("command_timeout");
  if (entry) config.commandTimeout = reader.seconds(entry);
  entry = value("max_attempts");
  if (entry) config.maxAttempts = reader.count(entry);
  entry = value("retry_backoff");
  if (entry) config.retryBackoff = reader.seconds(entry);
  entry = value("parallel");
  if (entry) config.parallel = reader.count(entry);
  entry = value("history_limit");
  if (entry) config.historyLimit = reader.count(entry);
  entry = value("notify");
  if (entry) config.notify = parseNotify(reader, entry);
  entry = value("webhook");
  if (entry) {
    const webhook = parseWebhook(reader, entry);
    if (webhook) config.webhook = webhook;
  }
  entry = value("verify");
  if (entry) config.verify = parseVerify(reader, entry);
  entry = value("commit_status");
  if (entry) config.commitStatus = parseCommitStatus(reader, entry);
  entry = value("public_url");
  if (entry) config.publicUrl = parsePublicUrl(reader, entry);
  return { config, warnings: reader.warnings };
}

/**
 * Which verification settings judge the next commit: the command line's or
 * the deployed configuration's, never weaker than the ones recorded once
 * verification was on. Only the operator (`verify-reset`) lowers them.
 * @module
 */
import type { VerifyConfig, VerifyMode } from "../config/verify_config.ts";
import type { RecordedVerification } from "../state/verification_records.ts";

/** The settings in effect, and why they differ from what the configuration asks for (if they do). */
export interface SettingsInEffect {
  config?: VerifyConfig;
  /** Set when the recorded settings overrode the configuration: a line for the log. */
  kept?: string;
}

/** Where the recorded settings are named in messages. */
export const RECORDED_SOURCE = "the settings recorded in the state file";

/** Combines the command line, the deployed configuration and the recorded settings. */
export function settingsInEffect(sources: {
  commandLine?: VerifyConfig;
  repository?: VerifyConfig;
  recorded?: RecordedVerification;
}): SettingsInEffect {
  const { commandLine, repository } = sources;
  const recorded = sources.recorded ? fromRecord(sources.recorded) : undefined;
  const mode = strongest([repository?.mode, recorded?.mode]);
  if (commandLine) return { config: { ...commandLine, mode } };
  if (!recorded) return { config: repository };
  if (!repository) {
    return {
      config: recorded,
      kept:
        `the deployed configuration has no verify:; verification stays on with ${
          describe(recorded)
        } (${RECORDED_SOURCE}) until the operator runs verify-reset`,
    };
  }
  if (repository.kind !== recorded.kind || repository.path !== recorded.path) {
    return {
      config: { ...recorded, mode },
      kept: `${repository.source} names ${
        describe(repository)
      }; verification keeps ${
        describe(recorded)
      } (${RECORDED_SOURCE}) until the operator runs verify-reset`,
    };
  }
  return {
    config: { ...repository, mode },
    kept: mode !== repository.mode
      ? `${repository.source} asks for mode ${repository.mode}; verification keeps mode ${mode} (${RECORDED_SOURCE}) until the operator runs verify-reset`
      : undefined,
  };
}

/** The record of settings in effect, or undefined when it already says the same. */
export function recordFor(
  config: VerifyConfig,
  recorded: RecordedVerification | undefined,
  now: number,
): RecordedVerification | undefined {
  if (
    recorded?.kind === config.kind && recorded.path === config.path &&
    recorded.mode === config.mode
  ) {
    return undefined;
  }
  return {
    kind: config.kind,
    path: config.path,
    mode: config.mode,
    source: config.source === RECORDED_SOURCE
      ? recorded?.source ?? config.source
      : config.source,
    recordedAt: now,
  };
}

/** `allowed_signers /path` or `gpg_keyring /path`, mode included. */
export function describe(
  config: Pick<VerifyConfig, "kind" | "path" | "mode">,
): string {
  return `${
    config.kind === "ssh" ? "allowed_signers" : "gpg_keyring"
  } ${config.path} (mode ${config.mode})`;
}

function fromRecord(recorded: RecordedVerification): VerifyConfig {
  return {
    kind: recorded.kind === "gpg" ? "gpg" : "ssh",
    path: recorded.path,
    mode: recorded.mode === "all" ? "all" : "head",
    source: RECORDED_SOURCE,
  };
}

function strongest(modes: (VerifyMode | undefined)[]): VerifyMode {
  return modes.includes("all") ? "all" : "head";
}

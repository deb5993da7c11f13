/**
 * Where a verification key file may lie: outside the work tree, checked
 * when the configuration is read, before any verifier is built.
 * @module
 */
import { isAbsolute, relative } from "node:path";
import type { VerifyConfig } from "../config/verify_config.ts";
import { ConfigError } from "../errors.ts";

/** A key file inside the work tree could be changed by the pushes it checks: a configuration error. */
export function checkKeyOutsideWorkTree(
  config: VerifyConfig,
  options: { repoRoot: string; file: string },
): void {
  const inside = relative(options.repoRoot, config.path);
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside))) {
    throw new ConfigError(
      `${config.path} lies inside the work tree; keep the key file outside the repository, where a push cannot change it`,
      { file: options.file, key: config.source },
    );
  }
}

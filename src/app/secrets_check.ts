/** `validate`'s check of services' SOPS files: each decrypted in memory with this host's keys, nothing written. */
import type { App } from "../app.ts";
import { checkSecrets, secretsAt } from "../hooks/decrypt_step.ts";
import type { ServiceEntry } from "../reconcile/services.ts";

/** One line per service whose secrets cannot be decrypted or fail their MAC at `head`. */
export async function secretProblems(
  app: App,
  services: readonly ServiceEntry[],
  head: string,
): Promise<string[]> {
  const problems: string[] = [];
  for (const service of services) {
    if (!service.config?.secrets?.length) continue;
    const context = secretsAt(app.secrets, {
      git: app.git,
      commit: head,
      repoRoot: app.repoRoot,
      dir: service.dir,
    })!;
    const problem = await checkSecrets(service.config, context);
    if (problem) problems.push(`${service.name}: ${problem}`);
  }
  return problems;
}

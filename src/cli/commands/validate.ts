import type { App } from "../../app.ts";
import { ExitCode } from "../../errors.ts";
import type { Output } from "../output.ts";

/** `validate`: checks the repository config and every service's hook file at HEAD. */
export async function validateCommand(
  app: App,
  output: Output,
): Promise<number> {
  const [head] = await app.git.revParse(["HEAD"]);
  const services = await app.agent.services(head, head);
  const broken = services.filter((service) => service.error);
  for (const service of broken) output.err(`${service.error!.message}\n`);
  const warnings = app.configWarnings.length +
    services.reduce((count, service) => count + service.warnings.length, 0);
  output.out(
    `${services.length - broken.length} of ${services.length} services valid` +
      (warnings > 0 ? `, ${warnings} warning(s)` : "") + "\n",
  );
  return broken.length > 0 ? ExitCode.usage : ExitCode.ok;
}

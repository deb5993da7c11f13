import { escapeControl } from "../../log/escape.ts";
import type { App } from "../../app.ts";
import { ExitCode } from "../../errors.ts";
import { shortCommit } from "../../git/commit_id.ts";
import type { Output } from "../output.ts";

/** `adopt [SERVICE...]`: records services as deployed at HEAD without running commands. */
export async function adoptCommand(
  app: App,
  options: { services: string[] },
  output: Output,
): Promise<number> {
  const { head, services } = await app.agent.adopt(
    options.services.length > 0 ? options.services : "all",
  );
  output.out(
    services.length === 0 ? "no services to adopt\n" : escapeControl(
      `adopted at ${shortCommit(head)}: ${services.join(", ")}`,
    ) + "\n",
  );
  return ExitCode.ok;
}

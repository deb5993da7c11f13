/** age identity files (`SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`): one `AGE-SECRET-KEY-1…` a line, `#` comments. */
import { SopsFormatError } from "./secret_error.ts";

/** The identities of an identity file's text; a line that is no identity fails with its number. */
export function parseAgeIdentities(text: string): string[] {
  const identities: string[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!/^AGE-SECRET-KEY-(PQ-)?1[02-9AC-HJ-NP-Z]+$/.test(line)) {
      throw new SopsFormatError(
        `line ${index + 1} is not an age identity (AGE-SECRET-KEY-1…)`,
      );
    }
    identities.push(line);
  }
  return identities;
}

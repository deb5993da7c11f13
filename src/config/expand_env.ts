/** `${NAME}` references in configuration values and their expansion from the environment. */
import { ConfigError, type ConfigLocation } from "../errors.ts";

/** What an environment variable name may look like. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${NAME}` references from `env`; `$${` stands for a literal `${`.
 * An unset variable or a malformed reference is a ConfigError at `location`.
 */
export function expandEnv(
  text: string,
  env: (name: string) => string | undefined,
  location: ConfigLocation,
): string {
  let result = "";
  let index = 0;
  while (index < text.length) {
    if (text.startsWith("$${", index)) {
      result += "${";
      index += 3;
      continue;
    }
    if (!text.startsWith("${", index)) {
      result += text[index];
      index += 1;
      continue;
    }
    const end = text.indexOf("}", index + 2);
    if (end === -1) {
      throw new ConfigError(
        'unclosed "${" (write "$${" for a literal "${")',
        location,
      );
    }
    const name = text.slice(index + 2, end);
    if (!ENV_NAME.test(name)) {
      throw new ConfigError(
        `invalid environment variable name ${
          JSON.stringify(name)
        } in "\${...}"`,
        location,
      );
    }
    const value = env(name);
    if (value === undefined) {
      throw new ConfigError(
        `environment variable ${name} is not set`,
        location,
      );
    }
    result += value;
    index = end + 1;
  }
  return result;
}

/**
 * The environment variables the agent's own configuration reads (`${NAME}`
 * in the webhook secret and read token, notify URLs and commit-status
 * tokens): secrets of the agent, which hooks
 * do not inherit unless a service's `env` names them.
 */
import type { RepoConfig } from "./types.ts";

/** Names referenced as `${NAME}` in `text`; `$${` is a literal and names nothing. */
export function referencedNames(text: string): string[] {
  const names: string[] = [];
  const pattern = /\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  for (const match of text.matchAll(pattern)) {
    if (!match[0].startsWith("$$")) names.push(match[1]);
  }
  return names;
}

/** Every variable the repository configuration expands (webhook secret and read token, notify URLs, commit-status tokens), sorted. */
export function configEnvReferences(config: RepoConfig): string[] {
  const texts = [
    config.webhook?.secret ?? "",
    config.webhook?.readToken ?? "",
    config.webhook?.adminToken ?? "",
    ...config.notify.map((target) => target.url),
    ...(config.commitStatus ?? []).map((target) => target.token),
  ];
  return [...new Set(texts.flatMap(referencedNames))].sort();
}

/** Variables the agent reads its SOPS age keys from: hooks never inherit them. */
export const AGE_KEY_VARIABLES = ["SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"] as const;

/**
 * What a hook inherits: the agent's environment without the `withheld`
 * variables, then the service's `env`. A service entry written `NAME:
 * "${NAME}"` passes the agent's own value of NAME through (withheld or not).
 */
export function hookEnvironment(
  inherited: Record<string, string>,
  withheld: readonly string[],
  serviceEnv: Record<string, string>,
): Record<string, string> {
  const hidden = new Set([...withheld, ...AGE_KEY_VARIABLES]);
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(inherited).filter(([name]) => !hidden.has(name)),
  );
  for (const [name, value] of Object.entries(serviceEnv)) {
    if (value !== `\${${name}}`) env[name] = value;
    else if (Object.hasOwn(inherited, name)) env[name] = inherited[name];
  }
  return env;
}

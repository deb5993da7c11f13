/** SOPS metadata flattened into one level (`pgp__list_0__map_enc`), as dotenv and INI files hold it. */
import { SopsFormatError } from "./secret_error.ts";

/** Rebuilds nested metadata from flattened `key → value` pairs. */
export function unflattenMetadata(
  pairs: readonly [string, string][],
): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [flatKey, value] of pairs) {
    const tokens = flatKey.split(/(?=__map_|__list_)/);
    let node: Record<string, unknown> | unknown[] = root;
    tokens.forEach((token, index) => {
      const key = token.startsWith("__map_")
        ? token.slice("__map_".length)
        : token.startsWith("__list_")
        ? Number(token.slice("__list_".length))
        : token;
      if (typeof key === "number" && !Array.isArray(node)) {
        throw new SopsFormatError(`bad flattened metadata key "${flatKey}"`);
      }
      const last = index === tokens.length - 1;
      const next = tokens[index + 1];
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = value;
      } else {
        container[key] ??= next.startsWith("__list_") ? [] : {};
        node = container[key] as Record<string, unknown> | unknown[];
      }
    });
  }
  return root;
}

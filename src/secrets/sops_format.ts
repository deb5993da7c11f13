/** The formats a SOPS file can be in and how each is recognised from its name. */

/** A SOPS file format, as `sops --input-type` names them. */
export type SopsFormat = "yaml" | "json" | "dotenv" | "ini" | "binary";

/** Every format, for validation messages. */
export const SOPS_FORMATS: readonly SopsFormat[] = [
  "yaml",
  "json",
  "dotenv",
  "ini",
  "binary",
];

/** The format `sops` infers from a file name: `.yaml`/`.yml`, `.json`, `.env`, `.ini`, else binary. */
export function formatForPath(path: string): SopsFormat {
  if (/\.ya?ml$/.test(path)) return "yaml";
  if (path.endsWith(".json")) return "json";
  if (path.endsWith(".env")) return "dotenv";
  if (path.endsWith(".ini")) return "ini";
  return "binary";
}

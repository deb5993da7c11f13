/** Parsing an allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS) into entries whose options the agent judges itself. */
import { ConfigError } from "../errors.ts";

/** Key types `ssh-keygen -Y verify` accepts in an allowed-signers file. */
const SSH_KEY_TYPE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com|ssh-dss)$/;

/** One line of an allowed-signers file. */
export interface AllowedSigner {
  line: number;
  /** The principals field as written (comma-separated patterns). */
  principals: string;
  certAuthority: boolean;
  /** `namespaces="…"` patterns; undefined means every namespace. */
  namespaces?: string[];
  /** `valid-after` / `valid-before`, epoch milliseconds. */
  validAfter?: number;
  validBefore?: number;
  keyType: string;
  keyBase64: string;
}

/** Parses the file's text, failing with a ConfigError at the first bad line or an empty file. */
export function parseAllowedSigners(
  text: string,
  file: string,
): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const bad = (what: string) =>
      new ConfigError(what, { file, line: index + 1 });
    const fields = splitFields(line);
    // Options (cert-authority, namespaces="git", valid-after=…) sit between principals and key type.
    const typeAt = fields.findIndex((field, at) =>
      at > 0 && SSH_KEY_TYPE.test(field)
    );
    const keyBase64 = typeAt > 0 ? fields[typeAt + 1] : undefined;
    if (
      !keyBase64 || typeAt > 2 || !isBase64Key(keyBase64, fields[typeAt])
    ) {
      throw bad(
        "not an allowed-signers line (expected: principals [options] key-type base64-key)",
      );
    }
    const signer: AllowedSigner = {
      line: index + 1,
      principals: unquote(fields[0]),
      certAuthority: false,
      keyType: fields[typeAt],
      keyBase64,
    };
    if (typeAt === 2) {
      for (const option of splitOptions(fields[1])) {
        const [name, ...rest] = option.split("=");
        const value = unquote(rest.join("="));
        switch (name.toLowerCase()) {
          case "cert-authority":
            signer.certAuthority = true;
            break;
          case "namespaces":
            signer.namespaces = value.split(",");
            break;
          case "valid-after":
          case "valid-before": {
            const at = parseSshTime(value);
            if (at === undefined) {
              throw bad(
                `${name}="${value}" is not a time (YYYYMMDD[HHMM[SS]][Z])`,
              );
            }
            if (name.toLowerCase() === "valid-after") signer.validAfter = at;
            else signer.validBefore = at;
            break;
          }
          default:
            throw bad(`unknown allowed-signers option "${name}"`);
        }
      }
    }
    signers.push(signer);
  }
  if (signers.length === 0) {
    throw new ConfigError("the allowed-signers file holds no key", { file });
  }
  return signers;
}

/** `YYYYMMDD[HHMM[SS]]` in local time, or UTC with a trailing `Z`, as ssh-keygen reads it; undefined when malformed. */
export function parseSshTime(text: string): number | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?(Z)?$/i
    .exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map((
    part,
  ) => Number(part ?? 0));
  return match[7]
    ? Date.UTC(year, month - 1, day, hour, minute, second)
    : new Date(year, month - 1, day, hour, minute, second).getTime();
}

/** An epoch time as `YYYYMMDDHHMMSS` in local time, for `ssh-keygen -Overify-time=`. */
export function formatSshTime(at: number): string {
  const date = new Date(at);
  const two = (value: number) => String(value).padStart(2, "0");
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${
    two(date.getDate())
  }${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

/** Whether `name` matches a comma-separated list of `*`/`?` patterns, a `!` pattern excluding. */
export function matchesPatternList(name: string, patterns: string[]): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith("!");
    const glob = new RegExp(
      "^" +
        (negated ? pattern.slice(1) : pattern).replace(
          /[.+^${}()|[\]\\*?]/g,
          (char) => char === "*" ? ".*" : char === "?" ? "." : `\\${char}`,
        ) + "$",
    );
    if (!glob.test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** Splits on blanks outside double quotes. */
function splitFields(line: string): string[] {
  return line.match(/(?:"[^"]*"|[^\s"])+/g) ?? [];
}

/** Splits an options field on commas outside double quotes. */
function splitOptions(field: string): string[] {
  return field.match(/(?:"[^"]*"|[^,"])+/g) ?? [];
}

function unquote(text: string): string {
  return text.replaceAll('"', "");
}

function isBase64Key(text: string, type: string): boolean {
  try {
    const bytes = Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
    // The blob starts with its own key type as an SSH string.
    const length = new DataView(bytes.buffer).getUint32(0);
    return new TextDecoder().decode(bytes.slice(4, 4 + length)) === type;
  } catch {
    return false;
  }
}

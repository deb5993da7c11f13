/** The `commit_status:` list and `public_url`: where each run's result is reported on the git host. */
import type { ConfigFieldReader, Entry } from "./reader.ts";
import { secretField } from "./secret_file.ts";

/** Git hosts whose commit status API is supported. */
export type CommitStatusProvider = "github" | "gitea" | "forgejo" | "gitlab";

/** Values of `commit_status[].provider`. */
export const COMMIT_STATUS_PROVIDERS: readonly CommitStatusProvider[] = [
  "github",
  "gitea",
  "forgejo",
  "gitlab",
];

/** One `commit_status` entry as written; `${NAME}` references are expanded when the agent starts. */
export interface CommitStatusTarget {
  provider: CommitStatusProvider;
  /** Usually `${ENV_NAME}`; expanded only in memory ("" when read from `tokenFile`). */
  token: string;
  /** `token_file`: an absolute path the token is read from instead. */
  tokenFile?: string;
  apiUrl?: string;
  /** `owner/name` (GitLab: the project path or numeric id). */
  repository?: string;
  /** Status context; `<host>` and `<service>` are replaced. */
  context?: string;
}

const TARGET_KEYS = [
  "provider",
  "token",
  "token_file",
  "api_url",
  "repository",
  "context",
] as const;

/** Parses the `commit_status:` list (one mapping is a one-item list). */
export function parseCommitStatus(
  reader: ConfigFieldReader,
  entry: Entry,
): CommitStatusTarget[] {
  return reader.list(entry).map((item) => {
    const fields = reader.fields(
      item,
      TARGET_KEYS,
      'a mapping with "provider" and "token"',
    );
    const provider = fields.get("provider");
    const token = secretField(reader, fields, "token");
    if (!provider) reader.fail('"provider" is required', item.node, item.path);
    if (token.value === undefined && token.file === undefined) {
      reader.fail('"token" or "token_file" is required', item.node, item.path);
    }
    const target: CommitStatusTarget = {
      provider: reader.oneOf(provider, COMMIT_STATUS_PROVIDERS),
      token: token.value ?? "",
    };
    if (token.file !== undefined) target.tokenFile = token.file;
    const apiUrl = fields.get("api_url");
    if (apiUrl) target.apiUrl = httpUrl(reader, apiUrl);
    const repository = fields.get("repository");
    if (repository) target.repository = reader.string(repository);
    const context = fields.get("context");
    if (context) target.context = reader.string(context);
    return target;
  });
}

/** Parses `public_url`: an http(s) URL, kept without a trailing slash. */
export function parsePublicUrl(
  reader: ConfigFieldReader,
  entry: Entry,
): string {
  return httpUrl(reader, entry);
}

function httpUrl(reader: ConfigFieldReader, entry: Entry): string {
  const text = reader.string(entry);
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // Reported below.
  }
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
    reader.fail(
      `must be an http:// or https:// URL, got "${text}"`,
      entry.node,
      entry.path,
    );
  }
  return text.replace(/\/+$/, "");
}

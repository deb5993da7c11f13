/** Turning `notify:` entries into delivery targets: `${ENV}` expansion, format and endpoint (docs/notifications.md#targets). */
import { secretValue } from "../config/secret_file.ts";
import { NOTIFY_FORMATS } from "../config/vocabulary.ts";
import { type NotifyTarget, REPO_CONFIG_FILE } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { NotifyEventName } from "./event.ts";

/** A message format (docs/notifications.md#url-schemes-and-formats). */
export type NotifyFormat = typeof NOTIFY_FORMATS[number];

/** A notify entry ready for delivery. */
export interface ResolvedTarget {
  /** Position in `notify:`, for messages (`notify[0]`). */
  index: number;
  format: NotifyFormat;
  /** The http(s) endpoint requests go to; may hold secrets, never logged. */
  endpoint: URL;
  /** Headers every request carries (credentials taken out of the URL). */
  headers: Record<string, string>;
  /** Subscribed events; undefined = all. */
  events?: readonly NotifyEventName[];
  /** How the target appears in logs: format and the endpoint without any secret. */
  label: string;
}

/** Options of {@link resolveTargets}. */
export interface ResolveTargetsOptions {
  /** Looks up `${NAME}` references. */
  env: (name: string) => string | undefined;
  /** The repository configuration file as shown in errors. */
  file?: string;
}

const SERVICE_SCHEMES: readonly NotifyFormat[] = [
  "ntfy",
  "gotify",
  "discord",
  "slack",
];

/**
 * Expands `${ENV}` references and works out each target's format and endpoint.
 * A missing variable, an unknown scheme or a malformed URL is a ConfigError (exit 2).
 */
export function resolveTargets(
  targets: readonly NotifyTarget[],
  options: ResolveTargetsOptions,
): ResolvedTarget[] {
  const file = options.file ?? REPO_CONFIG_FILE;
  return targets.map((target, index) => {
    const location = { file, key: `notify[${index}].url` };
    const url = secretValue(
      { value: target.url, file: target.urlFile },
      options.env,
      location,
    );
    try {
      return resolveUrl(url, target, index);
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      // The message never repeats the URL: it may hold a token.
      throw new ConfigError(error.message, location, { cause: error });
    }
  });
}

class TargetError extends Error {}

function resolveUrl(
  raw: string,
  target: NotifyTarget,
  index: number,
): ResolvedTarget {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(raw.trim());
  if (!match) {
    throw new TargetError(
      'must be a URL such as "https://host/path" or "ntfy://host/topic"',
    );
  }
  const scheme = match[1].toLowerCase();
  const rest = match[2];
  let schemeFormat: NotifyFormat | undefined;
  let transport: "http" | "https" = "https";
  let plain = false;
  if (scheme === "http" || scheme === "https") {
    transport = scheme;
    plain = true;
  } else if (/^[a-z]+\+https?$/.test(scheme)) {
    // `ntfy+http://127.0.0.1:8080/topic`: the format's scheme over plain http(s).
    const [format, protocol] = scheme.split("+");
    schemeFormat = asFormat(format);
    transport = protocol as "http" | "https";
    plain = true;
  } else {
    schemeFormat = asFormat(scheme);
    if (!SERVICE_SCHEMES.includes(schemeFormat)) {
      throw new TargetError(
        `unsupported URL scheme "${scheme}://" (use https://, http:// or one of ${
          SERVICE_SCHEMES.map((name) => `${name}://`).join(", ")
        })`,
      );
    }
  }
  const format = (target.format as NotifyFormat | undefined) ?? schemeFormat ??
    "json";
  if (schemeFormat && target.format && target.format !== schemeFormat) {
    throw new TargetError(
      `format ${target.format} contradicts the URL scheme "${scheme}://"`,
    );
  }
  const headers: Record<string, string> = {};
  const endpoint = plain
    ? plainEndpoint(parseUrl(`${transport}://${rest}`), format, headers)
    : serviceEndpoint(rest, format, headers);
  return {
    index,
    format,
    endpoint,
    headers,
    events: target.events as NotifyEventName[] | undefined,
    label: `notify[${index}] ${format} ${redactUrl(endpoint)}`,
  };
}

function asFormat(name: string): NotifyFormat {
  if ((NOTIFY_FORMATS as readonly string[]).includes(name)) {
    return name as NotifyFormat;
  }
  throw new TargetError(
    `unsupported URL scheme "${name}://" (use https://, http:// or one of ${
      SERVICE_SCHEMES.map((format) => `${format}://`).join(", ")
    })`,
  );
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw new TargetError("is not a valid URL");
  }
}

/** An http(s) URL used as it is; credentials in it become headers. */
function plainEndpoint(
  url: URL,
  format: NotifyFormat,
  headers: Record<string, string>,
): URL {
  moveUserinfo(url, headers);
  if (format === "gotify") return gotifyEndpoint(url, headers);
  return url;
}

/** `ntfy://`, `gotify://`, `discord://`, `slack://` shorthands to their https endpoints. */
function serviceEndpoint(
  rest: string,
  format: NotifyFormat,
  headers: Record<string, string>,
): URL {
  // Discord and Slack shorthands hold ids and case-sensitive tokens, not a host name.
  const parts = rest.split(/[?#]/, 1)[0].split("/").filter((part) =>
    part !== ""
  );
  switch (format) {
    case "ntfy": {
      const url = parseUrl(`https://${rest}`);
      if (url.pathname.replace(/\/+$/, "") === "") {
        throw new TargetError('an ntfy URL needs a topic: "ntfy://host/topic"');
      }
      moveUserinfo(url, headers);
      return url;
    }
    case "gotify": {
      const url = parseUrl(`https://${rest}`);
      moveUserinfo(url, headers);
      return gotifyEndpoint(url, headers);
    }
    case "discord":
      if (parts.length !== 2) {
        throw new TargetError(
          'a Discord URL must be "discord://<webhook id>/<webhook token>"',
        );
      }
      return parseUrl(`https://discord.com/api/webhooks/${parts.join("/")}`);
    case "slack":
      if (parts.length !== 3) {
        throw new TargetError(
          'a Slack URL must be "slack://<T…>/<B…>/<token>" (the part after https://hooks.slack.com/services/)',
        );
      }
      return parseUrl(`https://hooks.slack.com/services/${parts.join("/")}`);
    case "json":
      return parseUrl(`https://${rest}`);
  }
}

/** Gotify: `…/message` under the given path; the token from `?token=` or else the last path segment. */
function gotifyEndpoint(url: URL, headers: Record<string, string>): URL {
  const parts = pathParts(url);
  let token = url.searchParams.get("token") ?? undefined;
  if (parts.at(-1) === "message") parts.pop();
  else if (token === undefined) token = parts.pop();
  if (!token) {
    throw new TargetError(
      'a Gotify URL needs an application token: "gotify://host/path?token=<token>"',
    );
  }
  headers["X-Gotify-Key"] = token;
  const endpoint = new URL(url.href);
  endpoint.pathname = [...parts, "message"].map(encodeURIComponent).join("/");
  endpoint.search = "";
  return endpoint;
}

function pathParts(url: URL): string[] {
  return url.pathname.split("/").filter((part) => part !== "").map((part) =>
    decodeURIComponent(part)
  );
}

/** `user:password@` becomes Basic auth; `:token@` (no user) a Bearer token, as ntfy expects. */
function moveUserinfo(url: URL, headers: Record<string, string>): void {
  if (url.username === "" && url.password === "") return;
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  headers.Authorization = user === ""
    ? `Bearer ${password}`
    : `Basic ${base64(`${user}:${password}`)}`;
  url.username = "";
  url.password = "";
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/**
 * A URL safe to log: scheme and host only; user info, path and query are
 * replaced (Discord, Slack and ntfy carry their secret in the path).
 */
export function redactUrl(url: URL | string): string {
  try {
    const parsed = typeof url === "string" ? new URL(url) : url;
    const hidden = parsed.pathname !== "/" || parsed.search !== "";
    return `${parsed.protocol}//${parsed.host}${hidden ? "/…" : ""}`;
  } catch {
    return "<invalid URL>";
  }
}

/** Replaces every URL in `text` (e.g. a fetch error message) by its redacted form. */
export function redactUrlsIn(text: string): string {
  return text.replace(
    /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)]+/gi,
    (found) => redactUrl(found),
  );
}

/** True when `target` wants `event` (a target without `events` wants them all). */
export function subscribes(
  target: Pick<ResolvedTarget, "events">,
  event: NotifyEventName,
): boolean {
  return target.events === undefined || target.events.includes(event);
}

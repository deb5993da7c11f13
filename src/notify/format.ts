/** The HTTP request each notification format sends for an event (docs/notifications.md#url-schemes-and-formats). */
import { eventDocument, type NotificationEvent } from "./event.ts";
import type { ResolvedTarget } from "./target.ts";

/** A request ready for `fetch`. */
export interface NotificationRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/** Characters of output tail shown in chat messages (their size limits are small). */
const CHAT_TAIL_CHARS = 1500;
/** Discord rejects `content` longer than this. */
const DISCORD_MAX = 2000;

/** Builds the request `target` sends for `event`. */
export function notificationRequest(
  target: ResolvedTarget,
  event: NotificationEvent,
): NotificationRequest {
  const request = (contentType: string, body: string): NotificationRequest => ({
    url: target.endpoint,
    headers: {
      "Content-Type": contentType,
      "User-Agent": "upstream-watch",
      ...target.headers,
    },
    body,
  });
  switch (target.format) {
    case "json":
      return request("application/json", JSON.stringify(eventDocument(event)));
    case "ntfy": {
      const built = request(
        "text/plain; charset=utf-8",
        withTail(event.message, event.outputTail, CHAT_TAIL_CHARS),
      );
      built.headers.Title = headerText(event.title);
      built.headers.Priority = String(NTFY_PRIORITY[event.event]);
      built.headers.Tags = NTFY_TAGS[event.event];
      if (event.runUrl) built.headers.Click = event.runUrl;
      return built;
    }
    case "gotify":
      return request(
        "application/json",
        JSON.stringify({
          title: event.title,
          message: withTail(event.message, event.outputTail, CHAT_TAIL_CHARS),
          priority: GOTIFY_PRIORITY[event.event],
          ...(event.runUrl
            ? {
              extras: {
                "client::notification": { click: { url: event.runUrl } },
              },
            }
            : {}),
        }),
      );
    case "discord": {
      const title = markdownEscape(event.title);
      let content = `**${
        event.runUrl ? `[${title}](${event.runUrl})` : title
      }**\n${event.message}`;
      if (event.outputTail) {
        const room = DISCORD_MAX - content.length - 20;
        if (room > 100) {
          content += `\n\`\`\`\n${
            lastChars(event.outputTail, Math.min(room, CHAT_TAIL_CHARS))
              .replaceAll("```", "'''")
          }\n\`\`\``;
        }
      }
      return request(
        "application/json",
        JSON.stringify({
          content: lastChars(content, DISCORD_MAX, { keepStart: true }),
          // Commit subjects and output must never ping @everyone.
          allowed_mentions: { parse: [] },
        }),
      );
    }
    case "slack": {
      const title = slackEscape(event.title);
      let text = `*${event.runUrl ? `<${event.runUrl}|${title}>` : title}*\n${
        slackEscape(event.message)
      }`;
      if (event.outputTail) {
        text += `\n\`\`\`${
          slackEscape(lastChars(event.outputTail, CHAT_TAIL_CHARS))
            .replaceAll("```", "'''")
        }\`\`\``;
      }
      return request("application/json", JSON.stringify({ text }));
    }
  }
}

const NTFY_PRIORITY: Record<NotificationEvent["event"], number> = {
  deploy_failed: 4,
  sync_failed: 4,
  state_lost: 5,
  verification_failed: 5,
  state_unwritable: 5,
  config_invalid: 4,
  rewound: 4,
  verification_reset: 5,
  recovered: 3,
  service_removed: 3,
  deploy_succeeded: 2,
  rolled_back: 4,
  unhealthy: 4,
  healed: 3,
  test: 3,
};

const NTFY_TAGS: Record<NotificationEvent["event"], string> = {
  deploy_failed: "x",
  sync_failed: "warning",
  state_lost: "rotating_light",
  verification_failed: "no_entry",
  state_unwritable: "floppy_disk",
  config_invalid: "memo",
  rewound: "rewind",
  verification_reset: "unlock",
  recovered: "white_check_mark",
  service_removed: "wastebasket",
  deploy_succeeded: "rocket",
  rolled_back: "rewind",
  unhealthy: "warning",
  healed: "white_check_mark",
  test: "bell",
};

const GOTIFY_PRIORITY: Record<NotificationEvent["event"], number> = {
  deploy_failed: 8,
  sync_failed: 8,
  state_lost: 9,
  verification_failed: 9,
  state_unwritable: 9,
  config_invalid: 8,
  rewound: 8,
  verification_reset: 9,
  recovered: 5,
  service_removed: 5,
  deploy_succeeded: 2,
  rolled_back: 8,
  unhealthy: 8,
  healed: 5,
  test: 5,
};

function withTail(message: string, outputTail: string | null, max: number) {
  return outputTail
    ? `${message}\n\noutput (last lines):\n${lastChars(outputTail, max)}`
    : message;
}

function lastChars(
  text: string,
  max: number,
  options: { keepStart?: boolean } = {},
): string {
  if (text.length <= max) return text;
  return options.keepStart
    ? `${text.slice(0, max - 1)}…`
    : `…${text.slice(text.length - max + 1)}`;
}

/** Header values must be ISO-8859-1; anything else is sent RFC 2047-encoded, which ntfy decodes. */
function headerText(text: string): string {
  const flat = text.replace(/[\r\n]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(flat)) return flat;
  const bytes = new TextEncoder().encode(flat);
  return `=?UTF-8?B?${btoa(String.fromCharCode(...bytes))}?=`;
}

function markdownEscape(text: string): string {
  return text.replace(/([*_~`|\\])/g, "\\$1");
}

/** Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
function slackEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(
    ">",
    "&gt;",
  );
}

/** The `notify:` list of `.upstream-watch.yaml`: where outcomes are sent (docs/notifications.md). */
import { isMap, isScalar, isSeq } from "yaml";
import { describe } from "./describe_value.ts";
import { type ConfigReader, type Entry, unique } from "./reader.ts";
import type { NotifyTarget } from "./types.ts";
import { secretField } from "./secret_file.ts";
import { NOTIFY_EVENTS, NOTIFY_FORMATS, NOTIFY_KEYS } from "./vocabulary.ts";

/** Parses `notify:`; one bare URL is a one-item list, and a bare URL item is `{ url }`. */
export function parseNotify(
  reader: ConfigReader,
  entry: Entry,
): NotifyTarget[] {
  const { node } = entry;
  // Like every other list key, one bare URL is a one-item list.
  if (isScalar(node) && typeof node.value === "string") {
    return [{ url: notifyUrl(reader, entry) }];
  }
  if (!isSeq(node)) {
    reader.fail(
      `must be a list of notification targets, got ${describe(node)}`,
      node,
      entry.path,
    );
  }
  return reader.items(node, entry.path).map((item) => {
    // A bare URL is the short form of `{ url: ... }`.
    if (isScalar(item.node) && typeof item.node.value === "string") {
      return { url: notifyUrl(reader, item) };
    }
    if (!isMap(item.node)) {
      reader.fail(
        `must be a mapping with "url" (and optional "events", "format"), got ${
          describe(item.node)
        }`,
        item.node,
        item.path,
      );
    }
    const fields = reader.mapping(item.node, item.path, {
      known: NOTIFY_KEYS,
    });
    const url = fields.get("url");
    const urlFile = secretField(reader, fields, "url").file;
    if (url === undefined && urlFile === undefined) {
      reader.fail('"url" or "url_file" is required', item.node, item.path);
    }
    // A URL read from a file is checked when it is read.
    const target: NotifyTarget = urlFile === undefined
      ? { url: notifyUrl(reader, url!) }
      : { url: "", urlFile };
    const events = fields.get("events");
    if (events) {
      const names = reader.stringList(events);
      if (names.length === 0) {
        reader.fail(
          "must not be empty (remove the key to send every event)",
          events.node,
          events.path,
        );
      }
      target.events = unique(
        names.map((name) => reader.oneOf(name, NOTIFY_EVENTS)),
      );
    }
    const format = fields.get("format");
    if (format) target.format = reader.oneOf(format, NOTIFY_FORMATS);
    return target;
  });
}

function notifyUrl(reader: ConfigReader, entry: Entry): string {
  const url = reader.string(entry, { hideValue: true });
  // A URL held whole in an environment variable is checked once expanded.
  if (!url.startsWith("${") && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S/.test(url)) {
    reader.fail(
      'must be a URL such as "https://host/path" or "ntfy://host/topic"',
      entry.node,
      entry.path,
    );
  }
  reader.envReferences(url, entry);
  return url;
}

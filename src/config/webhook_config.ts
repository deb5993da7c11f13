/** The `webhook:` section of `.upstream-watch.yaml`: the optional HTTP endpoint (docs/webhooks.md). */
import { isMap, isScalar } from "yaml";
import { DEFAULT_WEBHOOK_LISTEN } from "./defaults.ts";
import { describe } from "./describe_value.ts";
import type { ConfigReader, Entry } from "./reader.ts";
import { secretField } from "./secret_file.ts";
import type { WebhookConfig } from "./types.ts";
import { WEBHOOK_KEYS } from "./vocabulary.ts";

/** Parses `webhook:`; `false` or null turns the endpoint off, `true` means all defaults. */
export function parseWebhook(
  reader: ConfigReader,
  entry: Entry,
): WebhookConfig | undefined {
  const { node } = entry;
  if (isScalar(node) && typeof node.value === "boolean" && !node.value) {
    return undefined;
  }
  let fields = new Map<string, Entry>();
  if (isMap(node)) {
    fields = reader.mapping(node, entry.path, { known: WEBHOOK_KEYS });
  } else if (!(isScalar(node) && node.value === true)) {
    reader.fail(
      `must be a mapping with "listen" and "secret", or false to turn it off, got ${
        describe(node)
      }`,
      node,
      entry.path,
    );
  }
  const listen = fields.get("listen");
  const secret = secretField(reader, fields, "secret");
  const insecure = fields.get("insecure");
  const webhook: WebhookConfig = {
    listen: listen ? listenAddress(reader, listen) : DEFAULT_WEBHOOK_LISTEN,
    insecure: insecure ? reader.boolean(insecure) : false,
  };
  if (secret.value !== undefined || secret.file !== undefined) {
    if (secret.value !== undefined) webhook.secret = secret.value;
    if (secret.file !== undefined) webhook.secretFile = secret.file;
  } else if (!webhook.insecure) {
    reader.fail(
      "webhook.secret is required unless webhook.insecure: true",
      entry.keyNode,
      entry.path,
    );
  }
  const readToken = secretField(reader, fields, "read_token");
  if (readToken.value !== undefined) webhook.readToken = readToken.value;
  if (readToken.file !== undefined) webhook.readTokenFile = readToken.file;
  const adminToken = fields.get("admin_token");
  if (adminToken) {
    webhook.adminToken = reader.string(adminToken, { hideValue: true });
    reader.envReferences(webhook.adminToken, adminToken);
    if (webhook.adminToken === webhook.readToken) {
      reader.fail(
        "webhook.admin_token must differ from webhook.read_token: whoever may read the status must not be able to deploy",
        adminToken.node,
        adminToken.path,
      );
    }
  }
  const maxConnections = fields.get("max_connections");
  if (maxConnections) webhook.maxConnections = reader.count(maxConnections);
  const headerTimeout = fields.get("header_timeout");
  if (headerTimeout) webhook.headerTimeout = reader.seconds(headerTimeout);
  const bodyTimeout = fields.get("body_timeout");
  if (bodyTimeout) webhook.bodyTimeout = reader.seconds(bodyTimeout);
  const idleTimeout = fields.get("idle_timeout");
  if (idleTimeout) webhook.idleTimeout = reader.seconds(idleTimeout);
  return webhook;
}

/** `host:port`, `[v6]:port` or a bare port (which listens on the loopback interface only). */
function listenAddress(reader: ConfigReader, entry: Entry): string {
  const { node } = entry;
  const value = isScalar(node) ? node.value : undefined;
  let text: string;
  if (typeof value === "number") text = String(value);
  else if (typeof value === "string") text = value.trim();
  else {
    reader.fail(`must be "host:port", got ${describe(node)}`, node, entry.path);
  }
  // A bare port listens on the loopback interface only.
  if (/^\d+$/.test(text)) text = `127.0.0.1:${text}`;
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:\[\]]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    reader.fail(
      `must be "host:port" with a port from 1 to 65535, e.g. "${DEFAULT_WEBHOOK_LISTEN}", got ${
        describe(node)
      }`,
      node,
      entry.path,
    );
  }
  return text;
}

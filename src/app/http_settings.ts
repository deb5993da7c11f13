/** What the daemon needs of its HTTP side on every start: webhook settings and telemetry (the server itself is in http_endpoint.ts). */
import type { App } from "./compose.ts";
import { webhookSecret } from "../config/secret_file.ts";
import type { WebhookConfig } from "../config/types.ts";
import { BodyBuffers } from "../http/body_buffers.ts";
import { Slots } from "../http/slots.ts";
import { AgentTelemetry } from "../http/telemetry.ts";
import {
  MAX_WEBHOOK_BODY_BYTES,
  type WebhookSettings,
} from "../http/webhook.ts";
import { configRefusal, describeRefusal } from "../state/config_record.ts";
import { suspensions } from "../state/suspensions.ts";

/** Webhook bodies read at once before their request is authenticated (at most 1 MiB each). */
const UNAUTHENTICATED_BODY_READS = 8;

/** The daemon's metrics and health, read from the app's state. */
export function agentTelemetry(
  app: App,
  intervalSeconds: () => number,
): AgentTelemetry {
  return new AgentTelemetry({
    store: app.store,
    suspensions: () => suspensions(app.store),
    now: Date.now,
    intervalSeconds,
    stateProblem: () => app.store.writeProblem(),
    configProblem: () => {
      const refused = configRefusal(app.store);
      return refused && describeRefusal(refused);
    },
  });
}

/** The webhook's secret with `${VAR}` expanded; undefined when the endpoint is off. */
export function webhookSettings(app: App): WebhookSettings | undefined {
  const config: WebhookConfig | undefined = app.config.current.webhook;
  if (!config) return undefined;
  const secret = webhookSecret(config, "secret", {
    env: (name) => Deno.env.get(name),
    file: app.config.file,
  });
  return {
    secret,
    branch: app.branch,
    bodyReads: new Slots(UNAUTHENTICATED_BODY_READS),
    bodyBuffers: new BodyBuffers(MAX_WEBHOOK_BODY_BYTES + 1),
    memory: app.memory,
  };
}

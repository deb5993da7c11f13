/** The service states of `/metrics`: the same words `status` shows (docs/commands.md#service-states). */
import type { StatusDocument } from "../report/documents.ts";
import { SERVICE_STATES } from "../report/service_state.ts";
import { labels } from "./prometheus_text.ts";

/** One gauge per state counting the services in it (0 included), and each service's state as a 1. */
export function stateMetricsText(document: StatusDocument): string {
  const counts = new Map<string, number>(
    SERVICE_STATES.map((state) => [state, 0]),
  );
  for (const service of document.services) {
    counts.set(service.state, (counts.get(service.state) ?? 0) + 1);
  }
  const lines = [
    "# HELP upstream_watch_services Services in each state.",
    "# TYPE upstream_watch_services gauge",
    ...SERVICE_STATES.map((state) =>
      `upstream_watch_services{${labels({ state })}} ${counts.get(state)}`
    ),
    "# HELP upstream_watch_service_state The state each service is in (1).",
    "# TYPE upstream_watch_service_state gauge",
    ...document.services.map((service) =>
      `upstream_watch_service_state{${
        labels({ service: service.name, state: service.state })
      }} 1`
    ),
  ];
  return lines.join("\n") + "\n";
}

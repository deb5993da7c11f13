/** What a service still has to do, in words: `status` and the status page show the same line. */
import { describeHold, describeReason } from "../results/describe.ts";
import type { ServiceStatus } from "./documents.ts";

/** `invalid config: …`, `waiting: …` or `due: …`; undefined when nothing is pending. */
export function pendingText(
  service: Pick<ServiceStatus, "configError" | "hold" | "reason">,
): string | undefined {
  return service.configError
    ? `invalid config: ${service.configError}`
    : service.hold
    ? `waiting: ${describeHold(service.hold)}`
    : service.reason
    ? `due: ${describeReason(service.reason)}`
    : undefined;
}

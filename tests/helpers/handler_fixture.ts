/** A `(Request) => Response` handler over fake state, for the handler tests beside src/http. */
import type { StatusDocument } from "../../src/report/documents.ts";
import { createHandler, type HandlerDeps } from "../../src/http/handler.ts";
import { AgentTelemetry } from "../../src/http/telemetry.ts";
import { agentLogger } from "../../src/log/logging.ts";
import type {
  CommandRecord,
  RunRecord,
  ServiceRecord,
} from "../../src/state/types.ts";

/** The webhook secret of the fake agent. */
export const SECRET = "correct horse battery staple";

export interface FakeAgent {
  handler: (request: Request) => Promise<Response>;
  /** Cycles the handler asked for. */
  cycles: number;
  telemetry: AgentTelemetry;
}

export function run(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 7,
    service: "api",
    trigger: "webhook",
    fromCommit: "a".repeat(40),
    toCommit: "b".repeat(40),
    revision: "b".repeat(40),
    attempt: 1,
    startedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    finishedAt: Date.UTC(2026, 0, 2, 3, 4, 7),
    outcome: "failed",
    failedStep: "update",
    error: "update command failed (exit 1)",
    reason: { kind: "changed", paths: ["api/compose.yaml"], totalPaths: 1 },
    ...overrides,
  };
}

export function service(
  name: string,
  overrides: Partial<ServiceRecord> = {},
): ServiceRecord {
  return {
    name,
    deployedCommit: "c".repeat(40),
    deployedAt: 1,
    lastRunId: null,
    lastOutcome: "succeeded",
    lastRunAt: 1,
    failedAttempts: 0,
    failedRevision: null,
    lastFailureAt: null,
    removedAt: null,
    ...overrides,
  };
}

/** A handler over fake state: runs and services given, cycles counted. */
export function fakeAgent(
  options: {
    webhook?: HandlerDeps["webhook"] | null;
    runs?: RunRecord[];
    commands?: CommandRecord[];
    services?: ServiceRecord[];
    document?: StatusDocument;
    now?: () => number;
  } = {},
): FakeAgent {
  const runs = options.runs ?? [];
  const services = new Map(
    (options.services ?? []).map((record) => [record.name, record]),
  );
  const telemetry = new AgentTelemetry({
    store: {
      run: (id) => runs.find((record) => record.id === id),
      services: () => services,
    },
    now: options.now ?? Date.now,
    intervalSeconds: () => 60,
  });
  const agent: FakeAgent = {
    cycles: 0,
    telemetry,
    handler: createHandler({
      webhook: options.webhook === null
        ? undefined
        : options.webhook ?? { secret: SECRET, branch: "main" },
      requestCycle: () => {
        agent.cycles++;
        return agent.cycles === 1 ? "started" : "coalesced";
      },
      statusDocument: () =>
        Promise.resolve(
          options.document ?? {
            repository: "/srv/infra",
            remote: "origin",
            branch: "main",
            host: "test-host",
            head: "b".repeat(40),
            upstream: "b".repeat(40),
            verification: null,
            configRefused: null,
            lastRewind: null,
            services: [],
          },
        ),
      store: {
        runs: ({ limit }) => runs.slice(0, limit),
        run: (id) => runs.find((record) => record.id === id),
        commands: () => options.commands ?? [],
      },
      commitSubject: (commit) =>
        Promise.resolve(`subject of ${commit.slice(0, 4)}`),
      telemetry,
      logger: agentLogger(),
      version: "0.0.0-test",
      now: Date.now,
    }),
  };
  return agent;
}

export function webhookRequest(
  headers: Record<string, string>,
  body: BodyInit | null,
): Request {
  return new Request("http://agent.test/webhook", {
    method: "POST",
    headers,
    body,
  });
}

export async function send(
  agent: FakeAgent,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await agent.handler(webhookRequest(headers, body));
  return { status: response.status, json: await response.json() };
}

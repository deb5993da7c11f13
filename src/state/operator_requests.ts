/**
 * Operator requests handed to the running daemon through the state file
 * (docs/design.md#operator-requests): a command inserts one, the daemon
 * carries it out and records the outcome, the command waits for it.
 * @module
 */
import type { StateStore } from "./store.ts";

/** What an operator asks the daemon to do for one service. */
export type OperatorAction = "deploy" | "rollback" | "check";

/** Where a request is: waiting for the daemon, being carried out, or over. */
export type RequestState = "pending" | "running" | "done";

/** Options of a request, as the command line or the HTTP API gave them. */
export interface RequestOptions {
  /** `deploy --force`: suspended services too. */
  force?: boolean;
  /** `rollback --to COMMIT`. */
  to?: string;
}

/** How a request ended: the exit code the command would have had, and what it would have printed. */
export interface RequestOutcome {
  exitCode: number;
  /** Lines of the command's standard output. */
  lines: string[];
  /** The one-line error of a request that could not be carried out. */
  error?: string;
  /** Runs the request started. */
  runIds: number[];
}

/** One request as stored. */
export interface OperatorRequest {
  id: number;
  action: OperatorAction;
  /** The services named (`deploy` takes several). */
  services: string[];
  options: RequestOptions;
  /** `cli` or `http`. */
  source: string;
  state: RequestState;
  requestedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  outcome: RequestOutcome | null;
}

type Row = Record<string, string | number | null>;

function toRequest(row: Row): OperatorRequest {
  return {
    id: Number(row.id),
    action: String(row.action) as OperatorAction,
    services: JSON.parse(String(row.services)),
    options: JSON.parse(String(row.options)),
    source: String(row.source),
    state: String(row.state) as RequestState,
    requestedAt: Number(row.requested_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    outcome: row.result === null ? null : {
      ...JSON.parse(String(row.result)),
      exitCode: Number(row.exit_code),
    },
  };
}

/** Records a new pending request; returns its id. */
export function submitRequest(
  store: StateStore,
  request: {
    action: OperatorAction;
    services: readonly string[];
    options: RequestOptions;
    source: string;
    now: number;
  },
): number {
  return store.transaction(() => {
    const result = store.statement(
      `INSERT INTO operator_requests (action, services, options, source, state, requested_at)
       VALUES (?, ?, ?, ?, 'pending', ?)`,
    ).run(
      request.action,
      JSON.stringify(request.services),
      JSON.stringify(request.options),
      request.source,
      request.now,
    );
    return Number(result.lastInsertRowid);
  });
}

/** One request by id. */
export function operatorRequest(
  store: StateStore,
  id: number,
): OperatorRequest | undefined {
  const row = store.statement("SELECT * FROM operator_requests WHERE id = ?")
    .get(id) as Row | undefined;
  return row ? toRequest(row) : undefined;
}

/** The pending requests, oldest first. */
export function pendingRequests(store: StateStore): OperatorRequest[] {
  const rows = store.statement(
    "SELECT * FROM operator_requests WHERE state = 'pending' ORDER BY id",
  ).all() as Row[];
  return rows.map(toRequest);
}

/** Marks a pending request as being carried out; false when another took it. */
export function claimRequest(
  store: StateStore,
  id: number,
  now: number,
): boolean {
  return store.transaction(() =>
    Number(
      store.statement(
        "UPDATE operator_requests SET state = 'running', started_at = ? WHERE id = ? AND state = 'pending'",
      ).run(now, id).changes,
    ) === 1
  );
}

/** Records how a request ended. */
export function finishRequest(
  store: StateStore,
  id: number,
  outcome: RequestOutcome & { now: number },
): void {
  store.transaction(() => {
    store.statement(
      "UPDATE operator_requests SET state = 'done', finished_at = ?, exit_code = ?, result = ? WHERE id = ?",
    ).run(
      outcome.now,
      outcome.exitCode,
      JSON.stringify({
        lines: outcome.lines,
        runIds: outcome.runIds,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      }),
      id,
    );
  });
}

/**
 * Ends every request left pending or running by a daemon that stopped: a
 * request is carried out by the daemon that was asked, never by a later one
 * (its command gave up waiting long ago). Returns how many were ended.
 */
export function abandonRequests(
  store: StateStore,
  options: { exitCode: number; error: string; now: number },
): number {
  return store.transaction(() =>
    Number(
      store.statement(
        "UPDATE operator_requests SET state = 'done', finished_at = ?, exit_code = ?, result = ? WHERE state != 'done'",
      ).run(
        options.now,
        options.exitCode,
        JSON.stringify({ lines: [], runIds: [], error: options.error }),
      ).changes,
    )
  );
}

/** Requests kept; older finished ones are deleted as new ones finish. */
export const KEPT_REQUESTS = 500;

/** Deletes finished requests beyond the newest {@link KEPT_REQUESTS}. */
export function pruneRequests(store: StateStore): void {
  store.transaction(() => {
    store.statement(
      "DELETE FROM operator_requests WHERE state = 'done' AND id <= (SELECT MAX(id) FROM operator_requests) - ?",
    ).run(KEPT_REQUESTS);
  });
}

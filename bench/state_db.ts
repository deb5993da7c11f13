/** The state database as the benchmark sees it: fingerprints for "nothing was written" and fast seeding of history. */
import { DatabaseSync } from "node:sqlite";

/** Size, mtime and SHA-256 of one file, or null when it does not exist. */
export type FileFingerprint = {
  size: number;
  mtime: number | null;
  sha256: string;
} | null;

/** Fingerprints of the database file and its write-ahead log (`-shm` is an index that readers touch too). */
export async function dbFingerprint(
  file: string,
): Promise<Record<string, FileFingerprint>> {
  const result: Record<string, FileFingerprint> = {};
  for (const path of [file, `${file}-wal`]) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    try {
      const info = await Deno.stat(path);
      const bytes = await Deno.readFile(path);
      const digest = new Uint8Array(
        await crypto.subtle.digest("SHA-256", bytes),
      );
      result[name] = {
        size: info.size,
        mtime: info.mtime?.getTime() ?? null,
        sha256: Array.from(digest, (byte) => byte.toString(16).padStart(2, "0"))
          .join(""),
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      result[name] = null;
    }
  }
  return result;
}

/** True when every file has the same size, mtime and content. */
export function sameFingerprint(
  before: Record<string, FileFingerprint>,
  after: Record<string, FileFingerprint>,
): boolean {
  return JSON.stringify(before) === JSON.stringify(after);
}

/**
 * Adds `count` finished runs (one command each, 200 bytes of output) spread
 * over the services the store already knows, in one transaction, through the
 * schema the store created; each service's last run points at its newest.
 */
export function seedRuns(file: string, count: number): number {
  const db = new DatabaseSync(file);
  try {
    const services = (db.prepare("SELECT name FROM services ORDER BY name")
      .all() as { name: string }[]).map((row) => row.name);
    if (services.length === 0) {
      throw new Error("Cannot seed runs: the state knows no service");
    }
    const head = (db.prepare(
      "SELECT deployed_commit FROM services WHERE deployed_commit IS NOT NULL LIMIT 1",
    ).get() as { deployed_commit: string } | undefined)?.deployed_commit ??
      "0".repeat(40);
    const insertRun = db.prepare(
      `INSERT INTO runs (service, trigger, from_commit, to_commit, revision, attempt, started_at, finished_at, outcome, reason)
       VALUES (?, 'poll', ?, ?, ?, 1, ?, ?, 'succeeded', ?)`,
    );
    const insertCommand = db.prepare(
      `INSERT INTO run_commands (run_id, seq, step, command, started_at, finished_at, exit_code, timed_out, output, truncated)
       VALUES (?, 0, 'update', 'docker compose up -d', ?, ?, 0, 0, ?, 0)`,
    );
    const output = "Container started\n".repeat(11).slice(0, 200);
    const start = Date.now() - count * 60_000;
    db.exec("BEGIN IMMEDIATE");
    try {
      for (let index = 0; index < count; index++) {
        const service = services[index % services.length];
        const startedAt = start + index * 60_000;
        const reason = JSON.stringify({
          kind: "changed",
          paths: [`${service}/docker-compose.yml`],
          totalPaths: 1,
          commits: [{ commit: head, subject: "bump image" }],
        });
        const { lastInsertRowid } = insertRun.run(
          service,
          head,
          head,
          head,
          startedAt,
          startedAt + 1500,
          reason,
        );
        insertCommand.run(
          lastInsertRowid,
          startedAt,
          startedAt + 1500,
          output,
        );
      }
      db.exec(
        `UPDATE services SET last_run_id = (SELECT max(id) FROM runs WHERE runs.service = services.name),
           last_outcome = 'succeeded',
           last_run_at = (SELECT max(finished_at) FROM runs WHERE runs.service = services.name)`,
      );
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return count;
  } finally {
    db.close();
  }
}

/** Watches `PRAGMA data_version` from a second connection: it changes when anyone else commits. */
export function dataVersionProbe(
  file: string,
): { changed: () => boolean; close: () => void } {
  const db = new DatabaseSync(file, { readOnly: true });
  const read = () =>
    Number(
      (db.prepare("PRAGMA data_version").get() as { data_version: number })
        .data_version,
    );
  const first = read();
  return {
    changed: () => read() !== first,
    close: () => db.close(),
  };
}

/** The table cell of a "state DB writes" figure: 0, or what changed. */
export function describeWrites(
  before: Record<string, FileFingerprint>,
  after: Record<string, FileFingerprint>,
  versionChanged: boolean,
): { untouched: boolean; text: string } {
  if (sameFingerprint(before, after) && !versionChanged) {
    return {
      untouched: true,
      text: "0 (sqlite+wal bytes identical, data_version unchanged)",
    };
  }
  const parts: string[] = [];
  for (const [name, was] of Object.entries(before)) {
    const now = after[name];
    if (JSON.stringify(was) !== JSON.stringify(now)) {
      parts.push(`${name}: ${was?.size ?? "-"} → ${now?.size ?? "-"} bytes`);
    }
  }
  if (versionChanged) parts.push("data_version moved");
  return { untouched: false, text: `CHANGED (${parts.join(", ")})` };
}

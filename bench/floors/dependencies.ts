// Loads what the daemon cannot do without (yaml, commander, LogTape, node:sqlite
// with a database open), says "ready" and idles until stdin closes: the RSS
// floor of the daemon. Run as `deno run … dependencies.ts <database file>`.
import { parse } from "yaml";
import { Command } from "commander";
import { configure, getLogger } from "@logtape/logtape";
import { DatabaseSync } from "node:sqlite";

const db = new DatabaseSync(Deno.args[0]);
db.exec("CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY)");
db.prepare("SELECT count(*) FROM floor").get();
parse("a: 1");
new Command("floor").parse([], { from: "user" });
await configure({ sinks: {}, loggers: [] });
getLogger("floor");
(globalThis as { gc?: () => void }).gc?.();
await Deno.stdout.write(new TextEncoder().encode("ready\n"));
for await (const _ of Deno.stdin.readable) {
  // Waits for the bench to close stdin.
}
db.close();

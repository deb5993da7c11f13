import assert from "node:assert/strict";
import { join } from "node:path";
import { waitUntil } from "./helpers/agent_process.ts";
import { cli, runOnce } from "./helpers/cli.ts";
import { DaemonProcess } from "./helpers/daemon_process.ts";
import { GitFixture, shellQuote } from "./helpers/git_fixture.ts";
import { hookFile, pathExists } from "./helpers/hooks.ts";
import { freePort } from "./helpers/http_receiver.ts";

Deno.test("/api/status, the status page and /metrics show health, the rollback and a suspension with its reason", async () => {
  await using fixture = await GitFixture.create({});
  const marker = join(fixture.root, "up");
  const v1 = await fixture.push({
    ".upstream-watch.yaml": [
      "retry_interval: 3600",
      "webhook:",
      `  listen: "127.0.0.1:${freePort()}"`,
      "  insecure: true",
    ].join("\n") + "\n",
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["true"],
      rollback: true,
    }),
    "web/.update-hooks.yaml": hookFile({
      update_commands: [`touch ${shellQuote(marker)}`],
      health_commands: [`test -f ${shellQuote(marker)}`],
      check_interval: 0.2,
      health_timeout: 0.2,
      health_interval: 0.1,
    }),
    "db/.update-hooks.yaml": hookFile({ update_commands: ["true"] }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 0);
  const v2 = await fixture.push({
    "api/.update-hooks.yaml": hookFile({
      update_commands: ["exit 1"],
      rollback: true,
    }),
  });
  assert.equal((await runOnce(fixture.clone)).code, 1);
  await cli([
    "--repo",
    fixture.clone,
    "suspend",
    "db",
    "--reason",
    "disk <full>",
  ]);

  await using daemon = await DaemonProcess.start([
    "--repo",
    fixture.clone,
    "run",
  ]);
  await waitUntil(() => pathExists(marker), { message: "web deployed" });
  // Wait for the first checks (a busy machine makes them late).
  const document = await waitUntil(async () => {
    const current = await (await fetch(`${daemon.url}/api/status`)).json();
    const web = current.services.find((service: { name: string }) =>
      service.name === "web"
    );
    return web?.health?.state === "healthy" ? current : undefined;
  }, { message: "a health check of web passed" });
  const byName = Object.fromEntries(
    document.services.map((service: { name: string }) => [
      service.name,
      service,
    ]),
  );
  assert.equal(byName.api.rollback.from, v2);
  assert.equal(byName.api.rollback.to, v1);
  assert.equal(byName.api.rollback.held, true);
  assert.equal(byName.api.hold.kind, "rolled_back");
  assert.equal(byName.db.suspension.reason, "disk <full>");
  assert.equal(byName.web.health.state, "healthy");
  assert.ok(Date.parse(byName.web.health.lastCheckedAt) > 0);
  assert.deepEqual(
    [byName.api.state, byName.db.state, byName.web.state],
    ["held", "suspended", "deployed"],
  );

  const page = await (await fetch(`${daemon.url}/`)).text();
  assert.match(
    page,
    new RegExp(`rolled back from <span class="hash">${v2.slice(0, 12)}`),
  );
  assert.match(page, /suspended since .* : disk &lt;full&gt;/);
  assert.match(
    page,
    /health: <span class="badge state-green">healthy<\/span>, last checked <time datetime="[^"]+Z">/,
  );
  assert.doesNotMatch(page, /healthy<\/span> since/);
  assert.match(
    page,
    /data-service="api" data-state="held">\n<h3>api <span class="badge state-amber">held<\/span>/,
  );
  assert.match(page, /<span class="badge state-grey">suspended<\/span>/);
  assert.doesNotMatch(
    page,
    /data-action=/,
    "no buttons without the admin token",
  );
  const status = await cli(["--repo", fixture.clone, "status"]);
  assert.match(status.stdout, /^api\s+\S+\s+held\s/m);
  assert.match(
    status.stdout,
    /^web\s+\S+\s+deployed\s.*healthy, last checked/m,
  );

  const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
  assert.match(metrics, /upstream_watch_service_suspended\{service="db"\} 1/);
  assert.match(metrics, /upstream_watch_service_suspended\{service="api"\} 0/);
  assert.match(
    metrics,
    /upstream_watch_health_checks_total\{service="web",result="passed"\} [1-9]/,
  );
  assert.match(metrics, /# TYPE upstream_watch_rollbacks_total counter/);
  assert.match(metrics, /# TYPE upstream_watch_heals_total counter/);
  assert.match(metrics, /upstream_watch_services\{state="held"\} 1/);
  assert.match(metrics, /upstream_watch_services\{state="failed"\} 0/);
  assert.match(
    metrics,
    /upstream_watch_service_state\{service="db",state="suspended"\} 1/,
  );
});

/** Server-rendered HTML pages: the status overview (`GET /`) and one run's output (`GET /runs/<id>`). */
import { shortCommit as short } from "../git/commit_id.ts";
import type { ServiceStatus, StatusDocument } from "../report/documents.ts";
import { describeReason } from "../reconcile/describe.ts";
import { pendingText } from "../report/pending.ts";
import { formatDuration } from "../report/time_text.ts";
import type { CommandRecord, RunRecord } from "../state/types.ts";
import type { Health } from "./telemetry.ts";

/** Everything the overview shows. */
export interface StatusPageInput {
  document: StatusDocument;
  /** Commit subjects by commit id (deployed commits). */
  subjects: ReadonlyMap<string, string>;
  recentRuns: readonly RunRecord[];
  health: Health;
  version: string;
  now: number;
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * Tagged template that escapes every interpolated value unless it is {@link Html}.
 * (Not named `html`: deno fmt would reformat such templates, `<pre>` included.)
 */
function markup(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0];
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1];
  });
  return new Html(out);
}

/** Markup that is already safe. */
class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === null || value === undefined || value === false) return "";
  return escapeHtml(String(value));
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b636e; --bg: #f6f7f9;
  --card: #fff; --line: #d9dde3; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --info: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --muted: #9aa3ad; --bg: #0f1216;
  --card: #171b21; --line: #2c323a; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --info: #58a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 960px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.35rem; margin: 0 0 4px; }
h2 { font-size: 1.1rem; margin: 24px 0 8px; }
a { color: var(--info); }
code, pre, .hash { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.meta { color: var(--muted); margin: 0; overflow-wrap: anywhere; }
header p { margin: 4px 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  margin: 8px 0; border-left-width: 5px; }
.card.failing { border-left-color: var(--bad); }
.card.pending { border-left-color: var(--warn); }
.card.ok { border-left-color: var(--ok); }
.card h3 { margin: 0; font-size: 1.05rem; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
.card p { margin: 4px 0 0; overflow-wrap: anywhere; }
.badge { font-size: .8rem; font-weight: 600; padding: 1px 8px; border-radius: 99px; color: #fff; white-space: nowrap; }
.badge.failed, .badge.failing, .badge.unhealthy, .badge.invalid { background: var(--bad); }
.badge.succeeded, .badge.ok, .badge.healthy { background: var(--ok); }
.badge.pending, .badge.waiting, .badge.running, .badge.interrupted, .badge.skipped { background: var(--warn); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: 6px 0 0; }
details { margin: 10px 0; }
summary { cursor: pointer; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
footer { color: var(--muted); font-size: .85rem; margin-top: 24px; }
`;

function page(title: string, body: Html, options: { refresh?: number } = {}) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${
    options.refresh
      ? `<meta http-equiv="refresh" content="${options.refresh}">\n`
      : ""
  }<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.text}
</main>
</body>
</html>
`;
}

type ServiceState = "failing" | "pending" | "ok";

function serviceState(service: ServiceStatus): ServiceState {
  if (
    service.configError !== null || service.failedAttempts > 0 ||
    service.lastRun?.outcome === "failed"
  ) {
    return "failing";
  }
  if (service.outOfDate || service.deployedCommit === null) return "pending";
  return "ok";
}

const STATE_ORDER: Record<ServiceState, number> = {
  failing: 0,
  pending: 1,
  ok: 2,
};

/** Services as the page lists them: failing first, then pending, then by name. */
export function pageOrder(
  services: readonly ServiceStatus[],
): ServiceStatus[] {
  return [...services].sort((a, b) =>
    STATE_ORDER[serviceState(a)] - STATE_ORDER[serviceState(b)] ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** The overview: services (failing first) with deployed commit and last outcome, then recent runs. */
export function renderStatusPage(input: StatusPageInput): string {
  const { document, health } = input;
  const services = pageOrder(document.services);
  const failing =
    services.filter((service) => serviceState(service) === "failing").length;
  const healthBadge = health.healthy ? "healthy" : "unhealthy";
  const serviceList = services.length === 0
    ? markup`<p class="meta">No services found.</p>`
    : services.map((service) => serviceCard(service, input.subjects));
  const runList = input.recentRuns.length === 0
    ? markup`<p class="meta">No runs yet.</p>`
    : runsTable(input.recentRuns);
  const body = markup`
<header>
<h1>upstream-watch · ${document.host}</h1>
<p class="meta"><span class="badge ${healthBadge}">${healthBadge}</span> ${health.reason}</p>
<p class="meta">${document.repository} at <span class="hash">${
    short(document.head)
  }</span> · following ${document.remote}/${document.branch} (<span class="hash">${
    short(document.upstream)
  }</span>)</p>
${
    document.verification
      ? markup`<p class="meta" id="verification"><span class="badge failed">refused</span> ${document.verification.message}</p>`
      : ""
  }${
    document.lastRewind
      ? markup`<p class="meta" id="rewind"><span class="badge">rewound</span> ${document.lastRewind.message}</p>`
      : ""
  }
</header>
<section id="services">
<h2>Services (${services.length}${
    failing > 0 ? `, ${failing} failing` : ""
  })</h2>
${serviceList}
</section>
<section id="runs">
<h2>Recent runs</h2>
${runList}
</section>
<footer>upstream-watch ${input.version} · rendered ${
    new Date(input.now).toISOString()
  } · <a href="/api/status">JSON</a> · <a href="/metrics">metrics</a> · <a href="/healthz">health</a></footer>`;
  const title = `${
    failing > 0 ? `(${failing} failing) ` : ""
  }upstream-watch · ${document.host}`;
  return page(title, body, { refresh: 30 });
}

function serviceCard(
  service: ServiceStatus,
  subjects: ReadonlyMap<string, string>,
): Html {
  const state = serviceState(service);
  const lastRun = service.lastRun;
  const deployed = service.deployedCommit
    ? markup`<span class="hash">${short(service.deployedCommit)}</span> ${
      subjects.get(service.deployedCommit) ?? ""
    }`
    : markup`<span class="meta">never</span>`;
  let last = markup`<span class="meta">none</span>`;
  if (lastRun) {
    const step = lastRun.failedStep ? ` (${lastRun.failedStep})` : "";
    const attempts = service.failedAttempts > 0
      ? `, ${service.failedAttempts} failed attempt${
        service.failedAttempts > 1 ? "s" : ""
      }`
      : "";
    const error = lastRun.error
      ? markup`<br><span class="meta">${lastRun.error}</span>`
      : "";
    last =
      markup`<a href="/runs/${lastRun.id}">#${lastRun.id}</a> <span class="badge ${lastRun.outcome}">${lastRun.outcome}</span>${step}${attempts} · ${
        time(lastRun.finishedAt ?? lastRun.startedAt)
      }${error}`;
  }
  const pending = pendingText(service);
  return markup`
<article class="card ${state}" data-service="${service.name}" data-state="${state}">
<h3>${service.name} <span class="badge ${state}">${state}</span></h3>
<p>deployed: ${deployed}</p>
<p>last run: ${last}</p>
${safetyLines(service)}
${pending ? markup`<p class="meta">${pending}</p>` : ""}
</article>`;
}

/** Health, the last rollback and a suspension, each on its own line when there is one. */
function safetyLines(service: ServiceStatus): Html {
  const lines: Html[] = [];
  if (service.health) {
    lines.push(
      markup`<p class="health">health: <span class="badge ${
        service.health.state === "healthy" ? "ok" : "failing"
      }">${service.health.state}</span> since ${time(service.health.since)}${
        service.health.error
          ? markup`<br><span class="meta">${service.health.error}</span>`
          : ""
      }</p>`,
    );
  }
  if (service.rollback?.held) {
    lines.push(
      markup`<p class="rollback">rolled back from <span class="hash">${
        short(service.rollback.from)
      }</span> to <span class="hash">${short(service.rollback.to)}</span> · ${
        time(service.rollback.at)
      }${
        service.rollback.state === "failed" ? " (the rollback failed)" : ""
      }</p>`,
    );
  }
  if (service.suspension) {
    lines.push(
      markup`<p class="suspension">suspended${
        service.suspension.scope === "*" ? " (whole agent)" : ""
      } since ${time(service.suspension.since)}${
        service.suspension.reason ? ` : ${service.suspension.reason}` : ""
      }</p>`,
    );
  }
  return markup`${lines}`;
}

function runsTable(runs: readonly RunRecord[]): Html {
  const rows = runs.map((run) =>
    markup`<tr data-run="${run.id}" data-outcome="${run.outcome}"><td><a href="/runs/${run.id}">#${run.id}</a></td><td>${run.service}</td><td><span class="badge ${run.outcome}">${run.outcome}</span>${
      run.failedStep ? ` ${run.failedStep}` : ""
    }</td><td class="hash">${
      short(run.toCommit)
    }</td><td>${run.trigger}</td><td>${time(run.startedAt)}</td><td>${
      duration(run)
    }</td></tr>
`
  );
  return markup`<div class="scroll"><table>
<thead><tr><th>Run</th><th>Service</th><th>Outcome</th><th>Commit</th><th>Trigger</th><th>Started</th><th>Took</th></tr></thead>
<tbody>
${rows}</tbody>
</table></div>`;
}

/** One run: what ran, why, and every command's captured output. */
export function renderRunPage(
  run: RunRecord,
  commands: readonly CommandRecord[],
): string {
  const commits = "commits" in run.reason && run.reason.commits
    ? run.reason.commits
    : [];
  const commitList = commits.length > 0
    ? markup`<h2>Commits</h2>
<ul>${
      commits.map((commit) =>
        markup`<li><span class="hash">${
          short(commit.commit)
        }</span> ${commit.subject}</li>`
      )
    }</ul>`
    : "";
  const commandList = commands.length === 0
    ? markup`<p class="meta">No command output recorded.</p>`
    : commands.map(commandDetails);
  const body = markup`
<p><a href="/">← status</a></p>
<h1>Run #${run.id} · ${run.service} <span class="badge ${run.outcome}">${run.outcome}</span></h1>
<dl>
<dt>commit</dt><dd><span class="hash">${
    run.fromCommit ? `${short(run.fromCommit)} → ` : ""
  }${short(run.toCommit)}</span></dd>
<dt>reason</dt><dd>${describeReason(run.reason)}</dd>
<dt>trigger</dt><dd>${run.trigger}</dd>
<dt>attempt</dt><dd>${run.attempt}</dd>
<dt>started</dt><dd>${time(run.startedAt)}</dd>
<dt>took</dt><dd>${duration(run)}</dd>
${run.failedStep ? markup`<dt>failed step</dt><dd>${run.failedStep}</dd>` : ""}
${run.error ? markup`<dt>error</dt><dd>${run.error}</dd>` : ""}
</dl>
${commitList}
<h2>Commands</h2>
${commandList}`;
  return page(`Run #${run.id} · ${run.service} · ${run.outcome}`, body);
}

function commandDetails(command: CommandRecord): Html {
  const ended = command.timedOut
    ? "timed out"
    : command.exitCode === null
    ? "killed"
    : `exit ${command.exitCode}`;
  const took = formatDuration(command.finishedAt - command.startedAt);
  const output = `${command.truncated ? "…(earlier output truncated)\n" : ""}${
    command.output === "" ? "(no output)" : command.output
  }`;
  return markup`
<details open data-step="${command.step}">
<summary><strong>${command.step}</strong>: <code>${command.command}</code> — ${ended} · ${took}</summary>
<pre>${output}</pre>
</details>`;
}

/** A plain page for 404 and the like. */
export function renderMessagePage(title: string, message: string): string {
  return page(
    title,
    markup`<p><a href="/">← status</a></p><h1>${title}</h1><p>${message}</p>`,
  );
}

function time(value: string | number | null): Html | string {
  if (value === null) return "-";
  const iso = typeof value === "number" ? new Date(value).toISOString() : value;
  return markup`<time datetime="${iso}">${
    iso.slice(0, 19).replace("T", " ")
  }Z</time>`;
}

function duration(run: RunRecord): string {
  return run.finishedAt === null
    ? "running"
    : formatDuration(run.finishedAt - run.startedAt);
}

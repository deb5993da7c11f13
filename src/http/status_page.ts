/** The status overview (`GET /`), server-rendered. */
import { shortCommit as short } from "../git/commit_id.ts";
import type { ServiceStatus, StatusDocument } from "../report/documents.ts";
import {
  SERVICE_STATES,
  type ServiceState,
  STATE_COLOUR,
} from "../report/service_state.ts";
import type { RunRecord } from "../state/types.ts";
import {
  type Clock,
  duration,
  type Html,
  markup,
  page,
  timeAt,
} from "./page_markup.ts";
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
  /** Set for a request that presented the admin token: the page gets action buttons run by a script with this nonce. */
  actions?: { nonce: string };
}
/** Services needing a person come first, in the vocabulary's order. */
const STATE_ORDER = new Map<ServiceState, number>(
  SERVICE_STATES.map((state, index) => [state, index]),
);

/** States that count as "needing attention" in the page's title. */
const ATTENTION: ReadonlySet<ServiceState> = new Set([
  "failed",
  "unhealthy",
  "refused",
  "retrying",
  "held",
]);

/** Services as the page lists them: failing first, then pending, then by name. */
export function pageOrder(
  services: readonly ServiceStatus[],
): ServiceStatus[] {
  return [...services].sort((a, b) =>
    STATE_ORDER.get(a.state)! - STATE_ORDER.get(b.state)! ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

/** The overview: services (failing first) with deployed commit and last outcome, then recent runs. */
export function renderStatusPage(input: StatusPageInput): string {
  const { document, health } = input;
  const services = pageOrder(document.services);
  const failing = services.filter((service) => ATTENTION.has(service.state))
    .length;
  const clock = { now: input.now };
  const healthBadge = health.healthy ? "healthy" : "unhealthy";
  const serviceList = services.length === 0
    ? markup`<p class="meta">No services found.</p>`
    : services.map((service) =>
      serviceCard(service, input.subjects, {
        ...clock,
        actions: input.actions !== undefined,
      })
    );
  const runList = input.recentRuns.length === 0
    ? markup`<p class="meta">No runs yet.</p>`
    : runsTable(input.recentRuns, clock);
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
    failing > 0 ? `, ${failing} need attention` : ""
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
    failing > 0 ? `(${failing} need attention) ` : ""
  }upstream-watch · ${document.host}`;
  // A page with buttons does not reload under an operator's finger.
  return page(title, body, {
    refresh: input.actions ? undefined : 30,
    script: input.actions ? actionScript(input.actions.nonce) : undefined,
  });
}

function serviceCard(
  service: ServiceStatus,
  subjects: ReadonlyMap<string, string>,
  options: Clock & { actions: boolean },
): Html {
  const state = service.state;
  const colour = STATE_COLOUR[state];
  const time = (value: string | number | null) => timeAt(value, options);
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
  return markup`
<article class="card ${colour}" data-service="${service.name}" data-state="${state}">
<h3>${service.name} <span class="badge state-${colour}">${state}</span></h3>
<p class="meta state-text">${service.stateText}</p>
<p>deployed: ${deployed}</p>
<p>last run: ${last}</p>
${safetyLines(service, options)}
${options.actions ? actionButtons(service) : ""}
</article>`;
}

/** The operator's buttons of one service (only on a page requested with the admin token). */
function actionButtons(service: ServiceStatus): Html {
  const actions = service.state === "suspended"
    ? ["resume", "check"]
    : ["deploy", "rollback", "check", "suspend"];
  return markup`<p class="actions">${
    actions.map((action) =>
      markup`<button type="button" data-action="${action}" data-service="${service.name}">${action}</button>`
    )
  }</p>`;
}

/**
 * Runs a button's action with `fetch` and the admin token in the
 * Authorization header (asked for once per page view, kept nowhere), so the
 * page needs neither a cookie nor a form another site could imitate.
 */
function actionScript(nonce: string): { nonce: string; text: string } {
  return {
    nonce,
    text: `
let token;
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  token ??= prompt("Admin token");
  if (!token) return;
  button.disabled = true;
  const path = "/api/services/" + encodeURIComponent(button.dataset.service) + "/" + button.dataset.action;
  const response = await fetch(path, { method: "POST", headers: { Authorization: "Bearer " + token } });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) token = undefined;
  alert(button.dataset.action + " " + button.dataset.service + ": " + (body.error ?? (body.output ?? []).join("\n") ?? response.status));
  location.reload();
});
`,
  };
}

/** Health, the last rollback and a suspension, each on its own line when there is one. */
function safetyLines(service: ServiceStatus, clock: Clock): Html {
  const time = (value: string | number | null) => timeAt(value, clock);
  const lines: Html[] = [];
  if (service.health) {
    const unhealthy = service.health.state === "unhealthy";
    lines.push(
      markup`<p class="health">health: <span class="badge ${
        unhealthy ? "state-red" : "state-green"
      }">${service.health.state}</span>${
        unhealthy ? markup` since ${time(service.health.since)}` : ""
      }, last checked ${time(service.health.lastCheckedAt)}${
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

function runsTable(runs: readonly RunRecord[], clock: Clock): Html {
  const time = (value: string | number | null) => timeAt(value, clock);
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

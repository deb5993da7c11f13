/** The markup every page shares: escaping, the tagged template, the style, the frame, and how times read. */
import { formatDuration } from "../report/time_text.ts";
import type { RunRecord } from "../state/types.ts";

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

/**
 * Tagged template that escapes every interpolated value unless it is {@link Html}.
 * (Not named `html`: deno fmt would reformat such templates, `<pre>` included.)
 */
export function markup(
  strings: TemplateStringsArray,
  ...values: unknown[]
): Html {
  let out = strings[0];
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1];
  });
  return new Html(out);
}

/** Markup that is already safe. */
export class Html {
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
.card.red { border-left-color: var(--bad); }
.card.amber { border-left-color: var(--warn); }
.card.blue { border-left-color: var(--info); }
.card.grey { border-left-color: var(--muted); }
.card.green { border-left-color: var(--ok); }
.badge.state-red { background: var(--bad); }
.badge.state-amber { background: var(--warn); }
.badge.state-blue { background: var(--info); }
.badge.state-grey { background: var(--muted); }
.badge.state-green { background: var(--ok); }
.actions { margin-top: 8px; display: flex; gap: 6px; flex-wrap: wrap; }
.actions button { font: inherit; font-size: .85rem; padding: 2px 10px; border-radius: 6px;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer; }
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

export function page(
  title: string,
  body: Html,
  options: { refresh?: number; script?: { nonce: string; text: string } } = {},
) {
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
${
    options.script
      ? `<script nonce="${
        escapeHtml(options.script.nonce)
      }">${options.script.text}</script>\n`
      : ""
  }
</body>
</html>
`;
}

/** The time pages are rendered at, for "5 min ago". */
export interface Clock {
  now: number;
}

/** A time as ISO 8601 UTC (`2026-11-26T15:04:05Z`) followed by how long ago it was. */
export function timeAt(
  value: string | number | null,
  clock: Clock,
): Html | string {
  if (value === null) return "-";
  const ms = typeof value === "number" ? value : Date.parse(value);
  const iso = new Date(ms).toISOString();
  return markup`<time datetime="${iso}">${
    iso.slice(0, 19)
  }Z</time> <span class="meta">(${relativeTime(ms, clock.now)})</span>`;
}

/** `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`, or `in 5 min` for a time ahead. */
export function relativeTime(ms: number, now: number): string {
  const seconds = Math.round((now - ms) / 1000);
  const ahead = seconds < 0;
  const span = Math.abs(seconds);
  if (span < 5) return "just now";
  const text = span < 60
    ? `${span} s`
    : span < 3600
    ? `${Math.floor(span / 60)} min`
    : span < 86_400
    ? `${Math.floor(span / 3600)} h`
    : `${Math.floor(span / 86_400)} d`;
  return ahead ? `in ${text}` : `${text} ago`;
}

export function duration(run: RunRecord): string {
  return run.finishedAt === null
    ? "running"
    : formatDuration(run.finishedAt - run.startedAt);
}

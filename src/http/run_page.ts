/** The page of one run (`GET /runs/<id>`) and the plain message page. */
import { shortCommit as short } from "../git/commit_id.ts";
import { describeReason } from "../reconcile/describe.ts";
import { formatDuration } from "../report/time_text.ts";
import type { CommandRecord, RunRecord } from "../state/types.ts";
import {
  type Clock,
  duration,
  type Html,
  markup,
  page,
  timeAt,
} from "./page_markup.ts";

/** One run: what ran, why, and every command's captured output. */
export function renderRunPage(
  run: RunRecord,
  commands: readonly CommandRecord[],
  clock: Clock,
): string {
  const time = (value: string | number | null) => timeAt(value, clock);
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

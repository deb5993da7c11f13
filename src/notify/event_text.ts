/** How a notification event reads: its one-line title and its few lines of message (chat formats show both). */
import { shortCommit } from "../git/commit_id.ts";
import type { NotificationEvent } from "./event.ts";

/** An event before its title and message are written. */
export type Draft = Omit<NotificationEvent, "title" | "message">;

/** A one-line summary of an event, e.g. `api: deploy failed on web-1`. */
export function eventTitle(event: Draft): string {
  const service = event.service ?? "";
  switch (event.event) {
    case "deploy_succeeded":
      return `${service}: deployed ${
        shownCommit(event.toCommit)
      } on ${event.host}`;
    case "deploy_failed":
      return `${service}: deploy failed on ${event.host}`;
    case "recovered":
      return event.service === null
        ? `sync recovered on ${event.host}`
        : `${service}: recovered on ${event.host}`;
    case "sync_failed":
      return `sync failed on ${event.host}`;
    case "state_lost":
      return `state file lost on ${event.host}; agent stopped`;
    case "state_unwritable":
      return `state file cannot be written on ${event.host}; deploying stopped`;
    case "config_invalid":
      return `configuration of ${
        shownCommit(event.toCommit)
      } rejected on ${event.host}; keeping the last good one`;
    case "service_removed":
      return `${service}: removed from the repository (${event.host})`;
    case "rolled_back":
      return `${service}: rolled back to ${
        shownCommit(event.toCommit)
      } on ${event.host}`;
    case "unhealthy":
      return `${service}: unhealthy on ${event.host}`;
    case "healed":
      return `${service}: healthy again on ${event.host}`;
    case "verification_failed":
      return `commit ${
        shownCommit(event.toCommit)
      } refused on ${event.host}: signature verification failed`;
    case "rewound":
      return `rewound from ${shownCommit(event.fromCommit)} to ${
        shownCommit(event.toCommit)
      } on ${event.host}`;
    case "verification_reset":
      return `signature verification settings reset by the operator on ${event.host}`;
    case "test":
      return `upstream-watch test message from ${event.host}`;
  }
}

/** The human-readable lines of an event (without the output tail). */
export function eventMessage(event: Draft): string {
  const lines: string[] = [];
  if (event.service !== null) {
    const commits = event.fromCommit
      ? `${shownCommit(event.fromCommit)} → ${shownCommit(event.toCommit)}`
      : shownCommit(event.toCommit);
    const verb = event.event === "service_removed" ? "last deployed" : "commit";
    lines.push(
      `${verb}: ${
        event.event === "service_removed"
          ? shownCommit(event.fromCommit)
          : commits
      }`,
    );
  }
  if (event.commit?.subject) {
    lines.push(`subject: ${event.commit.subject}`);
  }
  if (event.commit?.author) lines.push(`author: ${event.commit.author}`);
  if (event.failedStep) {
    lines.push(
      `failed step: ${event.failedStep}${
        event.attempt ? ` (attempt ${event.attempt})` : ""
      }`,
    );
  }
  if (event.error) lines.push(`error: ${event.error}`);
  if (event.reason) lines.push(`reason: ${event.reason}`);
  if (event.runId !== null) {
    lines.push(`run: ${event.runId}${event.runUrl ? ` ${event.runUrl}` : ""}`);
  }
  lines.push(`host: ${event.host}`);
  return lines.join("\n");
}

/** A commit as titles and messages show it; "-" where the event has none. */
function shownCommit(commit: string | null): string {
  return commit ? shortCommit(commit) : "-";
}

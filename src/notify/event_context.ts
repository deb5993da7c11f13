/** Completing an event just before it is sent: the commit's subject and author from git, and the run's URL. */
import { eventMessage, type NotificationEvent } from "./event.ts";

/** What an event is completed with before it is sent: the commit's subject and author, and the public URL. */
export interface EventContextSource {
  commit(id: string): Promise<{ subject: string; author: string } | undefined>;
  publicUrl(): string | undefined;
}

/** The event with its commit's subject and author and the run's URL; never throws (what cannot be looked up stays null). */
export async function withContext(
  event: NotificationEvent,
  source: EventContextSource | undefined,
): Promise<NotificationEvent> {
  if (!source) return event;
  let commit = event.commit;
  if (commit && commit.subject === null) {
    try {
      const found = await source.commit(commit.id);
      if (found) commit = { ...commit, ...found };
    } catch {
      // A commit that is gone (a rewritten history) is sent without them.
    }
  }
  const base = source.publicUrl();
  const runUrl = base && event.runId !== null
    ? `${base}/runs/${event.runId}`
    : event.runUrl;
  // The title stays: a fallback delivery keeps the title of the event it stands for.
  const completed = { ...event, commit, runUrl };
  return { ...completed, message: eventMessage(completed) };
}

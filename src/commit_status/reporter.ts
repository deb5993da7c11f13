/** Reporting each run on the commit it deploys, through the git host's commit status API. */
import { shortCommit } from "../git/commit_id.ts";
import type { CommitStatusTarget } from "../config/commit_status_config.ts";
import { secretValue } from "../config/secret_file.ts";
import { REPO_CONFIG_FILE } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import type { Logger } from "../log/logging.ts";
import {
  DeliveryQueue,
  type DeliveryQueueOptions,
} from "../notify/retrying_delivery.ts";
import { type DeliveryResult, postRequest } from "../notify/http_post.ts";
import { redactUrlsIn } from "../notify/target.ts";
import type { RunListener, StartedRun } from "../results/run_listener.ts";
import type { RunSummary } from "../results/cycle_result.ts";
import {
  type CommitStatus,
  commitStatusRequest,
  MAX_DESCRIPTION,
  type ReportedState,
  type StatusTarget,
} from "./provider_request.ts";
import { parseRemoteUrl } from "./remote_repository.ts";

/** Context used when an entry sets none. */
export const DEFAULT_CONTEXT = "upstream-watch/<host>/<service>";

/** Options of {@link resolveStatusTargets}. */
export interface ResolveStatusOptions {
  /** Looks up `${NAME}` references. */
  env: (name: string) => string | undefined;
  /** The configuration file as named in errors. */
  file?: string;
  /** The remote's URL as configured (may hold credentials: never repeated). */
  remoteUrl?: string;
  host: string;
}

/**
 * Expands each entry's token and works out its API base, repository and
 * context. A missing variable, or a repository or API that cannot be derived
 * from the remote, is a ConfigError (exit 2); no message repeats a token or
 * the remote's URL.
 */
export function resolveStatusTargets(
  targets: readonly CommitStatusTarget[],
  options: ResolveStatusOptions,
): StatusTarget[] {
  const file = options.file ?? REPO_CONFIG_FILE;
  const remote = options.remoteUrl === undefined
    ? undefined
    : parseRemoteUrl(options.remoteUrl);
  return targets.map((target, index) => {
    const at = (key: string) => ({
      file,
      key: `commit_status[${index}].${key}`,
    });
    const token = secretValue(
      { value: target.token, file: target.tokenFile },
      options.env,
      at("token"),
    );
    if (token.trim() === "") {
      throw new ConfigError("token is empty", at("token"));
    }
    const repository = target.repository ?? remote?.path;
    if (repository === undefined) {
      throw new ConfigError(
        "cannot tell owner/name from the remote's URL; set repository",
        at("repository"),
      );
    }
    if (
      target.provider !== "gitlab" && !/^[^/\s]+\/[^/\s]+$/.test(repository)
    ) {
      throw new ConfigError(
        `must be "owner/name" for ${target.provider}, got "${repository}"`,
        at("repository"),
      );
    }
    let apiUrl = target.apiUrl;
    if (apiUrl === undefined) {
      if (target.provider === "github") apiUrl = "https://api.github.com";
      else if (remote === undefined) {
        throw new ConfigError(
          "cannot tell the API's host from the remote's URL; set api_url",
          at("api_url"),
        );
      } else {
        const version = target.provider === "gitlab" ? "v4" : "v1";
        apiUrl = `https://${remote.host}/api/${version}`;
      }
    }
    apiUrl = apiUrl.replace(/\/+$/, "");
    return {
      index,
      provider: target.provider,
      token,
      apiUrl,
      repository,
      context: (target.context ?? DEFAULT_CONTEXT).replaceAll(
        "<host>",
        options.host,
      ),
      label: `commit_status[${index}] ${target.provider} ${repository}`,
    };
  });
}

/** The context of `service`'s statuses for `target`. */
export function contextFor(target: StatusTarget, service: string): string {
  return target.context.replaceAll("<service>", service);
}

/** Sends `status` to `target` once; never throws, and no error text holds the token. */
export function sendCommitStatus(
  target: StatusTarget,
  status: CommitStatus,
  options: { timeoutMs: number; signal?: AbortSignal; fetch?: typeof fetch },
): Promise<DeliveryResult> {
  return postRequest(commitStatusRequest(target, status), {
    ...options,
    redact: (text) => redactUrlsIn(text.replaceAll(target.token, "***")),
    redirectHint: "check api_url",
  });
}

interface QueuedStatus {
  target: StatusTarget;
  status: CommitStatus;
  service: string;
}

/** What a {@link CommitStatusReporter} works with. */
export interface CommitStatusReporterOptions {
  targets: StatusTarget[];
  host: string;
  /** Base of the links to each run's page, as configured now. */
  publicUrl?: () => string | undefined;
  logger: Logger;
  /** Delivery tuning (tests). */
  queue?: Omit<DeliveryQueueOptions, "logger">;
  fetch?: typeof fetch;
  /** The `commit_status:` list in effect now (the agent reloads its configuration as HEAD moves). */
  configured?: () => readonly CommitStatusTarget[] | undefined;
  /** Resolves a reloaded list; a ConfigError keeps the previous targets. */
  resolve?: (targets: readonly CommitStatusTarget[]) => StatusTarget[];
  /** The subject and author (`Name <email>`) of a commit, for the description. */
  commit?: (id: string) => Promise<CommitContext | undefined>;
}

/** What a status description tells of the commit it is set on. */
export interface CommitContext {
  subject: string;
  author: string;
}

/**
 * Sets `pending` on the deployed commit when a run starts and its outcome
 * when it ends, whatever started the run; delivery happens in the
 * background and never delays or fails the deploy.
 */
export class CommitStatusReporter implements RunListener {
  readonly #options: CommitStatusReporterOptions;
  readonly #queue: DeliveryQueue<QueuedStatus>;
  #targets: StatusTarget[];
  #inEffect: string;
  /** Statuses wait for their commit's subject in order, so a run's outcome never overtakes its `pending`. */
  #described: Promise<void> = Promise.resolve();

  constructor(options: CommitStatusReporterOptions) {
    this.#options = options;
    this.#targets = options.targets;
    this.#inEffect = JSON.stringify(options.configured?.() ?? []);
    const fetch = options.fetch;
    this.#queue = new DeliveryQueue<QueuedStatus>({
      noun: "commit statuses",
      key: (item) => item.target.index,
      describe: (item) => ({
        what: `${item.status.state} status of ${item.service} on ${
          shortCommit(item.status.sha)
        }`,
        target: item.target.label,
      }),
      send: (item, attempt) =>
        sendCommitStatus(item.target, item.status, { ...attempt, fetch }),
    }, { logger: options.logger, ...options.queue });
  }

  /** Statuses not yet delivered, given up or dropped. */
  get pending(): number {
    return this.#queue.pending;
  }

  /** The targets in effect. */
  get targets(): readonly StatusTarget[] {
    return this.#targets;
  }

  /** Queues `pending` for every target. */
  runStarted(run: StartedRun): void {
    this.#followConfig();
    this.#report(run, "pending", {
      what: `Deploying on ${this.#options.host} (${run.trigger})`,
    });
  }

  /** Queues the run's outcome for every target. */
  runFinished(run: StartedRun & { summary: RunSummary }): void {
    const { state, ...description } = finishedStatus(
      run.summary,
      this.#options.host,
    );
    this.#report(run, state, description);
  }

  /** Takes up a changed `commit_status:` list; one that cannot be resolved keeps the old targets. */
  #followConfig(): void {
    const { configured, resolve, logger } = this.#options;
    if (!configured || !resolve) return;
    const list = configured() ?? [];
    const text = JSON.stringify(list);
    if (text === this.#inEffect) return;
    this.#inEffect = text;
    try {
      this.#targets = resolve(list);
      logger.info("commit status targets reloaded: {targets}", {
        targets: this.#targets.map((target) => target.label).join(", ") ||
          "(none)",
      });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      logger.error("{error}; keeping the previous commit status targets", {
        error: error.message,
      });
    }
  }

  #report(
    run: StartedRun,
    state: ReportedState,
    description: { what: string; error?: string },
  ): void {
    const publicUrl = this.#options.publicUrl?.();
    const targets = this.#targets;
    this.#described = this.#described.then(async () => {
      const commit = await this.#commitContext(run.commit);
      for (const target of targets) {
        this.#queue.enqueue({
          target,
          service: run.service,
          status: {
            sha: run.commit,
            state,
            context: contextFor(target, run.service),
            description: statusDescription(run.commit, description, commit),
            targetUrl: publicUrl ? `${publicUrl}/runs/${run.runId}` : undefined,
          },
        });
      }
    });
  }

  /** The commit's subject and author, or undefined when git cannot tell (a status is never held back for it). */
  async #commitContext(id: string): Promise<CommitContext | undefined> {
    try {
      return await this.#options.commit?.(id);
    } catch {
      return undefined;
    }
  }

  /** Waits up to `deadlineMs` for queued statuses; see {@link DeliveryQueue.close}. */
  async close(deadlineMs: number): Promise<number> {
    await this.#described;
    return this.#queue.close(deadlineMs);
  }
}

function finishedStatus(
  summary: RunSummary,
  host: string,
): { state: ReportedState; what: string; error?: string } {
  const error = summary.error;
  switch (summary.outcome) {
    case "succeeded":
      return { state: "success", what: `Deployed on ${host}` };
    case "failed":
      return {
        state: "failure",
        what: `Failed at ${summary.failedStep ?? "a step"} on ${host}`,
        error,
      };
    case "interrupted":
      return { state: "error", what: `Interrupted on ${host}` };
    case "skipped":
      return { state: "error", what: `Skipped on ${host}`, error };
  }
}

/**
 * One line of at most {@link MAX_DESCRIPTION} characters: what happened, the
 * commit (short id, subject, author's name) and the error last, since the
 * host cuts the end: "Failed at update on web-1 · 3f2a9c1d0e8b Bump nginx (Ann) · exit 3".
 */
export function statusDescription(
  sha: string,
  description: { what: string; error?: string },
  commit?: CommitContext,
): string {
  const name = commit?.author.replace(/\s*<[^>]*>$/, "");
  const about = commit
    ? `${shortCommit(sha)} ${firstLine(commit.subject)}${
      name ? ` (${name})` : ""
    }`
    : shortCommit(sha);
  const parts = [description.what, about];
  if (description.error) parts.push(firstLine(description.error));
  const line = parts.join(" · ");
  return line.length <= MAX_DESCRIPTION
    ? line
    : `${line.slice(0, MAX_DESCRIPTION - 1)}…`;
}

function firstLine(text: string): string {
  return text.split(/\r?\n/)[0].trim();
}

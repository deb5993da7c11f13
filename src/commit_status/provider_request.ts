/** The commit status request each git host's API expects. */
import type { CommitStatusProvider } from "../config/commit_status_config.ts";
import type { OutgoingRequest } from "../notify/http_post.ts";
import { VERSION } from "../version.ts";

/** A run's state as reported; each provider names it its own way. */
export type ReportedState = "pending" | "success" | "failure" | "error";

/** One status to set on a commit. */
export interface CommitStatus {
  sha: string;
  state: ReportedState;
  context: string;
  /** One line, at most {@link MAX_DESCRIPTION} characters. */
  description: string;
  targetUrl?: string;
}

/** A `commit_status` entry ready for delivery. */
export interface StatusTarget {
  /** Position in `commit_status:`, for messages. */
  index: number;
  provider: CommitStatusProvider;
  /** Expanded token: held in memory only, never logged. */
  token: string;
  /** API base without a trailing slash, e.g. `https://api.github.com`. */
  apiUrl: string;
  /** `owner/name`; on GitLab also `group/sub/name` or a numeric project id. */
  repository: string;
  /** The context with `<host>` filled in; `<service>` is filled per run. */
  context: string;
  /** How the target appears in logs and output. */
  label: string;
}

/** GitHub keeps 140 characters of a status description. */
export const MAX_DESCRIPTION = 140;

/** The REST API version the GitHub requests are written against. */
export const GITHUB_API_VERSION = "2022-11-28";

/**
 * GitHub: POST /repos/{owner}/{repo}/statuses/{sha}
 * (https://docs.github.com/rest/commits/statuses#create-a-commit-status).
 * Gitea/Forgejo: POST /repos/{owner}/{repo}/statuses/{sha} under /api/v1
 * (https://gitea.com/api/swagger#/repository/repoCreateStatus).
 * GitLab: POST /projects/{id}/statuses/{sha} under /api/v4
 * (https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit).
 */
export function commitStatusRequest(
  target: StatusTarget,
  status: CommitStatus,
): OutgoingRequest {
  const sha = encodeURIComponent(status.sha);
  const json = { "Content-Type": "application/json" };
  const userAgent = `upstream-watch/${VERSION}`;
  if (target.provider === "gitlab") {
    const body: Record<string, string> = {
      state: gitlabState(status.state),
      name: status.context,
      description: status.description,
    };
    if (status.targetUrl) body.target_url = status.targetUrl;
    return {
      url: `${target.apiUrl}/projects/${
        encodeURIComponent(target.repository)
      }/statuses/${sha}`,
      headers: {
        ...json,
        "PRIVATE-TOKEN": target.token,
        "User-Agent": userAgent,
      },
      body: JSON.stringify(body),
    };
  }
  const [owner, repo] = target.repository.split("/").map(encodeURIComponent);
  const body: Record<string, string> = {
    state: status.state,
    context: status.context,
    description: status.description,
  };
  if (status.targetUrl) body.target_url = status.targetUrl;
  const url = `${target.apiUrl}/repos/${owner}/${repo}/statuses/${sha}`;
  if (target.provider === "github") {
    return {
      url,
      headers: {
        ...json,
        Accept: "application/vnd.github+json",
        Authorization: `Bearer ${target.token}`,
        "X-GitHub-Api-Version": GITHUB_API_VERSION,
        "User-Agent": userAgent,
      },
      body: JSON.stringify(body),
    };
  }
  return {
    url,
    headers: {
      ...json,
      Accept: "application/json",
      Authorization: `token ${target.token}`,
      "User-Agent": userAgent,
    },
    body: JSON.stringify(body),
  };
}

/** GitLab's states: a running deploy is `running`, a failure `failed`, an interruption `canceled`. */
function gitlabState(state: ReportedState): string {
  switch (state) {
    case "pending":
      return "running";
    case "success":
      return "success";
    case "failure":
      return "failed";
    case "error":
      return "canceled";
  }
}

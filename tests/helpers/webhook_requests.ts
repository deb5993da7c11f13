/** Webhook requests as GitHub, Gitea/Forgejo, GitLab and generic senders make them, signed independently of the agent's code. */
import { createHmac } from "node:crypto";

/** A push event body for `branch`. */
export function pushBody(branch = "main"): string {
  return JSON.stringify({
    ref: `refs/heads/${branch}`,
    before: "0".repeat(40),
    after: "1".repeat(40),
    repository: { full_name: "ops/infra" },
  });
}

/** `sha256=<hex>` of the body, as GitHub/Gitea put in X-Hub-Signature-256. */
export function hubSignature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** The providers a test can impersonate. */
export type Sender = "github" | "gitea" | "forgejo" | "gitlab" | "bearer";

/** Headers of a push from `sender` signed (or authenticated) with `secret`. */
export function pushHeaders(
  sender: Sender,
  secret: string,
  body: string,
): Record<string, string> {
  const json = { "Content-Type": "application/json" };
  switch (sender) {
    case "github":
      return {
        ...json,
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": crypto.randomUUID(),
        "X-Hub-Signature-256": hubSignature(secret, body),
      };
    case "gitea":
      return {
        ...json,
        "X-Gitea-Event": "push",
        "X-Hub-Signature-256": hubSignature(secret, body),
      };
    case "forgejo":
      // Older Forgejo/Gitea versions: the bare hex digest in their own header.
      return {
        ...json,
        "X-Forgejo-Event": "push",
        "X-Forgejo-Signature": hubSignature(secret, body).slice(
          "sha256=".length,
        ),
      };
    case "gitlab":
      return {
        ...json,
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": secret,
      };
    case "bearer":
      return { ...json, Authorization: `Bearer ${secret}` };
  }
}

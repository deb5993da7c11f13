/** Where a git remote lives: the host and the `owner/name` path taken from its URL. */

/** A remote's host and repository path, credentials and `.git` removed. */
export interface RemoteRepository {
  /** Host name as in the URL (no port, no user). */
  host: string;
  /** `owner/name`, or `group/sub/name` on GitLab. */
  path: string;
}

/**
 * Reads `git@host:owner/name.git`, `ssh://git@host:22/owner/name.git` and
 * `https://user:token@host/owner/name(.git)`; undefined for anything else
 * (a local path, a URL without an owner).
 */
export function parseRemoteUrl(url: string): RemoteRepository | undefined {
  const text = url.trim();
  let host: string;
  let path: string;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) {
    if (!/^(ssh|git|https?|git\+ssh|ssh\+git)$/i.test(scheme[1])) {
      return undefined;
    }
    let parsed: URL;
    try {
      // URL parses only special schemes' hosts reliably: read them all as http.
      parsed = new URL(`http://${text.slice(scheme[0].length)}`);
    } catch {
      return undefined;
    }
    host = parsed.hostname;
    path = decodeURIComponent(parsed.pathname);
  } else {
    // scp-like syntax: [user@]host:path, where host has no slash before the colon.
    const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.+)$/.exec(text);
    // `C:/repos/infra` is a Windows path, not host "C".
    if (!scp || scp[1].length === 1) return undefined;
    host = scp[1];
    path = scp[2];
  }
  path = path.replace(/^\/+|\/+$/g, "").replace(/\.git$/, "");
  // GitHub and Gitea/Forgejo reject `~user` paths; they are never API paths.
  if (host === "" || path.split("/").length < 2 || path.startsWith("~")) {
    return undefined;
  }
  if (path.split("/").some((part) => part === "" || part === "..")) {
    return undefined;
  }
  return { host: host.replace(/^\[|\]$/g, ""), path };
}

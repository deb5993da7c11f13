/** The agent that answers status requests beside the running cycle. */
import { getLogger } from "@logtape/logtape";
import type { App } from "../app.ts";
import { Agent } from "../reconcile/agent.ts";

/**
 * A separate agent for status requests: planning touches the agent's
 * per-commit caches, which must not change under a running cycle. It never
 * moves the work tree, fetches or reloads the configuration.
 */
export function statusPlanner(app: App): Agent {
  return new Agent({
    git: app.git,
    store: app.store,
    runner: app.runner,
    // A category outside the agent's: hook file warnings were logged by the cycle, a page view must not repeat them.
    logger: getLogger(["upstream-watch-status-planner"]),
    now: Date.now,
    repoRoot: app.repoRoot,
    gitDir: app.gitDir,
    configPath: app.configPath,
    configDisplay: app.configFile,
    configFromGit: app.configFromGit,
    config: app.agent.config,
    host: app.host,
    remote: app.remote,
    branch: app.branch,
  });
}

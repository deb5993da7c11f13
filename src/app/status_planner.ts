/** The agent that answers status requests beside the running cycle. */
import { getLogger } from "@logtape/logtape";
import type { App } from "./compose.ts";
import { Agent } from "../reconcile/agent.ts";

/**
 * A separate agent for status requests: planning touches the agent's
 * per-commit caches, which must not change under a running cycle. It never
 * moves the work tree, fetches or reloads the configuration.
 */
export function statusPlanner(app: App): Agent {
  const { git, store, runner, repoRoot, gitDir, config, host, remote, branch } =
    app;
  return new Agent({
    git,
    store,
    runner,
    // A category outside the agent's: hook file warnings were logged by the cycle, a page view must not repeat them.
    logger: getLogger(["upstream-watch-status-planner"]),
    now: Date.now,
    repoRoot,
    gitDir,
    config,
    host,
    remote,
    branch,
  });
}

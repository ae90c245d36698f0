/** The deploy's invocation: a new dbt image tag starts a build of what it changed. */
import type { RunRequestInput } from "../lib/run-contract";
import { DispatchDeps, Outcome, enqueue, once } from "./runs";
import type { DeployEvent } from "./schema";

/**
 * What a deploy builds: the nodes whose definition differs from the last successful run's
 * manifest (`<env>/latest/manifest.json`, the run's `--state`) and everything downstream. With
 * no successful run yet, the task's prepare step seeds an empty manifest and every node is built.
 */
export const DEPLOY_SELECT = ["state:modified+"] as const;

/**
 * Queues the deploy's build once per image tag (within DEDUPE_SECONDS): the invocation is
 * synchronous, so a failure throws and fails the deployment, which retries it on the next
 * `pulumi up`; a repeated invocation for the same tag is answered as a duplicate.
 */
export async function handleDeploy(event: DeployEvent, deps: DispatchDeps): Promise<Outcome> {
  const delivery = `deploy:${event.imageTag}`;
  return once(deps, delivery, async () => {
    const trigger = { kind: "deploy" as const, id: event.imageTag, receivedAt: deps.now().toISOString() };
    const input: RunRequestInput = {
      command: "build",
      select: [...DEPLOY_SELECT],
      target: deps.sources.target,
      triggers: [trigger],
    };
    const messageId = await enqueue(deps, delivery, input);
    return {
      status: "queued",
      delivery,
      messageId,
      message: `queued the build of what image ${event.imageTag} changed (state:modified+)`,
    };
  });
}

/** EventBridge Scheduler invocations: the hourly run and the full refresh. */
import type { RunRequestInput } from "../lib/run-contract";
import { DispatchDeps, Outcome, enqueue, once } from "./runs";
import type { ScheduleEvent } from "./schema";

/**
 * Queues the scheduled run once per schedule time: hourly selects HOURLY_SELECT, the full refresh
 * selects FULL_REFRESH_SELECT (empty: every node) minus FULL_REFRESH_EXCLUDE with `--full-refresh`.
 * A failure throws, so Scheduler retries.
 */
export async function handleSchedule(event: ScheduleEvent, deps: DispatchDeps): Promise<Outcome> {
  const delivery = `schedule:${event.schedule}:${event.scheduledTime}`;
  return once(deps, delivery, async () => {
    const trigger = {
      kind: "schedule" as const,
      id: `${event.schedule}:${event.scheduledTime}`,
      receivedAt: deps.now().toISOString(),
    };
    const target = deps.sources.target;
    const input: RunRequestInput =
      event.schedule === "hourly"
        ? { command: "build", select: [...deps.settings.hourlySelect], target, triggers: [trigger] }
        : {
            command: "build",
            select: [...deps.settings.fullRefreshSelect],
            exclude: [...deps.settings.fullRefreshExclude],
            fullRefresh: true,
            target,
            triggers: [trigger],
          };
    const messageId = await enqueue(deps, delivery, input);
    return {
      status: "queued",
      delivery,
      messageId,
      message: `queued the ${event.schedule} dbt run scheduled for ${event.scheduledTime}`,
    };
  });
}

/**
 * When a target's next run may start (the leading-edge window, the spacing between starts) and
 * when a waiting hourly run is not needed at all: small rules the pump applies.
 */
import type { RunRequest } from "../lib/run-contract";
import type { LaunchDeps } from "./core";
import type { PendingItem } from "./store";

/**
 * Longest wait for a due start inside one invocation (the window's bound). A start due later is
 * left to the sweep: an SQS invocation that waited would hold back its message group's next
 * batch, whose requests would then miss the run.
 */
export const MAX_WAIT_IN_INVOCATION_MS = 60_000;

/** A trigger of the hourly schedule (dispatch's trigger id `hourly:<scheduled time>`). */
const isHourlyTrigger = (t: RunRequest["triggers"][number]): boolean =>
  t.kind === "schedule" && t.id.startsWith("hourly:");

/** A request only the hourly schedule asked for. */
export const isHourlyOnly = (request: RunRequest): boolean => request.triggers.every(isHourlyTrigger);

/**
 * True when every waiting request is an hourly one, and since the start of the target's latest
 * successful run that covered everything (an hourly run, a full refresh, a run of every node)
 * nothing loaded and no run failed: everything the hourly run would find fresher is built. A
 * failed run stays a reason to run until a covering run succeeds after it, whatever narrower
 * runs succeeded meanwhile (their success says nothing of the failed run's models). Only with
 * HOURLY_SKIP_WHEN_IDLE, for stacks where every loading source sends a trigger.
 */
export async function hourlyIdle(target: string, items: readonly PendingItem[], deps: LaunchDeps): Promise<boolean> {
  if (!deps.settings.hourlySkipWhenIdle || !items.every((i) => isHourlyOnly(i.request))) return false;
  const { coveredStart, failedStart, lastLoadAt } = await deps.store.activity(target);
  return (
    coveredStart !== undefined && (lastLoadAt ?? -Infinity) < coveredStart && (failedStart ?? -Infinity) < coveredStart
  );
}

/**
 * A run that builds everything an hourly run would: it serves an hourly request (its selection is
 * in the run's union), or selects every node (a full refresh of everything, a broadened run). A
 * full refresh of `triggers.fullRefreshSelect` only does not count: it may leave a failed run's
 * models out.
 */
export const coversAll = (request: RunRequest): boolean =>
  request.triggers.some(isHourlyTrigger) ||
  (request.select.length === 0 && request.exclude.length === 0 && !request.selector);

/**
 * When the target's next run may start: the leading-edge window after its oldest waiting
 * trigger, and not before the minimum interval after the previous run's start.
 */
export function dueAt(oldestTrigger: number, lastStart: number | undefined, settings: LaunchDeps["settings"]): number {
  const windowEnd = oldestTrigger + settings.burstWindowSeconds * 1000;
  return lastStart === undefined ? windowEnd : Math.max(windowEnd, lastStart + settings.minRunIntervalSeconds * 1000);
}

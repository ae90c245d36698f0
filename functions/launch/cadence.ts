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

/** A request only the hourly schedule asked for (dispatch's trigger id `hourly:<scheduled time>`). */
export const isHourlyOnly = (request: RunRequest): boolean =>
  request.triggers.every((t) => t.kind === "schedule" && t.id.startsWith("hourly:"));

/**
 * True when every waiting request is an hourly one and nothing loaded since the start of the
 * target's last run that ended well: that run already built everything the hourly run would find
 * fresher. Only with HOURLY_SKIP_WHEN_IDLE, for stacks where every loading source sends a trigger.
 */
export async function hourlyIdle(target: string, items: readonly PendingItem[], deps: LaunchDeps): Promise<boolean> {
  if (!deps.settings.hourlySkipWhenIdle || !items.every((i) => isHourlyOnly(i.request))) return false;
  const { lastEndedStart, lastEndedOk, lastLoadAt } = await deps.store.activity(target);
  return lastEndedOk === true && lastEndedStart !== undefined && (lastLoadAt ?? -Infinity) < lastEndedStart;
}

/**
 * When the target's next run may start: the leading-edge window after its oldest waiting
 * trigger, and not before the minimum interval after the previous run's start.
 */
export function dueAt(oldestTrigger: number, lastStart: number | undefined, settings: LaunchDeps["settings"]): number {
  const windowEnd = oldestTrigger + settings.burstWindowSeconds * 1000;
  return lastStart === undefined ? windowEnd : Math.max(windowEnd, lastStart + settings.minRunIntervalSeconds * 1000);
}

/**
 * One run for every waiting request of a target that can share a dbt invocation (see
 * `joinRequests`): the joined request must fit ECS's limit on the RunTask overrides. When the
 * union of the selections does not fit, the run takes a broader selection (everything the
 * exclusions leave) instead of being split into several runs; the sources list in the
 * environment, kept only for the record, is dropped last.
 */
import { RunContractError, RunRequest, TaskOverrides, taskOverrides } from "../lib/run-contract";
import { canJoin, coversIncremental, joinKey } from "../lib/run-join";
import type { PendingItem } from "./store";

/** How a request was made to fit. */
export type Fit = "exact" | "broader-selection" | "no-sources-record";

/**
 * A group holding a fast-lane request (a source's dashboard tags) counts as this much older when
 * launch picks the next run among groups that cannot share one (a retry, a YAML selector, other
 * vars): it jumps the queue, yet a group that has waited longer than that plus this goes first.
 */
export const FAST_LANE_HEAD_START_MS = 15 * 60_000;

const oldest = (item: PendingItem) => Math.min(...item.request.triggers.map((t) => Date.parse(t.receivedAt)));

/**
 * The requests of the next run: every pending request that can join the group (join key) whose
 * oldest request has waited longest; a pending full refresh of everything takes the incremental
 * requests it covers into its group. Groups exist only for what cannot share one invocation.
 */
export function nextBatch(items: readonly PendingItem[]): PendingItem[] {
  if (!items.length) return [];
  const covering = items.filter((i) => coversIncremental(i.request));
  const groupOf = (item: PendingItem) => {
    const cover = covering.find((c) => canJoin(c.request, item.request));
    return joinKey((cover ?? item).request);
  };
  const since = new Map<string, number>();
  for (const item of items) {
    const key = groupOf(item);
    const at = oldest(item) - (item.request.lane === "fast" ? FAST_LANE_HEAD_START_MS : 0);
    since.set(key, Math.min(since.get(key) ?? Infinity, at));
  }
  const key = [...since].sort((a, b) => a[1] - b[1])[0][0];
  return items.filter((i) => groupOf(i) === key);
}

/** The merged request and its overrides, broadened until they fit; throws when even the broadest does not. */
export function fitRun(merged: RunRequest, runId: string): { request: RunRequest; overrides: TaskOverrides; fit: Fit } {
  const attempts: [Fit, RunRequest][] = [
    ["exact", merged],
    ["broader-selection", { ...merged, select: [] }],
    ["no-sources-record", { ...merged, select: [], sources: [] }],
  ];
  let last: unknown;
  for (const [fit, request] of attempts) {
    try {
      return { request, overrides: taskOverrides(request, runId), fit };
    } catch (error) {
      if (!(error instanceof RunContractError)) throw error;
      last = error;
    }
  }
  throw last;
}

/**
 * One run for every waiting request of a kind: the merged request must fit ECS's limit on the
 * RunTask overrides. When the union of the selections does not fit, the run takes a broader
 * selection (everything the exclusions leave) instead of being split into several runs; the
 * sources list in the environment, kept only for the record, is dropped last.
 */
import { RunContractError, RunRequest, TaskOverrides, mergeKey, taskOverrides } from "../lib/run-contract";
import type { PendingItem } from "./store";

/** How a request was made to fit. */
export type Fit = "exact" | "broader-selection" | "no-sources-record";

/**
 * A fast-lane request (a source's dashboard tags) counts as this much older when launch picks
 * the next kind of run: it jumps the queue, yet a normal run that has waited longer than a
 * fast-lane run plus this goes first, so a steady stream of fast-lane loads cannot starve it.
 */
export const FAST_LANE_HEAD_START_MS = 15 * 60_000;

const oldest = (item: PendingItem) => Math.min(...item.request.triggers.map((t) => Date.parse(t.receivedAt)));

/**
 * The requests of one run: every pending request of the kind (merge key) whose oldest request
 * has waited longest, fast-lane requests counting {@link FAST_LANE_HEAD_START_MS} older.
 */
export function nextBatch(items: readonly PendingItem[]): PendingItem[] {
  if (!items.length) return [];
  const since = new Map<string, number>();
  for (const item of items) {
    const key = mergeKey(item.request);
    const at = oldest(item) - (item.request.lane === "fast" ? FAST_LANE_HEAD_START_MS : 0);
    since.set(key, Math.min(since.get(key) ?? Infinity, at));
  }
  const key = [...since].sort((a, b) => a[1] - b[1])[0][0];
  return items.filter((i) => mergeKey(i.request) === key);
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

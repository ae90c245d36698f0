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

/** The requests of one run: the fast lane's kind first, else the oldest request's kind; every pending request of that kind. */
export function nextBatch(items: readonly PendingItem[]): PendingItem[] {
  if (!items.length) return [];
  // A fast-lane run (a source's dashboard tags) goes before the normal runs waiting with it.
  const first = items.find((i) => i.request.lane === "fast") ?? items[0];
  const key = mergeKey(first.request);
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

/**
 * Joining the waiting requests of a target into one run: which requests can share one dbt
 * invocation, and the broader request that serves them all.
 */
import {
  RunContractError,
  RunRequest,
  failsOnEmptySelection,
  needsFreshness,
  sortKeys,
  uniqueSorted,
} from "./run-contract";

/**
 * Requests with the same join key can share one dbt invocation ({@link joinRequests}): same
 * target, command, YAML selector, vars, retried run and full-refresh flag. Everything else —
 * lane, state mode, exclusions, the empty-selection rule — is reconciled by the join.
 */
export function joinKey(req: RunRequest): string {
  return JSON.stringify([
    req.target,
    req.command,
    req.fullRefresh,
    req.selector ?? null,
    sortKeys(req.vars),
    req.retryOf ?? null,
  ]);
}

/**
 * A full refresh of everything (no selection, no exclusion, no YAML selector): it rebuilds every
 * node from scratch, so it does all an incremental run of the same command and vars would do.
 */
export function coversIncremental(req: RunRequest): boolean {
  return req.fullRefresh && req.select.length === 0 && req.exclude.length === 0 && !req.selector && !req.retryOf;
}

/** True when `req` can join a run whose first (or covering) request is `base`. */
export function canJoin(base: RunRequest, req: RunRequest): boolean {
  if (joinKey(req) === joinKey(base)) return true;
  return coversIncremental(base) && !req.selector && joinKey({ ...req, fullRefresh: true }) === joinKey(base);
}

/**
 * Drops tokens another token of the union already selects: an intersection `a,b` selects a
 * subset of `a`, so `source:stripe+,+tag:dashboard` (a fast-lane token) adds nothing once
 * `source:stripe+` is selected. dbt-core `graph/cli.py` `parse_union`: space-separated tokens
 * are a union, each token's comma-separated parts an intersection.
 */
function withoutCovered(tokens: readonly string[]): string[] {
  const set = new Set(tokens);
  return [...set].filter((t) => !(t.includes(",") && t.split(",").some((atom) => atom !== t && set.has(atom)))).sort();
}

/**
 * Joins every request of a target that can share one dbt invocation into one run, always
 * towards the broader run, never into several:
 *  - selection: the union (dbt-core `graph/cli.py` `parse_union`); a request selecting
 *    everything makes the run select everything; an intersection token whose part is itself
 *    selected is dropped (so a fast-lane request rides in the normal run of its source);
 *  - freshness and state: the run gets the freshness step and `--state` when any request needs
 *    them. Plain selections ignore `--state` (dbt-core `contracts/state.py` only loads the
 *    artifacts; only `state:`, `result:` and `source_status:` methods read them). A
 *    `source_status:` selection raises when the previous state has no sources.json (dbt-core
 *    `graph/selector_methods.py` `SourceStatusSelectorMethod`: "No previous state comparison
 *    freshness results in sources.json"); `prepare` seeds an empty one on a first run
 *    (components/runner/scripts.ts), so joining a source run with it risks nothing more;
 *  - exclusions: only those every request makes (excluding less is broader; a node one request
 *    excludes may be what another selected);
 *  - empty selection fails the run only when every request whose tokens remain in the run asks
 *    for it (dbt-core `graph/selector.py` raises NoNodesForSelectionCriteria per token under
 *    `--warn-error-options`, so one hourly `source_status:fresher+` that matches nothing would
 *    fail the sources' run). What is lost: a source whose configured selection matches nothing
 *    is not reported by a run it shares with a scheduled or manual request, only by its next
 *    run alone;
 *  - a full refresh of everything ({@link coversIncremental}) takes incremental requests of the
 *    same command and vars along: it builds all they would.
 * Throws {@link RunContractError} for requests that cannot share an invocation ({@link canJoin}).
 */
export function joinRequests(reqs: readonly RunRequest[]): RunRequest {
  if (reqs.length === 0) throw new RunContractError("nothing to join");
  const base = reqs.find(coversIncremental) ?? reqs[0];
  const odd = reqs.find((r) => !canJoin(base, r));
  if (odd) {
    throw new RunContractError(
      `cannot join runs with different target, command, fullRefresh, selector, vars or retryOf: ${joinKey(odd)} vs ${joinKey(base)}`,
    );
  }
  // Under a covering full refresh only the full refresh's own (empty) selection counts.
  const selecting = coversIncremental(base) ? [base] : reqs;
  const selectsAll = selecting.some((r) => r.select.length === 0);
  const select = selectsAll ? [] : withoutCovered(selecting.flatMap((r) => r.select));
  const kept = new Set(select);
  // Requests whose own tokens are in the run (all of them when it selects everything).
  const contributing = selectsAll
    ? selecting.filter((r) => r.select.length === 0)
    : selecting.filter((r) => r.select.some((t) => kept.has(t)));
  const exclude = uniqueSorted(selecting[0].exclude).filter((t) => selecting.every((r) => r.exclude.includes(t)));
  const triggers = [...new Map(reqs.flatMap((r) => r.triggers).map((t) => [`${t.kind}:${t.id}`, t])).values()].sort(
    (a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id),
  );
  const rest: RunRequest = { ...base };
  delete rest.freshness;
  delete rest.failOnEmpty;
  return {
    ...rest,
    select,
    exclude,
    ...(selecting.some(needsFreshness) ? { freshness: true } : {}),
    lane: reqs.some((r) => r.lane === "normal") ? "normal" : "fast",
    failOnEmpty: contributing.every(failsOnEmptySelection),
    triggers,
    sources: uniqueSorted(reqs.flatMap((r) => r.sources)),
  };
}

/**
 * One run per target at a time, every waiting request in it, the next one started by the
 * previous one's STOPPED event:
 *
 *  {@link pump}: take the target's lease (conditional write: absent or expired) → wait out the
 *  leading-edge window (measured from the oldest waiting trigger, so a hand-over never waits) →
 *  read every pending request (strongly consistent) → join all that can share a dbt invocation →
 *  record the claim in the lease → RunTask → lease `running` with the task ARN → mark the
 *  requests done. No lease, nothing starts: the lease is the lock, ListTasks is never asked
 *  "is something running" to decide a start (RunTask is eventually consistent, ListTasks may not
 *  show a task started a moment ago: docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html).
 *
 *  {@link handOver}: the task's STOPPED event deletes the lease of that run (conditional on run
 *  id and task ARN, so a duplicated or stale event does nothing) and pumps at once.
 *
 *  {@link sweep}: every few minutes, per target with a lease or pending requests: a running
 *  task's lease is renewed while DescribeTasks shows the task alive and released when it shows
 *  it stopped (a lost STOPPED event); an expired lease or a lost wake-up is pumped. It recovers;
 *  it does not decide hand-overs.
 */
import { DescribeTasksCommand, ListTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { errorMessage } from "../lib/errors";
import type { RunRequest } from "../lib/run-contract";
import { joinRequests } from "../lib/run-join";
import type { LaunchDeps } from "./core";
import { deadLetter } from "./dead-letter";
import {
  backoffMs,
  isRetryableError,
  isRetryableFailure,
  launchToken,
  mayHaveStarted,
  runIdFor,
  runTaskInput,
} from "./ecs";
import { fitRun, nextBatch } from "./fit";
import { MAX_WAIT_IN_INVOCATION_MS, coversAll, dueAt, hourlyIdle } from "./cadence";
import { DEAD_LETTER_OUTCOME_PREFIX, Lease, PendingItem } from "./store";

/** Most pending requests one run takes (the claim is kept in the lease item, under DynamoDB's 400 KB). */
export const MAX_REQUESTS_PER_RUN = 1000;
/** A lease not yet `running` expires this long after it was taken: longer than one invocation of launch. */
export const STARTING_LEASE_SECONDS = 180;
/**
 * ECS keeps a stopped task describable for at least an hour
 * (docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html);
 * a task DescribeTasks calls MISSING after twice that is long gone.
 */
export const STOPPED_TASK_RETENTION_MS = 2 * 3600_000;
/** Time kept free at the end of an invocation for the lease and DynamoDB calls. */
export const RESERVE_MS = 10_000;

/** What a pump did (`deferred`: requests wait for a start not yet due, which the sweep makes). */
export type PumpOutcome = "busy" | "idle" | "launched" | "retry-later" | "deferred";

/** Most lease rounds of one pump (each dead-lettered kind of run, or a request that slipped in, costs one). */
export const MAX_PUMP_ROUNDS = 10;

/**
 * Starts the target's next run if nobody holds its lease and requests wait. Takes the lease
 * again when a kind of run was dead-lettered (nothing ran, so the next kind may start) or when a
 * request arrived while it held the lease and found nothing to run.
 */
export async function pump(target: string, deps: LaunchDeps): Promise<PumpOutcome> {
  for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
    const holder = deps.token();
    const now = deps.now().getTime();
    const taken = await deps.store.acquire(
      { target, holder, state: "gathering", expiresAt: now + STARTING_LEASE_SECONDS * 1000 },
      now,
    );
    if (!taken.acquired) return "busy";
    if (taken.previous?.runId && !(await settlePrevious(target, holder, taken.previous, deps))) return "busy";
    const outcome = await runNext(target, holder, deps);
    if (outcome === "idle") {
      await deps.store.release(target, holder);
      // A request put while this invocation held the lease found it taken and returned: look again
      // after releasing, or that request would wait for the next sweep.
      if ((await deps.store.pending(target, 1)).length) continue;
      return "idle";
    }
    // Release is conditional on the holder: harmless when the lease already went.
    if (outcome === "uncertain") return "retry-later";
    if (outcome === "retry-later" || outcome === "deferred") await deps.store.release(target, holder);
    // Nothing ran (dead-lettered or skipped): the next kind of run may start.
    if (outcome !== "dead-lettered" && outcome !== "skipped") return outcome;
    await deps.store.release(target, holder);
  }
  return "retry-later";
}

/**
 * An expired lease that named a run: asks ECS (DescribeTasks or ListTasks by startedBy: minutes
 * after RunTask, so eventual consistency no longer hides the task) whether that task still runs.
 * Still running: the lease goes back to it, renewed (returns false). Stopped: its requests are
 * done. Never started: the requests are still pending and go into the next run.
 */
async function settlePrevious(target: string, holder: string, previous: Lease, deps: LaunchDeps): Promise<boolean> {
  const status = await taskStatus(previous, deps);
  if (status.kind === "running" || status.kind === "unknown") {
    // Running: the lease is the task's again, for a full term. Unknown: check again in a few minutes.
    const running = status.kind === "running";
    const seconds = running ? deps.settings.leaseSeconds : STARTING_LEASE_SECONDS;
    const now = deps.now().getTime();
    // An adopted task (its launch died before recording it) gets a start time, so that its STOPPED
    // event records the run's end, the spacing counts from it, and a MISSING answer long after can
    // tell that it is over.
    const launchedAt = running ? (previous.launchedAt ?? now) : previous.launchedAt;
    await deps.store.update({
      ...previous,
      holder,
      state: running ? "running" : previous.state,
      taskArn: running ? status.taskArn : previous.taskArn,
      ...(launchedAt !== undefined ? { launchedAt } : {}),
      expiresAt: now + seconds * 1000,
    });
    if (running && previous.launchedAt === undefined) await deps.store.setLastStart(target, now);
    deps.logger.warn("an expired lease's task is still running (or ECS could not tell); the lease is renewed", {
      target,
      runId: previous.runId,
      status: status.kind,
    });
    return false;
  }
  if (status.kind === "stopped" && previous.claimed?.length) {
    await deps.store.finish(target, previous.claimed, `run:${previous.runId}`, doneUntil(deps));
  }
  // A run found stopped without its event: how dbt ended is not known, so it counts as failed.
  if (status.kind === "stopped")
    await deps.store.recordRunEnd(target, previous.launchedAt ?? deps.now().getTime(), false, false);
  deps.metrics.addMetric("LeasesRecovered", "Count", 1);
  deps.logger.warn("recovered an expired lease", {
    target,
    runId: previous.runId,
    taskArn: previous.taskArn,
    status: status.kind,
  });
  return true;
}

type TaskStatus = { kind: "running"; taskArn: string } | { kind: "stopped" } | { kind: "none" } | { kind: "unknown" };

async function taskStatus(lease: Lease, deps: LaunchDeps): Promise<TaskStatus> {
  const { clusterArn } = deps.settings;
  try {
    if (lease.taskArn) {
      const out = await deps.ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [lease.taskArn] }));
      const task = out.tasks?.find((t) => t.taskArn === lease.taskArn);
      if (!task) {
        // MISSING is either a task launched a moment ago (RunTask is eventually consistent) or one
        // stopped longer ago than ECS keeps stopped tasks (at least an hour): only the second is over.
        const old =
          lease.launchedAt !== undefined && deps.now().getTime() - lease.launchedAt > STOPPED_TASK_RETENTION_MS;
        return old && out.failures?.some((f) => f.reason === "MISSING") ? { kind: "stopped" } : { kind: "unknown" };
      }
      return task.lastStatus === "STOPPED" ? { kind: "stopped" } : { kind: "running", taskArn: lease.taskArn };
    }
    // startedBy must be the only filter of ListTasks (ListTasksRequest.startedBy in @aws-sdk/client-ecs),
    // so the default desiredStatus RUNNING applies: a task that already stopped is not listed
    // (ListTasksRequest.desiredStatus) and reads as never started (docs/launch.md, Faults).
    const out = await deps.ecs.send(
      new ListTasksCommand({ cluster: clusterArn, startedBy: startedByOf(lease.runId ?? "") }),
    );
    const arn = out.taskArns?.[0];
    return arn ? { kind: "running", taskArn: arn } : { kind: "none" };
  } catch (error) {
    deps.logger.error("could not ask ECS about a lease's task", {
      target: lease.target,
      runId: lease.runId,
      error: errorMessage(error),
    });
    return { kind: "unknown" };
  }
}

const startedByOf = (runId: string) => `dbt-pipeline/${runId}`;
const doneUntil = (deps: LaunchDeps) => deps.now().getTime() + deps.settings.doneSeconds * 1000;
const oldestOf = (items: readonly PendingItem[]) =>
  Math.min(...items.flatMap((i) => i.request.triggers.map((t) => Date.parse(t.receivedAt))));

/** `uncertain`: RunTask may have started the task; the claim stays until it expires (see runNext). */
type RunOutcome = "idle" | "launched" | "retry-later" | "uncertain" | "dead-lettered" | "busy" | "deferred" | "skipped";

/** With the lease held: waits for the start to be due, joins the next batch and launches it. */
async function runNext(target: string, holder: string, deps: LaunchDeps): Promise<RunOutcome> {
  const { settings, store } = deps;
  // Both reads at once: one round trip instead of two before RunTask. The previous start is read
  // even when nothing waits (one GetItem that an idle pump wastes).
  const [pendingNow, last] = await Promise.all([
    store.pending(target, MAX_REQUESTS_PER_RUN),
    settings.minRunIntervalSeconds > 0 ? store.lastStart(target) : undefined,
  ]);
  let items = pendingNow;
  if (!items.length) return "idle";
  if (await hourlyIdle(target, items, deps)) {
    await store.finish(
      target,
      items.map((i) => i.key),
      "skipped:idle",
      doneUntil(deps),
    );
    deps.metrics.addMetric("HourlySkipped", "Count", items.length);
    deps.logger.info("hourly run skipped: nothing loaded since the last successful run", { target });
    return "skipped";
  }
  const wait = dueAt(oldestOf(items), last, settings) - deps.now().getTime();
  if (wait > 0) {
    const room = Math.min(MAX_WAIT_IN_INVOCATION_MS, deps.remainingMs ? deps.remainingMs() - RESERVE_MS : wait);
    if (wait > room) {
      // Not due within this invocation: the requests stay pending, the sweep that finds them due starts the run.
      deps.metrics.addMetric("StartsDeferred", "Count", 1);
      return "deferred";
    }
    await deps.sleep(wait);
    items = await store.pending(target, MAX_REQUESTS_PER_RUN);
  }
  const batch = nextBatch(items);
  const keys = batch.map((i) => i.key);
  const requests = batch.map((i) => i.request);
  const clientToken = launchToken(keys);
  let runId: string;
  let fitted: ReturnType<typeof fitRun>;
  try {
    const merged = joinRequests(requests);
    runId = runIdFor(merged, keys);
    fitted = fitRun(merged, runId);
  } catch (error) {
    return rejectBatch(target, keys, requests, "invalid", errorMessage(error), deps);
  }
  const claim: Lease = {
    target,
    holder,
    state: "launching",
    runId,
    claimed: keys,
    coversAll: coversAll(fitted.request),
    expiresAt: deps.now().getTime() + STARTING_LEASE_SECONDS * 1000,
  };
  if (!(await store.update(claim))) return "busy";
  const context = { target, runId, requests: keys.length, triggers: fitted.request.triggers.length, fit: fitted.fit };
  if (fitted.fit !== "exact") {
    deps.metrics.addMetric("RunsBroadened", "Count", 1);
    deps.logger.warn(
      "the union of the selections exceeds ECS's overrides limit; the run takes a broader selection",
      context,
    );
  }
  const started = await runTask(fitted.request, runId, clientToken, deps, context);
  if (started.kind === "failed") {
    if (started.retryable || started.mayHaveStarted) {
      // Everything stays pending and the next trigger, STOPPED event or sweep tries again. When a
      // call may have started the task (a timeout, not a refusal), the claim stays until it
      // expires: whoever takes the lease next asks ECS for the run's task by startedBy
      // (settlePrevious) instead of starting a second task under another client token.
      deps.metrics.addMetric("LaunchDeferred", "Count", 1);
      deps.logger.warn("RunTask kept failing; the requests stay pending", {
        ...context,
        error: started.error,
        claimKept: started.mayHaveStarted,
      });
      if (started.mayHaveStarted) return "uncertain";
      await store.release(target, holder);
      return "retry-later";
    }
    return rejectBatch(target, keys, requests, "launch-failed", started.error, deps);
  }
  const launchedAt = deps.now().getTime();
  await store.update({
    ...claim,
    state: "running",
    taskArn: started.taskArn,
    launchedAt,
    expiresAt: launchedAt + settings.leaseSeconds * 1000,
  });
  // Two independent facts once the lease names the task: at once, one round trip less.
  await Promise.all([
    store.setLastStart(target, launchedAt),
    store.finish(target, keys, `run:${runId}`, doneUntil(deps)),
  ]);
  deps.metrics.addMetric("RunsLaunched", "Count", 1);
  deps.metrics.addMetric("TriggersPerRun", "Count", fitted.request.triggers.length);
  deps.metrics.addMetric(
    "TriggerToLaunchSeconds",
    "Seconds",
    Math.max(0, (deps.now().getTime() - oldestOf(batch)) / 1000),
  );
  deps.logger.info("dbt run launched", { ...context, taskArn: started.taskArn, attempts: started.attempts });
  return "launched";
}

/**
 * Dead-letters a batch ECS will never accept (or that breaks the contract): one message per
 * request, its body that request's JSON, because launch's intake reads one run request per
 * message and the documented redrive (`aws sqs start-message-move-task`) sends each message back
 * to the runs queue as it is. A request is done once the DLQ has it; one that could not be sent
 * stays pending for the next pump. The dedupe id is per request, so a retried send of the same
 * request is dropped by the FIFO DLQ within its five-minute deduplication interval.
 */
async function rejectBatch(
  target: string,
  keys: readonly string[],
  requests: readonly RunRequest[],
  reason: string,
  error: string,
  deps: LaunchDeps,
): Promise<RunOutcome> {
  deps.metrics.addMetric("LaunchFailed", "Count", 1);
  deps.logger.error("launch failed; forwarding the requests to the dead-letter queue", {
    target,
    reason,
    requests: keys.length,
    error,
  });
  const sent: string[] = [];
  for (const [i, key] of keys.entries()) {
    const ok = await deadLetter(deps, target, JSON.stringify(requests[i]), `${reason}:${key}`, {
      reason,
      error,
      "request-key": key,
      "batch-size": String(keys.length),
    });
    if (ok) sent.push(key);
  }
  if (sent.length) await deps.store.finish(target, sent, `${DEAD_LETTER_OUTCOME_PREFIX}${reason}`, doneUntil(deps));
  return sent.length === keys.length ? "dead-lettered" : "retry-later";
}

type Started =
  | { kind: "started"; taskArn: string; attempts: number }
  | { kind: "failed"; retryable: boolean; error: string; mayHaveStarted: boolean };

/** RunTask with exponential backoff on throttling and missing capacity; the clientToken makes a retry start at most one task. */
async function runTask(
  request: RunRequest,
  runId: string,
  clientToken: string,
  deps: LaunchDeps,
  context: object,
): Promise<Started> {
  const input = runTaskInput(deps.settings, request, runId, clientToken);
  let uncertain = false;
  for (let attempt = 1; ; attempt++) {
    let error: string;
    let retryable: boolean;
    try {
      const out = await deps.ecs.send(new RunTaskCommand(input));
      const task = out.tasks?.find((t) => t.taskArn);
      if (task?.taskArn) return { kind: "started", taskArn: task.taskArn, attempts: attempt };
      const failures = out.failures ?? [];
      error = `RunTask started no task: ${failures.map((f) => `${f.reason ?? "unknown"}${f.detail ? ` (${f.detail})` : ""}`).join("; ") || "no failure reported"}`;
      retryable = failures.length === 0 || failures.every((f) => isRetryableFailure(f.reason));
    } catch (thrown) {
      error = errorMessage(thrown);
      retryable = isRetryableError(thrown);
      // Once any attempt may have started the task, a later refusal does not prove there is none.
      uncertain ||= mayHaveStarted(thrown);
    }
    const delay = backoffMs(attempt);
    const outOfTime = deps.remainingMs !== undefined && deps.remainingMs() < delay + RESERVE_MS;
    if (!retryable || attempt >= deps.settings.maxLaunchAttempts || outOfTime)
      return { kind: "failed", retryable, error, mayHaveStarted: uncertain };
    deps.metrics.addMetric("LaunchRetries", "Count", 1);
    deps.logger.warn("RunTask failed; retrying", { ...context, attempt, delayMs: delay, error });
    await deps.sleep(delay);
  }
}

/**
 * A task stopped: releases the lease of its run (a duplicate or an unknown task changes nothing),
 * marks the run's requests done if the launch that claimed them did not get to, and pumps.
 */
export async function handOver(
  target: string,
  runId: string,
  taskArn: string,
  deps: LaunchDeps,
  exitCode?: number,
): Promise<PumpOutcome> {
  // The run's requests are marked done and its end recorded before the lease goes: should this
  // invocation fail in between, EventBridge's retry of the event still finds the lease and does
  // the rest (marking done and recording an end twice is harmless; losing them is not).
  const lease = await deps.store.getLease(target);
  const ours = lease?.runId === runId && (lease.taskArn === undefined || lease.taskArn === taskArn);
  if (ours && lease.claimed?.length) await deps.store.finish(target, lease.claimed, `run:${runId}`, doneUntil(deps));
  // Unknown exit code (a lost STOPPED event the sweep recovered) counts as a failure: the next hourly run is not skipped.
  if (ours && lease.launchedAt !== undefined)
    await deps.store.recordRunEnd(target, lease.launchedAt, exitCode === 0, lease.coversAll === true);
  const released = ours ? await deps.store.releaseRun(target, runId, taskArn) : undefined;
  if (released) {
    deps.logger.info("run stopped; lease released", { target, runId, taskArn });
  } else {
    deps.metrics.addMetric("StaleStopEvents", "Count", 1);
    deps.logger.info("STOPPED event of a run that holds no lease (duplicate, or already recovered)", {
      target,
      runId,
      taskArn,
    });
  }
  return pump(target, deps);
}

/**
 * A task of a run reached RUNNING (the same EventBridge rule passes RUNNING and STOPPED): the
 * run's lease gets the task ARN, state `running` and a full term from now. It renews the lease
 * once without waiting for the sweep, and adopts a task whose launch died between RunTask and
 * recording it (the lease still `launching`), so its STOPPED event hands over at once instead of
 * the lease expiring first. Conditional on the holder, like every lease write: a lease that
 * changed hands meanwhile is left alone.
 */
export async function renewOnRunning(
  target: string,
  runId: string,
  taskArn: string,
  deps: LaunchDeps,
): Promise<"renewed" | "stale"> {
  const lease = await deps.store.getLease(target);
  if (!lease || lease.runId !== runId || (lease.taskArn !== undefined && lease.taskArn !== taskArn)) {
    deps.metrics.addMetric("StaleRunningEvents", "Count", 1);
    return "stale";
  }
  const now = deps.now().getTime();
  const renewed = await deps.store.update({
    ...lease,
    state: "running",
    taskArn,
    launchedAt: lease.launchedAt ?? now,
    expiresAt: Math.max(lease.expiresAt, now + deps.settings.leaseSeconds * 1000),
  });
  if (renewed) deps.metrics.addMetric("LeasesRenewedOnRunning", "Count", 1);
  return renewed ? "renewed" : "stale";
}

/** What the sweep did for one target. */
export type SweepOutcome = PumpOutcome | "renewed" | "unknown";

/** The scheduled sweep over every target with a lease or pending requests. */
export async function sweep(deps: LaunchDeps): Promise<Record<string, SweepOutcome>> {
  const result: Record<string, SweepOutcome> = {};
  for (const target of await deps.store.targets()) {
    const lease = await deps.store.getLease(target);
    const now = deps.now().getTime();
    if (lease?.state === "running" && lease.taskArn && lease.runId && lease.expiresAt >= now) {
      const status = await taskStatus(lease, deps);
      if (status.kind === "stopped") {
        deps.metrics.addMetric("LostStopEvents", "Count", 1);
        deps.logger.warn("a run's task stopped without its STOPPED event reaching launch", {
          target,
          runId: lease.runId,
        });
        result[target] = await handOver(target, lease.runId, lease.taskArn, deps);
        continue;
      }
      // Unknown (ECS error, or a task too new for DescribeTasks): leave the lease as it is.
      if (status.kind === "running")
        await deps.store.update({ ...lease, expiresAt: now + deps.settings.leaseSeconds * 1000 });
      result[target] = status.kind === "running" ? "renewed" : "unknown";
      continue;
    }
    result[target] = await pump(target, deps);
  }
  return result;
}

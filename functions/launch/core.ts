/**
 * Launch's pure core: one function, three events.
 *  - An SQS batch of the runs queue: each run request goes into its target's pending set
 *    (idempotent on the message body) and is acknowledged; poison messages go to the
 *    dead-letter queue. Then each target of the batch is pumped (see lease.ts): if the target is
 *    idle, a run starts after the leading-edge window; if a run is going, the request waits for it.
 *  - An ECS "Task State Change" event with `lastStatus` RUNNING of a task launch started: its
 *    run's lease gets the task ARN and a full term (see lease.ts `renewOnRunning`).
 *  - An ECS "Task State Change" event with `lastStatus` STOPPED of a task launch started
 *    (`startedBy` `dbt-pipeline/<run id>`; the target is the dbt command's `--target` in the
 *    event's overrides): the lease of that run is released and the target's next run starts at
 *    once (hand-over).
 *  - The sweep schedule: renews leases of running tasks, recovers lost STOPPED events and
 *    expired leases.
 */
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { sha256Hex } from "../lib/crypto";
import { errorMessage } from "../lib/errors";
import type { Log, MetricSink } from "../lib/observability";
import { RunRequest, SOURCE_TRIGGER_KINDS, parseRunRequest } from "../lib/run-contract";
import { deadLetter } from "./dead-letter";
import { STARTED_BY_PREFIX } from "./ecs";
import { PumpOutcome, handOver, pump, renewOnRunning, sweep } from "./lease";
import {
  BatchResponse,
  SqsEventSchema,
  SqsRecord,
  SweepEventSchema,
  TaskStateChange,
  TaskStateChangeSchema,
  dbtExitCode,
  targetOfTask,
} from "./schema";
import type { LaunchSettings } from "./settings";
import { LaunchStore, PENDING_PREFIX } from "./store";

/** What launch's core needs; the handler builds it once per container. */
export interface LaunchDeps {
  readonly settings: LaunchSettings;
  readonly ecs: ECSClient;
  readonly sqs: SQSClient;
  readonly store: LaunchStore;
  readonly logger: Log;
  readonly metrics: MetricSink;
  readonly now: () => Date;
  /** Waits (the leading-edge window, RunTask backoff); tests pass a virtual clock's. */
  readonly sleep: (ms: number) => Promise<void>;
  /** A new unique lease-holder token per pump. */
  readonly token: () => string;
  /** Milliseconds left in the invocation; waits stop early rather than time out. */
  readonly remainingMs?: () => number;
}

/** The event is none of the three launch handles. */
export class UnknownLaunchEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownLaunchEventError";
  }
}

/** What launch answers: the partial batch response for SQS, a summary otherwise. */
export type LaunchResult =
  | BatchResponse
  | { readonly handOver: PumpOutcome | "ignored" }
  | { readonly running: "renewed" | "stale" }
  | { readonly swept: Record<string, string> };

/** Handles one event of any of the three kinds. */
export async function launch(event: unknown, deps: LaunchDeps): Promise<LaunchResult> {
  const sqs = SqsEventSchema.safeParse(event);
  if (sqs.success) return intake(sqs.data.Records, deps);
  const task = TaskStateChangeSchema.safeParse(event);
  if (task.success) {
    const { detail } = task.data;
    const runId = runIdOf(detail);
    const target = targetOfTask(detail);
    if (detail.lastStatus === "RUNNING" && runId && target)
      return { running: await renewOnRunning(target, runId, detail.taskArn, deps) };
    return { handOver: await taskStopped(task.data.detail, deps) };
  }
  if (SweepEventSchema.safeParse(event).success) return { swept: await sweep(deps) };
  throw new UnknownLaunchEventError(
    `launch expects an SQS batch, an ECS Task State Change event or {"kind":"sweep"}: ${sqs.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
  );
}

/** The pending-set key of a request: oldest trigger first (so a Query reads oldest first), then the body's hash. */
export function pendingKey(request: RunRequest, body: string): string {
  const oldest = request.triggers.map((t) => new Date(t.receivedAt).toISOString()).sort()[0];
  return `${PENDING_PREFIX}${oldest}#${sha256Hex(body)}`;
}

async function intake(records: readonly SqsRecord[], deps: LaunchDeps): Promise<BatchResponse> {
  const failed: string[] = [];
  const targets = new Set<string>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? "";
    let request: RunRequest;
    try {
      request = parseRunRequest(JSON.parse(record.body));
    } catch (error) {
      deps.metrics.addMetric("PoisonMessages", "Count", 1);
      deps.logger.error("poison message: not a run request; forwarding it to the dead-letter queue", {
        messageId: record.messageId,
        group,
        error: errorMessage(error),
      });
      const sent = await deadLetter(deps, group, record.body, `poison:${record.messageId}`, {
        reason: "poison",
        error: errorMessage(error),
        "message-ids": record.messageId,
      });
      if (!sent) failed.push(record.messageId);
      continue;
    }
    try {
      // The load first, then the request (not at once): a request is never pending while its load
      // is unrecorded, which the hourly skip reads. A redelivery after a failed put records the load
      // again (the latest is kept).
      const loads = request.triggers.filter((t) => SOURCE_TRIGGER_KINDS.includes(t.kind));
      if (loads.length)
        await deps.store.recordLoad(request.target, Math.max(...loads.map((t) => Date.parse(t.receivedAt))));
      const added = await deps.store.addPending(request.target, { key: pendingKey(request, record.body), request });
      deps.metrics.addMetric(added ? "RequestsPending" : "DuplicateRequests", "Count", 1);
      targets.add(request.target);
    } catch (error) {
      // Not saved: SQS delivers the message again after its visibility timeout.
      deps.logger.error("could not add the request to the pending set; SQS will deliver it again", {
        messageId: record.messageId,
        error: errorMessage(error),
      });
      failed.push(record.messageId);
    }
  }
  for (const target of targets) await pumpSafely(target, deps, () => pump(target, deps));
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** The run id of a task launch started (`startedBy` `dbt-pipeline/<run id>`), else undefined. */
const runIdOf = (detail: TaskStateChange["detail"]) =>
  detail.startedBy?.startsWith(STARTED_BY_PREFIX) ? detail.startedBy.slice(STARTED_BY_PREFIX.length) : undefined;

async function taskStopped(detail: TaskStateChange["detail"], deps: LaunchDeps): Promise<PumpOutcome | "ignored"> {
  const runId = runIdOf(detail);
  const target = targetOfTask(detail);
  if (detail.lastStatus !== "STOPPED" || !runId || !target) {
    deps.logger.info("task-state event of no run launch started; ignored", {
      taskArn: detail.taskArn,
      lastStatus: detail.lastStatus,
      startedBy: detail.startedBy,
    });
    return "ignored";
  }
  // Errors propagate: EventBridge invokes asynchronously and Lambda retries; the sweep is the last resort.
  return handOver(target, runId, detail.taskArn, deps, dbtExitCode(detail));
}

/** The requests are saved; a failed pump is recovered by the next trigger, STOPPED event or sweep. */
async function pumpSafely(target: string, deps: LaunchDeps, run: () => Promise<PumpOutcome>): Promise<void> {
  try {
    await run();
  } catch (error) {
    deps.metrics.addMetric("PumpErrors", "Count", 1);
    deps.logger.error("could not start the target's next run now; the requests stay pending", {
      target,
      error: errorMessage(error),
    });
  }
}

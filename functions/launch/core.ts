/**
 * Launch's pure core. Per message group (= dbt target) of an SQS FIFO batch:
 *  1. poison messages (not a run request) go to the dead-letter queue and are acknowledged;
 *  2. while the oldest trigger is younger than BURST_WINDOW_SECONDS, the group waits (visibility
 *     = the rest of the window) so triggers arriving meanwhile join the same run;
 *  3. while a dbt task of the family runs (ListTasks RUNNING, which includes PENDING), the group
 *     waits RECHECK_SECONDS: one run per target at a time, nothing lost;
 *  4. otherwise the requests sharing the first one's merge key become one RunTask; the others
 *     wait RECHECK_SECONDS for the next turn.
 * RunTask throttling and missing capacity are retried with exponential backoff; after
 * MAX_LAUNCH_ATTEMPTS (or at once for other errors) the merged request goes to the dead-letter
 * queue and its messages are acknowledged.
 */
import { ECSClient, ListTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { ChangeMessageVisibilityBatchCommand, SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { sha256Hex } from "../lib/crypto";
import { errorMessage, truncate } from "../lib/errors";
import type { Log, MetricSink } from "../lib/observability";
import { RunRequest, mergeKey, mergeRequests, parseRunRequest } from "../lib/run-contract";
import { backoffMs, isRetryableError, isRetryableFailure, launchToken, runIdFor, runTaskInput } from "./ecs";
import { BatchResponse, SqsEventSchema, SqsRecord, queueUrlFromArn } from "./schema";
import type { LaunchSettings } from "./settings";

/** What launch's core needs; the handler builds it once per container. */
export interface LaunchDeps {
  readonly settings: LaunchSettings;
  readonly ecs: ECSClient;
  readonly sqs: SQSClient;
  readonly logger: Log;
  readonly metrics: MetricSink;
  readonly now: () => Date;
  /** Waits between RunTask attempts (tests pass one that records and returns at once). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Milliseconds left in the invocation; backoff stops early rather than time out. */
  readonly remainingMs?: () => number;
}

/** Time kept free at the end of an invocation for the dead-letter and visibility calls. */
export const RESERVE_MS = 10_000;

/** The SQS event is not what an SQS event source mapping sends. */
export class InvalidSqsEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidSqsEventError";
  }
}

interface Queued {
  readonly record: SqsRecord;
  readonly request: RunRequest;
}

/** Handles one SQS batch; returns the messages to keep (they come back after their visibility). */
export async function launch(event: unknown, deps: LaunchDeps): Promise<BatchResponse> {
  const parsed = SqsEventSchema.safeParse(event);
  if (!parsed.success) throw new InvalidSqsEventError(`launch expects an SQS event: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const groups = new Map<string, SqsRecord[]>();
  for (const record of parsed.data.Records) {
    const group = record.attributes.MessageGroupId ?? "";
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const failed: string[] = [];
  for (const [group, records] of groups) failed.push(...await launchGroup(group, records, deps));
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

async function launchGroup(group: string, records: readonly SqsRecord[], deps: LaunchDeps): Promise<string[]> {
  const { settings, logger } = deps;
  const queueUrl = settings.queueUrl ?? queueUrlFromArn(records[0].eventSourceARN);
  const failed: string[] = [];
  const valid: Queued[] = [];
  for (const record of records) {
    let request: RunRequest;
    try {
      request = parseRunRequest(JSON.parse(record.body));
    } catch (error) {
      deps.metrics.addMetric("PoisonMessages", "Count", 1);
      logger.error("poison message: not a run request; forwarding it to the dead-letter queue", { messageId: record.messageId, group, error: errorMessage(error) });
      const sent = await deadLetter(deps, group, record.body, `poison:${record.messageId}`, {
        reason: "poison", error: errorMessage(error), "message-ids": record.messageId,
      });
      if (!sent) failed.push(record.messageId);
      continue;
    }
    valid.push({ record, request });
  }
  if (!valid.length) return failed;
  const waiting = (items: readonly Queued[]) => [...failed, ...items.map((q) => q.record.messageId)];

  const now = deps.now().getTime();
  const oldest = Math.min(...valid.flatMap((q) => q.request.triggers.map((t) => Date.parse(t.receivedAt))));
  const ageSeconds = (now - oldest) / 1000;
  if (ageSeconds < settings.burstWindowSeconds) {
    const wait = Math.max(1, Math.min(settings.burstWindowSeconds, Math.ceil(settings.burstWindowSeconds - ageSeconds)));
    await defer(deps, queueUrl, valid, wait, "burst window: waiting for more triggers to merge");
    return waiting(valid);
  }

  let running: boolean;
  try {
    const tasks = await deps.ecs.send(new ListTasksCommand({ cluster: settings.clusterArn, family: settings.taskDefinition, desiredStatus: "RUNNING" }));
    running = (tasks.taskArns ?? []).length > 0;
  } catch (error) {
    // Not knowing whether dbt runs is no reason to start a second run: keep the messages.
    logger.error("ListTasks failed; the requests wait for the queue's visibility timeout", { group, error: errorMessage(error) });
    return waiting(valid);
  }
  if (running) {
    await defer(deps, queueUrl, valid, settings.recheckSeconds, "a dbt task of this target is running");
    return waiting(valid);
  }

  // A fast-lane run (a source's dashboard tags) goes before the normal runs waiting with it.
  const key = mergeKey((valid.find((q) => q.request.lane === "fast") ?? valid[0]).request);
  const batch = valid.filter((q) => mergeKey(q.request) === key);
  const later = valid.filter((q) => mergeKey(q.request) !== key);
  const outcome = await start(group, batch, deps);
  if (later.length) await defer(deps, queueUrl, later, settings.recheckSeconds, "a different kind of run (target, command, full refresh, selector, vars or lane) goes next");
  if (outcome === "retry-later") {
    await defer(deps, queueUrl, batch, settings.recheckSeconds, "launch ran out of time between RunTask attempts");
    return waiting([...batch, ...later]);
  }
  if (outcome === "keep") return waiting([...batch, ...later]);
  return waiting(later);
}

/** `done`: launched or dead-lettered (acknowledge); `retry-later`: hide for RECHECK_SECONDS; `keep`: leave as is. */
type StartOutcome = "done" | "retry-later" | "keep";

async function start(group: string, items: readonly Queued[], deps: LaunchDeps): Promise<StartOutcome> {
  const { settings, logger, metrics } = deps;
  const messageIds = items.map((q) => q.record.messageId);
  const request = mergeRequests(items.map((q) => q.request));
  const clientToken = launchToken(messageIds);
  const runId = runIdFor(request, messageIds);
  const context = { group, runId, messageIds, triggers: request.triggers.length, sources: request.sources, select: request.select };
  const fail = async (error: string, attempts: number): Promise<StartOutcome> => {
    metrics.addMetric("LaunchFailed", "Count", 1);
    logger.error("launch failed; forwarding the merged request to the dead-letter queue", { ...context, attempts, error });
    const sent = await deadLetter(deps, group, JSON.stringify(request), `launch-failed:${clientToken}`, {
      reason: "launch-failed", error, attempts: String(attempts), "run-id": runId, "message-ids": messageIds.join(","),
    });
    return sent ? "done" : "keep";
  };

  let input;
  try {
    input = runTaskInput(settings, request, runId, clientToken);
  } catch (error) {
    return fail(errorMessage(error), 0);
  }
  for (let attempt = 1; ; attempt++) {
    let error: string;
    let retryable: boolean;
    try {
      const out = await deps.ecs.send(new RunTaskCommand(input));
      const task = out.tasks?.find((t) => t.taskArn);
      if (task) {
        const oldest = Math.min(...request.triggers.map((t) => Date.parse(t.receivedAt)));
        metrics.addMetric("RunsLaunched", "Count", 1);
        metrics.addMetric("TriggersPerRun", "Count", request.triggers.length);
        metrics.addMetric("TriggerToLaunchSeconds", "Seconds", Math.max(0, (deps.now().getTime() - oldest) / 1000));
        logger.info("dbt run launched", { ...context, taskArn: task.taskArn, attempts: attempt });
        return "done";
      }
      const failures = out.failures ?? [];
      error = `RunTask started no task: ${failures.map((f) => `${f.reason ?? "unknown"}${f.detail ? ` (${f.detail})` : ""}`).join("; ") || "no failure reported"}`;
      retryable = failures.length === 0 || failures.every((f) => isRetryableFailure(f.reason));
    } catch (thrown) {
      error = errorMessage(thrown);
      retryable = isRetryableError(thrown);
    }
    if (!retryable || attempt >= settings.maxLaunchAttempts) return fail(error, attempt);
    const delay = backoffMs(attempt);
    if (deps.remainingMs && deps.remainingMs() < delay + RESERVE_MS) {
      logger.warn("RunTask failed and the invocation has no time left to retry; the requests wait", { ...context, attempts: attempt, error });
      return "retry-later";
    }
    metrics.addMetric("LaunchRetries", "Count", 1);
    logger.warn("RunTask failed; retrying", { ...context, attempt, delayMs: delay, error });
    await deps.sleep(delay);
  }
}

/** Hides `items` for `seconds`; a failure only logs (they come back after the queue's visibility timeout). */
async function defer(deps: LaunchDeps, queueUrl: string, items: readonly Queued[], seconds: number, reason: string): Promise<void> {
  deps.metrics.addMetric("LaunchDeferred", "Count", items.length);
  deps.logger.info("run requests wait", { reason, seconds, messageIds: items.map((q) => q.record.messageId) });
  try {
    const out = await deps.sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: items.map((q, i) => ({ Id: String(i), ReceiptHandle: q.record.receiptHandle, VisibilityTimeout: seconds })),
    }));
    if (out.Failed?.length) deps.logger.warn("some visibility changes failed; those requests return after the queue's visibility timeout", { failed: out.Failed });
  } catch (error) {
    deps.logger.warn("ChangeMessageVisibilityBatch failed; the requests return after the queue's visibility timeout", { error: errorMessage(error) });
  }
}

/** Sends `body` to DLQ_URL with string attributes; FIFO queues get the group and a deduplication id. Returns false on failure. */
async function deadLetter(deps: LaunchDeps, group: string, body: string, dedupe: string, attributes: Readonly<Record<string, string>>): Promise<boolean> {
  const url = deps.settings.dlqUrl;
  try {
    await deps.sqs.send(new SendMessageCommand({
      QueueUrl: url,
      MessageBody: body,
      MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: "String", StringValue: truncate(v || "-", 1000) }])),
      ...(url.endsWith(".fifo") ? { MessageGroupId: group || "runs", MessageDeduplicationId: sha256Hex(dedupe) } : {}),
    }));
    return true;
  } catch (error) {
    deps.logger.error("could not forward to the dead-letter queue; the messages stay on the runs queue", { group, error: errorMessage(error) });
    return false;
  }
}

/**
 * The steps every trigger shares: build the run request from config, do a delivery's work once
 * (Powertools idempotency keyed by the vendor's delivery id), enqueue, and report failures.
 */
import type { Context } from "aws-lambda";
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  makeIdempotent,
} from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import {
  SendMessageBatchCommand,
  SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { sha256Hex } from "../lib/crypto";
import { DownstreamError, causeMessage, errorMessage, truncate } from "../lib/errors";
import type { Log, MetricSink } from "../lib/observability";
import { RunRequest, RunRequestInput, fastLaneRequest, parseRunRequest } from "../lib/run-contract";
import type { SecretSource } from "../lib/secrets";
import type { Source, SourceIndex } from "../lib/sources";
import type { DispatchSettings } from "./settings";

/** What dispatch's core needs; the handler builds it once per container. */
export interface DispatchDeps {
  readonly settings: DispatchSettings;
  readonly sources: SourceIndex;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly secrets: SecretSource;
  /** Powertools persistence layer on the idempotency table (DynamoDB in Lambda). */
  readonly persistenceStore: BasePersistenceLayer;
  readonly logger: Log;
  readonly metrics: MetricSink;
  readonly now: () => Date;
  /** The invocation's context: bounds how long an in-progress delivery blocks its duplicates. */
  readonly lambdaContext?: Context;
}

/** One entry of a run request's `triggers`. */
export type Trigger = RunRequest["triggers"][number];

/** What a delivery's work produced; stored in the idempotency record and returned for redeliveries. */
export interface Outcome {
  /** `queued`: a run request is on the queue; `recorded`: a failure was logged and reported. */
  readonly status: "queued" | "recorded";
  /** The delivery key, e.g. `fivetran:<sync_id>`. */
  readonly delivery: string;
  /** A sentence for the sender and the logs. */
  readonly message: string;
  /** The source served, when there is one. */
  readonly source?: string;
  /** SQS message id of the queued request. */
  readonly messageId?: string;
  /** True when this answer is the stored result of an earlier delivery. */
  readonly duplicate: boolean;
}

/** The same delivery is being processed by another invocation right now; retry later. */
export class DeliveryInProgressError extends Error {
  constructor(
    readonly delivery: string,
    options?: ErrorOptions,
  ) {
    super(`delivery ${delivery} is being processed by another request; retry later`, options);
    this.name = "DeliveryInProgressError";
  }
}

/** The run request for a source: selection from config only, never from the payload. */
export function sourceRun(target: string, source: Source, trigger: Trigger): RunRequestInput {
  return {
    command: "build",
    select: [...source.select],
    exclude: [...source.exclude],
    fullRefresh: source.fullRefresh,
    target,
    triggers: [trigger],
    sources: [source.name],
  };
}

/**
 * Queues a source's run and, when the source lists fast-lane tags, a small fast-lane run of
 * those tags first in line (its own dedupe id), both in one SendMessageBatch. Returns the SQS
 * message id of the normal run.
 */
export async function enqueueSourceRuns(
  deps: DispatchDeps,
  delivery: string,
  source: Source,
  trigger: Trigger,
): Promise<string> {
  const normal = sourceRun(deps.sources.target, source, trigger);
  const fast = fastLaneRequest(normal, source.fastLaneTags);
  if (!fast) return enqueue(deps, delivery, normal);
  const ids = await enqueueBatch(deps, [
    { id: "fast", label: "the fast-lane run", delivery: `${delivery}:fast`, input: fast },
    { id: "normal", label: "the run", delivery, input: normal },
  ]);
  return ids[1];
}

/**
 * Some of the messages of one delivery are on the queue and others are not. Nothing is recorded
 * for the delivery, so the sender's retry sends them all again; SQS FIFO drops the ones already
 * queued when the retry comes within its 5-minute deduplication interval.
 */
export class PartialEnqueueError extends DownstreamError {
  constructor(
    readonly queued: readonly string[],
    readonly notQueued: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      `${queued.join(" and ")} ${queued.length > 1 ? "were" : "was"} queued but ${notQueued.join(" and ")} ${notQueued.length > 1 ? "were" : "was"} not; ` +
        "retry the delivery (within 5 minutes SQS drops the copy of what is already queued)",
      options,
    );
    this.name = "PartialEnqueueError";
  }
}

/** One message of {@link enqueueBatch}. */
interface BatchItem {
  /** Batch entry id (letters, digits, `-`, `_`). */
  readonly id: string;
  /** How the answer names it, e.g. "the fast-lane run". */
  readonly label: string;
  readonly delivery: string;
  readonly input: RunRequestInput;
}

/** Attempts of the entries SQS reports as failed without blaming the request (`SenderFault` false). */
const BATCH_ATTEMPTS = 3;

/**
 * Sends `items` in one SendMessageBatch (in order, one message group, so FIFO keeps the order)
 * and returns their SQS message ids. A batch succeeds or fails per entry, so entries SQS reports
 * under `Failed` are sent again (same deduplication id) up to {@link BATCH_ATTEMPTS} times; then
 * throws {@link PartialEnqueueError} when some are queued, `DownstreamError` when none is.
 * IAM: `sqs:SendMessage` also grants SendMessageBatch (SQS Developer Guide, "Amazon SQS batch actions").
 */
async function enqueueBatch(deps: DispatchDeps, items: readonly BatchItem[]): Promise<string[]> {
  // Every request is validated before anything is sent.
  const requests = new Map(items.map((item) => [item.id, parseRunRequest(item.input)]));
  const entries = new Map<string, SendMessageBatchRequestEntry>(
    items.map((item) => {
      const request = requests.get(item.id)!;
      return [
        item.id,
        {
          Id: item.id,
          MessageBody: JSON.stringify(request),
          MessageGroupId: request.target,
          MessageDeduplicationId: sha256Hex(item.delivery),
        },
      ];
    }),
  );
  const ids = new Map<string, string>();
  let pending = items.map((i) => i.id);
  let lastFailure: unknown;
  for (let attempt = 1; attempt <= BATCH_ATTEMPTS && pending.length; attempt++) {
    let out;
    try {
      out = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: deps.settings.queueUrl,
          Entries: pending.map((id) => entries.get(id)!),
        }),
      );
    } catch (error) {
      lastFailure = error;
      break;
    }
    for (const ok of out.Successful ?? []) ids.set(ok.Id!, ok.MessageId ?? "");
    const failed = out.Failed ?? [];
    lastFailure =
      failed[0] && new Error(`SQS refused entry ${failed[0].Id}: ${failed[0].Code} ${failed[0].Message ?? ""}`.trim());
    pending = pending.filter((id) => !ids.has(id));
    if (failed.some((f) => f.SenderFault)) break;
  }
  for (const item of items)
    if (ids.has(item.id)) queued(deps, item.delivery, requests.get(item.id)!, ids.get(item.id)!);
  if (pending.length) {
    const label = (id: string) => items.find((i) => i.id === id)!.label;
    if (!ids.size)
      throw new DownstreamError("could not send the run requests to the runs queue", { cause: lastFailure });
    throw new PartialEnqueueError(
      items.filter((i) => ids.has(i.id)).map((i) => i.label),
      pending.map(label),
      { cause: lastFailure },
    );
  }
  return items.map((i) => ids.get(i.id)!);
}

/**
 * Runs `work` once per `delivery` within DEDUPE_SECONDS: a redelivery gets the stored outcome with
 * `duplicate: true` and does nothing. A failed `work` leaves no record, so a retry runs it again.
 * Throws {@link DeliveryInProgressError} while another invocation holds the delivery and
 * `DownstreamError` when the idempotency table cannot be used.
 */
export async function once(
  deps: DispatchDeps,
  delivery: string,
  work: () => Promise<Omit<Outcome, "duplicate">>,
): Promise<Outcome> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: "delivery",
    expiresAfterSeconds: deps.settings.dedupeSeconds,
    throwOnNoIdempotencyKey: true,
    lambdaContext: deps.lambdaContext,
    responseHook: (response) => ({ ...(response as Record<string, never>), duplicate: true }),
  });
  // Every delivery is one idempotent operation with this one configuration, so the handler's single
  // persistence layer is right: Powertools configures a layer once, from the first operation that
  // uses it (`BasePersistenceLayer.configure`, @aws-lambda-powertools/idempotency 2.35.0). An
  // operation with another key path or expiry needs a layer of its own.
  let done: Outcome | undefined;
  let failed: { error: unknown } | undefined;
  const idempotentWork = makeIdempotent(
    async (_job: { delivery: string }): Promise<Outcome> => {
      try {
        return (done = { ...(await work()), duplicate: false });
      } catch (error) {
        failed = { error };
        throw error;
      }
    },
    { persistenceStore: deps.persistenceStore, config, keyPrefix: `dbt-pipeline.dispatch.${deps.sources.target}` },
  );
  let outcome: Outcome;
  try {
    outcome = await idempotentWork({ delivery });
  } catch (error) {
    if (error instanceof IdempotencyAlreadyInProgressError)
      throw new DeliveryInProgressError(delivery, { cause: error });
    if (error instanceof IdempotencyPersistenceLayerError && done) {
      // The work is done and only its record failed to save (Powertools `IdempotencyHandler`
      // throws after `saveSuccess` fails): answering an error would say nothing was done and invite
      // a retry that does it twice, so the outcome is returned and the lost record logged.
      deps.logger.error(
        "delivery done but not recorded; a redelivery after the in-progress record expires repeats it",
        { delivery, error: errorMessage(error), cause: causeMessage(error) },
      );
      return done;
    }
    if (error instanceof IdempotencyPersistenceLayerError && failed) {
      // The work failed and its in-progress record could not be deleted: the work's own error
      // says what was and was not done; the record blocks redeliveries until it expires.
      deps.logger.error("could not delete the in-progress record of a failed delivery", {
        delivery,
        error: errorMessage(error),
        cause: causeMessage(error),
      });
      throw failed.error;
    }
    if (error instanceof IdempotencyPersistenceLayerError) {
      throw new DownstreamError("could not record the delivery in the idempotency table", { cause: error });
    }
    throw error;
  }
  if (outcome.duplicate) {
    deps.metrics.addMetric("DuplicatesDropped", "Count", 1);
    deps.logger.info("duplicate delivery; nothing done", { delivery, status: outcome.status });
  }
  return outcome;
}

/**
 * Validates `input` against the run contract and sends it to the runs FIFO queue: group = target
 * (one run per target at a time), deduplication id = sha256 of the delivery key. Returns the SQS
 * message id.
 */
export async function enqueue(deps: DispatchDeps, delivery: string, input: RunRequestInput): Promise<string> {
  const request = parseRunRequest(input);
  let messageId: string | undefined;
  try {
    messageId = (
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.settings.queueUrl,
          MessageBody: JSON.stringify(request),
          MessageGroupId: request.target,
          MessageDeduplicationId: sha256Hex(delivery),
        }),
      )
    ).MessageId;
  } catch (error) {
    throw new DownstreamError("could not send the run request to the runs queue", { cause: error });
  }
  queued(deps, delivery, request, messageId ?? "");
  return messageId ?? "";
}

/** Records one queued run request (metric and log line). */
function queued(deps: DispatchDeps, delivery: string, request: RunRequest, messageId: string): void {
  deps.metrics.addMetric("RunsQueued", "Count", 1);
  deps.logger.info("run queued", {
    delivery,
    messageId,
    target: request.target,
    select: request.select,
    exclude: request.exclude,
    fullRefresh: request.fullRefresh,
    sources: request.sources,
  });
}

/** A failure worth a person's attention. */
export interface Alert {
  /** What failed. */
  readonly alert: "sync_failed" | "snowflake_task_failed";
  /** One line a person reads first. */
  readonly summary: string;
  /** Short form for the SNS subject (after `dbt-pipeline <target>: `). */
  readonly subject: string;
  /** Details (vendor ids, status, error text). */
  readonly details: Readonly<Record<string, string | number | boolean | undefined>>;
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
function subject(text: string): string {
  return truncate(
    text
      .replace(/[^\x20-\x7e]/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
    100,
  );
}

/**
 * Publishes `alert` to ALERT_TOPIC_ARN (JSON message, `alert` message attribute for filter
 * policies). Returns false when no topic is configured (the caller has logged the failure).
 */
export async function publishAlert(deps: DispatchDeps, alert: Alert): Promise<boolean> {
  const topic = deps.settings.alertTopicArn;
  if (!topic) {
    deps.logger.warn("ALERT_TOPIC_ARN is not set; the failure is only logged", { alert: alert.alert });
    return false;
  }
  const message = {
    kind: "dbt_pipeline_alert",
    alert: alert.alert,
    target: deps.sources.target,
    summary: alert.summary,
    ...alert.details,
  };
  try {
    await deps.sns.send(
      new PublishCommand({
        TopicArn: topic,
        Subject: subject(`dbt-pipeline ${deps.sources.target}: ${alert.subject}`),
        Message: JSON.stringify(message),
        MessageAttributes: { alert: { DataType: "String", StringValue: alert.alert } },
      }),
    );
  } catch (error) {
    throw new DownstreamError("could not publish the alert to the alert topic", { cause: error });
  }
  deps.metrics.addMetric("AlertsPublished", "Count", 1);
  return true;
}

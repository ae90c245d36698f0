/**
 * The steps every trigger shares: build the run request from config, do a delivery's work once
 * (Powertools idempotency keyed by the vendor's delivery id), enqueue, and report failures.
 */
import type { Context } from "aws-lambda";
import { IdempotencyAlreadyInProgressError, IdempotencyConfig, IdempotencyPersistenceLayerError, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { sha256Hex } from "../lib/crypto";
import { DownstreamError, truncate } from "../lib/errors";
import type { Log, MetricSink } from "../lib/observability";
import { RunRequest, RunRequestInput, TRIGGER_KINDS, fastLaneRequest, parseRunRequest } from "../lib/run-contract";
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

/** Why a run was asked for. */
export type TriggerKind = (typeof TRIGGER_KINDS)[number];
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
  constructor(readonly delivery: string, options?: ErrorOptions) {
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
 * those tags first in line (its own dedupe id). Returns the SQS message id of the normal run.
 */
export async function enqueueSourceRuns(deps: DispatchDeps, delivery: string, source: Source, trigger: Trigger): Promise<string> {
  const normal = sourceRun(deps.sources.target, source, trigger);
  const fast = fastLaneRequest(normal, source.fastLaneTags);
  if (fast) await enqueue(deps, `${delivery}:fast`, fast);
  return enqueue(deps, delivery, normal);
}

/**
 * Runs `work` once per `delivery` within DEDUPE_SECONDS: a redelivery gets the stored outcome with
 * `duplicate: true` and does nothing. A failed `work` leaves no record, so a retry runs it again.
 * Throws {@link DeliveryInProgressError} while another invocation holds the delivery and
 * `DownstreamError` when the idempotency table cannot be used.
 */
export async function once(deps: DispatchDeps, delivery: string, work: () => Promise<Omit<Outcome, "duplicate">>): Promise<Outcome> {
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
  const idempotentWork = makeIdempotent(
    async (_job: { delivery: string }): Promise<Outcome> => ({ ...(await work()), duplicate: false }),
    { persistenceStore: deps.persistenceStore, config, keyPrefix: `dbt-pipeline.dispatch.${deps.sources.target}` },
  );
  let outcome: Outcome;
  try {
    outcome = await idempotentWork({ delivery });
  } catch (error) {
    if (error instanceof IdempotencyAlreadyInProgressError) throw new DeliveryInProgressError(delivery, { cause: error });
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
    messageId = (await deps.sqs.send(new SendMessageCommand({
      QueueUrl: deps.settings.queueUrl,
      MessageBody: JSON.stringify(request),
      MessageGroupId: request.target,
      MessageDeduplicationId: sha256Hex(delivery),
    }))).MessageId;
  } catch (error) {
    throw new DownstreamError("could not send the run request to the runs queue", { cause: error });
  }
  deps.metrics.addMetric("RunsQueued", "Count", 1);
  deps.logger.info("run queued", {
    delivery, messageId, target: request.target, select: request.select, exclude: request.exclude,
    fullRefresh: request.fullRefresh, sources: request.sources,
  });
  return messageId ?? "";
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
  return truncate(text.replace(/[^\x20-\x7e]/g, " ").replace(/\s+/g, " ").trim(), 100);
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
  const message = { kind: "dbt_pipeline_alert", alert: alert.alert, target: deps.sources.target, summary: alert.summary, ...alert.details };
  try {
    await deps.sns.send(new PublishCommand({
      TopicArn: topic,
      Subject: subject(`dbt-pipeline ${deps.sources.target}: ${alert.subject}`),
      Message: JSON.stringify(message),
      MessageAttributes: { alert: { DataType: "String", StringValue: alert.alert } },
    }));
  } catch (error) {
    throw new DownstreamError("could not publish the alert to the alert topic", { cause: error });
  }
  deps.metrics.addMetric("AlertsPublished", "Count", 1);
  return true;
}

/**
 * The RunTask call: its exact input (network, overrides from the run contract, startedBy, tags,
 * clientToken) and the classification of its failures into "retry with backoff" and "give up".
 */
import { isServerError, isThrottlingError, isTransientError } from "@smithy/core/retry";
import type { RunTaskCommandInput } from "@aws-sdk/client-ecs";
import { sha256Hex } from "../lib/crypto";
import { truncate } from "../lib/errors";
import { RUN_ID_RE, RunRequest, taskOverrides } from "../lib/run-contract";
import type { LaunchSettings } from "./settings";

/** First backoff delay between RunTask attempts. */
export const BASE_DELAY_MS = 1000;
/** Longest backoff delay. */
export const MAX_DELAY_MS = 8000;
/** `startedBy` prefix of every dbt task launch starts. */
export const STARTED_BY_PREFIX = "dbt-pipeline/";
/** ECS tag keys launch sets. */
export const TAG_KEYS = {
  runId: "dbt-pipeline:run-id",
  target: "dbt-pipeline:target",
  triggers: "dbt-pipeline:triggers",
  sources: "dbt-pipeline:sources",
} as const;
/** ECS tag values: at most 256 characters. */
const TAG_VALUE_MAX = 256;

/** Delay before attempt `attempt + 1` (attempt counts from 1): 1 s, 2 s, 4 s, 8 s, 8 s, ... */
export function backoffMs(attempt: number): number {
  return Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
}

/**
 * The idempotency token of a launch: sha256 hex (64 characters, ECS's maximum) of the merged
 * messages' ids. Stable across retries of the same batch, whatever the clock says.
 */
export function launchToken(messageIds: readonly string[]): string {
  return sha256Hex([...messageIds].sort().join(","));
}

/**
 * The run id: `<yyyymmdd>t<hhmmss>-<8 hex>`, the time of the oldest trigger (UTC) and the first
 * 8 characters of {@link launchToken}. Deterministic, so a retried batch asks for the same run.
 */
export function runIdFor(request: RunRequest, messageIds: readonly string[]): string {
  const oldest = request.triggers.map((t) => Date.parse(t.receivedAt)).reduce((a, b) => Math.min(a, b));
  const stamp = new Date(oldest).toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase();
  const runId = `${stamp}-${launchToken(messageIds).slice(0, 8)}`;
  if (!RUN_ID_RE.test(runId)) throw new Error(`generated run id ${runId} does not match ${RUN_ID_RE}`);
  return runId;
}

const tagValue = (text: string) => truncate(text, TAG_VALUE_MAX);
const uniqueSorted = (values: readonly string[]) => [...new Set(values)].sort();

/** The RunTask input for a merged request; throws `RunContractError` when its overrides exceed 8 KiB. */
export function runTaskInput(
  settings: LaunchSettings,
  request: RunRequest,
  runId: string,
  clientToken: string,
): RunTaskCommandInput {
  const tags: { key: string; value: string }[] = [
    { key: TAG_KEYS.runId, value: runId },
    { key: TAG_KEYS.target, value: request.target },
    { key: TAG_KEYS.triggers, value: tagValue(uniqueSorted(request.triggers.map((t) => t.kind)).join(" ")) },
  ];
  if (request.sources.length)
    tags.push({ key: TAG_KEYS.sources, value: tagValue(uniqueSorted(request.sources).join(" ")) });
  return {
    cluster: settings.clusterArn,
    taskDefinition: settings.taskDefinition,
    launchType: "FARGATE",
    count: 1,
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: [...settings.subnetIds],
        securityGroups: [...settings.securityGroupIds],
        assignPublicIp: settings.assignPublicIp,
      },
    },
    overrides: taskOverrides(request, runId),
    startedBy: `${STARTED_BY_PREFIX}${runId}`,
    clientToken,
    tags,
    propagateTags: "TASK_DEFINITION",
    enableECSManagedTags: true,
  };
}

/**
 * True for RunTask errors worth another attempt: the AWS SDK's own classification of throttling,
 * transient (timeouts, 500/502/503/504, network codes) and server errors
 * (`@smithy/core/retry` service-error-classification, what the SDK's standard retry strategy
 * uses), plus ECS's "Rate exceeded" and capacity messages that arrive as a ClientException.
 * Launch's loop is the only retry of RunTask: its client is built with `maxAttempts: 1`
 * (functions/launch/index.ts), so SDK and launch retries do not multiply.
 */
export function isRetryableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // The SDK's errors carry $metadata/$retryable; the classifiers read them when present.
  const e = error as Parameters<typeof isThrottlingError>[0];
  if (isThrottlingError(e) || isTransientError(e) || isServerError(e)) return true;
  return /rate exceeded|capacity is unavailable/i.test(error.message);
}

/**
 * True when a RunTask call that threw may still have started the task: a timeout, a network
 * error or a server error can come after ECS acted on the request, while throttling (and any
 * 4xx) means ECS refused it. ECS's `clientToken` makes retries of the same call safe
 * (RunTaskRequest.clientToken, "to ensure the idempotency of the request", @aws-sdk/client-ecs
 * models; docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html), but a later
 * run with other requests has another token, so the claim must outlive such an error.
 */
export function mayHaveStarted(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Parameters<typeof isThrottlingError>[0];
  if (isThrottlingError(e) || /rate exceeded|capacity is unavailable/i.test(error.message)) return false;
  return isTransientError(e) || isServerError(e);
}

/** True for a RunTask `failures[].reason` that a later attempt may not hit (capacity, resources, throttling). */
export function isRetryableFailure(reason: string | undefined): boolean {
  return reason !== undefined && /capacity|^RESOURCE:|throttl|rate exceeded/i.test(reason);
}

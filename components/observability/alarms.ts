/**
 * The alarms of an environment as plain specs (tested on their own), built into
 * `aws.cloudwatch.MetricAlarm` arguments by the component. Every alarm notifies the alert topic
 * when it fires and when it clears.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";

/** Namespace of the pipeline's own metrics (NodeFunction sets POWERTOOLS_METRICS_NAMESPACE to it). */
export const METRICS_NAMESPACE = "DbtPipeline";
/** Period of the freshness alarms: two 5-minute checks, so scheduler jitter never leaves one empty. */
export const FRESHNESS_PERIOD_SECONDS = 600;
/** Period of the other alarms. */
export const ALARM_PERIOD_SECONDS = 300;

type Ref = pulumi.Input<string>;

/** CloudWatch's limit on an alarm name (PutMetricAlarm `AlarmName`: 1 to 255 characters). */
export const ALARM_NAME_MAX = 255;

/**
 * Alarm name `dbt-pipeline-<env>-<part>`. Alarm names may be 255 characters, so a valid source
 * name (up to 63) always fits whole; only past the limit is the name cut and a stable 8-hex hash
 * of the full name appended, so two long names never collide and a name never changes between
 * deploys.
 */
export function alarmName(environment: string, part: string): string {
  const name = `dbt-pipeline-${environment}-${part}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  if (name.length <= ALARM_NAME_MAX) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, ALARM_NAME_MAX - hash.length - 1)}-${hash}`;
}

/** A metric (or metric math) alarm, minus its actions and tags. */
export interface AlarmSpec {
  /** Suffix of the Pulumi resource name, unique per component. */
  readonly key: string;
  readonly name: string;
  readonly description: string;
  readonly comparisonOperator: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold";
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly treatMissingData: "breaching" | "notBreaching" | "ignore" | "missing";
  /** A single metric… */
  readonly metric?: {
    readonly namespace: string;
    readonly metricName: string;
    readonly dimensions: Record<string, Ref>;
    readonly statistic: "Maximum" | "Sum" | "Average";
    readonly period: number;
  };
  /** …or metric math (exactly one query returns data). */
  readonly metricQueries?: {
    readonly id: string;
    readonly expression?: string;
    readonly label?: string;
    readonly returnData?: boolean;
    readonly metric?: {
      readonly namespace: string;
      readonly metricName: string;
      readonly dimensions: Record<string, Ref>;
      readonly stat: string;
      readonly period: number;
    };
  }[];
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/** MinutesSinceLastLoad of one source above its staleAfterMinutes; no data counts as stale. */
export function staleSourceAlarm(environment: string, source: string, staleAfterMinutes: number): AlarmSpec {
  return {
    key: `stale-${slug(source)}`,
    name: alarmName(environment, `stale-${slug(source)}`),
    description: `Source ${source} has not loaded for more than ${staleAfterMinutes} minutes (or its freshness is unknown).`,
    comparisonOperator: "GreaterThanThreshold",
    threshold: staleAfterMinutes,
    evaluationPeriods: 1,
    treatMissingData: "breaching",
    metric: {
      namespace: METRICS_NAMESPACE,
      metricName: "MinutesSinceLastLoad",
      dimensions: { environment, source },
      statistic: "Maximum",
      period: FRESHNESS_PERIOD_SECONDS,
    },
  };
}

/**
 * ConsecutiveFailures (notify's count of failed runs in a row) at or above the threshold.
 * Missing data keeps the state: no run in a period neither raises nor clears the alarm.
 */
export function consecutiveFailuresAlarm(environment: string, threshold: number): AlarmSpec {
  return {
    key: "consecutive-failures",
    name: alarmName(environment, "consecutive-failures"),
    description: `${threshold} or more dbt runs in a row failed or did not start.`,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold,
    evaluationPeriods: 1,
    treatMissingData: "ignore",
    metric: {
      namespace: METRICS_NAMESPACE,
      metricName: "ConsecutiveFailures",
      dimensions: { environment },
      statistic: "Maximum",
      period: ALARM_PERIOD_SECONDS,
    },
  };
}

/** Any message in a dead-letter queue. */
export function deadLetterAlarm(environment: string, label: string, queueName: Ref): AlarmSpec {
  return {
    key: `dlq-${slug(label)}`,
    name: alarmName(environment, `dlq-${slug(label)}`),
    description: `Dead-letter queue ${label} holds messages: something failed for good and needs a look (redrive once fixed).`,
    comparisonOperator: "GreaterThanThreshold",
    threshold: 0,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
    metric: {
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queueName },
      statistic: "Maximum",
      period: ALARM_PERIOD_SECONDS,
    },
  };
}

/** Errors / Invocations of a function, in percent, at or above the threshold. */
export function errorRateAlarm(environment: string, label: string, functionName: Ref, percent: number): AlarmSpec {
  const metric = (metricName: string) => ({
    namespace: "AWS/Lambda",
    metricName,
    dimensions: { FunctionName: functionName },
    stat: "Sum",
    period: ALARM_PERIOD_SECONDS,
  });
  return {
    key: `errors-${slug(label)}`,
    name: alarmName(environment, `errors-${slug(label)}`),
    description: `Lambda ${label} failed in ${percent} % or more of its invocations.`,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: percent,
    evaluationPeriods: 1,
    treatMissingData: "notBreaching",
    metricQueries: [
      { id: "errors", metric: metric("Errors"), returnData: false },
      { id: "invocations", metric: metric("Invocations"), returnData: false },
      {
        id: "rate",
        expression: "IF(invocations > 0, 100 * errors / invocations, 0)",
        label: "error rate (%)",
        returnData: true,
      },
    ],
  };
}

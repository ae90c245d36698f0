/**
 * The CloudWatch dashboard of an environment, built as plain JSON from resolved names
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
 */
import { METRICS_NAMESPACE } from "./alarms";

/** Everything the dashboard shows, resolved. */
export interface DashboardInput {
  readonly region: string;
  readonly environment: string;
  readonly consecutiveFailures: number;
  readonly sources: readonly { readonly name: string; readonly staleAfterMinutes: number }[];
  readonly deadLetterQueues: readonly { readonly label: string; readonly queueName: string }[];
  readonly functions: readonly { readonly label: string; readonly functionName: string }[];
  readonly alarmArns: readonly string[];
}

type Widget = Record<string, unknown>;

/** The dashboard body: runs, duration, failures in a row, source freshness, DLQs, Lambda errors, alarms. */
export function dashboardBody(d: DashboardInput): Record<string, unknown> {
  const env = ["environment", d.environment];
  const metric = (
    x: number,
    y: number,
    title: string,
    metrics: unknown[][],
    extra: Record<string, unknown> = {},
  ): Widget => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, region: d.region, view: "timeSeries", stacked: false, period: 300, metrics, ...extra },
  });
  const widgets: Widget[] = [
    metric(
      0,
      0,
      "dbt runs",
      [
        [METRICS_NAMESPACE, "RunSucceeded", ...env, { stat: "Sum", label: "succeeded", color: "#2ca02c" }],
        [METRICS_NAMESPACE, "RunFailed", ...env, { stat: "Sum", label: "failed or not started", color: "#d62728" }],
      ],
      { period: 3600 },
    ),
    metric(
      12,
      0,
      "dbt run duration and trigger-to-start (s)",
      [
        [METRICS_NAMESPACE, "RunDurationSeconds", ...env, { stat: "Average", label: "run, average" }],
        [METRICS_NAMESPACE, "RunDurationSeconds", ...env, { stat: "Maximum", label: "run, maximum" }],
        [METRICS_NAMESPACE, "TriggerToStartSeconds", ...env, { stat: "Average", label: "trigger to start, average" }],
      ],
      { period: 3600 },
    ),
    metric(
      0,
      6,
      "Failed runs in a row",
      [[METRICS_NAMESPACE, "ConsecutiveFailures", ...env, { stat: "Maximum", label: "failed runs in a row" }]],
      { annotations: { horizontal: [{ label: "alarm", value: d.consecutiveFailures }] } },
    ),
    metric(
      12,
      6,
      "Minutes since last load",
      d.sources.length
        ? d.sources.map((s) => [
            METRICS_NAMESPACE,
            "MinutesSinceLastLoad",
            ...env,
            "source",
            s.name,
            { stat: "Maximum", label: s.name },
          ])
        : [[METRICS_NAMESPACE, "MinutesSinceLastLoad", ...env, { stat: "Maximum" }]],
      {
        annotations: { horizontal: d.sources.map((s) => ({ label: `${s.name} stale`, value: s.staleAfterMinutes })) },
      },
    ),
    metric(
      0,
      12,
      "Dead-letter queues (messages)",
      d.deadLetterQueues.map((q) => [
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        q.queueName,
        { stat: "Maximum", label: q.label },
      ]),
    ),
    metric(
      12,
      12,
      "Lambda errors and invocations",
      d.functions.flatMap((f) => [
        ["AWS/Lambda", "Errors", "FunctionName", f.functionName, { stat: "Sum", label: `${f.label} errors` }],
        [
          "AWS/Lambda",
          "Invocations",
          "FunctionName",
          f.functionName,
          { stat: "Sum", label: `${f.label} invocations`, yAxis: "right" },
        ],
      ]),
    ),
    {
      type: "alarm",
      x: 0,
      y: 18,
      width: 24,
      height: 4,
      properties: { title: "Alarms", alarms: [...d.alarmArns] },
    },
    {
      type: "text",
      x: 0,
      y: 22,
      width: 24,
      height: 2,
      properties: {
        markdown:
          "Snowflake credit use is watched inside Snowflake: the environment's resource monitor notifies at 75 % and 90 % of the monthly quota (and suspends at 100 % where configured). It has no CloudWatch metric.",
      },
    },
  ];
  return { widgets };
}

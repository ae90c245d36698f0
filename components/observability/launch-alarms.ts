/**
 * Alarms on launch's own metrics (functions/launch: namespace `DbtPipeline`, dimension
 * `service = launch`). Powertools Metrics 2.35 adds `service` from POWERTOOLS_SERVICE_NAME as its
 * only default dimension (`@aws-lambda-powertools/metrics` `Metrics.js`: `{ service:
 * resolvedServiceName }`), and NodeFunction sets that variable to the function's short name.
 * The runs dead-letter queue has its own alarm (`dlq-runs`); these say why requests are stuck
 * before anything reaches it.
 */
import { ALARM_PERIOD_SECONDS, AlarmSpec, METRICS_NAMESPACE, alarmName } from "./alarms";

/** The `service` dimension of launch's metrics: its function's short name. */
export const LAUNCH_SERVICE = "launch";

function launchMetricAlarm(
  environment: string,
  part: string,
  metricName: string,
  description: string,
  evaluationPeriods: number,
): AlarmSpec {
  return {
    key: part,
    name: alarmName(environment, part),
    description,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    evaluationPeriods,
    // No data is the normal case: nothing went wrong in the period.
    treatMissingData: "notBreaching",
    metric: {
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensions: { service: LAUNCH_SERVICE },
      statistic: "Sum",
      period: ALARM_PERIOD_SECONDS,
    },
  };
}

/**
 * Launch's alarms: a pump that failed (`PumpErrors`: DynamoDB or ECS errors; the requests stay
 * pending), requests launch dead-lettered (`LaunchFailed`: ECS rejected the run for good or the
 * joined request broke the contract), and RunTask failing in three periods in a row
 * (`LaunchDeferred`: throttling or no capacity for 15 minutes; nothing is lost, runs are late).
 */
export function launchAlarms(environment: string): AlarmSpec[] {
  return [
    launchMetricAlarm(
      environment,
      "launch-pump-errors",
      "PumpErrors",
      "launch could not start a target's next run (DynamoDB or ECS errors); the requests stay pending for the next trigger, STOPPED event or sweep.",
      1,
    ),
    launchMetricAlarm(
      environment,
      "launch-failed",
      "LaunchFailed",
      "launch sent requests to the runs dead-letter queue: ECS rejected their run for good, or the joined request broke the run contract.",
      1,
    ),
    launchMetricAlarm(
      environment,
      "launch-deferred",
      "LaunchDeferred",
      "RunTask kept failing (throttling or no Fargate capacity) for 15 minutes: runs are late; the requests wait in launch's table.",
      3,
    ),
  ];
}

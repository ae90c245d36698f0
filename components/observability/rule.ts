/**
 * Small pure helpers of the observability wiring: the ECS event pattern and ARN parsing.
 */

/** The pattern of "a dbt task of this cluster and family stopped" (EventBridge, default bus). */
export function taskStoppedPattern(clusterArn: string, family: string): Record<string, unknown> {
  return {
    source: ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    detail: {
      clusterArn: [clusterArn],
      lastStatus: ["STOPPED"],
      group: [`family:${family}`],
    },
  };
}

/** The queue name of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
export function queueNameFromArn(arn: string): string {
  const parts = arn.split(":");
  if (parts.length !== 6 || parts[2] !== "sqs" || !parts[5]) throw new Error(`not an SQS queue ARN: ${arn}`);
  return parts[5];
}

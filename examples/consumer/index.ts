/**
 * Example: a BI team's own Pulumi program that follows the dbt pipeline. It reads the pipeline
 * stack's outputs through a StackReference and queues every successful dbt run
 * (`dbt.run.completed` with `status: success` on the pipeline's run bus) for its dashboard
 * refresher. It lives here only to be type-checked with the package; see README.md.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
/** The pipeline stack to follow, `<organization>/dbt-pipeline/<stack>`; defaults to prod in this organization. */
const pipelineStack = config.get("pipelineStack") ?? `${pulumi.getOrganization()}/dbt-pipeline/prod`;

const pipeline = new pulumi.StackReference(pipelineStack);
/** The bus the pipeline publishes `dbt.run.completed` to, `dbt-pipeline-<env>-runs`. */
const runEventBusName = pipeline.getOutput("runEventBusName").apply((name) => {
  if (typeof name !== "string" || name === "")
    throw new Error(`stack ${pipelineStack} has no runEventBusName output; is it a dbt-pipeline stack?`);
  return name;
});

const tags = { team: "bi", "managed-by": "pulumi" };

// Messages the refresher could not process after 5 tries, kept for two weeks.
const deadLetters = new aws.sqs.Queue("dbt-runs-dlq", {
  sqsManagedSseEnabled: true,
  messageRetentionSeconds: 14 * 24 * 3600,
  tags,
});

/** One message per successful dbt run, for the dashboard refresher. */
const queue = new aws.sqs.Queue("dbt-runs", {
  sqsManagedSseEnabled: true,
  visibilityTimeoutSeconds: 300,
  messageRetentionSeconds: 4 * 24 * 3600,
  redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetters.arn, maxReceiveCount: 5 }),
  tags,
});

// Only successful runs: failures are the pipeline team's to handle (they page on them).
const rule = new aws.cloudwatch.EventRule("dbt-run-succeeded", {
  description: pulumi.interpolate`Successful dbt runs of ${pipelineStack}, for the BI dashboard refresher`,
  eventBusName: runEventBusName,
  eventPattern: JSON.stringify({
    source: ["dbt-pipeline"],
    "detail-type": ["dbt.run.completed"],
    detail: { status: ["success"] },
  }),
  tags,
});

new aws.cloudwatch.EventTarget("dbt-run-succeeded-to-queue", {
  rule: rule.name,
  eventBusName: runEventBusName,
  arn: queue.arn,
  // Deliveries EventBridge gives up on (e.g. the queue policy is wrong) land in the DLQ too.
  deadLetterConfig: { arn: deadLetters.arn },
  retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 },
});

// EventBridge may send to the queues for this rule only.
const fromRule = (queueArn: pulumi.Output<string>) =>
  pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "FromDbtRunRule",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": rule.arn } },
      },
    ],
  });
new aws.sqs.QueuePolicy("dbt-runs-from-eventbridge", { queueUrl: queue.url, policy: fromRule(queue.arn) });
new aws.sqs.QueuePolicy("dbt-runs-dlq-from-eventbridge", {
  queueUrl: deadLetters.url,
  policy: fromRule(deadLetters.arn),
});

/** Queue the refresher polls; each message body is the EventBridge event, `detail` per docs/run-events.md. */
export const runsQueueUrl = queue.url;
/** Dead-letter queue of runsQueueUrl. */
export const runsDeadLetterQueueUrl = deadLetters.url;
/** The pipeline's Snowflake database this team reads (an output of the pipeline stack). */
export const pipelineDatabase = pipeline.getOutput("snowflakeDatabase");

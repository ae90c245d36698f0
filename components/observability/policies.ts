/**
 * IAM and resource policy documents of the observability side, as pure functions so tests can
 * assert the exact JSON.
 */
import * as pulumi from "@pulumi/pulumi";
import { Statement } from "../lib/iam";

type Ref = pulumi.Input<string>;

/** What the notify function touches. */
export interface NotifyResources {
  readonly artifactBucketArn: Ref;
  readonly environment: string;
  readonly eventBusArn: Ref;
  readonly alertTopicArn: Ref;
  /** Absent when Slack is not configured. */
  readonly slackSecretArn?: Ref;
  readonly tableArn: Ref;
  readonly deadLetterQueueArn: Ref;
}

/** notify's statements beyond its own logs. */
export function notifyStatements(r: NotifyResources): Statement[] {
  return [
    {
      Sid: "ReadRunArtifacts",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: pulumi.interpolate`${r.artifactBucketArn}/${r.environment}/runs/*`,
    },
    { Sid: "PublishRunEvents", Effect: "Allow", Action: "events:PutEvents", Resource: r.eventBusArn },
    { Sid: "PageAlertTopic", Effect: "Allow", Action: "sns:Publish", Resource: r.alertTopicArn },
    ...(r.slackSecretArn !== undefined
      ? [
          {
            Sid: "ReadSlackWebhook",
            Effect: "Allow" as const,
            Action: "secretsmanager:GetSecretValue",
            Resource: r.slackSecretArn,
          },
        ]
      : []),
    {
      Sid: "NotifyState",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
      Resource: r.tableArn,
    },
    // Lambda's own dead-letter queue for events it failed to handle after its retries.
    { Sid: "DeadLetter", Effect: "Allow", Action: "sqs:SendMessage", Resource: r.deadLetterQueueArn },
  ];
}

/** freshness's statements beyond its own logs: the one object it reads. */
export function freshnessStatements(artifactBucketArn: Ref, environment: string): Statement[] {
  return [
    {
      Sid: "ReadLatestSources",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: [
        pulumi.interpolate`${artifactBucketArn}/${environment}/observed/sources.json`,
        pulumi.interpolate`${artifactBucketArn}/${environment}/latest/sources.json`,
      ],
    },
  ];
}

/** The scheduler role's statements: invoke the freshness function only. */
export function schedulerStatements(functionArn: Ref): Statement[] {
  return [{ Sid: "InvokeFreshness", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: functionArn }];
}

/** Condition of the scheduler role's trust: schedules of this account only (confused deputy). */
export function schedulerTrustCondition(account: Ref): Statement["Condition"] {
  return { StringEquals: { "aws:SourceAccount": account } };
}

/**
 * The notify DLQ's queue policy: the EventBridge rule (failed deliveries to notify) and the SNS
 * subscription (undeliverable alert-topic messages) may send to it, each scoped by its ARN.
 */
export function deadLetterQueuePolicy(queueArn: string, ruleArn: string, topicArn: string): Record<string, unknown> {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EventBridgeRule",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
      },
      {
        Sid: "AlertTopicSubscription",
        Effect: "Allow",
        Principal: { Service: "sns.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": topicArn } },
      },
    ],
  };
}

/**
 * The alert key's policy. `Resource: "*"` in a key policy means this key. The account root keeps
 * full control (the AWS default, so the key can never become unmanageable); every principal of
 * the account may encrypt and decrypt through SNS only (what `alias/aws/sns` allows); CloudWatch
 * alarms may too, which the AWS managed key does not allow.
 */
export function alertKeyPolicy(account: string, region: string): Record<string, unknown> {
  const use = ["kms:Decrypt", "kms:GenerateDataKey*"];
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministers",
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      },
      {
        Sid: "AccountPublishesThroughSns",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: use,
        Resource: "*",
        Condition: { StringEquals: { "kms:CallerAccount": account, "kms:ViaService": `sns.${region}.amazonaws.com` } },
      },
      {
        Sid: "CloudWatchAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: use,
        Resource: "*",
      },
    ],
  };
}

/**
 * notify: reports finished dbt tasks (EventBridge "ECS Task State Change", STOPPED) and alerts
 * arriving on the alert topic (failed syncs, Snowflake task errors, alarms) to Slack; pages the
 * alert topic for runs; publishes `dbt.run.completed` to the run bus. The logic is in core.ts.
 */
import type { Context } from "aws-lambda";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { envOptional, envRequired, parseEnv } from "../lib/env";
import { SecretCache } from "../lib/secrets";
import { fetchPoster } from "../lib/slack";
import { NotifyResult, NotifySettings, createNotifier, secretSlackSender } from "./core";
import { dynamoStateStore } from "./state";

/** The variables the Observability component sets. */
const NotifyEnvSchema = z.pipe(
  z.object({
    ENVIRONMENT: envRequired(),
    ARTIFACT_BUCKET: envRequired(),
    EVENT_BUS_NAME: envRequired(),
    ALERT_TOPIC_ARN: envRequired(),
    SLACK_SECRET_ARN: envOptional(),
    LOG_GROUP_NAME: envRequired(),
    LOG_STREAM_PREFIX: envRequired(),
    STATE_TABLE: envRequired(),
  }),
  z.transform((env) => ({
    settings: {
      environment: env.ENVIRONMENT,
      artifactBucket: env.ARTIFACT_BUCKET,
      eventBusName: env.EVENT_BUS_NAME,
      alertTopicArn: env.ALERT_TOPIC_ARN,
      slackSecretArn: env.SLACK_SECRET_ARN,
      logGroupName: env.LOG_GROUP_NAME,
      logStreamPrefix: env.LOG_STREAM_PREFIX,
    } satisfies NotifySettings,
    table: env.STATE_TABLE,
  })),
);

const { settings, table } = parseEnv("notify", NotifyEnvSchema, process.env);

const logger = new Logger();
const metrics = new Metrics();
// Alarms and the dashboard address these metrics by {environment} alone, so Powertools'
// default `service` dimension is replaced.
metrics.clearDefaultDimensions();
metrics.setDefaultDimensions({ environment: settings.environment });

const dynamo = new DynamoDBClient({});
const notifier = createNotifier({
  settings,
  s3: new S3Client({}),
  sns: new SNSClient({}),
  events: new EventBridgeClient({}),
  slack: secretSlackSender(new SecretCache(new SecretsManagerClient({})), settings.slackSecretArn, fetchPoster()),
  state: dynamoStateStore(DynamoDBDocumentClient.from(dynamo), table),
  persistence: () => new DynamoDBPersistenceLayer({ tableName: table, awsSdkV3Client: dynamo }),
  metrics,
  logger,
});

/** Lambda entry point. */
export async function handler(event: unknown, context: Context): Promise<NotifyResult> {
  logger.addContext(context);
  try {
    return await notifier.handle(event, context);
  } catch (err) {
    logger.error("notify failed", err as Error);
    throw err;
  } finally {
    // Alert deliveries and duplicates record no metrics; skip Powertools' "no metrics" warning.
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  }
}

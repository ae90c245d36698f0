/**
 * launch: run requests → a pending set per target (DynamoDB) → one dbt ECS task per target at a
 * time, every waiting request in it; the task's STOPPED event starts the next one.
 * Reads its environment at init (see {@link readLaunchSettings}).
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SQSClient } from "@aws-sdk/client-sqs";
import { LaunchResult, launch } from "./core";
import { readLaunchSettings } from "./settings";
import { DynamoLaunchStore } from "./store";

const logger = new Logger();
const metrics = new Metrics();
const settings = readLaunchSettings(process.env);
// One retry policy for ECS: launch's own (RunTask with backoff up to MAX_LAUNCH_ATTEMPTS, see
// ecs.ts isRetryableError). With the SDK's default of 3 attempts per call the two would multiply
// (up to 15 RunTask calls for one run). A failed ListTasks/DescribeTasks reads as "unknown": the
// lease is kept and the next event or sweep asks again.
const ecs = new ECSClient({ maxAttempts: 1 });
const sqs = new SQSClient({});
const store = new DynamoLaunchStore(new DynamoDBClient({}), settings.tableName);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Lambda entry point: SQS event source (ReportBatchItemFailures), EventBridge task-state rule, sweep schedule. */
export async function handler(event: unknown, context: Context): Promise<LaunchResult> {
  logger.addContext(context);
  try {
    return await launch(event, {
      settings,
      ecs,
      sqs,
      store,
      logger,
      metrics,
      sleep,
      token: randomUUID,
      now: () => new Date(),
      remainingMs: () => context.getRemainingTimeInMillis(),
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}

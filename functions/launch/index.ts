/**
 * launch: runs FIFO queue → one dbt ECS task per target at a time, bursts merged.
 * Reads its environment at init (see {@link readLaunchSettings}).
 */
import type { Context } from "aws-lambda";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { ECSClient } from "@aws-sdk/client-ecs";
import { SQSClient } from "@aws-sdk/client-sqs";
import { launch } from "./core";
import type { BatchResponse } from "./schema";
import { readLaunchSettings } from "./settings";

const logger = new Logger();
const metrics = new Metrics();
const settings = readLaunchSettings(process.env);
const ecs = new ECSClient({});
const sqs = new SQSClient({});
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Lambda entry point (SQS event source, ReportBatchItemFailures). */
export async function handler(event: unknown, context: Context): Promise<BatchResponse> {
  logger.addContext(context);
  try {
    return await launch(event, {
      settings, ecs, sqs, logger, metrics, sleep, now: () => new Date(), remainingMs: () => context.getRemainingTimeInMillis(),
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}

/**
 * freshness: every 5 minutes (EventBridge Scheduler), records MinutesSinceLastLoad per source
 * from the latest dbt sources.json; the per-source staleness alarms read it. Logic in core.ts.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import * as z from "zod/mini";
import { envList, envRequired, parseEnv } from "../lib/env";
import { FreshnessResult, createFreshnessCheck } from "./core";

/** The variables the Observability component sets. */
const FreshnessEnvSchema = z.pipe(
  z.object({
    ENVIRONMENT: envRequired(),
    ARTIFACT_BUCKET: envRequired(),
    SOURCES: envList(),
  }),
  z.transform((env) => ({ environment: env.ENVIRONMENT, artifactBucket: env.ARTIFACT_BUCKET, sources: env.SOURCES })),
);

const settings = parseEnv("freshness", FreshnessEnvSchema, process.env);

const logger = new Logger();
const metrics = new Metrics();
// The alarms address MinutesSinceLastLoad by {environment, source} exactly.
metrics.clearDefaultDimensions();
metrics.setDefaultDimensions({ environment: settings.environment });

const check = createFreshnessCheck({
  settings,
  s3: new S3Client({}),
  metrics,
  logger,
});

/** Lambda entry point (the scheduler's input is ignored). */
export async function handler(_event: unknown): Promise<FreshnessResult> {
  try {
    return await check();
  } catch (err) {
    logger.error("freshness check failed", err as Error);
    throw err;
  }
}

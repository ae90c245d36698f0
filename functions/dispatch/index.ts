/**
 * dispatch: every reason to run dbt (Fivetran and Airbyte webhooks, schedules, Snowflake
 * notifications) → validated, deduplicated run request on the runs FIFO queue.
 *
 * Reads at init: the environment (see {@link readDispatchSettings}) and `sources.json` beside
 * this bundle (`LAMBDA_TASK_ROOT`). A bad deployment fails at init with every problem listed.
 */
import type { Context } from "aws-lambda";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SecretCache } from "../lib/secrets";
import { loadSourcesFile, sourcesFilePath } from "../lib/sources";
import { DispatchResult, dispatch } from "./core";
import { readDispatchSettings } from "./settings";

const logger = new Logger();
const metrics = new Metrics();
const settings = readDispatchSettings(process.env);
const sources = loadSourcesFile(sourcesFilePath(process.env));
const clients = {
  sqs: new SQSClient({}),
  sns: new SNSClient({}),
  secrets: new SecretCache(new SecretsManagerClient({})),
  persistenceStore: new DynamoDBPersistenceLayer({ tableName: settings.idempotencyTable }),
};

/** Lambda entry point (API Gateway HTTP API v2, EventBridge Scheduler, SNS). */
export async function handler(event: unknown, context: Context): Promise<DispatchResult> {
  logger.addContext(context);
  try {
    return await dispatch(event, {
      settings,
      sources,
      ...clients,
      logger,
      metrics,
      now: () => new Date(),
      lambdaContext: context,
    });
  } finally {
    metrics.publishStoredMetrics();
  }
}

import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type * as DispatchModule from "../../functions/dispatch/index";
import type * as LaunchModule from "../../functions/launch/index";
import {
  LocalDynamo,
  fakeContext,
  fivetranSignature,
  fixtureText,
  httpEvent,
  sha256,
  snsEvent,
  startLocalDynamo,
} from "./support";

const FIVETRAN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-fivetran-webhook-secret-AbCdEf";
const AIRBYTE_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-airbyte-webhook-token-GhIjKl";
const FIVETRAN_SECRET = "fivetran-signing-secret-for-tests";
const AIRBYTE_TOKEN = "3f9c1a7e5b2d4c6e8f0a1b2c3d4e5f60";

/** Loads a handler module after its environment is set (it reads the environment at init). */
const loadModule = createRequire(__filename);

/** Runs the real `handler`s: environment and sources.json read at init, Powertools logger and metrics. */
describe("handlers (wiring)", () => {
  const saved = { ...process.env };
  // Installed here, not at load time: another spec's mockClient(SQSClient) may have replaced a load-time stub.
  let sqs: AwsClientStub<SQSClient>;
  let secrets: AwsClientStub<SecretsManagerClient>;
  let dynamo: LocalDynamo;

  before(async () => {
    sqs = mockClient(SQSClient);
    secrets = mockClient(SecretsManagerClient);
    // dispatch's module builds its own DynamoDB client: dynalite is reached through the SDK's service endpoint variable.
    dynamo = await startLocalDynamo();
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: "dev-idempotency",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    const root = mkdtempSync(path.join(tmpdir(), "task-root-"));
    writeFileSync(path.join(root, "sources.json"), fixtureText("dispatch/sources.json"));
    Object.assign(process.env, {
      LAMBDA_TASK_ROOT: root,
      AWS_REGION: "eu-west-1",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
      QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs.fifo",
      IDEMPOTENCY_TABLE: "dev-idempotency",
      CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/dev-dbt",
      TASK_DEFINITION: "dev-dbt",
      SUBNET_IDS: "subnet-a",
      SECURITY_GROUP_IDS: "sg-1",
      DLQ_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs-dlq.fifo",
      TABLE_NAME: "dev-launch-state",
      FIVETRAN_SECRET_ARN: FIVETRAN_ARN,
      AIRBYTE_TOKEN_SECRET_ARN: AIRBYTE_ARN,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
  });
  after(async () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await dynamo.close();
  });

  it("dispatch answers a webhook through its exported handler", async () => {
    // Prepare
    // Loaded here, after the environment is set: the module reads it at init.
    const { handler } = loadModule("../../functions/dispatch/index") as typeof DispatchModule;
    const event = httpEvent({
      routeKey: "POST /webhooks/fivetran",
      rawPath: "/webhooks/fivetran",
      body: "{}",
      headers: { "content-type": "text/plain" },
    });
    // Act
    const result = await handler(event, fakeContext);
    // Assess
    expect(result).to.deep.equal({
      statusCode: 415,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        error: "unsupported content type; send the webhook body as JSON with Content-Type: application/json",
      }),
    });
  });

  it("dispatch keeps one warm instance right across a mixed sequence of webhooks, schedules and Snowflake loads", async () => {
    // Prepare
    sqs.reset();
    secrets.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: "msg-1" });
    secrets.on(GetSecretValueCommand, { SecretId: FIVETRAN_ARN }).resolves({ SecretString: FIVETRAN_SECRET });
    secrets.on(GetSecretValueCommand, { SecretId: AIRBYTE_ARN }).resolves({ SecretString: AIRBYTE_TOKEN });
    const { handler } = loadModule("../../functions/dispatch/index") as typeof DispatchModule;
    const fivetranBody = fixtureText("webhooks/fivetran-sync-end-successful.json");
    const fivetran = httpEvent({
      routeKey: "POST /webhooks/fivetran",
      rawPath: "/webhooks/fivetran",
      body: fivetranBody,
      headers: {
        "content-type": "application/json",
        "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, fivetranBody),
      },
    });
    const airbyte = httpEvent({
      routeKey: "POST /webhooks/airbyte/{token}",
      rawPath: `/webhooks/airbyte/${AIRBYTE_TOKEN}`,
      body: fixtureText("webhooks/airbyte-sync-successful.json"),
      headers: { "content-type": "application/json" },
      pathParameters: { token: AIRBYTE_TOKEN },
    });
    const hourly = { kind: "schedule", schedule: "hourly", scheduledTime: "2026-11-22T10:00:00Z" };
    const load = snsEvent([fixtureText("snowflake/load-notification.json")]);
    const sequence = [fivetran, hourly, load, airbyte, fivetran, load, hourly, airbyte];
    // Act
    const results = [];
    for (const event of sequence) results.push(await handler(event, fakeContext));
    // Assess: every delivery queued once, every redelivery answered as a duplicate
    const answer = (r: unknown) => {
      const o = ("body" in (r as object) ? JSON.parse((r as { body: string }).body) : r) as Record<string, unknown>;
      return "records" in o
        ? `queued=${String(o.queued)} duplicates=${String(o.duplicates)}`
        : `${String(o.delivery)} duplicate=${String(o.duplicate)}`;
    };
    expect(results.map(answer)).to.deep.equal([
      "fivetran:b4703f73-6315-4e22-8d7a-3bfb18b2fed2 duplicate=false",
      "schedule:hourly:2026-11-22T10:00:00Z duplicate=false",
      "queued=1 duplicates=0",
      "airbyte:9988 duplicate=false",
      "fivetran:b4703f73-6315-4e22-8d7a-3bfb18b2fed2 duplicate=true",
      "queued=0 duplicates=1",
      "schedule:hourly:2026-11-22T10:00:00Z duplicate=true",
      "airbyte:9988 duplicate=true",
    ]);
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageDeduplicationId)).to.deep.equal([
      sha256("fivetran:b4703f73-6315-4e22-8d7a-3bfb18b2fed2"),
      sha256("schedule:hourly:2026-11-22T10:00:00Z"),
      sha256("snowflake:1732269510123:ORDERS"),
      sha256("airbyte:9988"),
    ]);
  });

  it("launch handles an SQS batch through its exported handler: TABLE_NAME's table gets the request", async () => {
    // Prepare: DynamoDB throttles, so the request is not saved and SQS must deliver it again
    sqs.reset();
    const documents = mockClient(DynamoDBDocumentClient);
    documents.on(GetCommand).rejects(
      Object.assign(new Error("Throughput exceeds the current capacity"), {
        name: "ProvisionedThroughputExceededException",
      }),
    );
    const { handler } = loadModule("../../functions/launch/index") as typeof LaunchModule;
    const body = JSON.stringify({
      target: "dev",
      triggers: [{ kind: "manual", id: "me", receivedAt: new Date().toISOString() }],
    });
    const event = {
      Records: [
        {
          messageId: "m1",
          receiptHandle: "rh",
          body,
          attributes: { MessageGroupId: "dev" },
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:dev-runs.fifo",
        },
      ],
    };
    // Act
    const result = await handler(event, fakeContext);
    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    // Its first call: is the request's done marker there (a request already served)?
    expect(
      documents
        .commandCalls(GetCommand)
        .map((c): unknown[] => [
          c.args[0].input.TableName,
          c.args[0].input.Key?.target,
          String(c.args[0].input.Key?.key).slice(0, 2),
          c.args[0].input.ConsistentRead,
        ]),
    ).to.deep.equal([["dev-launch-state", "dev", "d#", true]]);
    expect(sqs.calls()).to.have.length(0);
    documents.restore();
  });
});

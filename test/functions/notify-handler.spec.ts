import { createRequire } from "node:module";
import * as path from "node:path";
import { expect } from "chai";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { z } from "zod";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type * as NotifyModule from "../../functions/notify/index";
import { LocalDynamo, fakeContext, fixtureText, startLocalDynamo } from "./support";

const SLACK_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbt-pipeline-prod-slack-webhook-AbCdEf";
const WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX";
const BUCKET = "dbt-pipeline-prod-artifacts-123456789012";
const ALERT_TOPIC = "arn:aws:sns:eu-west-1:123456789012:dbt-pipeline-prod-alerts";
const OK_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/dbt-pipeline-prod-dbt/7c1a2b3c4d5e4f708192a3b4c5d6e7f8";
const FAILED_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/dbt-pipeline-prod-dbt/9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b";
const NOSTART_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/dbt-pipeline-prod-dbt/0f1e2d3c4b5a49687766554433221100";
const INDEX = path.join(__dirname, "..", "..", "functions", "notify", "index.ts");
/** Loads INDEX again once it is deleted from the cache: each cold start is a new module instance. */
const loadModule = createRequire(__filename);

/** An alert-topic delivery of one message. */
function alert(messageId: string, message: string, subject: string) {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: `${ALERT_TOPIC}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
        Sns: {
          Type: "Notification",
          MessageId: messageId,
          TopicArn: ALERT_TOPIC,
          Subject: subject,
          Message: message,
          Timestamp: "2026-11-22T13:00:00.000Z",
          SignatureVersion: "1",
          Signature: "EXAMPLE",
          SigningCertUrl: "https://sns.eu-west-1.amazonaws.com/cert.pem",
          UnsubscribeUrl: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
          MessageAttributes: {},
        },
      },
    ],
  };
}

const SYNC_FAILED = alert(
  "0c1b7f3e-1111-4a2b-9c3d-aaaaaaaaaaaa",
  JSON.stringify({
    kind: "dbt_pipeline_alert",
    alert: "sync_failed",
    target: "prod",
    summary: "Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK",
    vendor: "fivetran",
    source: "stripe",
    connector: "warranty_bullish",
    syncId: "7c1d9a4e",
    status: "FAILURE_WITH_TASK",
    delivery: "fivetran:7c1d9a4e:failed",
  }),
  "dbt-pipeline prod: Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK",
);
const OTHER_ALERT = alert("0c1b7f3e-8888-4a2b-9c3d-aaaaaaaaaaac", "disk 90% and rising", "Something else");
const task = (file: string): unknown => JSON.parse(fixtureText(`ecs/${file}.json`));

const SYNC_TEXT = "dbt-pipeline prod: Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK";
const FAILED_TEXT = "dbt-pipeline prod: dbt build failed (exit 1), 2 failing nodes";
const OTHER_TEXT = "dbt-pipeline prod: Something else";
const NOSTART_TEXT = "dbt-pipeline prod: dbt build did not start (TaskFailedToStart)";

const OK_RESULT = {
  kind: "run",
  taskArn: OK_TASK,
  runId: "20261122t100000-3f9a1c2e",
  status: "success",
  paged: null,
  reason: "still-passing",
};
const FAILED_RESULT = {
  kind: "run",
  taskArn: FAILED_TASK,
  runId: "20261122t110000-8b2d4f6a",
  status: "failed",
  paged: "failure",
  reason: "first-failure",
};
const NOSTART_RESULT = {
  kind: "run",
  taskArn: NOSTART_TASK,
  runId: "20261122t120000-1c3e5a7b",
  status: "not_started",
  paged: "failure",
  reason: "changed-failure",
};
const FORWARDED = { kind: "alerts", forwarded: 1, skipped: 0 };

/**
 * The real notify handler (its module-scope clients, persistence layers and secret cache) kept warm
 * across a day of mixed events, as one Lambda execution environment sees them. A fresh module
 * instance per sequence; DynamoDB is dynalite, reached through the SDK's service endpoint variable.
 */
describe("notify handler: one warm instance, mixed events", () => {
  const saved = { ...process.env };
  const realFetch = globalThis.fetch;
  let dynamo: LocalDynamo;
  let tables = 0;
  let s3: AwsClientStub<S3Client>;
  let sns: AwsClientStub<SNSClient>;
  let events: AwsClientStub<EventBridgeClient>;
  let secrets: AwsClientStub<SecretsManagerClient>;
  let slackTexts: string[];

  before(async () => {
    dynamo = await startLocalDynamo();
    s3 = mockClient(S3Client);
    sns = mockClient(SNSClient);
    events = mockClient(EventBridgeClient);
    secrets = mockClient(SecretsManagerClient);
  });
  after(async () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    globalThis.fetch = realFetch;
    delete require.cache[INDEX];
    await dynamo.close();
  });

  /** A new module instance of functions/notify/index.ts on a new, empty table. */
  async function coldStart(): Promise<typeof NotifyModule.handler> {
    const table = `notify-warm-${++tables}`;
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    Object.assign(process.env, {
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
      ENVIRONMENT: "prod",
      ARTIFACT_BUCKET: BUCKET,
      EVENT_BUS_NAME: "dbt-pipeline-prod-runs",
      ALERT_TOPIC_ARN: ALERT_TOPIC,
      SLACK_SECRET_ARN: SLACK_ARN,
      LOG_GROUP_NAME: "/ecs/dbt-pipeline-prod-dbt",
      LOG_STREAM_PREFIX: "run",
      STATE_TABLE: table,
    });
    delete require.cache[INDEX];
    return (loadModule(INDEX) as typeof NotifyModule).handler;
  }

  beforeEach(() => {
    for (const stub of [s3, sns, events, secrets]) stub.reset();
    slackTexts = [];
    globalThis.fetch = ((url: string, init: RequestInit) => {
      expect(url).to.equal(WEBHOOK);
      if (typeof init.body !== "string") throw new Error(`expected a JSON string body, got ${typeof init.body}`);
      slackTexts.push(z.object({ text: z.string() }).parse(JSON.parse(init.body)).text);
      return Promise.resolve(new Response("ok", { status: 200 }));
    }) as typeof fetch;
    secrets.on(GetSecretValueCommand, { SecretId: SLACK_ARN }).resolves({ SecretString: WEBHOOK });
    sns.on(PublishCommand).resolves({ MessageId: "11111111-2222-3333-4444-555555555555" });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
    const results = (runId: string, file: string) =>
      s3
        .on(GetObjectCommand, { Bucket: BUCKET, Key: `prod/runs/${runId}/run_results.json` })
        .resolves({ Body: { transformToString: () => Promise.resolve(fixtureText(file)) } as never });
    results("20261122t100000-3f9a1c2e", "dbt/run_results-success.json");
    results("20261122t110000-8b2d4f6a", "dbt/run_results-failed.json");
  });

  const runEvents = () => events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries![0].Resources);
  const pages = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject);

  it("handles each event once when an alert arrives before the first task event", async () => {
    // Prepare
    const handler = await coldStart();
    const sequence = [
      SYNC_FAILED,
      task("task-stopped-success"),
      task("task-stopped-dbt-failed"),
      SYNC_FAILED,
      task("task-stopped-dbt-failed"),
      OTHER_ALERT,
      task("task-failed-to-start"),
    ];
    // Act
    const results = [];
    for (const event of sequence) results.push(await handler(event, fakeContext));
    // Assess
    expect(results).to.deep.equal([
      FORWARDED,
      OK_RESULT,
      FAILED_RESULT,
      FORWARDED,
      FAILED_RESULT,
      FORWARDED,
      NOSTART_RESULT,
    ]);
    expect(slackTexts).to.deep.equal([SYNC_TEXT, FAILED_TEXT, OTHER_TEXT, NOSTART_TEXT]);
    expect(pages()).to.deep.equal([FAILED_TEXT, NOSTART_TEXT]);
    expect(runEvents()).to.deep.equal([[OK_TASK], [FAILED_TASK], [NOSTART_TASK]]);
  });

  it("handles each event once when a task event arrives before the first alert", async () => {
    // Prepare
    const handler = await coldStart();
    const sequence = [
      task("task-stopped-success"),
      SYNC_FAILED,
      task("task-stopped-dbt-failed"),
      task("task-stopped-dbt-failed"),
      SYNC_FAILED,
      task("task-failed-to-start"),
      OTHER_ALERT,
    ];
    // Act
    const results = [];
    for (const event of sequence) results.push(await handler(event, fakeContext));
    // Assess
    expect(results).to.deep.equal([
      OK_RESULT,
      FORWARDED,
      FAILED_RESULT,
      FAILED_RESULT,
      FORWARDED,
      NOSTART_RESULT,
      FORWARDED,
    ]);
    expect(slackTexts).to.deep.equal([SYNC_TEXT, FAILED_TEXT, NOSTART_TEXT, OTHER_TEXT]);
    expect(pages()).to.deep.equal([FAILED_TEXT, NOSTART_TEXT]);
    expect(runEvents()).to.deep.equal([[OK_TASK], [FAILED_TASK], [NOSTART_TASK]]);
  });

  it("fails its cold start naming every variable the deployment left out", async () => {
    // Prepare
    await coldStart();
    const saved = { EVENT_BUS_NAME: process.env.EVENT_BUS_NAME, STATE_TABLE: process.env.STATE_TABLE };
    process.env.EVENT_BUS_NAME = " ";
    delete process.env.STATE_TABLE;
    delete require.cache[INDEX];
    try {
      // Act
      const error = (() => {
        try {
          loadModule(INDEX);
        } catch (e) {
          return e as Error;
        }
        throw new Error("expected the cold start to fail");
      })();
      // Assess
      expect(error.name).to.equal("ConfigurationError");
      expect(error.message).to.equal(
        [
          "notify: invalid environment:",
          "✖ is not set; the deployment must set it",
          "  → at EVENT_BUS_NAME",
          "✖ is not set; the deployment must set it",
          "  → at STATE_TABLE",
        ].join("\n"),
      );
    } finally {
      Object.assign(process.env, saved);
      delete require.cache[INDEX];
    }
  });
});

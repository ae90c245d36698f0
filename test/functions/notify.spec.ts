import { AddressInfo } from "node:net";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Context } from "aws-lambda";
import { expect } from "chai";
import { mockClient } from "aws-sdk-client-mock";
import { z } from "zod";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import dynalite from "dynalite";
import { SecretCache } from "../../functions/lib/secrets";
import { SlackMessage } from "../../functions/lib/slack";
import { NotifySettings, UnsupportedEventError, createNotifier, secretSlackSender } from "../../functions/notify/core";
import { dynamoStateStore } from "../../functions/notify/state";

const FIXTURES = path.join(__dirname, "..", "fixtures");
const text = (file: string) => fs.readFileSync(path.join(FIXTURES, file), "utf8");
/** The fields of fixtures these specs change; every other field is kept as the fixture has it. */
const TaskEvent = z.looseObject({ id: z.string(), time: z.string(), detail: z.looseObject({ taskArn: z.string() }) });
const RunResults = z.looseObject({ results: z.array(z.looseObject({ unique_id: z.string() })) });
/** An ECS task state change event from test/fixtures/ecs. */
const taskEvent = (file: string) => TaskEvent.parse(JSON.parse(text(file)));
/** A run_results.json from test/fixtures/dbt. */
const resultsFixture = (file: string) => RunResults.parse(JSON.parse(text(file)));

const settings: NotifySettings = {
  environment: "prod",
  artifactBucket: "dbt-pipeline-prod-artifacts-123456789012",
  eventBusName: "dbt-pipeline-prod-runs",
  alertTopicArn: "arn:aws:sns:eu-west-1:123456789012:dbt-pipeline-prod-alerts",
  slackSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbt-pipeline-prod-slack-webhook-AbCdEf",
  logGroupName: "/ecs/dbt-pipeline-prod-dbt",
  logStreamPrefix: "run",
};
const WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXXXXX";
const FAILED_RUN = "20261122t110000-8b2d4f6a";
const OK_RUN = "20261122t100000-3f9a1c2e";
const FAILED_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/dbt-pipeline-prod-dbt/9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b";
const OK_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/dbt-pipeline-prod-dbt/7c1a2b3c4d5e4f708192a3b4c5d6e7f8";
const NOSTART_TASK = "arn:aws:ecs:eu-west-1:123456789012:task/dbt-pipeline-prod-dbt/0f1e2d3c4b5a49687766554433221100";
const logs = (taskId: string) =>
  `https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fdbt-pipeline-prod-dbt/log-events/run$252Fdbt$252F${taskId}`;
const CONTEXT = {
  functionName: "dbt-pipeline-prod-notify",
  awsRequestId: "c6af9ac6-7b61-11e6-9a41-93e812345678",
  getRemainingTimeInMillis: () => 55_000,
} as unknown as Context;
const ORIGIN = { origin: { DataType: "String", StringValue: "dbt-pipeline-notify" } };

const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);
const events = mockClient(EventBridgeClient);
const secrets = mockClient(SecretsManagerClient);

/** A copy of a fixture event for another task that stopped `minutesLater`. */
function laterCopy(file: string, taskId: string, minutesLater: number): z.infer<typeof TaskEvent> {
  const event = taskEvent(file);
  const shift = (iso: string) => new Date(Date.parse(iso) + minutesLater * 60_000).toISOString();
  const d = event.detail;
  d.taskArn = d.taskArn.replace(/[0-9a-f]{32}$/, taskId);
  for (const key of [
    "createdAt",
    "startedAt",
    "stoppingAt",
    "stoppedAt",
    "updatedAt",
    "executionStoppedAt",
    "pullStartedAt",
    "pullStoppedAt",
    "connectivityAt",
  ]) {
    const value = d[key];
    if (typeof value === "string" && value) d[key] = shift(value);
  }
  event.time = shift(event.time);
  event.id = `${event.id.slice(0, 24)}${taskId.slice(0, 12)}`;
  return event;
}

function runResults(key: string, file: string) {
  s3.on(GetObjectCommand, { Bucket: settings.artifactBucket, Key: key }).resolves({
    Body: { transformToString: () => Promise.resolve(text(file)) } as never,
  });
}

describe("notify", () => {
  let server: import("node:http").Server;
  let endpoint: string;
  let tables = 0;

  before(async () => {
    server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  let posted: { url: string; message: SlackMessage }[];
  let metrics: Metrics;
  let slackDown: boolean;

  async function notifier(opts: { slack?: boolean } = {}) {
    const table = `notify-${++tables}`;
    const dynamo = new DynamoDBClient({
      endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    await dynamo.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    metrics = new Metrics({ namespace: "DbtPipeline", serviceName: "notify" });
    metrics.clearDefaultDimensions();
    metrics.setDefaultDimensions({ environment: "prod" });
    const slackSecretArn = opts.slack === false ? undefined : settings.slackSecretArn;
    const notifier = createNotifier({
      settings: { ...settings, slackSecretArn },
      s3: new S3Client({ region: "eu-west-1" }),
      sns: new SNSClient({ region: "eu-west-1" }),
      events: new EventBridgeClient({ region: "eu-west-1" }),
      slack: secretSlackSender(
        new SecretCache(new SecretsManagerClient({ region: "eu-west-1" })),
        slackSecretArn,
        (url, message) => {
          if (slackDown) return Promise.reject(new Error("Slack webhook answered HTTP 503: no_service"));
          posted.push({ url, message });
          return Promise.resolve();
        },
      ),
      state: dynamoStateStore(DynamoDBDocumentClient.from(dynamo), table),
      persistence: () => new DynamoDBPersistenceLayer({ tableName: table, awsSdkV3Client: dynamo }),
      metrics,
      logger: new Logger({ logLevel: "SILENT" }),
    });
    return { handle: (event: unknown) => notifier.handle(event, CONTEXT) };
  }

  /** Metric values recorded so far, then cleared. */
  function recordedMetrics(): Record<string, unknown> {
    if (!metrics.hasStoredMetrics()) return {};
    const emf = metrics.serializeMetrics() as unknown as Record<string, unknown>;
    metrics.clearMetrics();
    const { _aws, ...values } = emf as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } };
    expect(_aws.CloudWatchMetrics[0].Namespace).to.equal("DbtPipeline");
    expect(_aws.CloudWatchMetrics[0].Dimensions).to.deep.equal([["environment"]]);
    return values;
  }

  const publishes = () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
  const putEvents = () => events.commandCalls(PutEventsCommand).map((c) => c.args[0].input);
  const detailOf = (input: { Entries?: { Detail?: string }[] }) =>
    z.record(z.string(), z.unknown()).parse(JSON.parse(input.Entries![0].Detail!));

  beforeEach(() => {
    s3.reset();
    sns.reset();
    events.reset();
    secrets.reset();
    posted = [];
    slackDown = false;
    sns.on(PublishCommand).resolves({ MessageId: "11111111-2222-3333-4444-555555555555" });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: "e-1" }] });
    secrets.on(GetSecretValueCommand, { SecretId: settings.slackSecretArn }).resolves({ SecretString: `${WEBHOOK}\n` });
    runResults(`prod/runs/${FAILED_RUN}/run_results.json`, "dbt/run_results-failed.json");
    runResults(`prod/runs/${OK_RUN}/run_results.json`, "dbt/run_results-success.json");
  });

  describe("a failed dbt run (dbt exit 1, upload exit 0)", () => {
    it("pages Slack and the alert topic and publishes dbt.run.completed", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      const result = await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(result).to.deep.equal({
        kind: "run",
        taskArn: FAILED_TASK,
        runId: FAILED_RUN,
        status: "failed",
        paged: "failure",
        reason: "first-failure",
      });
      expect(posted).to.deep.equal([
        {
          url: WEBHOOK,
          message: {
            text: "dbt-pipeline prod: dbt build failed (exit 1), 2 failing nodes",
            blocks: [
              {
                type: "section",
                text: {
                  type: "mrkdwn",
                  text: ":red_circle: *dbt-pipeline prod: dbt build failed (exit 1), 2 failing nodes*\n`--select source:stripe+ tag:dashboard --exclude tag:heavy` · 2m 52s · 1 model built",
                },
              },
              {
                type: "section",
                text: {
                  type: "mrkdwn",
                  text:
                    "*Failing (2)*\n" +
                    "• `model.analytics.stg_stripe__customers` error: Database Error in model stg_stripe__customers (models/staging/stripe/stg_stripe__customers.sql) 000904 (42000): SQL compilation error: error line 4 at position 8 invalid identifier 'EMAIL_ADDRESS' ...\n" +
                    "• `test.analytics.unique_stg_stripe__charges_charge_id.9a8b7c6d5e` fail: Got 3 results, configured to fail if != 0",
                },
              },
              {
                type: "context",
                elements: [
                  {
                    type: "mrkdwn",
                    text: `run \`${FAILED_RUN}\` · <${logs("9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b")}|dbt logs>`,
                  },
                ],
              },
            ],
          },
        },
      ]);
      expect(publishes()).to.deep.equal([
        {
          TopicArn: settings.alertTopicArn,
          Subject: "dbt-pipeline prod: dbt build failed (exit 1), 2 failing nodes",
          Message: [
            "dbt-pipeline prod: dbt build failed (exit 1), 2 failing nodes after 2m 52s.",
            "Selection: --select source:stripe+ tag:dashboard --exclude tag:heavy",
            "Failing nodes (2):",
            "- model.analytics.stg_stripe__customers (error): Database Error in model stg_stripe__customers (models/staging/stripe/stg_stripe__customers.sql) 000904 (42000): SQL compilation error: error line 4 at position 8 invalid identifier 'EMAIL_ADDRESS' ...",
            "- test.analytics.unique_stg_stripe__charges_charge_id.9a8b7c6d5e (fail): Got 3 results, configured to fail if != 0",
            `Run: ${FAILED_RUN} (task 9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b), 1 failed run in a row.`,
            `Logs: ${logs("9e8d7c6b5a4f4e3d2c1b0a9f8e7d6c5b")}`,
            `Run results: s3://${settings.artifactBucket}/prod/runs/${FAILED_RUN}/run_results.json`,
          ].join("\n"),
          MessageAttributes: ORIGIN,
        },
      ]);
      const put = putEvents();
      expect(put).to.have.length(1);
      expect({ ...put[0].Entries![0], Detail: undefined }).to.deep.equal({
        EventBusName: "dbt-pipeline-prod-runs",
        Source: "dbt-pipeline",
        DetailType: "dbt.run.completed",
        Detail: undefined,
        Resources: [FAILED_TASK],
      });
      expect(detailOf(put[0])).to.deep.equal({
        environment: "prod",
        runId: FAILED_RUN,
        taskArn: FAILED_TASK,
        status: "failed",
        exitCode: 1,
        stopReason: null,
        command: "build",
        selection: {
          select: ["source:stripe+", "tag:dashboard"],
          exclude: ["tag:heavy"],
          selector: null,
          fullRefresh: false,
        },
        startedAt: "2026-11-22T11:00:40.250Z",
        endedAt: "2026-11-22T11:03:32.250Z",
        durationSeconds: 172,
        modelsBuilt: 1,
        failures: [
          {
            uniqueId: "model.analytics.stg_stripe__customers",
            resourceType: "model",
            status: "error",
            message:
              "Database Error in model stg_stripe__customers (models/staging/stripe/stg_stripe__customers.sql) 000904 (42000): SQL compilation error: error line 4 at position 8 invalid identifier 'EMAIL_ADDRESS' compiled code at target/run/analytics/models/staging/stripe/stg_stripe__customers.sql",
          },
          {
            uniqueId: "test.analytics.unique_stg_stripe__charges_charge_id.9a8b7c6d5e",
            resourceType: "test",
            status: "fail",
            message: "Got 3 results, configured to fail if != 0",
          },
        ],
        failureCount: 2,
        artifacts: {
          bucket: settings.artifactBucket,
          prefix: `prod/runs/${FAILED_RUN}/`,
          runResults: `s3://${settings.artifactBucket}/prod/runs/${FAILED_RUN}/run_results.json`,
          manifest: `s3://${settings.artifactBucket}/prod/runs/${FAILED_RUN}/manifest.json`,
        },
      });
      expect(recordedMetrics()).to.deep.equal({
        environment: "prod",
        RunSucceeded: 0,
        RunFailed: 1,
        ConsecutiveFailures: 1,
        RunDurationSeconds: 172,
        TriggerToStartSeconds: 40,
      });
    });

    it("sends nothing for a duplicate delivery of the same event", async () => {
      // Prepare
      const notify = await notifier();
      const first = await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));
      posted = [];
      sns.resetHistory();
      events.resetHistory();
      s3.resetHistory();
      recordedMetrics();

      // Act
      const second = await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(second).to.deep.equal(first);
      expect(posted).to.deep.equal([]);
      expect(publishes()).to.deep.equal([]);
      expect(putEvents()).to.deep.equal([]);
      expect(s3.commandCalls(GetObjectCommand)).to.have.length(0);
      expect(recordedMetrics()).to.deep.equal({});
    });

    it("does not page again while the same nodes keep failing, and pages when the set changes", async () => {
      // Prepare
      const notify = await notifier();
      await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));
      posted = [];
      sns.resetHistory();
      recordedMetrics();

      // Act: the same failure an hour later, in another task of another run (same run_results)
      const again = await notify.handle(
        laterCopy("ecs/task-stopped-dbt-failed.json", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 60),
      );

      // Assess
      expect(again).to.deep.include({ paged: null, reason: "same-failure" });
      expect(posted).to.deep.equal([]);
      expect(publishes()).to.deep.equal([]);
      expect(putEvents()).to.have.length(2);
      expect(recordedMetrics()).to.deep.include({ RunFailed: 1, ConsecutiveFailures: 2 });

      // Act: a third run where only the test fails
      const changed = laterCopy("ecs/task-stopped-dbt-failed.json", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 120);
      const results = resultsFixture("dbt/run_results-failed.json");
      results.results = results.results.filter((r) => r.unique_id !== "model.analytics.stg_stripe__customers");
      s3.on(GetObjectCommand, { Key: `prod/runs/${FAILED_RUN}/run_results.json` }).resolves({
        Body: { transformToString: () => Promise.resolve(JSON.stringify(results)) } as never,
      });
      const third = await notify.handle(changed);

      // Assess
      expect(third).to.deep.include({ paged: "failure", reason: "changed-failure" });
      expect(posted).to.have.length(1);
      expect(posted[0].message.text).to.equal("dbt-pipeline prod: dbt build failed (exit 1), 1 failing node");
      expect(posted[0].message.blocks[2]).to.deep.equal({
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `run \`${FAILED_RUN}\` · 3 failed runs in a row · <${logs("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")}|dbt logs>`,
          },
        ],
      });
      expect(publishes()).to.have.length(1);
      expect(recordedMetrics()).to.deep.include({ ConsecutiveFailures: 3 });
    });

    it("retries a page that failed: the redelivery pages instead of counting as the same failure", async () => {
      // Prepare
      const notify = await notifier();
      slackDown = true;
      let error: unknown;
      try {
        await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));
      } catch (err) {
        error = err;
      }
      expect((error as Error).message).to.equal("Slack webhook answered HTTP 503: no_service");
      expect(putEvents()).to.deep.equal([]);
      slackDown = false;

      // Act
      const retried = await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(retried).to.deep.include({ paged: "failure", reason: "redelivery" });
      expect(posted).to.have.length(1);
      expect(publishes()).to.have.length(1);
      expect(putEvents()).to.have.length(1);
      expect(recordedMetrics()).to.deep.include({ RunFailed: 1, ConsecutiveFailures: 1 });
    });
  });

  describe("a successful run", () => {
    it("pages nothing after a success and publishes the run event", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      const result = await notify.handle(taskEvent("ecs/task-stopped-success.json"));

      // Assess
      expect(result).to.deep.equal({
        kind: "run",
        taskArn: OK_TASK,
        runId: OK_RUN,
        status: "success",
        paged: null,
        reason: "still-passing",
      });
      expect(posted).to.deep.equal([]);
      expect(publishes()).to.deep.equal([]);
      expect(detailOf(putEvents()[0])).to.deep.equal({
        environment: "prod",
        runId: OK_RUN,
        taskArn: OK_TASK,
        status: "success",
        exitCode: 0,
        stopReason: null,
        command: "build",
        selection: {
          select: ["source:stripe+", "tag:dashboard"],
          exclude: ["tag:heavy"],
          selector: null,
          fullRefresh: false,
        },
        startedAt: "2026-11-22T10:00:41.800Z",
        endedAt: "2026-11-22T10:04:53.800Z",
        durationSeconds: 252,
        modelsBuilt: 3,
        failures: [],
        failureCount: 0,
        artifacts: {
          bucket: settings.artifactBucket,
          prefix: `prod/runs/${OK_RUN}/`,
          runResults: `s3://${settings.artifactBucket}/prod/runs/${OK_RUN}/run_results.json`,
          manifest: `s3://${settings.artifactBucket}/prod/runs/${OK_RUN}/manifest.json`,
        },
      });
      expect(recordedMetrics()).to.deep.equal({
        environment: "prod",
        RunSucceeded: 1,
        RunFailed: 0,
        ConsecutiveFailures: 0,
        RunDurationSeconds: 252,
        TriggerToStartSeconds: 42,
      });
    });

    it("pages a recovery after failures", async () => {
      // Prepare
      const notify = await notifier();
      await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));
      await notify.handle(laterCopy("ecs/task-stopped-dbt-failed.json", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 60));
      posted = [];
      sns.resetHistory();

      // Act: the successful run two hours after the first failure
      const result = await notify.handle(
        laterCopy("ecs/task-stopped-success.json", "cccccccccccccccccccccccccccccccc", 180),
      );

      // Assess
      expect(result).to.deep.include({ status: "success", paged: "recovery", reason: "recovery" });
      expect(posted).to.deep.equal([
        {
          url: WEBHOOK,
          message: {
            text: "dbt-pipeline prod: dbt build succeeded again after 2 failed runs",
            blocks: [
              {
                type: "section",
                text: {
                  type: "mrkdwn",
                  text: ":large_green_circle: *dbt-pipeline prod: dbt build succeeded again after 2 failed runs*\n`--select source:stripe+ tag:dashboard --exclude tag:heavy` · 4m 12s · 3 models built",
                },
              },
              {
                type: "context",
                elements: [
                  {
                    type: "mrkdwn",
                    text: `run \`${OK_RUN}\` · <${logs("cccccccccccccccccccccccccccccccc")}|dbt logs>`,
                  },
                ],
              },
            ],
          },
        },
      ]);
      expect(publishes()).to.deep.equal([
        {
          TopicArn: settings.alertTopicArn,
          Subject: "dbt-pipeline prod: dbt build succeeded again after 2 failed runs",
          Message: [
            "dbt-pipeline prod: dbt build succeeded again after 2 failed runs after 4m 12s.",
            "Selection: --select source:stripe+ tag:dashboard --exclude tag:heavy",
            `Run: ${OK_RUN} (task cccccccccccccccccccccccccccccccc).`,
            `Logs: ${logs("cccccccccccccccccccccccccccccccc")}`,
            `Run results: s3://${settings.artifactBucket}/prod/runs/${OK_RUN}/run_results.json`,
          ].join("\n"),
          MessageAttributes: ORIGIN,
        },
      ]);
    });

    it("ignores an older failure that arrives after a newer success (out of order)", async () => {
      // Prepare
      const notify = await notifier();
      await notify.handle(laterCopy("ecs/task-stopped-success.json", "dddddddddddddddddddddddddddddddd", 180));

      // Act
      const result = await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(result).to.deep.include({ status: "failed", paged: null, reason: "out-of-order" });
      expect(posted).to.deep.equal([]);
      expect(publishes()).to.deep.equal([]);
      expect(putEvents()).to.have.length(2);
    });
  });

  describe("a task that failed to start", () => {
    it("reports ECS's reason, reads no run results and pages", async () => {
      // Prepare
      const notify = await notifier();
      const reason =
        "TaskFailedToStart: CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref " +
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbt-pipeline-prod-dbt:git-4f2c9e1: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbt-pipeline-prod-dbt:git-4f2c9e1: not found";

      // Act
      const result = await notify.handle(taskEvent("ecs/task-failed-to-start.json"));

      // Assess
      expect(result).to.deep.equal({
        kind: "run",
        taskArn: NOSTART_TASK,
        runId: "20261122t120000-1c3e5a7b",
        status: "not_started",
        paged: "failure",
        reason: "first-failure",
      });
      expect(s3.commandCalls(GetObjectCommand)).to.have.length(0);
      expect(posted).to.deep.equal([
        {
          url: WEBHOOK,
          message: {
            text: "dbt-pipeline prod: dbt build did not start (TaskFailedToStart)",
            blocks: [
              {
                type: "section",
                text: {
                  type: "mrkdwn",
                  text: `:warning: *dbt-pipeline prod: dbt build did not start (TaskFailedToStart)*\n\`--select source:stripe+ tag:dashboard --exclude tag:heavy\`\n${reason}`,
                },
              },
              {
                type: "context",
                elements: [
                  {
                    type: "mrkdwn",
                    text: `run \`20261122t120000-1c3e5a7b\` · <${logs("0f1e2d3c4b5a49687766554433221100")}|dbt logs>`,
                  },
                ],
              },
            ],
          },
        },
      ]);
      expect(publishes()).to.deep.equal([
        {
          TopicArn: settings.alertTopicArn,
          Subject: "dbt-pipeline prod: dbt build did not start (TaskFailedToStart)",
          Message: [
            "dbt-pipeline prod: dbt build did not start (TaskFailedToStart).",
            "Selection: --select source:stripe+ tag:dashboard --exclude tag:heavy",
            `Reason: ${reason}`,
            "Run: 20261122t120000-1c3e5a7b (task 0f1e2d3c4b5a49687766554433221100), 1 failed run in a row.",
            `Logs: ${logs("0f1e2d3c4b5a49687766554433221100")}`,
          ].join("\n"),
          MessageAttributes: ORIGIN,
        },
      ]);
      expect(detailOf(putEvents()[0])).to.deep.include({
        status: "not_started",
        exitCode: null,
        stopReason: reason,
        startedAt: "2026-11-22T12:00:02.900Z",
        endedAt: "2026-11-22T12:01:41.500Z",
        durationSeconds: 99,
        modelsBuilt: null,
        failures: [],
        failureCount: 0,
      });
      expect(recordedMetrics()).to.deep.equal({
        environment: "prod",
        RunSucceeded: 0,
        RunFailed: 1,
        ConsecutiveFailures: 1,
      });
    });
  });

  describe("edge cases", () => {
    it("reports a failed run whose run_results.json is missing", async () => {
      // Prepare
      const notify = await notifier();
      s3.on(GetObjectCommand, { Key: `prod/runs/${FAILED_RUN}/run_results.json` }).rejects(
        new NoSuchKey({ message: "The specified key does not exist.", $metadata: {} }),
      );

      // Act
      await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(posted[0].message.text).to.equal("dbt-pipeline prod: dbt build failed (exit 1)");
      expect(posted[0].message.blocks[1]).to.deep.equal({
        type: "section",
        text: { type: "mrkdwn", text: "run_results.json could not be read for this run; see the dbt logs." },
      });
      expect(detailOf(putEvents()[0])).to.deep.include({ modelsBuilt: null, failures: [], failureCount: 0 });
    });

    it("still pages when run_results.json is not dbt's format", async () => {
      // Prepare
      const notify = await notifier();
      s3.on(GetObjectCommand, { Key: `prod/runs/${FAILED_RUN}/run_results.json` }).resolves({
        Body: { transformToString: () => Promise.resolve('{"results": "truncated') } as never,
      });

      // Act
      const result = await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(result).to.deep.include({ status: "failed", paged: "failure" });
      expect(posted[0].message.text).to.equal("dbt-pipeline prod: dbt build failed (exit 1)");
      expect(publishes()[0].Message).to.contain("run_results.json could not be read for this run.");
    });

    it("pages the alert topic only when Slack is not configured", async () => {
      // Prepare
      const notify = await notifier({ slack: false });

      // Act
      await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      expect(posted).to.deep.equal([]);
      expect(secrets.commandCalls(GetSecretValueCommand)).to.have.length(0);
      expect(publishes()).to.have.length(1);
    });

    it("reads the Slack secret once within its cache age", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));
      await notify.handle(taskEvent("ecs/task-failed-to-start.json"));

      // Assess
      expect(posted).to.have.length(2);
      expect(secrets.commandCalls(GetSecretValueCommand)).to.have.length(1);
    });

    it("lists at most 10 failing nodes", async () => {
      // Prepare
      const notify = await notifier();
      const results = resultsFixture("dbt/run_results-failed.json");
      results.results = Array.from({ length: 12 }, (_, i) => ({
        ...results.results[2],
        unique_id: `test.analytics.t${String(i).padStart(2, "0")}`,
      }));
      s3.on(GetObjectCommand, { Key: `prod/runs/${FAILED_RUN}/run_results.json` }).resolves({
        Body: { transformToString: () => Promise.resolve(JSON.stringify(results)) } as never,
      });

      // Act
      await notify.handle(taskEvent("ecs/task-stopped-dbt-failed.json"));

      // Assess
      const lines =
        posted[0].message.blocks[1].type === "section" ? posted[0].message.blocks[1].text.text.split("\n") : [];
      expect(lines[0]).to.equal("*Failing (12)*");
      expect(lines.slice(1, 11).map((l) => l.split("`")[1])).to.deep.equal(
        Array.from({ length: 10 }, (_, i) => `test.analytics.t${String(i).padStart(2, "0")}`),
      );
      expect(lines[11]).to.equal("…and 2 more");
      expect(lines).to.have.length(12);
      expect(detailOf(putEvents()[0]).failureCount).to.equal(12);
    });

    it("ignores a task that is not STOPPED", async () => {
      // Prepare
      const notify = await notifier();
      const event = taskEvent("ecs/task-stopped-success.json");
      event.detail.lastStatus = "RUNNING";

      // Act
      const result = await notify.handle(event);

      // Assess
      expect(result).to.deep.equal({ kind: "ignored", reason: "task is RUNNING, not STOPPED" });
      expect(putEvents()).to.deep.equal([]);
    });

    it("rejects anything else with a message naming what was expected", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      let error: unknown;
      try {
        await notify.handle({
          version: "0",
          id: "5c1f0d9e-0000-4b2a-9c3d-000000000001",
          "detail-type": "Object Created",
          source: "aws.s3",
          account: "123456789012",
          time: "2026-11-22T10:00:00Z",
          region: "eu-west-1",
          resources: ["arn:aws:s3:::dbt-pipeline-prod-artifacts"],
          detail: { version: "0" },
        });
      } catch (err) {
        error = err;
      }

      // Assess
      expect(error).to.be.instanceOf(UnsupportedEventError);
      expect((error as Error).message).to.equal(
        [
          "expected an ECS Task State Change event or an SNS delivery:",
          '✖ Invalid input: expected "aws.ecs"',
          "  → at source",
          '✖ Invalid input: expected "ECS Task State Change"',
          '  → at ["detail-type"]',
          "✖ Invalid input: expected string, received undefined",
          "  → at detail.clusterArn",
          "✖ Invalid input: expected string, received undefined",
          "  → at detail.taskArn",
          "✖ Invalid input: expected string, received undefined",
          "  → at detail.lastStatus",
        ].join("\n"),
      );
    });
  });

  describe("alerts from the alert topic", () => {
    const record = (
      id: string,
      message: unknown,
      subject: string | null,
      attributes: Record<string, unknown> = {},
    ) => ({
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: `${settings.alertTopicArn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55`,
      Sns: {
        Type: "Notification",
        MessageId: id,
        TopicArn: settings.alertTopicArn,
        Subject: subject,
        Message: typeof message === "string" ? message : JSON.stringify(message),
        Timestamp: "2026-11-22T13:00:00.000Z",
        SignatureVersion: "1",
        Signature: "EXAMPLE",
        SigningCertUrl: "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
        UnsubscribeUrl: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        MessageAttributes: attributes,
      },
    });
    const fivetranFailed = {
      kind: "dbt_pipeline_alert",
      alert: "sync_failed",
      target: "prod",
      summary: "Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK",
      vendor: "fivetran",
      source: "stripe",
      connector: "warranty_bullish",
      syncId: "7c1d9a4e",
      status: "FAILURE_WITH_TASK",
      reason: "Invalid API key <redacted> & expired",
      delivery: "fivetran:7c1d9a4e:failed",
    };

    it("turns a failed sync into a Slack message and never re-publishes it to SNS", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      const result = await notify.handle({
        Records: [
          record(
            "0c1b7f3e-1111-4a2b-9c3d-aaaaaaaaaaaa",
            fivetranFailed,
            "dbt-pipeline prod: Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK",
            { alert: { Type: "String", Value: "sync_failed" } },
          ),
        ],
      });

      // Assess
      expect(result).to.deep.equal({ kind: "alerts", forwarded: 1, skipped: 0 });
      expect(posted).to.deep.equal([
        {
          url: WEBHOOK,
          message: {
            text: "dbt-pipeline prod: Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK",
            blocks: [
              {
                type: "section",
                text: {
                  type: "mrkdwn",
                  text: ":x: *dbt-pipeline prod: Fivetran sync 7c1d9a4e of source stripe ended with status FAILURE_WITH_TASK*\nInvalid API key &lt;redacted&gt; &amp; expired\nNo dbt run was queued for it.",
                },
              },
            ],
          },
        },
      ]);
      expect(publishes()).to.deep.equal([]);
      expect(putEvents()).to.deep.equal([]);
      expect(recordedMetrics()).to.deep.equal({});
    });

    it("forwards a message delivered twice once", async () => {
      // Prepare
      const notify = await notifier();
      const event = { Records: [record("0c1b7f3e-2222-4a2b-9c3d-bbbbbbbbbbbb", fivetranFailed, null)] };
      await notify.handle(event);

      // Act
      await notify.handle(event);

      // Assess
      expect(posted).to.have.length(1);
    });

    it("turns Snowflake's USER_TASK_FAILED payload into a Slack message", async () => {
      // Prepare: Snowflake's documented error-integration payload (Snowflake docs, "Task error notification payload")
      const notify = await notifier();
      const payload = {
        version: "1.0",
        messageId: "3ff1eff0-7ad5-4ac2-a6a3-c0b5c45a9a4b",
        messageType: "USER_TASK_FAILED",
        timestamp: "2026-11-22T12:46:39.648Z",
        accountName: "ACME_DATA",
        taskName: "DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED",
        taskId: "01a2b3c4-0000-0001-0000-000000000001",
        rootTaskName: "DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED",
        rootTaskId: "01a2b3c4-0000-0001-0000-000000000001",
        messages: [
          {
            runId: "2026-11-22T12:45:00Z",
            scheduledTime: "2026-11-22T12:45:00Z",
            queryStartTime: "2026-11-22T12:45:01.004Z",
            completedTime: "null",
            queryId: "01b8a1c2-0000-4a5b-0000-0001a2b3c4ff",
            errorCode: "000630",
            errorMessage: "Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.",
          },
        ],
      };

      // Act
      await notify.handle({ Records: [record("0c1b7f3e-3333-4a2b-9c3d-cccccccccccc", payload, null)] });

      // Assess
      expect(posted[0].message).to.deep.equal({
        text: "dbt-pipeline prod: Snowflake task DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED failed",
        blocks: [
          {
            type: "section",
            text: {
              type: "mrkdwn",
              text: ":snowflake: *dbt-pipeline prod: Snowflake task DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED failed*\n000630 Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.",
            },
          },
          {
            type: "context",
            elements: [
              { type: "mrkdwn", text: "query `01b8a1c2-0000-4a5b-0000-0001a2b3c4ff` · scheduled 2026-11-22T12:45:00Z" },
            ],
          },
        ],
      });
      expect(publishes()).to.deep.equal([]);
    });

    it("links the Airbyte connection of a failed Airbyte job", async () => {
      // Prepare
      const notify = await notifier();
      const airbyteFailed = {
        kind: "dbt_pipeline_alert",
        alert: "sync_failed",
        target: "prod",
        summary: "Airbyte job 4821 of source hubspot failed",
        vendor: "airbyte",
        source: "hubspot",
        connection: "5c1f0a2e-8d3b-4c6a-b7e9-0a1b2c3d4e5f",
        connectionName: "HubSpot → Snowflake",
        connectionUrl: "https://airbyte.example.com/workspaces/w1/connections/5c1f0a2e-8d3b-4c6a-b7e9-0a1b2c3d4e5f",
        jobId: "4821",
        errorType: "config_error",
        errorOrigin: "source",
        errorMessage: "HTTP 401: token expired",
        delivery: "airbyte:4821:failed",
      };

      // Act
      await notify.handle({
        Records: [
          record(
            "0c1b7f3e-6666-4a2b-9c3d-ffffffffffff",
            airbyteFailed,
            "dbt-pipeline prod: Airbyte job 4821 of source hubspot failed",
          ),
        ],
      });

      // Assess
      expect(posted[0].message).to.deep.equal({
        text: "dbt-pipeline prod: Airbyte job 4821 of source hubspot failed",
        blocks: [
          {
            type: "section",
            text: {
              type: "mrkdwn",
              text: ":x: *dbt-pipeline prod: Airbyte job 4821 of source hubspot failed*\nHTTP 401: token expired\nNo dbt run was queued for it.",
            },
          },
          {
            type: "context",
            elements: [
              {
                type: "mrkdwn",
                text: "<https://airbyte.example.com/workspaces/w1/connections/5c1f0a2e-8d3b-4c6a-b7e9-0a1b2c3d4e5f|open the connection>",
              },
            ],
          },
        ],
      });
      expect(publishes()).to.deep.equal([]);
    });

    it("turns a Snowflake task failure relayed by dispatch into the same message as the direct one", async () => {
      // Prepare
      const notify = await notifier();
      const relayed = {
        kind: "dbt_pipeline_alert",
        alert: "snowflake_task_failed",
        target: "prod",
        summary: "Snowflake task DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED failed (error 000630)",
        taskName: "DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED",
        scheduledTime: "2026-11-22T12:45:00Z",
        queryId: "01b8a1c2-0000-4a5b-0000-0001a2b3c4ff",
        errorCode: "000630",
        errorMessage: "Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.",
        delivery: "snowflake-task-failed:3ff1eff0",
      };

      // Act
      await notify.handle({
        Records: [
          record("0c1b7f3e-7777-4a2b-9c3d-aaaaaaaaaaab", relayed, null, {
            alert: { Type: "String", Value: "snowflake_task_failed" },
          }),
        ],
      });

      // Assess
      expect(posted[0].message.text).to.equal(
        "dbt-pipeline prod: Snowflake task DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED failed",
      );
      expect(posted[0].message.blocks[0]).to.deep.equal({
        type: "section",
        text: {
          type: "mrkdwn",
          text: ":snowflake: *dbt-pipeline prod: Snowflake task DBT_PIPELINE_PROD.RAW.STRIPE_CHARGES_LOADED failed*\n000630 Statement reached its statement or warehouse timeout of 3,600 second(s) and was canceled.",
        },
      });
    });

    it("forwards an unknown message shortened and escaped", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      await notify.handle({
        Records: [record("0c1b7f3e-8888-4a2b-9c3d-aaaaaaaaaaac", "disk <90%> & rising", "Something else")],
      });

      // Assess
      expect(posted[0].message).to.deep.equal({
        text: "dbt-pipeline prod: Something else",
        blocks: [
          {
            type: "section",
            text: { type: "mrkdwn", text: ":bell: *dbt-pipeline prod: Something else*\ndisk &lt;90%&gt; &amp; rising" },
          },
        ],
      });
    });

    it("turns a CloudWatch alarm into a Slack message", async () => {
      // Prepare
      const notify = await notifier();
      const alarm = {
        AlarmName: "dbt-pipeline-prod-stale-stripe",
        AlarmDescription: "Source stripe has not loaded for more than 120 minutes (or its freshness is unknown).",
        AWSAccountId: "123456789012",
        NewStateValue: "ALARM",
        NewStateReason:
          "Threshold Crossed: 1 datapoint [131.0 (22/11/26 12:50:00)] was greater than the threshold (120.0).",
        StateChangeTime: "2026-11-22T13:00:12.345+0000",
        Region: "EU (Ireland)",
        AlarmArn: "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dbt-pipeline-prod-stale-stripe",
        OldStateValue: "OK",
        Trigger: {
          MetricName: "MinutesSinceLastLoad",
          Namespace: "DbtPipeline",
          Statistic: "MAXIMUM",
          Period: 600,
          EvaluationPeriods: 1,
          ComparisonOperator: "GreaterThanThreshold",
          Threshold: 120.0,
        },
      };

      // Act
      await notify.handle({
        Records: [
          record(
            "0c1b7f3e-4444-4a2b-9c3d-dddddddddddd",
            alarm,
            'ALARM: "dbt-pipeline-prod-stale-stripe" in EU (Ireland)',
          ),
        ],
      });

      // Assess
      expect(posted[0].message).to.deep.equal({
        text: "dbt-pipeline prod: ALARM dbt-pipeline-prod-stale-stripe",
        blocks: [
          {
            type: "section",
            text: {
              type: "mrkdwn",
              text: ":rotating_light: *dbt-pipeline prod: ALARM dbt-pipeline-prod-stale-stripe*\nThreshold Crossed: 1 datapoint [131.0 (22/11/26 12:50:00)] was greater than the threshold (120.0).",
            },
          },
          {
            type: "context",
            elements: [
              {
                type: "mrkdwn",
                text: "Source stripe has not loaded for more than 120 minutes (or its freshness is unknown).",
              },
            ],
          },
        ],
      });
      expect(publishes()).to.deep.equal([]);
    });

    it("skips its own pages, which come back through its subscription", async () => {
      // Prepare
      const notify = await notifier();

      // Act
      const result = await notify.handle({
        Records: [
          record(
            "0c1b7f3e-5555-4a2b-9c3d-eeeeeeeeeeee",
            "dbt-pipeline prod: dbt build failed (exit 1)",
            "dbt-pipeline prod: dbt build failed (exit 1)",
            { origin: { Type: "String", Value: "dbt-pipeline-notify" } },
          ),
        ],
      });

      // Assess
      expect(result).to.deep.equal({ kind: "alerts", forwarded: 0, skipped: 1 });
      expect(posted).to.deep.equal([]);
      expect(publishes()).to.deep.equal([]);
    });
  });
});

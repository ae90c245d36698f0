import { createHash } from "node:crypto";
import { expect } from "chai";
import { mockClient } from "aws-sdk-client-mock";
import { ECSClient, ListTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { ChangeMessageVisibilityBatchCommand, SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { LaunchDeps, launch } from "../../functions/launch/core";
import { backoffMs, isRetryableError, isRetryableFailure, runIdFor } from "../../functions/launch/ecs";
import { queueUrlFromArn } from "../../functions/launch/schema";
import { LaunchSettings, readLaunchSettings } from "../../functions/launch/settings";
import { ConfigurationError } from "../../functions/lib/errors";
import { RunRequestInput, mergeRequests, parseRunRequest, taskOverrides } from "../../functions/lib/run-contract";
import { RecordingLog, RecordingMetrics, rejection } from "./support";

const QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:dev-runs.fifo";
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs.fifo";
const DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs-dlq.fifo";
const CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/dev-dbt";
const NOW = "2026-11-22T10:00:00.000Z";
const TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/dev-dbt/0123456789abcdef";

const settings: LaunchSettings = {
  clusterArn: CLUSTER,
  taskDefinition: "dev-dbt",
  subnetIds: ["subnet-aaa", "subnet-bbb"],
  securityGroupIds: ["sg-111"],
  assignPublicIp: "ENABLED",
  burstWindowSeconds: 60,
  recheckSeconds: 60,
  maxLaunchAttempts: 5,
  dlqUrl: DLQ_URL,
  queueUrl: QUEUE_URL,
};

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);

/** A run request as dispatch queues it. */
function request(source: string, receivedAt: string, over: Partial<RunRequestInput> = {}): RunRequestInput {
  return {
    command: "build", select: [`source:${source}+`], exclude: [], vars: {}, fullRefresh: false, target: "dev", defer: false,
    triggers: [{ kind: "fivetran", id: `sync-${source}`, source, receivedAt }], sources: [source], ...over,
  };
}

/** An SQS record of the runs queue carrying `body`. */
function record(id: string, body: unknown) {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: typeof body === "string" ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1795341540000", MessageGroupId: "dev", SequenceNumber: "1", MessageDeduplicationId: "d" },
    messageAttributes: {},
    md5OfBody: "x",
    eventSource: "aws:sqs",
    eventSourceARN: QUEUE_ARN,
    awsRegion: "eu-west-1",
  };
}
const event = (...records: ReturnType<typeof record>[]) => ({ Records: records });
const ago = (seconds: number) => new Date(Date.parse(NOW) - seconds * 1000).toISOString();

describe("launch", () => {
  let logger: RecordingLog;
  let metrics: RecordingMetrics;
  let sleeps: number[];

  const deps = (over: Partial<LaunchDeps> = {}): LaunchDeps => ({
    settings,
    ecs: new ECSClient({ region: "eu-west-1" }),
    sqs: new SQSClient({ region: "eu-west-1" }),
    logger,
    metrics,
    now: () => new Date(NOW),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    remainingMs: () => 55_000,
    ...over,
  });

  beforeEach(() => {
    ecs.reset();
    sqs.reset();
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    sqs.on(SendMessageCommand).resolves({ MessageId: "dlq-1" });
    logger = new RecordingLog();
    metrics = new RecordingMetrics();
    sleeps = [];
  });

  const runTasks = () => ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);
  const visibility = () => sqs.commandCalls(ChangeMessageVisibilityBatchCommand).map((c) => c.args[0].input);
  const deadLetters = () => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
  const failures = (...ids: string[]) => ({ batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) });

  /** The RunTask input launch must send for `messageIds` carrying `requests`. */
  function expectedRunTask(requests: RunRequestInput[], messageIds: string[], runId: string) {
    const merged = mergeRequests(requests.map((r) => parseRunRequest(r)));
    return {
      cluster: CLUSTER,
      taskDefinition: "dev-dbt",
      launchType: "FARGATE",
      count: 1,
      networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-aaa", "subnet-bbb"], securityGroups: ["sg-111"], assignPublicIp: "ENABLED" } },
      overrides: taskOverrides(merged, runId),
      startedBy: `dbt-pipeline/${runId}`,
      clientToken: sha256([...messageIds].sort().join(",")),
      tags: [
        { key: "dbt-pipeline:run-id", value: runId },
        { key: "dbt-pipeline:target", value: "dev" },
        { key: "dbt-pipeline:triggers", value: [...new Set(merged.triggers.map((t) => t.kind))].sort().join(" ") },
        ...(merged.sources.length ? [{ key: "dbt-pipeline:sources", value: merged.sources.join(" ") }] : []),
      ],
      propagateTags: "TASK_DEFINITION",
      enableECSManagedTags: true,
    };
  }

  it("launches one task whose selection is the union of an old batch of three triggers", async () => {
    // Prepare
    const requests = [request("stripe", ago(300)), request("hubspot", ago(200)), { ...request("shopify", ago(90)), triggers: [{ kind: "snowflake" as const, id: "run-1:ORDERS", source: "shopify", receivedAt: ago(90) }] }];
    const runId = `20261122t095500-${sha256("m1,m2,m3").slice(0, 8)}`;
    // Act
    const result = await launch(event(record("m1", requests[0]), record("m2", requests[1]), record("m3", requests[2])), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).to.deep.equal([{ cluster: CLUSTER, family: "dev-dbt", desiredStatus: "RUNNING" }]);
    expect(runTasks()).to.deep.equal([expectedRunTask(requests, ["m1", "m2", "m3"], runId)]);
    const dbt = (runTasks()[0].overrides?.containerOverrides ?? []).find((c) => c.name === "dbt");
    expect(dbt?.command).to.deep.equal([
      "dbt", "build", "--profile", "dbt_pipeline", "--target", "dev", "--select", "source:hubspot+", "source:shopify+", "source:stripe+",
      "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}',
    ]);
    expect(runTasks()[0].tags).to.deep.include({ key: "dbt-pipeline:triggers", value: "fivetran snowflake" });
    expect(runTasks()[0].tags).to.deep.include({ key: "dbt-pipeline:sources", value: "hubspot shopify stripe" });
    expect(metrics.list()).to.deep.equal(["RunsLaunched=1", "TriggersPerRun=3", "TriggerToLaunchSeconds=300"]);
    expect(visibility()).to.deep.equal([]);
  });

  it("asks ECS for the same run when the same batch comes back (stable run id and client token)", async () => {
    // Prepare
    const batch = event(record("m1", request("stripe", ago(300))), record("m2", request("hubspot", ago(120))));
    // Act
    await launch(batch, deps());
    await launch(batch, deps({ now: () => new Date(Date.parse(NOW) + 90_000) }));
    // Assess
    const [first, second] = runTasks();
    expect(second).to.deep.equal(first);
    expect(first.clientToken).to.have.length(64);
    expect(first.startedBy).to.match(/^dbt-pipeline\/[a-z0-9-]{8,64}$/);
  });

  it("keeps every message while a dbt task runs, hidden for RECHECK_SECONDS, and starts nothing", async () => {
    // Prepare
    ecs.on(ListTasksCommand).resolves({ taskArns: [TASK_ARN] });
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(300))), record("m2", request("hubspot", ago(200)))), deps());
    // Assess
    expect(result).to.deep.equal(failures("m1", "m2"));
    expect(visibility()).to.deep.equal([{
      QueueUrl: QUEUE_URL,
      Entries: [{ Id: "0", ReceiptHandle: "rh-m1", VisibilityTimeout: 60 }, { Id: "1", ReceiptHandle: "rh-m2", VisibilityTimeout: 60 }],
    }]);
    expect(runTasks()).to.deep.equal([]);
  });

  it("holds a young batch for the rest of the burst window, without asking ECS", async () => {
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(20))), record("m2", request("hubspot", ago(5)))), deps());
    // Assess
    expect(result).to.deep.equal(failures("m1", "m2"));
    expect(visibility()).to.deep.equal([{
      QueueUrl: QUEUE_URL,
      Entries: [{ Id: "0", ReceiptHandle: "rh-m1", VisibilityTimeout: 40 }, { Id: "1", ReceiptHandle: "rh-m2", VisibilityTimeout: 40 }],
    }]);
    expect(ecs.calls()).to.have.length(0);
  });

  it("launches at once when the burst window is 0", async () => {
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(0)))), deps({ settings: { ...settings, burstWindowSeconds: 0 } }));
    // Assess
    expect(result).to.deep.equal(failures());
    expect(runTasks()).to.have.length(1);
  });

  it("runs the first message's kind of run and keeps the others for later", async () => {
    // Prepare: an incremental build, a full refresh, another incremental build
    const requests = [request("stripe", ago(300)), request("x", ago(250), { select: [], fullRefresh: true, sources: [], triggers: [{ kind: "schedule", id: "full-refresh:t", receivedAt: ago(250) }] }), request("hubspot", ago(200))];
    // Act
    const result = await launch(event(record("m1", requests[0]), record("m2", requests[1]), record("m3", requests[2])), deps());
    // Assess
    const runId = `20261122t095500-${sha256("m1,m3").slice(0, 8)}`;
    expect(runTasks()).to.deep.equal([expectedRunTask([requests[0], requests[2]], ["m1", "m3"], runId)]);
    expect(result).to.deep.equal(failures("m2"));
    expect(visibility()).to.deep.equal([{ QueueUrl: QUEUE_URL, Entries: [{ Id: "0", ReceiptHandle: "rh-m2", VisibilityTimeout: 60 }] }]);
  });

  it("runs a source's fast-lane request first, even behind normal ones, and keeps the normal ones for later", async () => {
    // Prepare: a normal build, then the fast lane of the same load, then another normal build
    const fast = { select: ["source:stripe+,+tag:dashboard"], lane: "fast" as const };
    const requests = [request("hubspot", ago(300)), request("stripe", ago(250), fast), request("stripe", ago(250))];
    // Act
    const result = await launch(event(record("m1", requests[0]), record("m2", requests[1]), record("m3", requests[2])), deps());
    // Assess
    const runId = `20261122t095550-${sha256("m2").slice(0, 8)}`;
    expect(runTasks()).to.deep.equal([expectedRunTask([requests[1]], ["m2"], runId)]);
    expect(runTasks()[0].overrides?.containerOverrides?.[1].command).to.include("source:stripe+,+tag:dashboard");
    expect(result).to.deep.equal(failures("m1", "m3"));
  });

  it("retries RunTask throttling with backoff and succeeds", async () => {
    // Prepare
    const throttled = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
    ecs.on(RunTaskCommand).rejectsOnce(throttled).resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(300)))), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(runTasks()).to.have.length(2);
    expect(runTasks()[1]).to.deep.equal(runTasks()[0]);
    expect(sleeps).to.deep.equal([1000]);
    expect(metrics.list()).to.deep.equal(["LaunchRetries=1", "RunsLaunched=1", "TriggersPerRun=1", "TriggerToLaunchSeconds=300"]);
  });

  it("retries when ECS reports no capacity in failures[]", async () => {
    // Prepare
    ecs.on(RunTaskCommand)
      .resolvesOnce({ tasks: [], failures: [{ arn: CLUSTER, reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone" }] })
      .resolvesOnce({ tasks: [], failures: [{ arn: CLUSTER, reason: "RESOURCE:ENI" }] })
      .resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(300)))), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(sleeps).to.deep.equal([1000, 2000]);
    expect(metrics.total("RunsLaunched")).to.equal(1);
  });

  it("forwards the merged request to the dead-letter queue after MAX_LAUNCH_ATTEMPTS throttles, and acknowledges the messages", async () => {
    // Prepare
    ecs.on(RunTaskCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const requests = [request("stripe", ago(300)), request("hubspot", ago(200))];
    const runId = `20261122t095500-${sha256("m1,m2").slice(0, 8)}`;
    // Act
    const result = await launch(event(record("m1", requests[0]), record("m2", requests[1])), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(runTasks()).to.have.length(5);
    expect(sleeps).to.deep.equal([1000, 2000, 4000, 8000]);
    expect(deadLetters()).to.deep.equal([{
      QueueUrl: DLQ_URL,
      MessageBody: JSON.stringify(mergeRequests(requests.map((r) => parseRunRequest(r)))),
      MessageAttributes: {
        reason: { DataType: "String", StringValue: "launch-failed" },
        error: { DataType: "String", StringValue: "ThrottlingException: Rate exceeded" },
        attempts: { DataType: "String", StringValue: "5" },
        "run-id": { DataType: "String", StringValue: runId },
        "message-ids": { DataType: "String", StringValue: "m1,m2" },
      },
      MessageGroupId: "dev",
      MessageDeduplicationId: sha256(`launch-failed:${sha256("m1,m2")}`),
    }]);
    expect(metrics.total("LaunchFailed")).to.equal(1);
    expect(metrics.total("RunsLaunched")).to.equal(0);
  });

  it("forwards to the dead-letter queue at once on an error retrying cannot fix", async () => {
    // Prepare
    ecs.on(RunTaskCommand).rejects(Object.assign(new Error("User is not authorized to perform: ecs:RunTask"), { name: "AccessDeniedException", $metadata: { httpStatusCode: 400 } }));
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(300)))), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(runTasks()).to.have.length(1);
    expect(sleeps).to.deep.equal([]);
    expect(deadLetters().map((m) => m.MessageAttributes?.error?.StringValue)).to.deep.equal(["AccessDeniedException: User is not authorized to perform: ecs:RunTask"]);
    expect(metrics.total("LaunchFailed")).to.equal(1);
  });

  it("forwards a request whose overrides exceed 8 KiB to the dead-letter queue without calling RunTask", async () => {
    // Prepare
    const huge = request("stripe", ago(300), { select: Array.from({ length: 100 }, (_, i) => `tag:${"t".repeat(90)}${i}`) });
    // Act
    const result = await launch(event(record("m1", huge)), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(runTasks()).to.deep.equal([]);
    expect(deadLetters()).to.have.length(1);
    expect(deadLetters()[0].MessageAttributes?.error?.StringValue).to.match(/^RunContractError: the run's overrides are \d+ characters; ECS allows 8192/);
  });

  it("forwards a poison message to the dead-letter queue, acknowledges it and launches the rest", async () => {
    // Prepare
    const poison = record("p1", '{"target":"dev","select":["--full-refresh"]}');
    // Act
    const result = await launch(event(poison, record("m1", request("stripe", ago(300)))), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(deadLetters()).to.deep.equal([{
      QueueUrl: DLQ_URL,
      MessageBody: '{"target":"dev","select":["--full-refresh"]}',
      MessageAttributes: {
        reason: { DataType: "String", StringValue: "poison" },
        error: { DataType: "String", StringValue: "RunContractError: invalid run request: select.0: is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows); triggers: Invalid input: expected array, received undefined" },
        "message-ids": { DataType: "String", StringValue: "p1" },
      },
      MessageGroupId: "dev",
      MessageDeduplicationId: sha256("poison:p1"),
    }]);
    expect(runTasks()).to.have.length(1);
    expect(metrics.total("PoisonMessages")).to.equal(1);
  });

  it("forwards a body that is not JSON as poison", async () => {
    // Act
    const result = await launch(event(record("p1", "not json")), deps());
    // Assess
    expect(result).to.deep.equal(failures());
    expect(deadLetters().map((m) => [m.MessageBody, m.MessageAttributes?.reason?.StringValue])).to.deep.equal([["not json", "poison"]]);
    expect(ecs.calls()).to.have.length(0);
  });

  it("keeps messages it could not forward to the dead-letter queue", async () => {
    // Prepare
    sqs.on(SendMessageCommand).rejects(new Error("AccessDenied"));
    // Act
    const result = await launch(event(record("p1", "not json")), deps());
    // Assess
    expect(result).to.deep.equal(failures("p1"));
  });

  it("keeps the messages when ListTasks fails", async () => {
    // Prepare
    ecs.on(ListTasksCommand).rejects(new Error("ServiceUnavailable"));
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(300)))), deps());
    // Assess
    expect(result).to.deep.equal(failures("m1"));
    expect(runTasks()).to.deep.equal([]);
  });

  it("stops retrying and keeps the messages when the invocation is about to time out", async () => {
    // Prepare
    ecs.on(RunTaskCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    // Act
    const result = await launch(event(record("m1", request("stripe", ago(300)))), deps({ remainingMs: () => 5_000 }));
    // Assess
    expect(result).to.deep.equal(failures("m1"));
    expect(runTasks()).to.have.length(1);
    expect(deadLetters()).to.deep.equal([]);
    expect(visibility()).to.deep.equal([{ QueueUrl: QUEUE_URL, Entries: [{ Id: "0", ReceiptHandle: "rh-m1", VisibilityTimeout: 60 }] }]);
  });

  it("derives the queue URL from the event source when QUEUE_URL is unset", async () => {
    // Prepare
    ecs.on(ListTasksCommand).resolves({ taskArns: [TASK_ARN] });
    // Act
    await launch(event(record("m1", request("stripe", ago(300)))), deps({ settings: { ...settings, queueUrl: undefined } }));
    // Assess
    expect(visibility().map((v) => v.QueueUrl)).to.deep.equal([QUEUE_URL]);
    expect(queueUrlFromArn("arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo")).to.equal("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q.fifo");
  });

  it("throws on an event that is not from SQS", async () => {
    const error = await rejection(launch({ Records: [{ body: 1 }] }, deps()));
    expect(error.name).to.equal("InvalidSqsEventError");
  });

  describe("helpers", () => {
    it("backs off 1, 2, 4, 8, 8 seconds", () => expect([1, 2, 3, 4, 5].map(backoffMs)).to.deep.equal([1000, 2000, 4000, 8000, 8000]));
    it("makes run ids from the oldest trigger and the message ids", () => {
      const req = parseRunRequest(request("stripe", "2026-01-02T03:04:05.678Z"));
      expect(runIdFor(req, ["b", "a"])).to.equal(`20260102t030405-${sha256("a,b").slice(0, 8)}`);
    });
    const retryable: [string, unknown, boolean][] = [
      ["ThrottlingException", Object.assign(new Error("x"), { name: "ThrottlingException" }), true],
      ["ServerException", Object.assign(new Error("x"), { name: "ServerException" }), true],
      ["a 503", Object.assign(new Error("x"), { name: "Unknown", $metadata: { httpStatusCode: 503 } }), true],
      ["ECONNRESET", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
      ["ClientException: rate exceeded", Object.assign(new Error("Rate exceeded"), { name: "ClientException" }), true],
      ["AccessDeniedException", Object.assign(new Error("no"), { name: "AccessDeniedException" }), false],
      ["InvalidParameterException", Object.assign(new Error("bad subnet"), { name: "InvalidParameterException" }), false],
      ["a string", "boom", false],
    ];
    for (const [what, error, expected] of retryable) it(`${expected ? "retries" : "does not retry"} ${what}`, () => expect(isRetryableError(error)).to.equal(expected));
    const reasons: [string | undefined, boolean][] = [
      ["Capacity is unavailable at this time. Please try again later or in a different availability zone", true],
      ["RESOURCE:MEMORY", true], ["RESOURCE:ENI", true], ["MISSING", false], [undefined, false],
    ];
    for (const [reason, expected] of reasons) it(`treats failure ${reason} as ${expected ? "retryable" : "final"}`, () => expect(isRetryableFailure(reason)).to.equal(expected));
  });

  describe("environment", () => {
    const env = {
      CLUSTER_ARN: CLUSTER, TASK_DEFINITION: "dev-dbt", SUBNET_IDS: "subnet-aaa, subnet-bbb", SECURITY_GROUP_IDS: "sg-111", ASSIGN_PUBLIC_IP: "ENABLED",
      DLQ_URL, QUEUE_URL,
    };
    it("reads every variable, with defaults", () => {
      expect(readLaunchSettings(env)).to.deep.equal({ ...settings, assignPublicIp: "ENABLED" });
    });
    it("lists every problem at once", () => {
      let error: unknown;
      try {
        readLaunchSettings({ SUBNET_IDS: " , ", ASSIGN_PUBLIC_IP: "yes", MAX_LAUNCH_ATTEMPTS: "0", BURST_WINDOW_SECONDS: "1m" });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigurationError);
      expect((error as ConfigurationError).problems).to.deep.equal([
        "CLUSTER_ARN is not set; the deployment must set it",
        "TASK_DEFINITION is not set; the deployment must set it",
        "SUBNET_IDS must be a comma-separated list of at least one item",
        "SECURITY_GROUP_IDS must be a comma-separated list of at least one item",
        'ASSIGN_PUBLIC_IP must be one of ENABLED, DISABLED (got "yes")',
        'BURST_WINDOW_SECONDS must be an integer from 0 to 900 (got "1m")',
        'MAX_LAUNCH_ATTEMPTS must be an integer from 1 to 20 (got "0")',
        "DLQ_URL is not set; the deployment must set it",
      ]);
    });
  });
});

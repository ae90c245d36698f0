import { createHash } from "node:crypto";
import { expect } from "chai";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeTasksCommand, ECSClient, ListTasksCommand, RunTaskCommand } from "@aws-sdk/client-ecs";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { LaunchDeps, launch, pendingKey } from "../../functions/launch/core";
import { backoffMs, isRetryableError, isRetryableFailure, mayHaveStarted, runIdFor } from "../../functions/launch/ecs";
import { TaskStateChangeSchema, targetOfTask } from "../../functions/launch/schema";
import { LaunchSettings, readLaunchSettings } from "../../functions/launch/settings";
import { ConfigurationError } from "../../functions/lib/errors";
import { RunRequestInput, parseRunRequest } from "../../functions/lib/run-contract";
import { MemoryLaunchStore } from "../../sim/launch-memory-store";
import { RecordingLog, RecordingMetrics, fixtureText, rejection } from "./support";

const QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:dev-runs.fifo";
const DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs-dlq.fifo";
const CLUSTER = "arn:aws:ecs:eu-west-1:123456789012:cluster/dev-dbt";
const NOW = "2026-11-22T10:00:00.000Z";
const T = Date.parse(NOW);
const TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/dev-dbt/0123456789abcdef";
const NEXT_TASK_ARN = "arn:aws:ecs:eu-west-1:123456789012:task/dev-dbt/fedcba9876543210";

const settings: LaunchSettings = {
  clusterArn: CLUSTER,
  taskDefinition: "dev-dbt",
  subnetIds: ["subnet-aaa", "subnet-bbb"],
  securityGroupIds: ["sg-111"],
  assignPublicIp: "ENABLED",
  burstWindowSeconds: 10,
  minRunIntervalSeconds: 0,
  hourlySkipWhenIdle: false,
  maxLaunchAttempts: 5,
  dlqUrl: DLQ_URL,
  tableName: "dev-launch",
  leaseSeconds: 3600,
  doneSeconds: 172800,
};

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);

/** A run request as dispatch queues it. */
function request(source: string, receivedAt: string, over: Partial<RunRequestInput> = {}): RunRequestInput {
  return {
    command: "build",
    select: [`source:${source}+`],
    exclude: [],
    vars: {},
    fullRefresh: false,
    target: "dev",
    defer: false,
    triggers: [{ kind: "fivetran", id: `sync-${source}`, source, receivedAt }],
    sources: [source],
    ...over,
  };
}

/** An SQS record of the runs queue carrying `body`, with the attributes Lambda sends for a FIFO queue. */
function record(id: string, body: unknown) {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: typeof body === "string" ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "1795341540000",
      MessageGroupId: "dev",
      SequenceNumber: "1",
      MessageDeduplicationId: "d",
    },
    messageAttributes: {},
    md5OfBody: "x",
    eventSource: "aws:sqs",
    eventSourceARN: QUEUE_ARN,
    awsRegion: "eu-west-1",
  };
}
const event = (...records: ReturnType<typeof record>[]) => ({ Records: records });
const ago = (seconds: number) => new Date(T - seconds * 1000).toISOString();
/** The pending-set key of a request as the SQS body carries it: `p#<oldest receivedAt>#<sha256 of the body>`. */
const keyOf = (r: RunRequestInput) => `p#${r.triggers[0].receivedAt}#${sha256(JSON.stringify(r))}`;

/** The fixture's shape, as far as the tests change it. */
type StoppedFixture = Record<string, unknown> & { detail: Record<string, unknown> };

/** The task-stopped event as ECS sends it (fixture: its overrides run dbt with `--target prod`), for a task and run launch started on target dev. */
function stopped(taskArn: string, runId: string) {
  const e = JSON.parse(
    fixtureText("ecs/task-stopped-success.json").replace(/"--target",\s*"prod"/, '"--target", "dev"'),
  ) as StoppedFixture;
  return { ...e, detail: { ...e.detail, taskArn, startedBy: `dbt-pipeline/${runId}` } };
}

describe("launch", () => {
  let logger: RecordingLog;
  let metrics: RecordingMetrics;
  let store: MemoryLaunchStore;
  let sleeps: number[];
  let clock: number;
  let tokens: number;

  const deps = (over: Partial<LaunchDeps> = {}): LaunchDeps => ({
    settings,
    ecs: new ECSClient({ region: "eu-west-1" }),
    sqs: new SQSClient({ region: "eu-west-1" }),
    store,
    logger,
    metrics,
    now: () => new Date(clock),
    sleep: (ms) => {
      sleeps.push(ms);
      clock += ms;
      return Promise.resolve();
    },
    token: () => `holder-${++tokens}`,
    remainingMs: () => 100_000,
    ...over,
  });

  beforeEach(() => {
    ecs.reset();
    sqs.reset();
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
    sqs.on(SendMessageCommand).resolves({ MessageId: "dlq-1" });
    logger = new RecordingLog();
    metrics = new RecordingMetrics();
    store = new MemoryLaunchStore();
    sleeps = [];
    clock = T;
    tokens = 0;
  });

  const runTasks = () => ecs.commandCalls(RunTaskCommand).map((c) => c.args[0].input);
  const deadLetters = () => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
  const failures = (...ids: string[]) => ({ batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })) });

  /**
   * The RunTask input launch must send for `requests` whose run is `dbt`: the argv is written out
   * by each test; the sources and trigger kinds recorded are those of the requests themselves.
   */
  function expectedRunTask(
    requests: RunRequestInput[],
    runId: string,
    dbt: string[],
    freshness: string[] = ["dbt", "--version"],
  ) {
    const sources = [...new Set(requests.flatMap((r) => r.sources ?? []))].sort();
    const kinds = [...new Set(requests.flatMap((r) => r.triggers.map((t) => t.kind)))].sort();
    const retryOf = requests.find((r) => r.retryOf)?.retryOf;
    return {
      cluster: CLUSTER,
      taskDefinition: "dev-dbt",
      launchType: "FARGATE",
      count: 1,
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ["subnet-aaa", "subnet-bbb"],
          securityGroups: ["sg-111"],
          assignPublicIp: "ENABLED",
        },
      },
      overrides: {
        containerOverrides: [
          ...(retryOf ? [{ name: "prepare", environment: [{ name: "DBT_PIPELINE_RETRY_OF", value: retryOf }] }] : []),
          { name: "freshness", command: freshness },
          {
            name: "dbt",
            command: dbt,
            environment: [
              { name: "DBT_PIPELINE_RUN_ID", value: runId },
              { name: "DBT_PIPELINE_SOURCES", value: sources.join(",") },
              { name: "DBT_PIPELINE_TRIGGERS", value: kinds.join(",") },
            ],
          },
          { name: "upload", environment: [{ name: "DBT_PIPELINE_RUN_ID", value: runId }] },
        ],
      },
      startedBy: `dbt-pipeline/${runId}`,
      clientToken: sha256(requests.map(keyOf).sort().join(",")),
      tags: [
        { key: "dbt-pipeline:run-id", value: runId },
        { key: "dbt-pipeline:target", value: "dev" },
        { key: "dbt-pipeline:triggers", value: kinds.join(" ") },
        ...(sources.length ? [{ key: "dbt-pipeline:sources", value: sources.join(" ") }] : []),
      ],
      propagateTags: "TASK_DEFINITION",
      enableECSManagedTags: true,
    };
  }
  /** dbt's argv for a build of the sources' downstream models that fails when a selection matches nothing. */
  const sourceBuild = (...selected: string[]) => [
    "dbt",
    "build",
    "--profile",
    "dbt_pipeline",
    "--target",
    "dev",
    "--select",
    ...selected,
    "--warn-error-options",
    '{"error": ["NoNodesForSelectionCriteria"]}',
  ];
  const runIdOf = (stamp: string, requests: RunRequestInput[]) =>
    `${stamp}-${sha256(requests.map(keyOf).sort().join(",")).slice(0, 8)}`;

  describe("runs queue intake on an idle target", () => {
    it("puts every request in the pending set, acknowledges the batch and starts one run of all of them", async () => {
      // Prepare
      const requests = [
        request("stripe", ago(300)),
        request("hubspot", ago(200)),
        {
          ...request("shopify", ago(90)),
          triggers: [{ kind: "snowflake" as const, id: "run-1:ORDERS", source: "shopify", receivedAt: ago(90) }],
        },
      ];
      const runId = runIdOf("20261122t095500", requests);
      // Act
      const result = await launch(
        event(record("m1", requests[0]), record("m2", requests[1]), record("m3", requests[2])),
        deps(),
      );
      // Assess
      expect(result).to.deep.equal(failures());
      expect(runTasks()).to.deep.equal([
        expectedRunTask(requests, runId, sourceBuild("source:hubspot+", "source:shopify+", "source:stripe+")),
      ]);
      const dbt = (runTasks()[0].overrides?.containerOverrides ?? []).find((c) => c.name === "dbt");
      expect(dbt?.command).to.deep.equal([
        "dbt",
        "build",
        "--profile",
        "dbt_pipeline",
        "--target",
        "dev",
        "--select",
        "source:hubspot+",
        "source:shopify+",
        "source:stripe+",
        "--warn-error-options",
        '{"error": ["NoNodesForSelectionCriteria"]}',
      ]);
      expect(store.lease("dev")).to.deep.equal({
        target: "dev",
        holder: "holder-1",
        state: "running",
        runId,
        taskArn: TASK_ARN,
        launchedAt: T,
        claimed: requests.map(keyOf).sort(),
        coversAll: false,
        expiresAt: T + 3600_000,
      });
      expect(store.outcomes("dev")).to.deep.equal(Object.fromEntries(requests.map((r) => [keyOf(r), `run:${runId}`])));
      expect(ecs.commandCalls(ListTasksCommand)).to.have.length(0);
      expect(sleeps).to.deep.equal([]);
      expect(metrics.list()).to.deep.equal([
        "RequestsPending=1",
        "RequestsPending=1",
        "RequestsPending=1",
        "RunsLaunched=1",
        "TriggersPerRun=3",
        "TriggerToLaunchSeconds=300",
      ]);
    });

    it("leading edge: waits out the window from the oldest trigger, and takes what arrived meanwhile", async () => {
      // Prepare: the first trigger is 4 s old; another arrives during the 6 s launch waits
      const first = request("stripe", ago(4));
      const second = request("hubspot", ago(-3));
      const d = deps({
        sleep: async (ms) => {
          sleeps.push(ms);
          clock += ms;
          await launch(event(record("m2", second)), deps());
        },
      });
      // Act
      await launch(event(record("m1", first)), d);
      // Assess: one run of both, started when the window closed
      expect(sleeps).to.deep.equal([6000]);
      expect(runTasks()).to.deep.equal([
        expectedRunTask(
          [first, second],
          runIdOf("20261122t095956", [first, second]),
          sourceBuild("source:hubspot+", "source:stripe+"),
        ),
      ]);
      expect(store.lease("dev")?.expiresAt).to.equal(T + 6000 + 3600_000);
    });

    it("starts at once when the window is 0", async () => {
      await launch(
        event(record("m1", request("stripe", ago(0)))),
        deps({ settings: { ...settings, burstWindowSeconds: 0 } }),
      );
      expect(sleeps).to.deep.equal([]);
      expect(runTasks()).to.have.length(1);
    });

    it("adds a redelivered message once and starts no second run for it", async () => {
      // Act
      await launch(event(record("m1", request("stripe", ago(300)))), deps());
      await launch(event(record("m1", request("stripe", ago(300)))), deps());
      // Assess
      expect(runTasks()).to.have.length(1);
      expect(metrics.total("DuplicateRequests")).to.equal(1);
    });

    it("takes every waiting request into one run, a source's fast-lane request riding in its source's normal run", async () => {
      // Prepare
      const fast = { select: ["source:stripe+,tag:dashboard"], lane: "fast" as const };
      const requests = [request("hubspot", ago(300)), request("stripe", ago(250), fast), request("stripe", ago(250))];
      // Act
      const result = await launch(
        event(record("m1", requests[0]), record("m2", requests[1]), record("m3", requests[2])),
        deps(),
      );
      // Assess
      expect(result).to.deep.equal(failures());
      const runId = runIdOf("20261122t095500", requests);
      expect(runTasks()).to.have.length(1);
      expect(runTasks()[0].overrides?.containerOverrides?.find((c) => c.name === "dbt")?.command).to.deep.equal([
        "dbt",
        "build",
        "--profile",
        "dbt_pipeline",
        "--target",
        "dev",
        "--select",
        "source:hubspot+",
        "source:stripe+",
        "--warn-error-options",
        '{"error": ["NoNodesForSelectionCriteria"]}',
      ]);
      expect(store.outcomes("dev")).to.deep.equal({
        [keyOf(requests[0])]: `run:${runId}`,
        [keyOf(requests[1])]: `run:${runId}`,
        [keyOf(requests[2])]: `run:${runId}`,
      });
    });

    it("runs requests that cannot share an invocation (a retry) apart, the oldest group first, a fast-lane group counting 15 min older", async () => {
      // Prepare: a retry 20 min old, a fast-lane request 4 min old: the retry has waited more than 15 min longer
      const fast = { select: ["source:stripe+,tag:dashboard"], lane: "fast" as const };
      const retry = request("x", ago(1200), {
        command: "retry",
        retryOf: "20261122t090000-00000001",
        select: [],
        sources: [],
        triggers: [{ kind: "manual", id: "alice-1", receivedAt: ago(1200) }],
      });
      const requests = [retry, request("stripe", ago(240), fast)];
      // Act
      await launch(event(record("m1", requests[0]), record("m2", requests[1])), deps());
      // Assess
      expect(runTasks()).to.deep.equal([
        expectedRunTask([retry], runIdOf("20261122t094000", [retry]), [
          "dbt",
          "retry",
          "--profile",
          "dbt_pipeline",
          "--target",
          "dev",
          "--state",
          "/artifacts/retry-state",
        ]),
      ]);
      expect(store.outcomes("dev")[keyOf(requests[1])]).to.equal("pending");
    });

    it("runs a broader selection, once, when the union of the selections exceeds ECS's 8 KiB of overrides", async () => {
      // Prepare: 60 sources with long tag selections
      const requests = Array.from({ length: 60 }, (_, i) =>
        request(`source_${i}`, ago(300 - i), { select: [`tag:${"t".repeat(150)}${i}`] }),
      );
      // Act
      await launch(event(...requests.map((r, i) => record(`m${i}`, r))), deps());
      // Assess
      expect(runTasks()).to.have.length(1);
      const dbt = (runTasks()[0].overrides?.containerOverrides ?? []).find((c) => c.name === "dbt");
      // Source runs fail on an empty selection; the whole project is never empty, so the flag stays harmless.
      expect(dbt?.command).to.deep.equal([
        "dbt",
        "build",
        "--profile",
        "dbt_pipeline",
        "--target",
        "dev",
        "--warn-error-options",
        '{"error": ["NoNodesForSelectionCriteria"]}',
      ]);
      expect(metrics.total("RunsBroadened")).to.equal(1);
      expect(Object.values(store.outcomes("dev")).filter((o) => o.startsWith("run:"))).to.have.length(60);
    });

    it("forwards a request that cannot fit even broadened (huge vars) to the dead-letter queue without RunTask", async () => {
      // Prepare
      const huge = request("stripe", ago(300), { vars: { blob: "x".repeat(9000) } });
      // Act
      await launch(event(record("m1", huge)), deps());
      // Assess
      expect(runTasks()).to.deep.equal([]);
      expect(deadLetters()).to.have.length(1);
      expect(JSON.parse(deadLetters()[0].MessageBody ?? "")).to.deep.equal({ ...huge, lane: "normal" });
      expect(deadLetters()[0].MessageAttributes?.reason?.StringValue).to.equal("invalid");
      expect(deadLetters()[0].MessageAttributes?.error?.StringValue).to.match(
        /^RunContractError: the run's overrides are \d+ characters; ECS allows 8192/,
      );
      expect(store.outcomes("dev")).to.deep.equal({ [keyOf(huge)]: "dead-letter:invalid" });
      expect(store.lease("dev")).to.equal(undefined);
    });

    it("forwards a poison message to the dead-letter queue, acknowledges it and launches the rest", async () => {
      // Prepare
      const poison = record("p1", '{"target":"dev","select":["--full-refresh"]}');
      // Act
      const result = await launch(event(poison, record("m1", request("stripe", ago(300)))), deps());
      // Assess
      expect(result).to.deep.equal(failures());
      expect(deadLetters()).to.deep.equal([
        {
          QueueUrl: DLQ_URL,
          MessageBody: '{"target":"dev","select":["--full-refresh"]}',
          MessageAttributes: {
            reason: { DataType: "String", StringValue: "poison" },
            error: {
              DataType: "String",
              StringValue:
                "RunContractError: invalid run request: select.0: is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows); triggers: Invalid input: expected array, received undefined",
            },
            "message-ids": { DataType: "String", StringValue: "p1" },
          },
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256("poison:p1"),
        },
      ]);
      expect(runTasks()).to.have.length(1);
      expect(metrics.total("PoisonMessages")).to.equal(1);
    });

    it("keeps a message (batch item failure) it could not put in the pending set, and one it could not dead-letter", async () => {
      // Prepare
      sqs.on(SendMessageCommand).rejects(new Error("AccessDenied"));
      store.fail = (call) =>
        call === "addPending"
          ? Object.assign(new Error("Rate exceeded"), { name: "ProvisionedThroughputExceededException" })
          : undefined;
      // Act
      const result = await launch(event(record("p1", "not json"), record("m1", request("stripe", ago(300)))), deps());
      // Assess
      expect(result).to.deep.equal(failures("p1", "m1"));
      expect(runTasks()).to.deep.equal([]);
    });

    it("keeps a message whose load could not be recorded out of the pending set: no request waits with its load unrecorded", async () => {
      // Prepare
      store.fail = (call) => (call === "recordLoad" ? new Error("InternalServerError") : undefined);
      // Act
      const result = await launch(event(record("m1", request("stripe", ago(300)))), deps());
      // Assess: SQS delivers it again; the redelivery records the load, then adds the request.
      expect(result).to.deep.equal(failures("m1"));
      expect(store.outcomes("dev")).to.deep.equal({});
      expect(runTasks()).to.deep.equal([]);
    });

    it("acknowledges saved requests even when the pump fails; they stay pending for the sweep", async () => {
      // Prepare
      store.fail = (call) => (call === "acquire" ? new Error("InternalServerError") : undefined);
      // Act
      const result = await launch(event(record("m1", request("stripe", ago(300)))), deps());
      // Assess
      expect(result).to.deep.equal(failures());
      expect(store.outcomes("dev")).to.deep.equal({ [keyOf(request("stripe", ago(300)))]: "pending" });
      expect(metrics.total("PumpErrors")).to.equal(1);
    });
  });

  describe("single flight", () => {
    it("starts nothing while the target's lease is held; the request waits in the pending set", async () => {
      // Prepare
      await launch(event(record("m1", request("stripe", ago(300)))), deps());
      // Act
      const result = await launch(event(record("m2", request("hubspot", ago(100)))), deps());
      // Assess
      expect(result).to.deep.equal(failures());
      expect(runTasks()).to.have.length(1);
      expect(store.outcomes("dev")[keyOf(request("hubspot", ago(100)))]).to.equal("pending");
    });

    it("twenty concurrent invocations start one run", async () => {
      // Act
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => launch(event(record(`m${i}`, request(`s${i}`, ago(300 - i)))), deps())),
      );
      // Assess
      expect(runTasks()).to.have.length(1);
      expect(store.lease("dev")?.state).to.equal("running");
    });
  });

  describe("hand-over on the task's STOPPED event", () => {
    it("releases the run's lease and starts the next run at once with every waiting request", async () => {
      // Prepare
      const first = request("stripe", ago(600));
      await launch(event(record("m1", first)), deps());
      const runId = store.lease("dev")?.runId ?? "";
      const waiting = [request("hubspot", ago(300)), request("shopify", ago(200))];
      await launch(event(record("m2", waiting[0]), record("m3", waiting[1])), deps());
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: NEXT_TASK_ARN }], failures: [] });
      // Act
      const result = await launch(stopped(TASK_ARN, runId), deps());
      // Assess
      expect(result).to.deep.equal({ handOver: "launched" });
      expect(runTasks()).to.deep.equal([
        expectedRunTask([first], runId, sourceBuild("source:stripe+")),
        expectedRunTask(
          waiting,
          runIdOf("20261122t095500", waiting),
          sourceBuild("source:hubspot+", "source:shopify+"),
        ),
      ]);
      expect(store.lease("dev")?.taskArn).to.equal(NEXT_TASK_ARN);
      expect(sleeps).to.deep.equal([]);
    });

    it("keeps the lease when the hand-over fails before it is done, so the event's retry finishes it", async () => {
      // Prepare: a run, and DynamoDB failing once as the end is recorded
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      const runId = store.lease("dev")?.runId ?? "";
      let failures = 1;
      store.fail = (call) =>
        call === "recordRunEnd" && failures-- > 0
          ? Object.assign(new Error("throttled"), { name: "ThrottlingException" })
          : undefined;
      // Act: EventBridge's first delivery fails, its retry succeeds
      const error = await rejection(launch(stopped(TASK_ARN, runId), deps()));
      const leaseAfterFailure = store.lease("dev");
      const retried = await launch(stopped(TASK_ARN, runId), deps());
      // Assess
      expect(error.name).to.equal("ThrottlingException");
      expect(leaseAfterFailure).to.include({ runId, taskArn: TASK_ARN });
      expect(retried).to.deep.equal({ handOver: "idle" });
      expect(store.lease("dev")).to.equal(undefined);
      expect(metrics.total("StaleStopEvents")).to.equal(0);
    });

    it("a duplicated STOPPED event changes nothing", async () => {
      // Prepare
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      const runId = store.lease("dev")?.runId ?? "";
      await launch(event(record("m2", request("hubspot", ago(300)))), deps());
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: NEXT_TASK_ARN }], failures: [] });
      await launch(stopped(TASK_ARN, runId), deps());
      // Act
      const result = await launch(stopped(TASK_ARN, runId), deps());
      // Assess
      expect(result).to.deep.equal({ handOver: "busy" });
      expect(runTasks()).to.have.length(2);
      expect(store.lease("dev")?.taskArn).to.equal(NEXT_TASK_ARN);
      expect(metrics.total("StaleStopEvents")).to.equal(1);
    });

    it("ignores a task launch did not start (another startedBy), and one whose event carries no dbt command", async () => {
      const e = JSON.parse(fixtureText("ecs/task-stopped-success.json")) as StoppedFixture;
      expect(await launch({ ...e, detail: { ...e.detail, startedBy: "ecs-svc/1234567890" } }, deps())).to.deep.equal({
        handOver: "ignored",
      });
      expect(
        await launch({ ...e, detail: { ...e.detail, overrides: { containerOverrides: [] } } }, deps()),
      ).to.deep.equal({ handOver: "ignored" });
      expect(ecs.calls()).to.have.length(0);
    });

    it("reads the target from the fixture's dbt command (--target prod)", () => {
      const e = JSON.parse(fixtureText("ecs/task-stopped-success.json")) as StoppedFixture;
      expect(targetOfTask(TaskStateChangeSchema.parse(e).detail)).to.equal("prod");
    });
  });

  describe("RunTask faults", () => {
    it("retries throttling with backoff 1, 2 s and succeeds with the same client token", async () => {
      // Prepare
      const throttle = Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
      ecs
        .on(RunTaskCommand)
        .rejectsOnce(throttle)
        .rejectsOnce(throttle)
        .resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
      // Act
      await launch(event(record("m1", request("stripe", ago(300)))), deps());
      // Assess
      expect(sleeps).to.deep.equal([1000, 2000]);
      const [a, b, c] = runTasks();
      expect(b).to.deep.equal(a);
      expect(c).to.deep.equal(a);
      expect(store.lease("dev")?.state).to.equal("running");
    });

    it("retries a capacity failure reported in failures[]", async () => {
      ecs
        .on(RunTaskCommand)
        .resolvesOnce({
          tasks: [],
          failures: [
            {
              reason:
                "Capacity is unavailable at this time. Please try again later or in a different availability zone",
            },
          ],
        })
        .resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
      await launch(event(record("m1", request("stripe", ago(300)))), deps());
      expect(sleeps).to.deep.equal([1000]);
      expect(store.lease("dev")?.taskArn).to.equal(TASK_ARN);
    });

    it("after MAX_LAUNCH_ATTEMPTS throttles keeps every request pending, releases the lease and dead-letters nothing", async () => {
      // Prepare
      ecs.on(RunTaskCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
      // Act
      await launch(event(record("m1", request("stripe", ago(300)))), deps());
      // Assess
      expect(runTasks()).to.have.length(5);
      expect(sleeps).to.deep.equal([1000, 2000, 4000, 8000]);
      expect(store.lease("dev")).to.equal(undefined);
      expect(store.outcomes("dev")).to.deep.equal({ [keyOf(request("stripe", ago(300)))]: "pending" });
      expect(deadLetters()).to.deep.equal([]);
    });

    it("after RunTask timeouts keeps the claim (ECS may have started the task), then adopts the task ListTasks finds instead of starting another", async () => {
      // Prepare: every call times out after ECS may have acted on it
      ecs.on(RunTaskCommand).rejects(Object.assign(new Error("socket timed out"), { name: "TimeoutError" }));
      const first = request("stripe", ago(300));
      await launch(event(record("m1", first)), deps());
      const runId = runIdOf("20261122t095500", [first]);
      expect(runTasks()).to.have.length(5);
      expect(store.lease("dev")).to.include({ state: "launching", runId });
      // The claim expires; ECS lists the task the timed-out call started
      clock += 181_000;
      ecs.on(ListTasksCommand).resolves({ taskArns: [TASK_ARN] });
      // Act
      await launch({ kind: "sweep", scheduledTime: "2026-11-22T10:03:00Z" }, deps());
      // Assess: no sixth RunTask; the lease is the listed task's, with a start time for its STOPPED event
      expect(runTasks()).to.have.length(5);
      expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).to.deep.equal([
        { cluster: CLUSTER, startedBy: `dbt-pipeline/${runId}` },
      ]);
      expect(store.lease("dev")).to.include({ state: "running", runId, taskArn: TASK_ARN, launchedAt: clock });
    });

    it("a refusal after a timed-out attempt dead-letters nothing: the first attempt may have started the task", async () => {
      // Prepare
      ecs
        .on(RunTaskCommand)
        .rejectsOnce(Object.assign(new Error("socket timed out"), { name: "TimeoutError" }))
        .rejects(
          Object.assign(
            new Error("The specified platform does not satisfy the task definition's required capabilities."),
            {
              name: "PlatformTaskDefinitionIncompatibilityException",
            },
          ),
        );
      const first = request("stripe", ago(300));
      // Act
      await launch(event(record("m1", first)), deps());
      // Assess
      expect(runTasks()).to.have.length(2);
      expect(deadLetters()).to.deep.equal([]);
      expect(store.lease("dev")).to.include({ state: "launching", runId: runIdOf("20261122t095500", [first]) });
      expect(store.outcomes("dev")).to.deep.equal({ [keyOf(first)]: "pending" });
    });

    it("stops retrying when the invocation is about to time out; the requests stay pending", async () => {
      ecs.on(RunTaskCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
      await launch(event(record("m1", request("stripe", ago(300)))), deps({ remainingMs: () => 10_500 }));
      expect(runTasks()).to.have.length(1);
      expect(store.outcomes("dev")).to.deep.equal({ [keyOf(request("stripe", ago(300)))]: "pending" });
    });

    it("runs a dead letter an operator redrives (the same body back on the runs queue); a copy of a request that ran stays a duplicate", async () => {
      // Prepare: ECS rejects the first launch for good, then accepts
      const rejected = request("stripe", ago(300));
      // Dispatch sends the parsed request, so the dead letter's body is byte for byte the message's.
      const body = JSON.stringify(parseRunRequest(rejected));
      ecs
        .on(RunTaskCommand)
        .rejectsOnce(
          Object.assign(new Error("No Container Instances were found in your cluster."), {
            name: "InvalidParameterException",
          }),
        )
        .resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
      await launch(event(record("m1", body)), deps());
      const letter = deadLetters()[0];
      // Act: the redrive sends the dead letter's body back
      const redriven = await launch(event(record("m2", letter.MessageBody ?? "")), deps());
      const runId = store.lease("dev")?.runId ?? "";
      // ...and SQS delivers the served request once more
      const again = await launch(event(record("m3", letter.MessageBody ?? "")), deps());
      // Assess
      expect(letter.MessageBody).to.equal(body);
      expect([redriven, again]).to.deep.equal([failures(), failures()]);
      expect(runTasks()).to.have.length(2);
      expect(runTasks()[1].startedBy).to.equal(`dbt-pipeline/${runId}`);
      expect(runId).to.match(/^20261122t095500-[0-9a-f]{8}$/);
      expect(store.outcomes("dev")).to.deep.equal({ [`p#${ago(300)}#${sha256(body)}`]: `run:${runId}` });
      expect(metrics.total("DuplicateRequests")).to.equal(1);
    });

    it("dead-letters a batch ECS rejects for good, then starts the next kind of run", async () => {
      // Prepare: a full refresh (rejected) that excludes a tag, so it cannot take the incremental build along
      const full = request("x", ago(400), {
        select: [],
        exclude: ["tag:heavy"],
        fullRefresh: true,
        sources: [],
        triggers: [{ kind: "schedule", id: "full-refresh:t", receivedAt: ago(400) }],
      });
      const build = request("stripe", ago(300));
      ecs
        .on(RunTaskCommand)
        .rejectsOnce(
          Object.assign(new Error("No Container Instances were found in your cluster."), {
            name: "InvalidParameterException",
          }),
        )
        .resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
      // Act
      await launch(event(record("m1", full), record("m2", build)), deps());
      // Assess
      expect(
        deadLetters().map((m) => [m.MessageAttributes?.reason?.StringValue, m.MessageAttributes?.error?.StringValue]),
      ).to.deep.equal([
        ["launch-failed", "InvalidParameterException: No Container Instances were found in your cluster."],
      ]);
      expect(runTasks()[1]).to.deep.equal(
        expectedRunTask([build], runIdOf("20261122t095500", [build]), sourceBuild("source:stripe+")),
      );
      expect(store.outcomes("dev")[keyOf(full)]).to.equal("dead-letter:launch-failed");
    });

    it("dead-letters one message per request, its body the request as launch's intake reads it", async () => {
      // Prepare: two incremental requests, queued as dispatch sends them (the parsed request's JSON),
      // merged into one run that ECS rejects for good
      const a = request("stripe", ago(400));
      const b = request("hubspot", ago(300));
      const bodyA = JSON.stringify(a).replace('"defer":false,', '"defer":false,"lane":"normal",');
      const bodyB = JSON.stringify(b).replace('"defer":false,', '"defer":false,"lane":"normal",');
      const keyA = `p#2026-11-22T09:53:20.000Z#${sha256(bodyA)}`;
      const keyB = `p#2026-11-22T09:55:00.000Z#${sha256(bodyB)}`;
      ecs
        .on(RunTaskCommand)
        .rejectsOnce(
          Object.assign(new Error("No Container Instances were found in your cluster."), {
            name: "InvalidParameterException",
          }),
        )
        .resolves({ tasks: [{ taskArn: TASK_ARN }], failures: [] });
      const attributes = (key: string) => ({
        reason: { DataType: "String", StringValue: "launch-failed" },
        error: {
          DataType: "String",
          StringValue: "InvalidParameterException: No Container Instances were found in your cluster.",
        },
        "request-key": { DataType: "String", StringValue: key },
        "batch-size": { DataType: "String", StringValue: "2" },
      });
      // Act
      await launch(event(record("m1", bodyA), record("m2", bodyB)), deps());
      // Assess
      expect(deadLetters()).to.deep.equal([
        {
          QueueUrl: DLQ_URL,
          MessageBody: bodyA,
          MessageAttributes: attributes(keyA),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256(`launch-failed:${keyA}`),
        },
        {
          QueueUrl: DLQ_URL,
          MessageBody: bodyB,
          MessageAttributes: attributes(keyB),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256(`launch-failed:${keyB}`),
        },
      ]);
      expect(store.outcomes("dev")).to.deep.equal({
        [keyA]: "dead-letter:launch-failed",
        [keyB]: "dead-letter:launch-failed",
      });
      // Each message is one run request launch's intake accepts (the redrive moves each body as it is)
      expect(deadLetters().map((m) => parseRunRequest(JSON.parse(m.MessageBody ?? "")).triggers[0].id)).to.deep.equal([
        "sync-stripe",
        "sync-hubspot",
      ]);
    });
  });

  describe("lease renewal on the task's RUNNING event", () => {
    /** The same task-state event at RUNNING (ECS sends one per status change, same detail shape). */
    const running = (taskArn: string, runId: string) => {
      const e = stopped(taskArn, runId) as StoppedFixture;
      return { ...e, detail: { ...e.detail, lastStatus: "RUNNING", desiredStatus: "RUNNING" } };
    };

    it("gives the running run's lease a full term from now", async () => {
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      const runId = store.lease("dev")?.runId ?? "";
      clock = T + 1800_000;
      expect(await launch(running(TASK_ARN, runId), deps())).to.deep.equal({ running: "renewed" });
      expect(store.lease("dev")?.expiresAt).to.equal(T + 1800_000 + 3600_000);
      expect(runTasks()).to.have.length(1);
    });

    it("adopts the task of a launch that died between RunTask and recording it; its STOPPED event then hands over", async () => {
      // Prepare: a lease still `launching` (no task ARN), as a launch that died after RunTask leaves it
      store.putPendingNow("dev", {
        key: "p#2026-11-22T09:50:00.000Z#aa",
        request: parseRunRequest(request("stripe", ago(600))),
      });
      await store.acquire(
        {
          target: "dev",
          holder: "dead",
          state: "launching",
          runId: "20261122t095000-deadbeef",
          claimed: ["p#2026-11-22T09:50:00.000Z#aa"],
          expiresAt: T + 180_000,
        },
        T,
      );
      // Act
      const result = await launch(running(TASK_ARN, "20261122t095000-deadbeef"), deps());
      // Assess
      expect(result).to.deep.equal({ running: "renewed" });
      expect(store.lease("dev")).to.deep.equal({
        target: "dev",
        holder: "dead",
        state: "running",
        runId: "20261122t095000-deadbeef",
        taskArn: TASK_ARN,
        launchedAt: T,
        claimed: ["p#2026-11-22T09:50:00.000Z#aa"],
        expiresAt: T + 3600_000,
      });
      expect(await launch(stopped(TASK_ARN, "20261122t095000-deadbeef"), deps())).to.deep.equal({ handOver: "idle" });
      expect(store.outcomes("dev")).to.deep.equal({ "p#2026-11-22T09:50:00.000Z#aa": "run:20261122t095000-deadbeef" });
    });

    it("leaves alone the lease of another run or task", async () => {
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      const before = store.lease("dev");
      expect(await launch(running(NEXT_TASK_ARN, before?.runId ?? ""), deps())).to.deep.equal({ running: "stale" });
      expect(await launch(running(TASK_ARN, "20261122t000000-00000000"), deps())).to.deep.equal({ running: "stale" });
      expect(store.lease("dev")).to.deep.equal(before);
      expect(metrics.total("StaleRunningEvents")).to.equal(2);
    });
  });

  describe("hourly skip when nothing loaded since the last successful run", () => {
    const skipping = { ...settings, hourlySkipWhenIdle: true };
    const hourlyAt = (at: string) =>
      request("x", at, {
        select: ["source_status:fresher+"],
        sources: [],
        triggers: [{ kind: "schedule", id: `hourly:${at}`, receivedAt: at }],
      });
    /** The dbt-failed fixture (dbt exit code 1), retargeted to dev, for a task and run launch started. */
    const failedStop = (taskArn: string, runId: string) => {
      const e = JSON.parse(
        fixtureText("ecs/task-stopped-dbt-failed.json").replace(/"--target",\s*"prod"/, '"--target", "dev"'),
      ) as StoppedFixture;
      return { ...e, detail: { ...e.detail, taskArn, startedBy: `dbt-pipeline/${runId}` } };
    };
    /** A run of `req` (default: an hourly run, which covers everything) launched now, stopped 6 min later with the given event. */
    async function runAndStop(stop: typeof stopped, options = skipping, req = hourlyAt(ago(600)), id = "m1") {
      await launch(event(record(id, req)), deps({ settings: options }));
      const runId = store.lease("dev")?.runId ?? "";
      clock += 360_000;
      await launch(stop(TASK_ARN, runId), deps({ settings: options }));
    }
    /** A run an operator asked for (no load, and not covering everything). */
    const manual = (at: string) =>
      request("x", at, {
        select: ["tag:finance"],
        sources: [],
        triggers: [{ kind: "manual", id: `op-${at}`, receivedAt: at }],
      });

    /** An hour after T, the hourly schedule's request arrives alone (message `id`). */
    async function hourlyAnHourLater(id: string, options = skipping) {
      clock = T + 3600_000;
      const hourly = hourlyAt(new Date(clock).toISOString());
      await launch(event(record(id, hourly)), deps({ settings: options }));
      return hourly;
    }

    it("runs the hourly request after a failed run until a covering run succeeds, whatever narrower runs succeeded meanwhile", async () => {
      // Prepare: an hourly run succeeds; then an operator's run fails and another one succeeds
      await runAndStop(stopped);
      await runAndStop(failedStop, skipping, manual(new Date(clock).toISOString()), "m2");
      await runAndStop(stopped, skipping, manual(new Date(clock).toISOString()), "m3");
      // Act
      await hourlyAnHourLater("m4");
      // Assess: the failed run's models are not known to be built: the hourly run starts dbt
      expect(runTasks()).to.have.length(4);
      expect(metrics.total("HourlySkipped")).to.equal(0);
    });

    it("skips the hourly run after a narrower run succeeded, if the last covering run succeeded after every failure", async () => {
      await runAndStop(stopped);
      await runAndStop(stopped, skipping, manual(new Date(clock).toISOString()), "m2");
      await hourlyAnHourLater("m3");
      expect(runTasks()).to.have.length(2);
      expect(metrics.total("HourlySkipped")).to.equal(1);
    });

    it("runs the first hourly request of a target (no covering run yet)", async () => {
      await runAndStop(stopped, skipping, request("stripe", ago(600)));
      await hourlyAnHourLater("m2");
      expect(runTasks()).to.have.length(2);
      expect(metrics.total("HourlySkipped")).to.equal(0);
    });

    it("marks the hourly request done without starting dbt and counts it", async () => {
      await runAndStop(stopped);
      const hourly = await hourlyAnHourLater("m2");
      expect(runTasks()).to.have.length(1);
      expect(store.outcomes("dev")[keyOf(hourly)]).to.equal("skipped:idle");
      expect(metrics.total("HourlySkipped")).to.equal(1);
    });

    it("runs the hourly request when a source load was accepted after the last successful run started", async () => {
      await runAndStop(stopped);
      // A load accepted a minute after that run started (its own request dead-lettered, say)
      await store.recordLoad("dev", T + 60_000);
      await hourlyAnHourLater("m2");
      expect(runTasks()).to.have.length(2);
      expect(metrics.total("HourlySkipped")).to.equal(0);
    });

    it("joins an hourly request that waits with a source request (only hourly-only batches are skipped)", async () => {
      await runAndStop(stopped);
      clock = T + 3600_000;
      const hourly = hourlyAt(new Date(clock).toISOString());
      const load = request("hubspot", new Date(clock).toISOString());
      await launch(event(record("m2", hourly), record("m3", load)), deps({ settings: skipping }));
      expect(runTasks()).to.have.length(2);
      const runId = store.lease("dev")?.runId ?? "";
      expect(store.outcomes("dev")[keyOf(hourly)]).to.equal(`run:${runId}`);
      expect(metrics.total("HourlySkipped")).to.equal(0);
    });

    it("runs the hourly request when the last run failed (dbt exit code 1)", async () => {
      await runAndStop(failedStop);
      await hourlyAnHourLater("m2");
      expect(runTasks()).to.have.length(2);
      expect(metrics.total("HourlySkipped")).to.equal(0);
    });

    it("runs the hourly request when the setting is off", async () => {
      await runAndStop(stopped, settings);
      await hourlyAnHourLater("m2", settings);
      expect(runTasks()).to.have.length(2);
    });
  });

  describe("spacing: a minimum interval between the starts of a target's runs", () => {
    const spaced = { ...settings, minRunIntervalSeconds: 900 };
    const sweepEvent = { kind: "sweep", scheduledTime: "2026-11-22T10:10:00Z" };

    it("defers a hand-over that comes before the interval is up; the sweep that finds the start due launches it", async () => {
      // Prepare: a run started at 10:00:00 (its request waited 10 min), a request waiting
      await launch(event(record("m1", request("stripe", ago(600)))), deps({ settings: spaced }));
      const runId = store.lease("dev")?.runId ?? "";
      const waiting = request("hubspot", ago(-60));
      clock = T + 60_000;
      await launch(event(record("m2", waiting)), deps({ settings: spaced }));
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: NEXT_TASK_ARN }], failures: [] });
      // Act: the run stops at 10:06; sweeps at 10:10 and 10:15
      clock = T + 360_000;
      const handOver = await launch(stopped(TASK_ARN, runId), deps({ settings: spaced }));
      clock = T + 600_000;
      const early = await launch(sweepEvent, deps({ settings: spaced }));
      const leaseBetween = store.lease("dev");
      clock = T + 900_000;
      const due = await launch(sweepEvent, deps({ settings: spaced }));
      // Assess
      expect([handOver, early, due]).to.deep.equal([
        { handOver: "deferred" },
        { swept: { dev: "deferred" } },
        { swept: { dev: "launched" } },
      ]);
      expect(leaseBetween).to.equal(undefined);
      expect(runTasks()).to.have.length(2);
      expect(runTasks()[1].startedBy).to.equal(`dbt-pipeline/${runIdOf("20261122t100100", [waiting])}`);
      expect(store.outcomes("dev")[keyOf(waiting)]).to.equal(`run:${runIdOf("20261122t100100", [waiting])}`);
      expect(metrics.total("StartsDeferred")).to.equal(2);
      expect(sleeps).to.deep.equal([]);
    });

    it("waits inside the invocation when the start is due within a minute", async () => {
      await launch(event(record("m1", request("stripe", ago(600)))), deps({ settings: spaced }));
      const runId = store.lease("dev")?.runId ?? "";
      await launch(event(record("m2", request("hubspot", ago(0)))), deps({ settings: spaced }));
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: NEXT_TASK_ARN }], failures: [] });
      clock = T + 850_000;
      expect(await launch(stopped(TASK_ARN, runId), deps({ settings: spaced }))).to.deep.equal({
        handOver: "launched",
      });
      expect(sleeps).to.deep.equal([50_000]);
      expect(runTasks()).to.have.length(2);
    });

    it("keeps the idle leading edge: a target whose last run started longer ago than the interval starts after the window", async () => {
      await launch(event(record("m1", request("stripe", ago(600)))), deps({ settings: spaced }));
      const runId = store.lease("dev")?.runId ?? "";
      clock = T + 360_000;
      await launch(stopped(TASK_ARN, runId), deps({ settings: spaced }));
      clock = T + 3600_000;
      const fresh = request("hubspot", new Date(clock).toISOString());
      await launch(event(record("m2", fresh)), deps({ settings: spaced }));
      expect(sleeps).to.deep.equal([10_000]);
      expect(runTasks()).to.have.length(2);
    });
  });

  describe("sweep", () => {
    const sweepEvent = { kind: "sweep", scheduledTime: "2026-11-22T10:05:00Z" };

    it("recovers a lost STOPPED event: DescribeTasks shows the task stopped, the next run starts", async () => {
      // Prepare
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      await launch(event(record("m2", request("hubspot", ago(300)))), deps());
      ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: "STOPPED" }], failures: [] });
      ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: NEXT_TASK_ARN }], failures: [] });
      // Act
      const result = await launch(sweepEvent, deps());
      // Assess
      expect(result).to.deep.equal({ swept: { dev: "launched" } });
      expect(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input)).to.deep.equal([
        { cluster: CLUSTER, tasks: [TASK_ARN] },
      ]);
      expect(store.lease("dev")?.taskArn).to.equal(NEXT_TASK_ARN);
      expect(metrics.total("LostStopEvents")).to.equal(1);
    });

    it("renews a running task's lease", async () => {
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: "RUNNING" }], failures: [] });
      clock += 300_000;
      expect(await launch(sweepEvent, deps())).to.deep.equal({ swept: { dev: "renewed" } });
      expect(store.lease("dev")?.expiresAt).to.equal(T + 300_000 + 3600_000);
    });

    it("leaves alone a lease whose task DescribeTasks calls MISSING a moment after RunTask (eventual consistency)", async () => {
      await launch(event(record("m1", request("stripe", ago(600)))), deps());
      await launch(event(record("m2", request("hubspot", ago(300)))), deps());
      ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: TASK_ARN, reason: "MISSING" }] });
      clock += 2000;
      expect(await launch(sweepEvent, deps())).to.deep.equal({ swept: { dev: "unknown" } });
      expect(runTasks()).to.have.length(1);
      expect(store.lease("dev")).to.deep.include({ taskArn: TASK_ARN, expiresAt: T + 3600_000 });
    });

    it("takes over a lease whose task never started (launch died before RunTask): the requests run", async () => {
      // Prepare: a lease left `launching` past its expiry, and ECS lists no task for its run
      const waiting = request("stripe", ago(600));
      await store.addPending("dev", { key: keyOf(waiting), request: parseRunRequest(waiting) });
      await store.acquire(
        {
          target: "dev",
          holder: "dead",
          state: "launching",
          runId: "20261122t095000-deadbeef",
          claimed: [keyOf(waiting)],
          expiresAt: T - 1,
        },
        T - 200_000,
      );
      ecs.on(ListTasksCommand).resolves({ taskArns: [] });
      // Act
      const result = await launch(sweepEvent, deps());
      // Assess
      expect(result).to.deep.equal({ swept: { dev: "launched" } });
      expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).to.deep.equal([
        { cluster: CLUSTER, startedBy: "dbt-pipeline/20261122t095000-deadbeef" },
      ]);
      expect(runTasks()).to.deep.equal([
        expectedRunTask([waiting], runIdOf("20261122t095000", [waiting]), sourceBuild("source:stripe+")),
      ]);
      expect(metrics.total("LeasesRecovered")).to.equal(1);
    });

    it("looks again after releasing an idle lease: a request put meanwhile (which found the lease taken) starts at once", async () => {
      // Prepare: a dead invocation's expired `gathering` lease, nothing pending; a request arrives just as the sweep releases
      await store.acquire({ target: "dev", holder: "dead", state: "gathering", expiresAt: T - 1 }, T - 200_000);
      const late = request("stripe", ago(60));
      let arrived = false;
      store.fail = (call) => {
        if (call === "release" && !arrived) {
          arrived = true;
          store.putPendingNow("dev", { key: keyOf(late), request: parseRunRequest(late) });
        }
        return undefined;
      };
      // Act
      const result = await launch(sweepEvent, deps());
      // Assess
      expect(result).to.deep.equal({ swept: { dev: "launched" } });
      expect(runTasks()).to.deep.equal([
        expectedRunTask([late], runIdOf("20261122t095900", [late]), sourceBuild("source:stripe+")),
      ]);
    });

    it("keeps an expired lease whose task still runs (renewed), and starts nothing", async () => {
      await store.addPending("dev", {
        key: keyOf(request("stripe", ago(600))),
        request: parseRunRequest(request("stripe", ago(600))),
      });
      await store.acquire(
        {
          target: "dev",
          holder: "old",
          state: "running",
          runId: "20261122t080000-0a0b0c0d",
          taskArn: TASK_ARN,
          claimed: [],
          expiresAt: T - 1,
        },
        T - 4000_000,
      );
      ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: TASK_ARN, lastStatus: "RUNNING" }], failures: [] });
      expect(await launch(sweepEvent, deps())).to.deep.equal({ swept: { dev: "busy" } });
      expect(runTasks()).to.deep.equal([]);
      expect(store.lease("dev")).to.deep.include({ state: "running", taskArn: TASK_ARN, expiresAt: T + 3600_000 });
    });
  });

  it("throws on an event it does not know", async () => {
    const error = await rejection(launch({ Records: [{ body: 1 }] }, deps()));
    expect(error.name).to.equal("UnknownLaunchEventError");
  });

  describe("helpers", () => {
    it("backs off 1, 2, 4, 8, 8 seconds", () =>
      expect([1, 2, 3, 4, 5].map(backoffMs)).to.deep.equal([1000, 2000, 4000, 8000, 8000]));
    it("makes run ids from the oldest trigger and the request keys", () => {
      const req = parseRunRequest(request("stripe", "2026-01-02T03:04:05.678Z"));
      expect(runIdFor(req, ["b", "a"])).to.equal(`20260102t030405-${sha256("a,b").slice(0, 8)}`);
    });
    it("keys a pending request by its oldest trigger, then the body's sha256", () => {
      const body = JSON.stringify(request("stripe", "2026-01-02T03:04:05.678+01:00"));
      expect(pendingKey(parseRunRequest(JSON.parse(body)), body)).to.equal(
        `p#2026-01-02T02:04:05.678Z#${sha256(body)}`,
      );
    });
    const retryable: [string, unknown, boolean][] = [
      ["ThrottlingException", Object.assign(new Error("x"), { name: "ThrottlingException" }), true],
      // As the SDK's deserializer builds them: modeled errors carry $fault and $metadata.httpStatusCode.
      [
        "ServerException (500)",
        Object.assign(new Error("x"), {
          name: "ServerException",
          $fault: "server",
          $metadata: { httpStatusCode: 500 },
        }),
        true,
      ],
      ["a 429", Object.assign(new Error("x"), { name: "Unknown", $metadata: { httpStatusCode: 429 } }), true],
      ["TimeoutError", Object.assign(new Error("x"), { name: "TimeoutError" }), true],
      ["ENOTFOUND", Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }), true],
      ["AbortError", Object.assign(new Error("aborted"), { name: "AbortError" }), false],
      ["a 503", Object.assign(new Error("x"), { name: "Unknown", $metadata: { httpStatusCode: 503 } }), true],
      ["ECONNRESET", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
      ["ClientException: rate exceeded", Object.assign(new Error("Rate exceeded"), { name: "ClientException" }), true],
      ["AccessDeniedException", Object.assign(new Error("no"), { name: "AccessDeniedException" }), false],
      [
        "InvalidParameterException",
        Object.assign(new Error("bad subnet"), { name: "InvalidParameterException" }),
        false,
      ],
      ["a string", "boom", false],
    ];
    // Whether a failed call may still have started the task: only when ECS may have acted on it.
    const uncertain: [string, unknown, boolean][] = [
      ["TimeoutError", Object.assign(new Error("x"), { name: "TimeoutError" }), true],
      ["ECONNRESET", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
      ["a 503", Object.assign(new Error("x"), { name: "Unknown", $metadata: { httpStatusCode: 503 } }), true],
      [
        "a modeled ThrottlingException",
        Object.assign(new Error("x"), {
          name: "ThrottlingException",
          $retryable: { throttling: true },
          $metadata: { httpStatusCode: 400 },
        }),
        false,
      ],
      ["ClientException: rate exceeded", Object.assign(new Error("Rate exceeded"), { name: "ClientException" }), false],
      ["AccessDeniedException", Object.assign(new Error("no"), { name: "AccessDeniedException" }), false],
      ["a string", "boom", false],
    ];
    for (const [what, error, expected] of uncertain)
      it(`${expected ? "keeps" : "releases"} the claim after ${what}`, () =>
        expect(mayHaveStarted(error)).to.equal(expected));
    for (const [what, error, expected] of retryable)
      it(`${expected ? "retries" : "does not retry"} ${what}`, () =>
        expect(isRetryableError(error)).to.equal(expected));
    const reasons: [string | undefined, boolean][] = [
      ["Capacity is unavailable at this time. Please try again later or in a different availability zone", true],
      ["RESOURCE:MEMORY", true],
      ["RESOURCE:ENI", true],
      ["MISSING", false],
      [undefined, false],
    ];
    for (const [reason, expected] of reasons)
      it(`treats failure ${reason} as ${expected ? "retryable" : "final"}`, () =>
        expect(isRetryableFailure(reason)).to.equal(expected));
  });

  describe("environment", () => {
    const env = {
      CLUSTER_ARN: CLUSTER,
      TASK_DEFINITION: "dev-dbt",
      SUBNET_IDS: "subnet-aaa, subnet-bbb",
      SECURITY_GROUP_IDS: "sg-111",
      ASSIGN_PUBLIC_IP: "ENABLED",
      DLQ_URL,
      TABLE_NAME: "dev-launch",
    };
    it("reads every variable, with defaults", () => {
      expect(readLaunchSettings(env)).to.deep.equal(settings);
    });
    it("lists every problem at once", () => {
      let error: unknown;
      try {
        readLaunchSettings({
          SUBNET_IDS: " , ",
          ASSIGN_PUBLIC_IP: "yes",
          MAX_LAUNCH_ATTEMPTS: "0",
          BURST_WINDOW_SECONDS: "61",
          LEASE_SECONDS: "60",
        });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(ConfigurationError);
      expect((error as ConfigurationError).problems).to.deep.equal([
        "CLUSTER_ARN is not set; the deployment must set it",
        "TASK_DEFINITION is not set; the deployment must set it",
        "SUBNET_IDS must be a comma-separated list of at least one item",
        "SECURITY_GROUP_IDS is not set; the deployment must set it",
        "ASSIGN_PUBLIC_IP must be one of ENABLED, DISABLED",
        "BURST_WINDOW_SECONDS must be an integer from 0 to 60",
        "MAX_LAUNCH_ATTEMPTS must be an integer from 1 to 20",
        "DLQ_URL is not set; the deployment must set it",
        "TABLE_NAME is not set; the deployment must set it",
        "LEASE_SECONDS must be an integer from 600 to 86400",
      ]);
      // The message names the handler and lists each variable under its name (z.prettifyError).
      expect((error as Error).message).to.match(/^launch: invalid environment:\n/);
      expect((error as Error).message).to.include("✖ must be one of ENABLED, DISABLED\n  → at ASSIGN_PUBLIC_IP");
    });
  });
});

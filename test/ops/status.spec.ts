/**
 * `npm run status`: the last runs from the artifact bucket, what runs and waits now, the
 * dead-letter queue with its redrive command; and the one-line failures.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeTasksCommand, ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { latestRunIds, renderStatus, runLine, sourcesOfSelection, status, taskFacts } from "../../ops/status";
import { NO_STACK, RecordingIo, awsError, devPulumi, ok } from "./support";

const sts = mockClient(STSClient);
const s3 = mockClient(S3Client);
const ecs = mockClient(ECSClient);
const sqs = mockClient(SQSClient);
const doc = mockClient(DynamoDBDocumentClient);
const TABLE = "dbt-pipeline-dev-launch-state";
/** A pending item as launch stores it (store.ts addPending). */
const pendingItem = (key: string, source: string, receivedAt: string) => ({
  target: "dev",
  key,
  state: "pending",
  request: JSON.stringify({
    command: "build",
    select: [`source:${source}+`],
    exclude: [],
    vars: {},
    fullRefresh: false,
    target: "dev",
    defer: false,
    lane: "normal",
    triggers: [{ kind: "fivetran", id: `sync-${source}`, source, receivedAt }],
    sources: [source],
  }),
});

const fixture = (name: string) => readFileSync(path.join(__dirname, "..", "fixtures", "dbt", name), "utf8");
const body = (text: string) => ({ Body: { transformToString: () => Promise.resolve(text) } }) as never;
const NOW = new Date("2026-11-22T11:20:00.000Z");
const CLUSTER = "arn:aws:ecs:eu-west-1:111122223333:cluster/dbt-pipeline-dev";
const RUNS_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/dbt-pipeline-dev-runs.fifo";
const DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/dbt-pipeline-dev-runs-dlq.fifo";
const TASK = (id: string) => `arn:aws:ecs:eu-west-1:111122223333:task/dbt-pipeline-dev/${id}`;

function run(argv: string[], pulumi = devPulumi()) {
  const io = new RecordingIo();
  const done = status(argv, {
    pulumi: pulumi.run,
    clients: (region) => ({
      sts: new STSClient({ region }),
      s3: new S3Client({ region }),
      ecs: new ECSClient({ region }),
      sqs: new SQSClient({ region }),
      dynamo: new DynamoDBClient({ region }),
    }),
    now: () => NOW,
    io,
  });
  return { io, done };
}

describe("ops status", () => {
  beforeEach(() => {
    for (const m of [sts, s3, ecs, sqs]) m.reset();
    doc.reset();
    // The sweep's Scan finds the targets with a lease or pending requests.
    doc.on(ScanCommand).resolves({ Items: [{ target: "dev" }, { target: "dev" }] });
    doc.on(QueryCommand).resolves({
      Items: [
        pendingItem(
          "p#2026-11-22T11:17:30.000Z#5d41402abc4b2a76b9719d911017c592",
          "stripe",
          "2026-11-22T11:17:30.000Z",
        ),
        pendingItem(
          "p#2026-11-22T11:18:05.000Z#7d793037a0760186574b0282f2f435e7",
          "hubspot",
          "2026-11-22T11:18:05.000Z",
        ),
      ],
    });
    doc.on(GetCommand).resolves({
      Item: {
        target: "dev",
        key: "lease",
        holder: "h-1",
        state: "running",
        runId: "20261122t111500-5e6f7a8b",
        taskArn: TASK("aaaa1111"),
        launchedAt: 1795346200000,
        expiresAt: Date.parse("2026-11-22T11:46:40.000Z"),
        claimed: ["p#2026-11-22T11:15:00.000Z#aa"],
      },
    });
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: "111122223333", Arn: "arn:aws:sts::111122223333:assumed-role/Operator/alice" });
    // Keys sort by run id: S3 lists folders in ascending order.
    s3.on(ListObjectsV2Command).resolves({
      CommonPrefixes: [
        { Prefix: "dev/runs/20261122t100000-1f2e3d4c/" },
        { Prefix: "dev/runs/20261122t105500-0a0b0c0d/" },
        { Prefix: "dev/runs/20261122t110000-8b2d4f6a/" },
      ],
      IsTruncated: false,
    });
    s3.on(GetObjectCommand, { Key: "dev/runs/20261122t110000-8b2d4f6a/run_results.json" }).resolves(
      body(fixture("run_results-failed.json")),
    );
    s3.on(GetObjectCommand, { Key: "dev/runs/20261122t100000-1f2e3d4c/run_results.json" }).resolves(
      body(fixture("run_results-success.json")),
    );
    s3.on(GetObjectCommand, { Key: "dev/runs/20261122t105500-0a0b0c0d/run_results.json" }).rejects(
      awsError("NoSuchKey", "The specified key does not exist.", 404),
    );
    ecs.on(ListTasksCommand, { desiredStatus: "RUNNING" }).resolves({ taskArns: [TASK("aaaa1111")] });
    ecs.on(ListTasksCommand, { desiredStatus: "STOPPED" }).resolves({ taskArns: [TASK("9e8d7c6b")] });
    ecs.on(DescribeTasksCommand, { tasks: [TASK("aaaa1111")] }).resolves({
      tasks: [
        {
          taskArn: TASK("aaaa1111"),
          lastStatus: "RUNNING",
          desiredStatus: "RUNNING",
          startedBy: "dbt-pipeline/20261122t111500-5e6f7a8b",
          createdAt: new Date("2026-11-22T11:16:02.000Z"),
          startedAt: new Date("2026-11-22T11:16:40.000Z"),
          tags: [
            { key: "dbt-pipeline:run-id", value: "20261122t111500-5e6f7a8b" },
            { key: "dbt-pipeline:target", value: "dev" },
            { key: "dbt-pipeline:triggers", value: "airbyte fivetran" },
            { key: "dbt-pipeline:sources", value: "hubspot stripe" },
            { key: "aws:ecs:clusterName", value: "dbt-pipeline-dev" },
          ],
        },
      ],
      failures: [],
    });
    ecs.on(DescribeTasksCommand, { tasks: [TASK("9e8d7c6b")] }).resolves({
      tasks: [
        {
          taskArn: TASK("9e8d7c6b"),
          lastStatus: "STOPPED",
          desiredStatus: "STOPPED",
          startedBy: "dbt-pipeline/20261122t110000-8b2d4f6a",
          createdAt: new Date("2026-11-22T11:00:05.000Z"),
          startedAt: new Date("2026-11-22T11:00:40.250Z"),
          stoppedAt: new Date("2026-11-22T11:03:32.250Z"),
          tags: [
            { key: "dbt-pipeline:run-id", value: "20261122t110000-8b2d4f6a" },
            { key: "dbt-pipeline:target", value: "dev" },
            { key: "dbt-pipeline:triggers", value: "fivetran" },
            { key: "dbt-pipeline:sources", value: "stripe" },
          ],
        },
      ],
    });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: RUNS_URL }).resolves({
      Attributes: {
        ApproximateNumberOfMessages: "2",
        ApproximateNumberOfMessagesNotVisible: "3",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({
      Attributes: {
        ApproximateNumberOfMessages: "4",
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    });
  });

  it("prints the last runs, what runs and waits per target, and the dead letters with the redrive command", async () => {
    const t = run(["dev"]);
    expect(await t.done).to.equal(0);
    expect(t.io.errLines).to.deep.equal([]);
    expect(t.io.outLines).to.deep.equal([
      "stack dev: account 111122223333, eu-west-1, as arn:aws:sts::111122223333:assumed-role/Operator/alice",
      "",
      "last runs, newest first (s3://dbt-pipeline-dev-artifacts-111122223333/dev/runs/):",
      "  20261122t110000-8b2d4f6a  failed      started 2026-11-22 11:00:42Z  took 2m 32s  trigger fivetran  sources stripe  build --select source:stripe+ tag:dashboard",
      "      error         model.analytics.stg_stripe__customers",
      "      fail          test.analytics.unique_stg_stripe__charges_charge_id.9a8b7c6d5e",
      "  20261122t105500-0a0b0c0d  no results  started -  took -  trigger -  sources -  -",
      "      no run_results.json: dbt did not finish (see the run's dbt.log and the task's logs)",
      "  20261122t100000-1f2e3d4c  success     started 2026-11-22 10:00:43Z  took 3m 41s  trigger -  sources stripe (by selection)  build --select source:stripe+ tag:dashboard",
      "",
      "now:",
      "  running for target dev: run 20261122t111500-5e6f7a8b  RUNNING since 2026-11-22 11:16:40Z (3m 20s)  trigger airbyte fivetran  sources hubspot,stripe",
      "  waiting for target dev: 2 requests, oldest trigger 2026-11-22 11:17:30Z (2m 30s ago)",
      `    lease: running run 20261122t111500-5e6f7a8b task ${TASK("aaaa1111")}, expires 2026-11-22 11:46:40Z`,
      "  on the runs queue, not yet saved by launch: 2 ready, 3 in flight, 0 delayed",
      "  dead-letter queue: 4 messages",
      "    redrive them to the runs queue: aws sqs start-message-move-task --source-arn arn:aws:sqs:eu-west-1:111122223333:dbt-pipeline-dev-runs-dlq.fifo --destination-arn arn:aws:sqs:eu-west-1:111122223333:dbt-pipeline-dev-runs.fifo --region eu-west-1",
    ]);
  });

  it("asks AWS exactly for the stack's cluster, family, bucket prefix and queues", async () => {
    await run(["dev"]).done;
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).to.have.deep.members([
      { cluster: CLUSTER, family: "dbt-pipeline-dev-dbt", desiredStatus: "RUNNING", maxResults: 100 },
      { cluster: CLUSTER, family: "dbt-pipeline-dev-dbt", desiredStatus: "STOPPED", maxResults: 100 },
    ]);
    expect(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.include)).to.deep.equal([
      ["TAGS"],
      ["TAGS"],
    ]);
    // Two days back first: keys sort by run id, which starts with the UTC date.
    expect(s3.commandCalls(ListObjectsV2Command)[0].args[0].input).to.deep.equal({
      Bucket: "dbt-pipeline-dev-artifacts-111122223333",
      Prefix: "dev/runs/",
      Delimiter: "/",
      StartAfter: "dev/runs/20261120",
    });
    expect(sqs.commandCalls(GetQueueAttributesCommand).map((c) => c.args[0].input.QueueUrl)).to.have.members([
      RUNS_URL,
      DLQ_URL,
    ]);
    // Launch's reads, strongly consistent: the p# range of each target and its lease.
    expect(doc.commandCalls(QueryCommand).map((c) => c.args[0].input)).to.deep.equal([
      {
        TableName: TABLE,
        ConsistentRead: true,
        KeyConditionExpression: "#target = :target AND begins_with(#key, :prefix)",
        ExpressionAttributeNames: { "#target": "target", "#key": "key" },
        ExpressionAttributeValues: { ":target": "dev", ":prefix": "p#" },
        Limit: 10000,
        ExclusiveStartKey: undefined,
      },
    ]);
    expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input)).to.deep.equal([
      { TableName: TABLE, Key: { target: "dev", key: "lease" }, ConsistentRead: true },
    ]);
  });

  it("nothing running, an empty dead-letter queue: says so and prints no redrive command", async () => {
    ecs.on(ListTasksCommand, { desiredStatus: "RUNNING" }).resolves({ taskArns: [] });
    doc.on(ScanCommand).resolves({ Items: [] });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: RUNS_URL }).resolves({
      Attributes: {
        ApproximateNumberOfMessages: "0",
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({
      Attributes: {
        ApproximateNumberOfMessages: "0",
        ApproximateNumberOfMessagesNotVisible: "0",
        ApproximateNumberOfMessagesDelayed: "0",
      },
    });
    const t = run(["dev", "--last", "1"]);
    expect(await t.done).to.equal(0);
    expect(t.io.outLines.slice(-4)).to.deep.equal([
      "now:",
      "  running: nothing",
      "  waiting in launch: nothing",
      "  dead-letter queue: 0 messages",
    ]);
    expect(t.io.outLines.filter((l) => /^ {2}\d{8}t/.test(l))).to.have.length(1);
  });

  it("lists launch's runs only: the dbt repository's ci-<sha> uploads and manual folders sort after digits and are skipped", async () => {
    s3.reset();
    s3.on(ListObjectsV2Command).resolves({
      CommonPrefixes: [
        { Prefix: "dev/runs/20261121t080000-0a1b2c3d/" },
        { Prefix: "dev/runs/20261122t093000-9f8e7d6c/" },
        { Prefix: "dev/runs/ci-4f2c9e1a7b3d5e6f8a9b0c1d2e3f4a5b6c7d8e9f/" },
        { Prefix: "dev/runs/manual-backfill/" },
      ],
      IsTruncated: false,
    });
    expect(await latestRunIds(new S3Client({ region: "eu-west-1" }), "b", "dev/runs/", 2, NOW)).to.deep.equal([
      "20261122t093000-9f8e7d6c",
      "20261121t080000-0a1b2c3d",
    ]);
  });

  it("widens the listing when the last two days hold fewer runs than asked for", async () => {
    s3.reset();
    // The whole prefix (registered first: the narrower matchers below take precedence).
    s3.on(ListObjectsV2Command).resolves({
      CommonPrefixes: [{ Prefix: "dev/runs/20261001t020000-bbbbbbbb/" }],
      IsTruncated: true,
      NextContinuationToken: "page-2",
    });
    s3.on(ListObjectsV2Command, { StartAfter: "dev/runs/20261120" }).resolves({
      CommonPrefixes: [],
      IsTruncated: false,
    });
    s3.on(ListObjectsV2Command, { StartAfter: "dev/runs/20261108" }).resolves({
      CommonPrefixes: [{ Prefix: "dev/runs/20261110t020000-aaaaaaaa/" }],
      IsTruncated: false,
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: "page-2" }).resolves({
      CommonPrefixes: [{ Prefix: "dev/runs/20261110t020000-aaaaaaaa/" }],
      IsTruncated: false,
    });
    expect(await latestRunIds(new S3Client({ region: "eu-west-1" }), "b", "dev/runs/", 2, NOW)).to.deep.equal([
      "20261110t020000-aaaaaaaa",
      "20261001t020000-bbbbbbbb",
    ]);
    expect(
      s3
        .commandCalls(ListObjectsV2Command)
        .map((c) => c.args[0].input.StartAfter ?? c.args[0].input.ContinuationToken ?? "all"),
    ).to.deep.equal(["dev/runs/20261120", "dev/runs/20261108", "all", "page-2"]);
  });

  it("lists at most five failing nodes per run and counts the rest", () => {
    const results = {
      metadata: { dbt_version: "1.9.4", generated_at: "2026-11-22T11:03:10Z", invocation_id: null },
      elapsed_time: 12.4,
      args: { which: "test" },
      results: Array.from({ length: 7 }, (_, i) => ({
        unique_id: `test.analytics.t${i}`,
        status: "fail",
        message: null,
        failures: 1,
      })),
    };
    const line = runLine("20261122t110000-8b2d4f6a", results, undefined);
    expect(line).to.deep.include({
      outcome: "failed",
      durationSeconds: 12,
      command: "test",
      select: [],
      sources: [],
      startedAt: null,
    });
    const none = { visible: 0, inFlight: 0, delayed: 0 };
    const lines = renderStatus({
      stack: "dev",
      account: "1",
      region: "eu-west-1",
      identity: "me",
      runsLocation: "s3://b/dev/runs/",
      runs: [line],
      running: [],
      waiting: [],
      queued: none,
      deadLetters: none,
      redrive: "",
      now: NOW,
    });
    expect(lines.slice(3, 10)).to.deep.equal([
      "  20261122t110000-8b2d4f6a  failed      started -  took 12s  trigger -  sources -  test",
      "      fail          test.analytics.t0",
      "      fail          test.analytics.t1",
      "      fail          test.analytics.t2",
      "      fail          test.analytics.t3",
      "      fail          test.analytics.t4",
      "      … and 2 more failing nodes",
    ]);
  });

  it("a run whose dbt container exited non-zero is failed even when no node failed", () => {
    const task = taskFacts({
      taskArn: TASK("bbbb2222"),
      lastStatus: "STOPPED",
      startedBy: "dbt-pipeline/20261122t100000-1f2e3d4c",
      containers: [
        { name: "prepare", exitCode: 0 },
        { name: "freshness", exitCode: 0 },
        { name: "dbt", exitCode: 2 },
        { name: "upload", exitCode: 0 },
      ],
    });
    expect(runLine("20261122t100000-1f2e3d4c", JSON.parse(fixture("run_results-success.json")), task).outcome).to.equal(
      "failed",
    );
    expect(
      runLine("20261122t100000-1f2e3d4c", JSON.parse(fixture("run_results-success.json")), { ...task, dbtExitCode: 0 })
        .outcome,
    ).to.equal("success");
  });

  it("names the sources a selection selects", () => {
    expect(
      sourcesOfSelection(["source:stripe+", "+source:hubspot,tag:x", "tag:source:not", "source:web_events.pageviews+"]),
    ).to.deep.equal(["hubspot", "stripe", "web_events"]);
  });

  describe("bad input: one line on stderr, exit code non-zero, no AWS call", () => {
    const cases = [
      {
        name: "unknown stack",
        argv: ["qa"],
        pulumi: () => devPulumi({ "stack output --json": NO_STACK("qa") }),
        code: 1,
        err: "error: unknown stack qa: no stack named 'qa' found; list the stacks with pulumi stack ls",
      },
      {
        name: "missing outputs (an older deployment)",
        argv: ["dev"],
        pulumi: () =>
          devPulumi({
            "stack output --json": ok({
              environment: "dev",
              artifactBucket: "b",
              artifactPrefixes: { runs: "dev/runs/", latest: "dev/latest/" },
            }),
          }),
        code: 1,
        err: "error: stack dev has no output dbtCluster, dbtTaskFamily, runsQueueArn, deadLetterQueueArn, launchStateTable: deploy it first (pulumi up --stack dev)",
      },
      {
        name: "a bad --last",
        argv: ["dev", "--last", "0"],
        pulumi: () => devPulumi(),
        code: 2,
        err: "error: --last takes a number from 1 to 100; usage: npm run status -- <stack> [--last <number of runs, default 10>]",
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const t = run(c.argv, c.pulumi());
        expect(await t.done).to.equal(c.code);
        expect(t.io.errLines).to.deep.equal([c.err]);
        expect(t.io.outLines).to.deep.equal([]);
        expect(
          sts.calls().length + s3.calls().length + ecs.calls().length + sqs.calls().length + doc.calls().length,
        ).to.equal(0);
      });
    }

    it("expired credentials stop before any other AWS call", async () => {
      sts
        .on(GetCallerIdentityCommand)
        .rejects(awsError("ExpiredToken", "The security token included in the request is expired", 403));
      const t = run(["dev"]);
      expect(await t.done).to.equal(1);
      expect(t.io.errLines).to.deep.equal([
        "error: checking your AWS identity (sts:GetCallerIdentity) failed: your AWS credentials are expired or missing (ExpiredToken); refresh them (aws sso login, or new keys in AWS_PROFILE) and run again",
      ]);
      expect(s3.calls().length + ecs.calls().length + sqs.calls().length).to.equal(0);
      expect(t.io.outLines).to.deep.equal([]);
    });

    it("a failing AWS read is one line naming the call, with no partial report", async () => {
      ecs.on(ListTasksCommand).rejects(awsError("ClusterNotFoundException", "Cluster not found.", 400));
      const t = run(["dev"]);
      expect(await t.done).to.equal(1);
      expect(t.io.errLines).to.have.length(1);
      expect(t.io.errLines[0]).to.match(
        /^error: listing (running|stopped) dbt tasks \(ecs:ListTasks, ecs:DescribeTasks\) failed: ClusterNotFoundException: Cluster not found\.$/,
      );
      expect(t.io.outLines).to.deep.equal([]);
    });
  });
});

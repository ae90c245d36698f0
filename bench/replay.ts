/**
 * Trigger path replay: one generated day of deliveries (bench/trace.ts) through the REAL dispatch
 * core and the REAL launch core, on a virtual clock, with mocked AWS clients:
 *  - dispatch's SQS SendMessage feeds a FIFO queue model (bench/fifo.ts: message groups, 5-minute
 *    deduplication, visibility, redrive) and its idempotency runs on Powertools with an in-memory
 *    persistence layer on the virtual clock (bench/memory-persistence.ts; or dynalite);
 *  - an event source model delivers a group's first ≤ 10 visible messages when nothing of the group
 *    is in flight, deletes what launch acknowledges (ReportBatchItemFailures) and leaves the rest
 *    hidden for the visibility launch set through ChangeMessageVisibilityBatch;
 *  - ECS: RunTask starts a task at the virtual time of the call that lives `startup + dbt + teardown`
 *    (dbt: 3 min + 20 s per source, full refresh 15 min; startup + teardown = the cost model's
 *    1.5 min overhead); ListTasks returns the family's tasks still alive at the current time;
 *    a repeated clientToken returns the task it started.
 * It reports what the design does with the day (runs, merging, duplicates, overlap, loss, added
 * wait) next to one run per trigger and an hourly run of everything, and the wall-clock time the
 * two cores took per call.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { ECSClient, ListTasksCommand, RunTaskCommand, RunTaskCommandInput } from "@aws-sdk/client-ecs";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { ChangeMessageVisibilityBatchCommand, SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { LAUNCH_EVENT_SOURCE, RECHECK_SECONDS, RUNS_MAX_RECEIVE_COUNT, RUNS_VISIBILITY_TIMEOUT_SECONDS } from "../components/triggers/settings";
import { buildConfig, parseConfig } from "../config";
import { dispatch } from "../functions/dispatch/core";
import type { DispatchSettings } from "../functions/dispatch/settings";
import { launch } from "../functions/launch/core";
import type { LaunchSettings } from "../functions/launch/settings";
import type { Log } from "../functions/lib/observability";
import { parseRunRequest } from "../functions/lib/run-contract";
import { SecretCache } from "../functions/lib/secrets";
import { parseSourcesDocument } from "../functions/lib/sources";
import { DEFAULT_WORKLOAD } from "../offline/cost";
import { readStackConfig } from "../offline/stack-config";
import { RecordingMetrics, fakeContext, fivetranSignature, httpEvent, startLocalDynamo } from "../test/functions/support";
import { FifoQueue, Received } from "./fifo";
import { MemoryPersistenceLayer } from "./memory-persistence";
import { Rng, Summary, countOverlaps, mean, summarize, unionLength } from "./stats";
import { Trace, TraceEvent, TraceOptions, TraceSummary, generateTrace, sourcesDocument, summarizeTrace } from "./trace";

const REGION = "eu-west-1";
const ACCOUNT = "123456789012";
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:bench-runs.fifo`;
const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bench-runs.fifo`;
const DLQ_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bench-runs-dlq.fifo`;
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/bench-dbt`;
const FAMILY = "bench-dbt";
const SECRETS = {
  fivetran: { arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-fivetran-AbCdEf`, value: "bench-fivetran-signing-secret" },
  airbyte: { arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-airbyte-GhIjKl`, value: "4c0e2d1f9a8b7c6d5e4f3a2b1c0d9e8f" },
};
const ALERT_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:bench-alerts`;
const SNOWFLAKE_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:bench-snowflake`;
const DAY_MS = 24 * 3600 * 1000;

/** How long a modelled dbt task lives. */
export interface TaskModel {
  /** Incremental dbt: `baseSeconds + perSourceSeconds × sources in the run`. */
  readonly baseSeconds: number;
  readonly perSourceSeconds: number;
  /** A full refresh. */
  readonly fullRefreshSeconds: number;
  /** From RunTask to dbt starting (Fargate provisioning, image pull, prepare, freshness). */
  readonly startupSeconds: number;
  /** From dbt ending to the task stopping (artifact upload). */
  readonly teardownSeconds: number;
}

/** 3 min + 20 s per source, full refresh 15 min; startup + teardown = `DEFAULT_WORKLOAD.taskOverheadMinutes` (1.5 min). */
export const DEFAULT_TASK_MODEL: TaskModel = {
  baseSeconds: 180,
  perSourceSeconds: 20,
  fullRefreshSeconds: 900,
  startupSeconds: DEFAULT_WORKLOAD.taskOverheadMinutes * 60 - 30,
  teardownSeconds: 30,
};

/** dbt seconds of a run of `sources` sources (or a full refresh). */
export function dbtSeconds(model: TaskModel, sources: number, fullRefresh: boolean): number {
  return fullRefresh ? model.fullRefreshSeconds : model.baseSeconds + model.perSourceSeconds * sources;
}

/** What to replay. */
export interface ReplayOptions {
  readonly seed?: number;
  /** The stack whose `triggers.*` and warehouse settings apply (its Pulumi.<stack>.yaml). */
  readonly stack?: string;
  /** Idempotency store: in-memory on the virtual clock (default) or dynalite. */
  readonly store?: "memory" | "dynalite";
  readonly trace?: Partial<TraceOptions>;
  readonly task?: TaskModel;
  /** Repository root (for the stack files). */
  readonly root?: string;
  /** Injected RunTask faults (seeded): throttling (retried with backoff) and rejections (dead-lettered). */
  readonly faults?: Faults;
}

/** Shares of RunTask calls that fail. */
export interface Faults {
  /** ThrottlingException: launch retries with backoff. */
  readonly runTaskThrottleRate: number;
  /** A non-retryable error: launch sends the merged request to the dead-letter queue. */
  readonly runTaskRejectRate: number;
}

/** A run the replay launched (or a baseline's run). */
export interface RunRecord {
  readonly runId: string;
  readonly launchedAt: number;
  readonly dbtStart: number;
  readonly dbtEnd: number;
  /** Task alive from `launchedAt` to `stoppedAt` (what ListTasks sees). */
  readonly stoppedAt: number;
  readonly fullRefresh: boolean;
  readonly sources: readonly string[];
  /** `kind:id` of every trigger the run serves. */
  readonly triggers: readonly string[];
  readonly target: string;
}

/** One strategy's figures for the comparison. */
export interface StrategyFigures {
  readonly name: string;
  readonly runs: number;
  readonly fullRefreshes: number;
  /** Minutes dbt keeps the transforming warehouse busy (sum over runs). */
  readonly dbtMinutes: number;
  /** Minutes the warehouse is up: union of [dbt start, dbt end + auto-suspend], at least 60 s per resume. */
  readonly billedMinutes: number;
  /** Task-minutes on Fargate. */
  readonly taskMinutes: number;
  /** Runs on one target that start before an earlier one stopped. */
  readonly overlaps: number;
  /** Added wait (s) from trigger receipt to launch, source triggers only. */
  readonly waitSeconds: Summary;
}

/** Everything the replay measured. */
export interface ReplayReport {
  readonly seed: number;
  readonly stack: string;
  readonly target: string;
  readonly store: "memory" | "dynalite";
  readonly day: string;
  readonly settings: {
    readonly burstWindowSeconds: number;
    readonly recheckSeconds: number;
    readonly batchSize: number;
    readonly visibilityTimeoutSeconds: number;
    readonly maxReceiveCount: number;
    readonly dedupeSeconds: number;
    readonly hourlySchedule: string;
    readonly fullRefreshSchedule: string;
    readonly autoSuspendSeconds: number;
  };
  readonly taskModel: TaskModel;
  readonly trace: TraceSummary;
  readonly dispatch: {
    readonly calls: number;
    /** Distinct deliveries that queued a run request. */
    readonly accepted: number;
    /** Redeliveries answered with the stored outcome (Powertools idempotency). */
    readonly duplicatesDropped: number;
    /** Concurrent copies answered 409 (another invocation held the delivery). */
    readonly inProgressRejected: number;
    /** SendMessage calls SQS deduplicated (should be 0: idempotency answers first). */
    readonly sqsDeduplicated: number;
    /** Failed syncs reported through the alert topic. */
    readonly alerts: number;
    /** Expected duplicates (trace attempts other than the first). */
    readonly duplicateAttempts: number;
    /** Distinct successful deliveries that never got a run request queued. */
    readonly neverAccepted: number;
    readonly answers: Readonly<Record<string, number>>;
  };
  readonly launch: {
    readonly invocations: number;
    readonly deferrals: Readonly<Record<string, number>>;
    readonly runTaskCalls: number;
    readonly deadLettered: number;
    /** RunTask calls that failed by injection, and the retries launch made. */
    readonly faults: { readonly throttled: number; readonly rejected: number; readonly retries: number };
    readonly errors: readonly string[];
  };
  readonly design: {
    readonly runs: readonly RunRecord[];
    readonly triggersPerRun: { readonly mean: number; readonly max: number };
    readonly overlaps: number;
    /** Accepted deliveries in no launched run and not in the DLQ. */
    readonly lost: number;
    /** Accepted deliveries in more than one run. */
    readonly duplicated: number;
    readonly inDeadLetterQueue: number;
    readonly stillQueued: number;
    readonly waitSeconds: { readonly all: Summary; readonly sources: Summary; readonly webhook: Summary; readonly byKind: Readonly<Record<string, Summary>> };
    /** The core's own TriggerToLaunchSeconds metric (oldest trigger per run). */
    readonly coreTriggerToLaunch: Summary;
    /** Runs started at most 10 s after the previous one stopped (back to back). */
    readonly backToBack: number;
    /** Seconds from a run stopping to the next launching, when the next one's oldest request was already waiting (recheck granularity). */
    readonly idleGapSeconds: Summary;
    /**
     * Work a full refresh already covered: triggers received before a full refresh's dbt started
     * that were served by a later incremental run, and later runs made only of such triggers.
     */
    readonly coveredByFullRefresh: { readonly triggers: number; readonly runs: number };
    /** Runs of a full batch of 10 messages (more may have waited behind them). */
    readonly fullBatches: number;
  };
  readonly strategies: readonly StrategyFigures[];
  readonly timings: {
    readonly dispatchMs: Summary;
    readonly launchMs: Summary;
    readonly dispatchFirstMs: number;
    readonly launchFirstMs: number;
    /** Calls left out of the timing (ran concurrently with another, or the first of each core). */
    readonly excluded: number;
  };
  readonly persistence?: { readonly records: number; readonly puts: number; readonly conflicts: number };
  /** Wall-clock seconds the replay took. */
  readonly wallSeconds: number;
}

/** A Log that counts lines and keeps the reasons requests waited. */
class CountingLog implements Log {
  readonly counts = new Map<string, number>();
  readonly reasons = new Map<string, number>();
  readonly errors: string[] = [];
  debug(message: string): void {
    this.bump(message);
  }
  info(message: string, ...attributes: Record<string, unknown>[]): void {
    this.bump(message);
    const attrs = Object.assign({}, ...attributes) as { reason?: unknown };
    if (message === "run requests wait" && typeof attrs.reason === "string") {
      this.reasons.set(attrs.reason, (this.reasons.get(attrs.reason) ?? 0) + 1);
    }
  }
  warn(message: string): void {
    this.bump(message);
  }
  error(message: string, ...attributes: Record<string, unknown>[]): void {
    this.bump(message);
    if (this.errors.length < 20) this.errors.push(`${message} ${JSON.stringify(Object.assign({}, ...attributes)).slice(0, 300)}`);
  }
  private bump(message: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }
}

/** Minute and hour of an EventBridge `cron(M H * * ? *)` expression (`*` hour → undefined). */
export function cronTime(expression: string): { minute: number; hour?: number } {
  const m = /^cron\((\d+)\s+(\S+)\s/.exec(expression);
  if (!m) throw new Error(`cannot read the time of ${expression}; the replay understands cron(M H * * ? *)`);
  return { minute: Number(m[1]), hour: /^\d+$/.test(m[2]) ? Number(m[2]) : undefined };
}

/** The dispatch event for a trace delivery. */
export function dispatchEvent(e: TraceEvent, start: number): unknown {
  const iso = (ms: number) => new Date(start + ms).toISOString();
  switch (e.kind) {
    case "fivetran": {
      const body = JSON.stringify({
        event: "sync_end", created: iso(e.loadedAt), connector_type: "bench", connector_id: e.connector, connector_name: e.source,
        sync_id: e.id, destination_group_id: "bench_warehouse",
        data: e.success ? { status: "SUCCESSFUL" } : { status: "FAILURE_WITH_TASK", reason: "source timed out" },
      });
      return httpEvent({
        routeKey: "POST /webhooks/fivetran", rawPath: "/webhooks/fivetran", body,
        headers: { "content-type": "application/json", "x-fivetran-signature-256": fivetranSignature(SECRETS.fivetran.value, body) },
      });
    }
    case "airbyte": {
      const body = JSON.stringify({
        text: e.success ? "Sync succeeded" : "Sync failed",
        data: {
          workspace: { id: "b510e39b-e9e2-4833-9a3a-963e51d35fb4", name: "bench", url: "https://airbyte.example/ws" },
          connection: { id: e.connector, name: e.source, url: "https://airbyte.example/connection" },
          jobId: Number(e.id), startedAt: iso(e.loadedAt - 120_000), finishedAt: iso(e.loadedAt), success: e.success,
          ...(e.success ? { recordsCommitted: 100 } : { errorMessage: "source timed out", errorType: "transient_error", errorOrigin: "source" }),
        },
      });
      return httpEvent({
        routeKey: "POST /webhooks/airbyte/{token}", rawPath: `/webhooks/airbyte/${SECRETS.airbyte.value}`, body,
        headers: { "content-type": "application/json" }, pathParameters: { token: SECRETS.airbyte.value },
      });
    }
    case "snowflake": {
      const [taskRunId] = e.id.split(":");
      const message = JSON.stringify({ kind: "snowflake_load", source: e.source, table: `DBT_PIPELINE_PROD.RAW.${e.table}`, rows: e.rows ?? 1, loaded_at: iso(e.loadedAt), task_run_id: taskRunId });
      return {
        Records: [{
          EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: `${SNOWFLAKE_TOPIC}:sub-1`,
          Sns: {
            Type: "Notification", MessageId: createHash("sha1").update(e.key).digest("hex"), TopicArn: SNOWFLAKE_TOPIC, Subject: null,
            Message: message, Timestamp: iso(e.at), SignatureVersion: "1", Signature: "x", SigningCertUrl: "https://sns.example/cert.pem",
            UnsubscribeUrl: "https://sns.example/unsubscribe", MessageAttributes: {},
          },
        }],
      };
    }
    case "schedule":
      return { kind: "schedule", schedule: e.schedule, scheduledTime: iso(e.loadedAt) };
  }
}

/** The SQS event the event source mapping sends for `records`. */
export function sqsEvent(records: readonly Received[]): { Records: unknown[] } {
  return {
    Records: records.map((r) => ({
      messageId: r.messageId,
      receiptHandle: r.receiptHandle,
      body: r.body,
      attributes: {
        ApproximateReceiveCount: String(r.receiveCount), SentTimestamp: String(r.sentAt), MessageGroupId: r.group,
        SequenceNumber: String(r.sequence).padStart(20, "0"), MessageDeduplicationId: r.dedupeId,
      },
      messageAttributes: {},
      md5OfBody: createHash("md5").update(r.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: QUEUE_ARN,
      awsRegion: REGION,
    })),
  };
}

interface Accepted {
  readonly trigger: string;
  readonly kind: string;
  readonly receivedAt: number;
  readonly event: TraceEvent;
}

interface Task {
  readonly arn: string;
  readonly family: string;
  readonly clientToken: string;
  readonly record: RunRecord;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const elapsedMs = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/** Replays one day; see the file comment. */
export async function replay(options: ReplayOptions = {}): Promise<ReplayReport> {
  const wallStart = process.hrtime.bigint();
  const stack = options.stack ?? "prod";
  const root = options.root ?? path.join(__dirname, "..");
  const parsed = parseConfig(readStackConfig(stack, root).config, stack);
  if (!parsed.values) throw new Error(`stack ${stack} has an invalid config: ${parsed.problems.join("; ")}`);
  const config = buildConfig(parsed.values, "dbt-pipeline", stack);
  const t = config.triggers;
  const hourly = cronTime(t.hourlySchedule);
  const refresh = cronTime(t.fullRefreshSchedule);
  const trace: Trace = generateTrace({
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    hourlyMinute: hourly.minute, fullRefreshHour: refresh.hour ?? 2, fullRefreshMinute: refresh.minute,
    ...options.trace,
  });
  const model = options.task ?? DEFAULT_TASK_MODEL;
  const target = config.dbt.target;
  const store = options.store ?? "memory";

  // The virtual clock (epoch ms): every core and mock reads it.
  let clock = trace.start;
  const now = () => new Date(clock);

  const queue = new FifoQueue({ visibilityTimeoutSeconds: RUNS_VISIBILITY_TIMEOUT_SECONDS, maxReceiveCount: RUNS_MAX_RECEIVE_COUNT });
  const accepted = new Map<string, Accepted>();
  const alerts: string[] = [];
  const tasks: Task[] = [];
  const deadLetters: { body: string; messageIds: string[]; reason: string }[] = [];
  // A trigger's `kind:id` equals the delivery key of the trace event that carries it.
  const eventByKey = new Map<string, TraceEvent>();
  for (const e of trace.events) if (!eventByKey.has(e.key)) eventByKey.set(e.key, e);

  // Dispatch's clients.
  const dispatchSqs = new SQSClient({ region: REGION });
  mockClient(dispatchSqs).on(SendMessageCommand).callsFake((input: { MessageBody: string; MessageGroupId: string; MessageDeduplicationId: string }) => {
    const sent = queue.send(input.MessageGroupId, input.MessageBody, input.MessageDeduplicationId, clock);
    if (!sent.duplicate) {
      const request = parseRunRequest(JSON.parse(input.MessageBody));
      for (const tr of request.triggers) {
        const key = `${tr.kind}:${tr.id}`;
        const event = eventByKey.get(key);
        if (!event) throw new Error(`bench: trigger ${key} matches no delivery of the trace`);
        if (!accepted.has(key)) accepted.set(key, { trigger: key, kind: tr.kind, receivedAt: Date.parse(tr.receivedAt), event });
      }
    }
    return { MessageId: sent.messageId };
  });
  const sns = new SNSClient({ region: REGION });
  mockClient(sns).on(PublishCommand).callsFake((input: { Subject?: string }) => {
    alerts.push(input.Subject ?? "");
    return { MessageId: `alert-${alerts.length}` };
  });
  const secretsManager = new SecretsManagerClient({ region: REGION });
  mockClient(secretsManager).on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    const found = Object.values(SECRETS).find((s) => s.arn === input.SecretId);
    if (!found) throw Object.assign(new Error("Secrets Manager can't find the specified secret."), { name: "ResourceNotFoundException" });
    return { SecretString: found.value };
  });

  // Launch's clients.
  const launchSqs = new SQSClient({ region: REGION });
  const launchSqsMock = mockClient(launchSqs);
  launchSqsMock.on(ChangeMessageVisibilityBatchCommand).callsFake((input: { Entries: { Id: string; ReceiptHandle: string; VisibilityTimeout: number }[] }) => {
    const ok = input.Entries.filter((e) => queue.changeVisibility(e.ReceiptHandle, e.VisibilityTimeout, clock));
    const failed = input.Entries.filter((e) => !ok.includes(e));
    return {
      Successful: ok.map((e) => ({ Id: e.Id })),
      Failed: failed.map((e) => ({ Id: e.Id, Code: "ReceiptHandleIsInvalid", SenderFault: true, Message: "receipt handle not in flight" })),
    };
  });
  launchSqsMock.on(SendMessageCommand).callsFake((input: { MessageBody: string; MessageAttributes?: Record<string, { StringValue?: string }> }) => {
    deadLetters.push({
      body: input.MessageBody,
      messageIds: (input.MessageAttributes?.["message-ids"]?.StringValue ?? "").split(",").filter(Boolean),
      reason: input.MessageAttributes?.reason?.StringValue ?? "?",
    });
    return { MessageId: `dlq-${deadLetters.length}` };
  });
  const ecs = new ECSClient({ region: REGION });
  const ecsMock = mockClient(ecs);
  ecsMock.on(ListTasksCommand).callsFake((input: { family?: string }) => ({
    taskArns: tasks.filter((x) => (input.family === undefined || x.family === input.family) && x.record.launchedAt <= clock && clock < x.record.stoppedAt).map((x) => x.arn),
  }));
  let pendingRun: Task | undefined;
  const faultRng = new Rng((trace.options.seed ^ 0x5eed) >>> 0);
  const injected = { throttled: 0, rejected: 0 };
  ecsMock.on(RunTaskCommand).callsFake((input: RunTaskCommandInput) => {
    if (options.faults) {
      const roll = faultRng.next();
      if (roll < options.faults.runTaskThrottleRate) {
        injected.throttled++;
        throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException", $metadata: { httpStatusCode: 400 } });
      }
      if (roll < options.faults.runTaskThrottleRate + options.faults.runTaskRejectRate) {
        injected.rejected++;
        throw Object.assign(new Error("Task definition does not exist"), { name: "InvalidParameterException", $metadata: { httpStatusCode: 400 } });
      }
    }
    const known = tasks.find((x) => x.clientToken === input.clientToken);
    if (known) return { tasks: [{ taskArn: known.arn }], failures: [] };
    const dbt = input.overrides?.containerOverrides?.find((c) => c.name === "dbt");
    const fullRefresh = (dbt?.command ?? []).includes("--full-refresh");
    const tag = (key: string) => input.tags?.find((x) => x.key === key)?.value;
    const sources = (tag("dbt-pipeline:sources") ?? "").split(" ").filter(Boolean);
    const dbtStart = clock + model.startupSeconds * 1000;
    const dbtEnd = dbtStart + dbtSeconds(model, sources.length, fullRefresh) * 1000;
    const arn = `arn:aws:ecs:${REGION}:${ACCOUNT}:task/bench-dbt/${sha256(input.clientToken ?? String(tasks.length)).slice(0, 32)}`;
    const task: Task = {
      arn, family: input.taskDefinition ?? "", clientToken: input.clientToken ?? "",
      record: {
        runId: tag("dbt-pipeline:run-id") ?? "", launchedAt: clock, dbtStart, dbtEnd, stoppedAt: dbtEnd + model.teardownSeconds * 1000,
        fullRefresh, sources, triggers: [], target: tag("dbt-pipeline:target") ?? "",
      },
    };
    tasks.push(task);
    pendingRun = task;
    return { tasks: [{ taskArn: arn, lastStatus: "PROVISIONING" }], failures: [] };
  });

  // Idempotency store.
  let persistence: BasePersistenceLayer;
  let memory: MemoryPersistenceLayer | undefined;
  let closeDynamo: (() => Promise<void>) | undefined;
  if (store === "dynalite") {
    const dynamo = await startLocalDynamo();
    persistence = await dynamo.freshStore();
    closeDynamo = () => dynamo.close();
  } else {
    memory = new MemoryPersistenceLayer(() => clock);
    persistence = memory;
  }

  const dispatchSettings: DispatchSettings = {
    queueUrl: QUEUE_URL,
    idempotencyTable: "bench-idempotency",
    dedupeSeconds: t.dedupeHours * 3600,
    unknownConnector: t.unknownConnector,
    hourlySelect: t.hourlySelect.split(/\s+/).filter(Boolean),
    fivetranSecretArn: SECRETS.fivetran.arn,
    airbyteTokenSecretArn: SECRETS.airbyte.arn,
    alertTopicArn: ALERT_TOPIC,
  };
  const launchSettings: LaunchSettings = {
    clusterArn: CLUSTER,
    taskDefinition: FAMILY,
    subnetIds: ["subnet-aaa", "subnet-bbb"],
    securityGroupIds: ["sg-111"],
    assignPublicIp: "ENABLED",
    burstWindowSeconds: t.burstWindowSeconds,
    recheckSeconds: RECHECK_SECONDS,
    maxLaunchAttempts: t.maxLaunchAttempts,
    dlqUrl: DLQ_URL,
    queueUrl: QUEUE_URL,
  };
  const dispatchLog = new CountingLog();
  const launchLog = new CountingLog();
  const dispatchMetrics = new RecordingMetrics();
  const launchMetrics = new RecordingMetrics();
  const dispatchDeps = {
    settings: dispatchSettings,
    sources: parseSourcesDocument(sourcesDocument(target, trace.options.sources)),
    sqs: dispatchSqs,
    sns,
    secrets: new SecretCache(secretsManager),
    persistenceStore: persistence,
    logger: dispatchLog,
    metrics: dispatchMetrics,
    now,
    lambdaContext: fakeContext,
  };
  const launchDeps = {
    settings: launchSettings,
    ecs,
    sqs: launchSqs,
    logger: launchLog,
    metrics: launchMetrics,
    now,
    sleep: async (ms: number) => {
      clock += ms;
    },
    remainingMs: () => 55_000,
  };

  const answers = new Map<string, number>();
  const answer = (label: string) => answers.set(label, (answers.get(label) ?? 0) + 1);
  const dispatchMs: number[] = [];
  const launchMs: number[] = [];
  let dispatchFirst = NaN;
  let launchFirst = NaN;
  let excluded = 0;
  let dispatchCalls = 0;
  let launchCalls = 0;
  let fullBatches = 0;

  const runDispatch = async (e: TraceEvent, timed: boolean) => {
    const event = dispatchEvent(e, trace.start);
    const started = process.hrtime.bigint();
    let label: string;
    try {
      const result = await dispatch(event, dispatchDeps);
      if ("statusCode" in result) {
        const body = JSON.parse(result.body) as { status?: string; duplicate?: boolean };
        label = `${e.kind} ${result.statusCode}${body.status ? ` ${body.status}` : ""}${body.duplicate ? " duplicate" : ""}`;
      } else if ("records" in result) {
        label = `${e.kind} ${result.queued ? "queued" : result.duplicates ? "duplicate" : result.recorded ? "recorded" : "dropped"}`;
      } else {
        label = `${e.kind} ${result.status}${result.duplicate ? " duplicate" : ""}`;
      }
    } catch (error) {
      label = `${e.kind} threw ${(error as Error).name}`;
    }
    const ms = elapsedMs(started);
    dispatchCalls++;
    if (dispatchCalls === 1) {
      dispatchFirst = ms;
      excluded++;
    } else if (timed) {
      dispatchMs.push(ms);
    } else {
      excluded++;
    }
    answer(label);
  };

  const runLaunch = async (records: Received[]) => {
    pendingRun = undefined;
    const dlqBefore = deadLetters.length;
    const started = process.hrtime.bigint();
    let failedIds: Set<string> | undefined;
    try {
      const result = await launch(sqsEvent(records), launchDeps);
      failedIds = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
    } catch {
      failedIds = undefined; // the whole batch returns after its visibility timeout
    }
    const ms = elapsedMs(started);
    launchCalls++;
    if (launchCalls === 1) {
      launchFirst = ms;
      excluded++;
    } else {
      launchMs.push(ms);
    }
    if (!failedIds) return;
    const acknowledged = records.filter((r) => !failedIds.has(r.messageId));
    const deadLettered = new Set(deadLetters.slice(dlqBefore).flatMap((d) => d.messageIds));
    const launched = acknowledged.filter((r) => !deadLettered.has(r.messageId));
    const run = pendingRun as Task | undefined;
    if (run) {
      if (sha256(launched.map((r) => r.messageId).sort().join(",")) !== run.clientToken) {
        launchLog.error("bench: the launched messages do not match RunTask's clientToken", { launched: launched.map((r) => r.messageId) });
      }
      const triggers = [...new Set(launched.flatMap((r) => parseRunRequest(JSON.parse(r.body)).triggers.map((x) => `${x.kind}:${x.id}`)))];
      if (launched.length >= LAUNCH_EVENT_SOURCE.batchSize) fullBatches++;
      const index = tasks.indexOf(run);
      tasks[index] = { ...run, record: { ...run.record, triggers } };
    } else if (launched.length) {
      launchLog.error("bench: messages acknowledged without a RunTask or a dead letter", { ids: launched.map((r) => r.messageId) });
    }
    for (const r of acknowledged) queue.delete(r.receiptHandle);
  };

  // The event loop: deliveries at their trace time (simultaneous ones concurrently), the event
  // source whenever a group can deliver. Runs until the queue drains (at most a day past the trace).
  const events = trace.events;
  const horizon = trace.start + 2 * DAY_MS;
  let i = 0;
  try {
    for (;;) {
      const nextDelivery = i < events.length ? trace.start + events[i].at : Infinity;
      const nextPoll = queue.nextReadyAt(clock) ?? Infinity;
      if (nextDelivery === Infinity && nextPoll === Infinity) break;
      if (nextDelivery <= nextPoll) {
        // A launch that slept between RunTask attempts may have moved the clock past this delivery.
        clock = Math.max(clock, nextDelivery);
        const same: TraceEvent[] = [];
        while (i < events.length && trace.start + events[i].at === nextDelivery) same.push(events[i++]);
        if (clock > nextDelivery) {
          // Deliveries that arrived while launch slept are handled one by one, now.
          for (const e of same) await runDispatch(e, true);
          continue;
        }
        if (same.length === 1) await runDispatch(same[0], true);
        else await Promise.all(same.map((e) => runDispatch(e, false)));
        continue;
      }
      clock = Math.max(clock, nextPoll);
      if (clock > horizon) break;
      for (const group of queue.groups()) {
        if (queue.readyAt(group, clock) !== clock) continue;
        const records = queue.receive(group, clock, LAUNCH_EVENT_SOURCE.batchSize);
        if (records.length) await runLaunch(records);
      }
    }
  } finally {
    await closeDynamo?.();
  }

  // Outcome of the design.
  const runs = tasks.map((x) => x.record).sort((a, b) => a.launchedAt - b.launchedAt);
  const inRuns = new Map<string, number>();
  const launchedAt = new Map<string, number>();
  for (const r of runs) for (const tr of r.triggers) {
    inRuns.set(tr, (inRuns.get(tr) ?? 0) + 1);
    if (!launchedAt.has(tr)) launchedAt.set(tr, r.launchedAt);
  }
  const dlqTriggers = new Set(deadLetters.flatMap((d) => {
    try {
      return parseRunRequest(JSON.parse(d.body)).triggers.map((x) => `${x.kind}:${x.id}`);
    } catch {
      return [];
    }
  }));
  for (const m of queue.redriven) for (const tr of parseRunRequest(JSON.parse(m.body)).triggers) dlqTriggers.add(`${tr.kind}:${tr.id}`);
  const acceptedList = [...accepted.values()];
  const lost = acceptedList.filter((a) => !inRuns.has(a.trigger) && !dlqTriggers.has(a.trigger)).length;
  const duplicated = acceptedList.filter((a) => (inRuns.get(a.trigger) ?? 0) > 1).length;
  const waits = acceptedList.filter((a) => launchedAt.has(a.trigger)).map((a) => ({ kind: a.kind, seconds: (launchedAt.get(a.trigger)! - a.receivedAt) / 1000 }));
  const byKind: Record<string, Summary> = {};
  for (const kind of [...new Set(waits.map((w) => w.kind))].sort()) byKind[kind] = summarize(waits.filter((w) => w.kind === kind).map((w) => w.seconds));
  const sourceWaits = waits.filter((w) => w.kind !== "schedule").map((w) => w.seconds);
  const overlapsByTarget = (list: readonly RunRecord[]) =>
    [...new Set(list.map((r) => r.target))].reduce((n, tg) => n + countOverlaps(list.filter((r) => r.target === tg).map((r) => [r.launchedAt, r.stoppedAt] as const)), 0);
  let backToBack = 0;
  const idleGaps: number[] = [];
  for (let k = 1; k < runs.length; k++) {
    if (runs[k].launchedAt - runs[k - 1].stoppedAt <= 10_000) backToBack++;
    const oldest = Math.min(...runs[k].triggers.map((tr) => accepted.get(tr)?.receivedAt ?? Infinity));
    if (oldest < runs[k - 1].stoppedAt) idleGaps.push(Math.max(0, runs[k].launchedAt - runs[k - 1].stoppedAt) / 1000);
  }

  let coveredTriggers = 0;
  let coveredRuns = 0;
  for (const f of runs.filter((x) => x.fullRefresh)) {
    for (const later of runs.filter((x) => !x.fullRefresh && x.launchedAt > f.launchedAt)) {
      const old = later.triggers.filter((tr) => (accepted.get(tr)?.receivedAt ?? Infinity) < f.dbtStart).length;
      coveredTriggers += old;
      if (old && old === later.triggers.length) coveredRuns++;
    }
  }

  // Strategies: the design, one run per trigger, an hourly run of everything.
  const autoSuspendMs = config.snowflake.autoSuspendSeconds * 1000;
  const figures = (name: string, list: readonly RunRecord[], waitSeconds: readonly number[]): StrategyFigures => ({
    name,
    runs: list.length,
    fullRefreshes: list.filter((r) => r.fullRefresh).length,
    dbtMinutes: list.reduce((s, r) => s + (r.dbtEnd - r.dbtStart), 0) / 60_000,
    billedMinutes: billedMinutes(list, autoSuspendMs),
    taskMinutes: list.reduce((s, r) => s + (r.stoppedAt - r.launchedAt), 0) / 60_000,
    overlaps: overlapsByTarget(list),
    waitSeconds: summarize(waitSeconds),
  });
  const run = (at: number, sources: readonly string[], fullRefresh: boolean, triggers: readonly string[], runId: string): RunRecord => {
    const dbtStart = at + model.startupSeconds * 1000;
    const dbtEnd = dbtStart + dbtSeconds(model, sources.length, fullRefresh) * 1000;
    return { runId, launchedAt: at, dbtStart, dbtEnd, stoppedAt: dbtEnd + model.teardownSeconds * 1000, fullRefresh, sources, triggers, target };
  };
  const perTrigger = acceptedList.map((a, k) => run(a.receivedAt, a.event.source ? [a.event.source] : [], a.event.schedule === "full-refresh", [a.trigger], `per-trigger-${k}`));
  const allSources = trace.options.sources.map((s) => s.name);
  const hourlyRuns = Array.from({ length: 24 }, (_, h) => {
    const at = trace.start + h * 3600_000;
    const isRefresh = h === (refresh.hour ?? 2);
    return run(at, allSources, isRefresh, [], `hourly-${h}`);
  });
  const nextHour = (ms: number) => Math.ceil((ms - trace.start) / 3600_000) * 3600_000 + trace.start;
  const hourlyWaits = acceptedList.filter((a) => a.kind !== "schedule").map((a) => (nextHour(a.receivedAt) - a.receivedAt) / 1000);
  const strategies = [
    figures("this design (burst window + one run per target)", runs, sourceWaits),
    figures("one run per trigger", perTrigger, acceptedList.filter((a) => a.kind !== "schedule").map(() => 0)),
    figures("hourly run of everything (at :00)", hourlyRuns, hourlyWaits),
  ];

  const duplicateAttempts = trace.events.filter((e) => e.attempt !== "original").length;
  const successKeys = new Set(trace.events.filter((e) => e.success).map((e) => e.key));
  const acceptedDeliveries = new Set(acceptedList.map((a) => a.event.key));
  const reasons = Object.fromEntries([...launchLog.reasons.entries()].sort((a, b) => b[1] - a[1]));
  const report: ReplayReport = {
    seed: trace.options.seed,
    stack,
    target,
    store,
    day: trace.options.day.slice(0, 10),
    settings: {
      burstWindowSeconds: t.burstWindowSeconds,
      recheckSeconds: RECHECK_SECONDS,
      batchSize: LAUNCH_EVENT_SOURCE.batchSize,
      visibilityTimeoutSeconds: RUNS_VISIBILITY_TIMEOUT_SECONDS,
      maxReceiveCount: RUNS_MAX_RECEIVE_COUNT,
      dedupeSeconds: dispatchSettings.dedupeSeconds,
      hourlySchedule: t.hourlySchedule,
      fullRefreshSchedule: t.fullRefreshSchedule,
      autoSuspendSeconds: config.snowflake.autoSuspendSeconds,
    },
    taskModel: model,
    trace: summarizeTrace(trace),
    dispatch: {
      calls: dispatchCalls,
      accepted: accepted.size,
      duplicatesDropped: dispatchMetrics.total("DuplicatesDropped"),
      inProgressRejected: [...answers.entries()].filter(([k]) => / 409/.test(k)).reduce((s, [, n]) => s + n, 0),
      sqsDeduplicated: queue.deduplicated,
      alerts: alerts.length,
      duplicateAttempts,
      neverAccepted: [...successKeys].filter((k) => !acceptedDeliveries.has(k)).length,
      answers: Object.fromEntries([...answers.entries()].sort()),
    },
    launch: {
      invocations: launchCalls,
      deferrals: reasons,
      runTaskCalls: ecsMock.commandCalls(RunTaskCommand).length,
      deadLettered: deadLetters.length + queue.redriven.length,
      faults: { ...injected, retries: launchMetrics.total("LaunchRetries") },
      // Failed syncs are logged as errors on purpose; anything else is worth reading.
      errors: [...launchLog.errors, ...dispatchLog.errors.filter((e) => !e.startsWith("sync failed"))],
    },
    design: {
      runs,
      triggersPerRun: { mean: mean(runs.map((r) => r.triggers.length)), max: Math.max(0, ...runs.map((r) => r.triggers.length)) },
      overlaps: overlapsByTarget(runs),
      lost,
      duplicated,
      inDeadLetterQueue: dlqTriggers.size,
      stillQueued: queue.size(),
      waitSeconds: {
        all: summarize(waits.map((w) => w.seconds)),
        sources: summarize(sourceWaits),
        webhook: summarize(waits.filter((w) => w.kind === "fivetran" || w.kind === "airbyte").map((w) => w.seconds)),
        byKind,
      },
      coreTriggerToLaunch: summarize(launchMetrics.entries.filter((m) => m.name === "TriggerToLaunchSeconds").map((m) => m.value)),
      backToBack,
      idleGapSeconds: summarize(idleGaps),
      coveredByFullRefresh: { triggers: coveredTriggers, runs: coveredRuns },
      fullBatches,
    },
    strategies,
    timings: {
      dispatchMs: summarize(dispatchMs),
      launchMs: summarize(launchMs),
      dispatchFirstMs: dispatchFirst,
      launchFirstMs: launchFirst,
      excluded,
    },
    ...(memory ? { persistence: { records: memory.size(), puts: memory.calls.put, conflicts: memory.calls.conflicts } } : {}),
    wallSeconds: elapsedMs(wallStart) / 1000,
  };
  return report;
}

/** Minutes a warehouse is up for `runs`: union of [dbt start, dbt end + auto-suspend], each resume billed at least 60 s. */
export function billedMinutes(runs: readonly RunRecord[], autoSuspendMs: number): number {
  const intervals = runs.map((r) => [r.dbtStart, Math.max(r.dbtEnd + autoSuspendMs, r.dbtStart + 60_000)] as const);
  return unionLength(intervals) / 60_000;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const sec = (s: Summary) => `${fmt(s.p50)} / ${fmt(s.p95)} / ${fmt(s.max)}`;

/** The replay's section of RESULTS.md. */
export function renderReplay(r: ReplayReport): string {
  const design = r.strategies[0];
  const byKind = Object.entries(r.design.waitSeconds.byKind).map(([k, s]) => `| ${k} | ${s.n} | ${sec(s)} |`);
  const strategies = r.strategies.map((s) =>
    `| ${s.name} | ${s.runs} | ${fmt(s.dbtMinutes, 0)} | ${fmt(s.billedMinutes, 0)} | ${fmt(s.taskMinutes, 0)} | ${s.overlaps} | ${sec(s.waitSeconds)} |`);
  return [
    `Seed ${r.seed}, day ${r.day} (UTC), stack \`${r.stack}\` settings (target \`${r.target}\`), idempotency store: ${r.store === "memory" ? "in-memory Powertools persistence layer on the virtual clock" : "dynalite"}.`,
    `Burst window ${r.settings.burstWindowSeconds} s, recheck ${r.settings.recheckSeconds} s, batch ≤ ${r.settings.batchSize}, queue visibility ${r.settings.visibilityTimeoutSeconds} s, maxReceiveCount ${r.settings.maxReceiveCount}, dedupe ${r.settings.dedupeSeconds / 3600} h, hourly \`${r.settings.hourlySchedule}\`, full refresh \`${r.settings.fullRefreshSchedule}\`.`,
    `Task model: dbt ${r.taskModel.baseSeconds} s + ${r.taskModel.perSourceSeconds} s per source (full refresh ${r.taskModel.fullRefreshSeconds} s); ${r.taskModel.startupSeconds} s from RunTask to dbt, ${r.taskModel.teardownSeconds} s after.`,
    "",
    `**Trace**: ${r.trace.deliveries} deliveries (${Object.entries(r.trace.byKind).map(([k, n]) => `${k} ${n}`).join(", ")}); ${r.trace.distinctDeliveries} distinct; ` +
      `duplicates: ${Object.entries(r.trace.byAttempt).filter(([k]) => k !== "original").map(([k, n]) => `${k} ${n}`).join(", ")}; ` +
      `${r.trace.failedSyncs} failed syncs; ${r.trace.bursts} bursts of ≥ 3 sources within 60 s (largest ${r.trace.largestBurst} sources).`,
    "",
    "| figure | value |",
    "|---|---|",
    `| dispatch calls | ${r.dispatch.calls} |`,
    `| deliveries accepted (run request queued) | ${r.dispatch.accepted} |`,
    `| duplicates dropped by idempotency (stored answer) | ${r.dispatch.duplicatesDropped} |`,
    `| concurrent copies answered 409 (sender retries) | ${r.dispatch.inProgressRejected} |`,
    `| duplicate attempts in the trace | ${r.dispatch.duplicateAttempts} |`,
    `| SQS deduplication hits | ${r.dispatch.sqsDeduplicated} |`,
    `| failed syncs reported (SNS alerts) | ${r.dispatch.alerts} |`,
    `| successful deliveries never accepted | ${r.dispatch.neverAccepted} |`,
    `| launch invocations | ${r.launch.invocations} |`,
    `| dbt tasks launched | **${design.runs}** (${design.fullRefreshes} full refresh) |`,
    `| triggers per launch, mean / max | ${fmt(r.design.triggersPerRun.mean, 2)} / ${r.design.triggersPerRun.max} |`,
    `| runs capped at a full batch of ${r.settings.batchSize} messages | ${r.design.fullBatches} |`,
    `| runs started ≤ 10 s after the previous stopped | ${r.design.backToBack} |`,
    `| idle gap between a run stopping and the next launching while its requests waited, mean / p95 / max (s) | ${fmt(r.design.idleGapSeconds.mean)} / ${fmt(r.design.idleGapSeconds.p95)} / ${fmt(r.design.idleGapSeconds.max)} (n ${r.design.idleGapSeconds.n}) |`,
    `| triggers a full refresh had already covered (received before its dbt started), run again afterwards | ${r.design.coveredByFullRefresh.triggers} (${r.design.coveredByFullRefresh.runs} runs made only of them) |`,
    `| overlapping runs on one target (from task intervals) | **${r.design.overlaps}** |`,
    `| triggers lost | **${r.design.lost}** |`,
    `| triggers in more than one run | ${r.design.duplicated} |`,
    `| triggers in the dead-letter queue | ${r.design.inDeadLetterQueue} |`,
    `| messages still queued at the end | ${r.design.stillQueued} |`,
    `| added wait, receipt → RunTask, all triggers p50 / p95 / max (s) | ${sec(r.design.waitSeconds.all)} |`,
    `| added wait, source triggers p50 / p95 / max (s) | **${sec(r.design.waitSeconds.sources)}** |`,
    `| launch's own TriggerToLaunchSeconds (oldest trigger per run) p50 / p95 / max | ${sec(r.design.coreTriggerToLaunch)} |`,
    "",
    "Added wait by trigger kind (s):",
    "",
    "| kind | n | p50 / p95 / max |",
    "|---|---|---|",
    ...byKind,
    "",
    "Why launch kept requests waiting (one line per deferred batch):",
    "",
    ...Object.entries(r.launch.deferrals).map(([reason, n]) => `- ${reason}: ${n}`),
    "",
    "Same day, three strategies (wait = source triggers, receipt → launch):",
    "",
    "| strategy | runs | dbt warehouse-min | warehouse-min billed | Fargate task-min | overlapping runs | wait p50 / p95 / max (s) |",
    "|---|---|---|---|---|---|---|",
    ...strategies,
    "",
    "dbt warehouse-min: minutes dbt works (sum over runs). Warehouse-min billed: minutes the one transforming warehouse is up (union of each run's dbt time plus the auto-suspend tail, ≥ 60 s per resume); for one run per trigger it pretends that overlapping runs share the warehouse without slowing each other, so there dbt warehouse-min is the fairer figure. Fargate task-min: RunTask to task stop.",
    "",
    `Wall-clock time of the real cores per call (this machine, mocked AWS, so no network): dispatch p50 ${fmt(r.timings.dispatchMs.p50, 2)} ms, p95 ${fmt(r.timings.dispatchMs.p95, 2)} ms, max ${fmt(r.timings.dispatchMs.max, 1)} ms (n ${r.timings.dispatchMs.n}; first call ${fmt(r.timings.dispatchFirstMs, 1)} ms); ` +
      `launch p50 ${fmt(r.timings.launchMs.p50, 2)} ms, p95 ${fmt(r.timings.launchMs.p95, 2)} ms, max ${fmt(r.timings.launchMs.max, 1)} ms (n ${r.timings.launchMs.n}; first call ${fmt(r.timings.launchFirstMs, 1)} ms). ` +
      `${r.timings.excluded} calls left out (first calls, and copies that ran concurrently).`,
    ...(r.launch.errors.length ? ["", "Errors logged:", "", ...r.launch.errors.map((e) => `- ${e}`)] : []),
  ].join("\n");
}

/** One paragraph for a replay with injected RunTask faults. */
export function renderFaults(r: ReplayReport, faults: Faults): string {
  const f = r.launch.faults;
  return `Same trace with injected RunTask faults (${(faults.runTaskThrottleRate * 100).toFixed(0)} % ThrottlingException, retried with backoff on the virtual clock; ` +
    `${(faults.runTaskRejectRate * 100).toFixed(0)} % rejected with a non-retryable error, dead-lettered): ${f.throttled} throttled, ${f.rejected} rejected, ${f.retries} retries; ` +
    `${r.strategies[0].runs} runs, **${r.design.lost} triggers lost**, ${r.design.inDeadLetterQueue} triggers in the dead-letter queue (${r.launch.deadLettered} dead letters), ` +
    `${r.design.duplicated} in more than one run, **${r.design.overlaps} overlapping runs**, ${r.design.stillQueued} still queued; source-trigger wait p50 ${r.design.waitSeconds.sources.p50.toFixed(0)} s, p95 ${r.design.waitSeconds.sources.p95.toFixed(0)} s.`;
}

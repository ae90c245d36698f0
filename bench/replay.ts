/**
 * Trigger path replay: one generated day of deliveries (bench/trace.ts, 12 to 100 sources) through
 * the REAL dispatch core and the REAL launch core, on a virtual clock:
 *  - dispatch's idempotency runs on Powertools with an in-memory persistence layer on the virtual
 *    clock (bench/memory-persistence.ts; or dynalite), its SendMessage feeds the runs FIFO queue;
 *  - everything after the queue is test/functions/launch-sim.ts: the event source, launch's
 *    DynamoDB state (the in-memory store that passes the same contract spec as the DynamoDB one on
 *    dynalite), ECS with eventually consistent ListTasks/DescribeTasks, STOPPED events delayed,
 *    duplicated or lost, the sweep schedule, RunTask faults when asked;
 *  - a dbt task lives `startup + dbt + teardown` (dbt: 3 min + 20 s per source, full refresh
 *    15 min, broader selections as every source; startup + teardown = the cost model's 1.5 min).
 * It reports what the design does with the day next to one run per trigger and an hourly run of
 * everything, and the wall-clock time dispatch's core took per call.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SQSClient, SendMessageBatchCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { buildConfig, parseConfig } from "../config";
import { dispatch } from "../functions/dispatch/core";
import type { DispatchSettings } from "../functions/dispatch/settings";
import type { Log } from "../functions/lib/observability";
import { parseRunRequest } from "../functions/lib/run-contract";
import { SecretCache } from "../functions/lib/secrets";
import { parseSourcesDocument } from "../functions/lib/sources";
import { DEFAULT_WORKLOAD } from "../offline/cost";
import { readStackConfig } from "../offline/stack-config";
import { LaunchSim, SimFaults } from "../sim/launch-sim";
import { RecordingMetrics, fakeContext, fivetranSignature, httpEvent, startLocalDynamo } from "../sim/lambda-harness";
import { MemoryPersistenceLayer } from "./memory-persistence";
import { Summary, countOverlaps, mean, summarize, unionLength } from "./stats";
import {
  Trace,
  TraceEvent,
  TraceOptions,
  TraceSummary,
  generateTrace,
  scaledSources,
  sourcesDocument,
  summarizeTrace,
} from "./trace";

const REGION = "eu-west-1";
const ACCOUNT = "123456789012";
const QUEUE_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/bench-runs.fifo`;
const SECRETS = {
  fivetran: {
    arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-fivetran-AbCdEf`,
    value: "bench-fivetran-signing-secret",
  },
  airbyte: {
    arn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:bench-airbyte-GhIjKl`,
    value: "4c0e2d1f9a8b7c6d5e4f3a2b1c0d9e8f",
  },
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
  /** How many sources (the trace's dozen, then copies); default 12. */
  readonly sources?: number;
  /** Leading-edge window (s); default the stack's `triggers.burstWindowSeconds`. */
  readonly windowSeconds?: number;
  /** Minimum interval (s) between the starts of a target's runs; default the stack's `triggers.minRunIntervalSeconds`. */
  readonly minRunIntervalSeconds?: number;
  /** Whether sources keep their fast-lane tags (default true: stripe and its copies have `dashboard`). */
  readonly fastLane?: boolean;
  /** Idempotency store of dispatch: in-memory on the virtual clock (default) or dynalite. */
  readonly store?: "memory" | "dynalite";
  readonly trace?: Partial<TraceOptions>;
  readonly task?: TaskModel;
  /** Repository root (for the stack files). */
  readonly root?: string;
  /** Injected AWS faults and delays (seeded). */
  readonly faults?: Partial<SimFaults>;
}

/** A run the replay launched (or a baseline's run). */
export interface RunRecord {
  readonly runId: string;
  readonly launchedAt: number;
  readonly dbtStart: number;
  readonly dbtEnd: number;
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
  readonly sources: number;
  readonly fastLane: boolean;
  readonly settings: {
    readonly burstWindowSeconds: number;
    readonly minRunIntervalSeconds: number;
    readonly sweepSeconds: number;
    readonly dedupeSeconds: number;
    readonly hourlySchedule: string;
    readonly fullRefreshSchedule: string;
    readonly autoSuspendSeconds: number;
  };
  readonly faults: Partial<SimFaults>;
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
    /** Failed syncs reported through the alert topic. */
    readonly alerts: number;
    /** Expected duplicates (trace attempts other than the first). */
    readonly duplicateAttempts: number;
    readonly answers: Readonly<Record<string, number>>;
  };
  readonly launch: {
    readonly invocations: {
      readonly sqs: number;
      readonly stopped: number;
      readonly sweep: number;
      readonly failed: number;
    };
    readonly runTaskCalls: number;
    readonly metrics: Readonly<Record<string, number>>;
  };
  readonly design: {
    readonly runs: readonly RunRecord[];
    /** Syncs and loads (one per source load, however many tables it notified). */
    readonly syncs: number;
    readonly triggersPerRun: { readonly mean: number; readonly max: number };
    readonly overlaps: number;
    /** Accepted triggers in no run and not dead-lettered. */
    readonly lost: number;
    /** Accepted triggers in more than one run of the same lane. */
    readonly duplicated: number;
    readonly deadLettered: number;
    /** Requests queued or pending at 24:00 (the trace ends then), and the age (s) of the oldest. */
    readonly waitingAtEndOfDay: number;
    readonly oldestAtEndOfDaySeconds: number;
    /** Of those, requests older than the wait budget ({@link waitBudgetSeconds}): work the design fell behind on. */
    readonly backlogAtEndOfDay: number;
    /** Requests left when the simulation ended (everything drained: 0). */
    readonly leftAtEnd: number;
    readonly waitSeconds: {
      readonly all: Summary;
      readonly sources: Summary;
      readonly webhook: Summary;
      readonly byKind: Readonly<Record<string, Summary>>;
    };
    /** Seconds from a run stopping to the next launching, when requests were already waiting. */
    readonly handOverSeconds: Summary;
    /** Task lifetime (RunTask → stopped) of the design's runs, and of its incremental (not full-refresh) runs. */
    readonly taskSeconds: Summary;
    readonly incrementalTaskSeconds: Summary;
    /** Runs whose selection was broadened to fit the overrides. */
    readonly broadened: number;
  };
  readonly strategies: readonly StrategyFigures[];
  readonly timings: { readonly dispatchMs: Summary };
  /** Wall-clock seconds the replay took. */
  readonly wallSeconds: number;
}

/** A Log that keeps the first errors. */
class CountingLog implements Log {
  readonly errors: string[] = [];
  debug(): void {}
  info(): void {}
  warn(): void {}
  error(message: string, ...attributes: Record<string, unknown>[]): void {
    if (this.errors.length < 20)
      this.errors.push(`${message} ${JSON.stringify(Object.assign({}, ...attributes)).slice(0, 300)}`);
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
        event: "sync_end",
        created: iso(e.loadedAt),
        connector_type: "bench",
        connector_id: e.connector,
        connector_name: e.source,
        sync_id: e.id,
        destination_group_id: "bench_warehouse",
        data: e.success ? { status: "SUCCESSFUL" } : { status: "FAILURE_WITH_TASK", reason: "source timed out" },
      });
      return httpEvent({
        routeKey: "POST /webhooks/fivetran",
        rawPath: "/webhooks/fivetran",
        body,
        headers: {
          "content-type": "application/json",
          "x-fivetran-signature-256": fivetranSignature(SECRETS.fivetran.value, body),
        },
      });
    }
    case "airbyte": {
      const body = JSON.stringify({
        text: e.success ? "Sync succeeded" : "Sync failed",
        data: {
          workspace: { id: "b510e39b-e9e2-4833-9a3a-963e51d35fb4", name: "bench", url: "https://airbyte.example/ws" },
          connection: { id: e.connector, name: e.source, url: "https://airbyte.example/connection" },
          jobId: Number(e.id),
          startedAt: iso(e.loadedAt - 120_000),
          finishedAt: iso(e.loadedAt),
          success: e.success,
          ...(e.success
            ? { recordsCommitted: 100 }
            : { errorMessage: "source timed out", errorType: "transient_error", errorOrigin: "source" }),
        },
      });
      return httpEvent({
        routeKey: "POST /webhooks/airbyte/{token}",
        rawPath: `/webhooks/airbyte/${SECRETS.airbyte.value}`,
        body,
        headers: { "content-type": "application/json" },
        pathParameters: { token: SECRETS.airbyte.value },
      });
    }
    case "snowflake": {
      const [taskRunId] = e.id.split(":");
      const message = JSON.stringify({
        kind: "snowflake_load",
        source: e.source,
        table: e.table,
        rows: e.rows ?? 1,
        loaded_at: iso(e.loadedAt),
        task_run_id: taskRunId,
      });
      return {
        Records: [
          {
            EventSource: "aws:sns",
            EventVersion: "1.0",
            EventSubscriptionArn: `${SNOWFLAKE_TOPIC}:sub-1`,
            Sns: {
              Type: "Notification",
              MessageId: createHash("sha1").update(e.key).digest("hex"),
              TopicArn: SNOWFLAKE_TOPIC,
              Subject: null,
              Message: message,
              Timestamp: iso(e.at),
              SignatureVersion: "1",
              Signature: "x",
              SigningCertUrl: "https://sns.example/cert.pem",
              UnsubscribeUrl: "https://sns.example/unsubscribe",
              MessageAttributes: {},
            },
          },
        ],
      };
    }
    case "schedule":
      return { kind: "schedule", schedule: e.schedule, scheduledTime: iso(e.loadedAt) };
  }
}

interface Accepted {
  readonly trigger: string;
  readonly kind: string;
  readonly receivedAt: number;
  readonly event: TraceEvent;
}

const elapsedMs = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/** The stack's settings and the generated day one replay runs. */
interface Day {
  readonly stack: string;
  readonly config: ReturnType<typeof buildConfig>;
  readonly trace: Trace;
  /** Hour (UTC) of the daily full refresh. */
  readonly refreshHour: number;
  readonly model: TaskModel;
  readonly target: string;
  readonly store: "memory" | "dynalite";
  readonly window: number;
  readonly interval: number;
  readonly allSources: readonly string[];
  readonly sourceCount: number;
}

/** Reads the stack's config and generates the day's trace. */
function setUp(options: ReplayOptions): Day {
  const stack = options.stack ?? "prod";
  const root = options.root ?? path.join(__dirname, "..");
  const parsed = parseConfig(readStackConfig(stack, root).config, stack);
  if (!parsed.values) throw new Error(`stack ${stack} has an invalid config: ${parsed.problems.join("; ")}`);
  const config = buildConfig(parsed.values, "dbt-pipeline", stack);
  const t = config.triggers;
  const hourly = cronTime(t.hourlySchedule);
  const refresh = cronTime(t.fullRefreshSchedule);
  const sourceCount = options.sources ?? 12;
  const trace: Trace = generateTrace({
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    hourlyMinute: hourly.minute,
    fullRefreshHour: refresh.hour ?? 2,
    fullRefreshMinute: refresh.minute,
    sources: scaledSources(sourceCount).map((s) => (options.fastLane === false ? { ...s, fastLaneTags: [] } : s)),
    ...options.trace,
  });
  const model = options.task ?? DEFAULT_TASK_MODEL;
  const target = config.dbt.target;
  const store = options.store ?? "memory";
  const window = options.windowSeconds ?? t.burstWindowSeconds;
  const interval = options.minRunIntervalSeconds ?? t.minRunIntervalSeconds;
  const allSources = trace.options.sources.map((s) => s.name);
  return {
    stack,
    config,
    trace,
    refreshHour: refresh.hour ?? 2,
    model,
    target,
    store,
    window,
    interval,
    allSources,
    sourceCount,
  };
}

/** Dispatch's real core on mocked SQS, SNS and Secrets Manager, feeding launch's simulator. */
interface DispatchHarness {
  /** Triggers dispatch queued, by `kind:id`. */
  readonly accepted: Map<string, Accepted>;
  /** Subjects of the alerts dispatch published. */
  readonly alerts: string[];
  /** How often dispatch gave each answer. */
  readonly answers: Map<string, number>;
  /** Wall-clock milliseconds per call, after the first. */
  readonly dispatchMs: number[];
  readonly dispatchMetrics: RecordingMetrics;
  readonly dispatchSettings: DispatchSettings;
  calls(): number;
  run(e: TraceEvent): Promise<void>;
  close(): Promise<void>;
}

async function dispatchHarness(day: Day, sim: LaunchSim): Promise<DispatchHarness> {
  const { trace, store, target } = day;
  const t = day.config.triggers;
  const accepted = new Map<string, Accepted>();
  const alerts: string[] = [];
  const eventByKey = new Map<string, TraceEvent>();
  for (const e of trace.events) if (!eventByKey.has(e.key)) eventByKey.set(e.key, e);

  const dispatchSqs = new SQSClient({ region: REGION });
  const enqueue = (input: { MessageBody?: string; MessageDeduplicationId?: string }) => {
    const body = String(input.MessageBody);
    for (const tr of parseRunRequest(JSON.parse(body)).triggers) {
      const key = `${tr.kind}:${tr.id}`;
      const event = eventByKey.get(key);
      if (!event) throw new Error(`bench: trigger ${key} matches no delivery of the trace`);
      if (!accepted.has(key))
        accepted.set(key, { trigger: key, kind: tr.kind, receivedAt: Date.parse(tr.receivedAt), event });
    }
    sim.send(body, String(input.MessageDeduplicationId));
    return `m-${accepted.size}`;
  };
  const dispatchMock = mockClient(dispatchSqs);
  dispatchMock
    .on(SendMessageCommand)
    .callsFake((input: { MessageBody: string; MessageDeduplicationId: string }) => ({ MessageId: enqueue(input) }));
  // A source with a fast lane: dispatch sends its fast-lane and normal requests in one batch.
  dispatchMock
    .on(SendMessageBatchCommand)
    .callsFake((input: { Entries?: { Id?: string; MessageBody?: string; MessageDeduplicationId?: string }[] }) => ({
      Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: enqueue(e), MD5OfMessageBody: "" })),
      Failed: [],
    }));
  const sns = new SNSClient({ region: REGION });
  mockClient(sns)
    .on(PublishCommand)
    .callsFake((input: { Subject?: string }) => {
      alerts.push(input.Subject ?? "");
      return { MessageId: `alert-${alerts.length}` };
    });
  const secretsManager = new SecretsManagerClient({ region: REGION });
  mockClient(secretsManager)
    .on(GetSecretValueCommand)
    .callsFake((input: { SecretId: string }) => {
      const found = Object.values(SECRETS).find((s) => s.arn === input.SecretId);
      if (!found)
        throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: "ResourceNotFoundException",
        });
      return { SecretString: found.value };
    });

  let persistence: BasePersistenceLayer;
  let closeDynamo: (() => Promise<void>) | undefined;
  if (store === "dynalite") {
    const dynamo = await startLocalDynamo();
    persistence = await dynamo.freshStore();
    closeDynamo = () => dynamo.close();
  } else {
    persistence = new MemoryPersistenceLayer(() => sim.clock);
  }
  const dispatchSettings: DispatchSettings = {
    queueUrl: QUEUE_URL,
    idempotencyTable: "bench-idempotency",
    dedupeSeconds: t.dedupeHours * 3600,
    unknownConnector: t.unknownConnector,
    hourlySelect: t.hourlySelect.split(/\s+/).filter(Boolean),
    fullRefreshSelect: t.fullRefreshSelect.split(/\s+/).filter(Boolean),
    fullRefreshExclude: t.fullRefreshExclude.split(/\s+/).filter(Boolean),
    fivetranSecretArn: SECRETS.fivetran.arn,
    airbyteTokenSecretArn: SECRETS.airbyte.arn,
    alertTopicArn: ALERT_TOPIC,
  };
  const dispatchLog = new CountingLog();
  const dispatchMetrics = new RecordingMetrics();
  const dispatchDeps = {
    settings: dispatchSettings,
    sources: parseSourcesDocument(sourcesDocument(target, trace.options.sources)),
    sqs: dispatchSqs,
    sns,
    secrets: new SecretCache(secretsManager),
    persistenceStore: persistence,
    logger: dispatchLog,
    metrics: dispatchMetrics,
    now: () => new Date(sim.clock),
    lambdaContext: fakeContext,
  };

  const answers = new Map<string, number>();
  const dispatchMs: number[] = [];
  let dispatchCalls = 0;
  const run = async (e: TraceEvent) => {
    const started = process.hrtime.bigint();
    let label: string;
    try {
      const result = await dispatch(dispatchEvent(e, trace.start), dispatchDeps);
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
    if (dispatchCalls++ > 0) dispatchMs.push(elapsedMs(started));
    answers.set(label, (answers.get(label) ?? 0) + 1);
  };
  return {
    accepted,
    alerts,
    answers,
    dispatchMs,
    dispatchMetrics,
    dispatchSettings,
    calls: () => dispatchCalls,
    run,
    close: async () => closeDynamo?.(),
  };
}

/** Runs on one target that start before an earlier one of that target stopped. */
function overlapsByTarget(list: readonly RunRecord[]): number {
  return [...new Set(list.map((r) => r.target))].reduce(
    (n, tg) => n + countOverlaps(list.filter((r) => r.target === tg).map((r) => [r.launchedAt, r.stoppedAt] as const)),
    0,
  );
}

/** The design's figures beside two baselines: one run per trigger, an hourly run of everything. */
function strategiesOf(
  day: Day,
  runs: readonly RunRecord[],
  acceptedList: readonly Accepted[],
  sourceWaits: readonly number[],
): StrategyFigures[] {
  const { config, model, target, trace, window, interval, allSources } = day;
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
  const run = (
    at: number,
    sources: readonly string[],
    fullRefresh: boolean,
    triggers: readonly string[],
    runId: string,
  ): RunRecord => {
    const dbtStart = at + model.startupSeconds * 1000;
    const dbtEnd = dbtStart + dbtSeconds(model, sources.length, fullRefresh) * 1000;
    return {
      runId,
      launchedAt: at,
      dbtStart,
      dbtEnd,
      stoppedAt: dbtEnd + model.teardownSeconds * 1000,
      fullRefresh,
      sources,
      triggers,
      target,
    };
  };
  const perTrigger = acceptedList.map((a, k) =>
    run(
      a.receivedAt,
      a.event.source ? [a.event.source] : [],
      a.event.schedule === "full-refresh",
      [a.trigger],
      `per-trigger-${k}`,
    ),
  );
  const hourlyRuns = Array.from({ length: 24 }, (_, h) =>
    run(trace.start + h * 3600_000, allSources, h === day.refreshHour, [], `hourly-${h}`),
  );
  const nextHour = (ms: number) => Math.ceil((ms - trace.start) / 3600_000) * 3600_000 + trace.start;
  return [
    figures(`lease + pending set + join, window ${window} s, spacing ${interval} s`, runs, sourceWaits),
    figures(
      "one run per trigger",
      perTrigger,
      acceptedList.filter((a) => a.kind !== "schedule").map(() => 0),
    ),
    figures(
      "hourly run of everything (at :00)",
      hourlyRuns,
      acceptedList.filter((a) => a.kind !== "schedule").map((a) => (nextHour(a.receivedAt) - a.receivedAt) / 1000),
    ),
  ];
}

/** Replays one day; see the file comment. */
export async function replay(options: ReplayOptions = {}): Promise<ReplayReport> {
  const wallStart = process.hrtime.bigint();
  const day = setUp(options);
  const { stack, config, trace, model, target, store, window, interval, allSources, sourceCount } = day;
  const t = config.triggers;

  const sim = new LaunchSim(trace.start, {
    seed: (trace.options.seed ^ 0x5eed) >>> 0,
    settings: { burstWindowSeconds: window, minRunIntervalSeconds: interval, maxLaunchAttempts: t.maxLaunchAttempts },
    faults: options.faults,
    // A run without --select (a broadened one, or a full refresh) works on every source.
    taskSeconds: (r) =>
      model.startupSeconds +
      dbtSeconds(model, r.select.length ? r.sources.length : allSources.length, r.fullRefresh) +
      model.teardownSeconds,
  });
  const harness = await dispatchHarness(day, sim);
  const { accepted, alerts, answers, dispatchMs, dispatchMetrics, dispatchSettings } = harness;
  for (const e of trace.events) sim.at(trace.start + e.at, () => harness.run(e));
  let agesAtEndOfDay: number[] = [];
  sim.at(trace.start + DAY_MS, () => void (agesAtEndOfDay = sim.waitingAges()));
  let result;
  try {
    result = await sim.run(trace.start + DAY_MS, trace.start + 3 * DAY_MS);
  } finally {
    await harness.close();
  }

  // The design's runs, as the cost and latency models read them.
  const runs: RunRecord[] = result.runs.map((r) => ({
    runId: r.runId,
    launchedAt: r.launchedAt,
    dbtStart: r.launchedAt + model.startupSeconds * 1000,
    dbtEnd: r.stoppedAt - model.teardownSeconds * 1000,
    stoppedAt: r.stoppedAt,
    fullRefresh: r.fullRefresh,
    sources: r.selectsAll ? allSources : r.sources,
    triggers: r.triggers,
    target: r.target,
  }));
  const inRuns = new Map<string, number>();
  const launchedAt = new Map<string, number>();
  for (const r of runs)
    for (const tr of r.triggers) {
      inRuns.set(tr, (inRuns.get(tr) ?? 0) + 1);
      if (!launchedAt.has(tr)) launchedAt.set(tr, r.launchedAt);
    }
  const acceptedList = [...accepted.values()];
  const deadLettered = new Set(
    [...result.deadLettered].map((k) => k.slice(k.indexOf("|") + 1)).filter((k) => accepted.has(k)),
  );
  for (const m of sim.queue.redriven)
    for (const tr of parseRunRequest(JSON.parse(m.body)).triggers) deadLettered.add(`${tr.kind}:${tr.id}`);
  const lost = acceptedList.filter((a) => !inRuns.has(a.trigger) && !deadLettered.has(a.trigger)).length;
  // A source's load may have a fast-lane run and a normal run: count each lane apart.
  const perLane = new Map<string, number>();
  for (const r of result.runs) for (const k of r.requestKeys) perLane.set(k, (perLane.get(k) ?? 0) + 1);
  const duplicated = [...perLane.values()].filter((n) => n > 1).length;
  const waits = acceptedList
    .filter((a) => launchedAt.has(a.trigger))
    .map((a) => ({ kind: a.kind, seconds: (launchedAt.get(a.trigger)! - a.receivedAt) / 1000 }));
  const byKind: Record<string, Summary> = {};
  for (const kind of [...new Set(waits.map((w) => w.kind))].sort())
    byKind[kind] = summarize(waits.filter((w) => w.kind === kind).map((w) => w.seconds));
  const sourceWaits = waits.filter((w) => w.kind !== "schedule").map((w) => w.seconds);
  const syncs = new Set(
    acceptedList.filter((a) => a.kind !== "schedule").map((a) => `${a.event.source}@${a.event.loadedAt}`),
  ).size;
  const handOvers: number[] = [];
  for (let k = 1; k < runs.length; k++) {
    const oldest = Math.min(...runs[k].triggers.map((tr) => accepted.get(tr)?.receivedAt ?? Infinity));
    if (oldest < runs[k - 1].stoppedAt) handOvers.push(Math.max(0, runs[k].launchedAt - runs[k - 1].stoppedAt) / 1000);
  }
  const incremental = summarize(runs.filter((r) => !r.fullRefresh).map((r) => (r.stoppedAt - r.launchedAt) / 1000));

  const strategies = strategiesOf(day, runs, acceptedList, sourceWaits);

  return {
    seed: trace.options.seed,
    stack,
    target,
    store,
    day: trace.options.day.slice(0, 10),
    sources: sourceCount,
    fastLane: options.fastLane !== false,
    settings: {
      burstWindowSeconds: window,
      minRunIntervalSeconds: interval,
      sweepSeconds: 300,
      dedupeSeconds: dispatchSettings.dedupeSeconds,
      hourlySchedule: t.hourlySchedule,
      fullRefreshSchedule: t.fullRefreshSchedule,
      autoSuspendSeconds: config.snowflake.autoSuspendSeconds,
    },
    faults: options.faults ?? {},
    taskModel: model,
    trace: summarizeTrace(trace),
    dispatch: {
      calls: harness.calls(),
      accepted: accepted.size,
      duplicatesDropped: dispatchMetrics.total("DuplicatesDropped"),
      inProgressRejected: [...answers.entries()].filter(([k]) => / 409/.test(k)).reduce((s, [, n]) => s + n, 0),
      alerts: alerts.length,
      duplicateAttempts: trace.events.filter((e) => e.attempt !== "original").length,
      answers: Object.fromEntries([...answers.entries()].sort()),
    },
    launch: { invocations: result.invocations, runTaskCalls: result.runTaskCalls, metrics: result.metrics },
    design: {
      runs,
      syncs,
      triggersPerRun: {
        mean: mean(runs.map((r) => r.triggers.length)),
        max: Math.max(0, ...runs.map((r) => r.triggers.length)),
      },
      overlaps: overlapsByTarget(runs),
      lost,
      duplicated,
      deadLettered: deadLettered.size,
      waitingAtEndOfDay: agesAtEndOfDay.length,
      oldestAtEndOfDaySeconds: Math.max(0, ...agesAtEndOfDay),
      backlogAtEndOfDay: agesAtEndOfDay.filter((age) => age > waitBudgetSeconds(incremental.p95, interval, window))
        .length,
      leftAtEnd: result.queueAtEnd + result.pendingAtEnd,
      waitSeconds: {
        all: summarize(waits.map((w) => w.seconds)),
        sources: summarize(sourceWaits),
        webhook: summarize(waits.filter((w) => w.kind === "fivetran" || w.kind === "airbyte").map((w) => w.seconds)),
        byKind,
      },
      handOverSeconds: summarize(handOvers),
      taskSeconds: summarize(runs.map((r) => (r.stoppedAt - r.launchedAt) / 1000)),
      incrementalTaskSeconds: incremental,
      broadened: result.metrics.RunsBroadened ?? 0,
    },
    strategies,
    timings: { dispatchMs: summarize(dispatchMs) },
    wallSeconds: elapsedMs(wallStart) / 1000,
  };
}

/** Minutes a warehouse is up for `runs`: union of [dbt start, dbt end + auto-suspend], each resume billed at least 60 s. */
export function billedMinutes(runs: readonly RunRecord[], autoSuspendMs: number): number {
  const intervals = runs.map((r) => [r.dbtStart, Math.max(r.dbtEnd + autoSuspendMs, r.dbtStart + 60_000)] as const);
  return unionLength(intervals) / 60_000;
}

const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const sec = (s: Summary) => `${fmt(s.p50, 0)} / ${fmt(s.p95, 0)} / ${fmt(s.max, 0)}`;
const mark = (ok: boolean) => (ok ? "✓" : "✗");

/**
 * The wait a source trigger may see: the longer of one dbt run (the p95 lifetime, RunTask →
 * stopped, of the day's incremental runs: a request arriving as a run starts waits for it) and
 * the spacing between starts (`triggers.minRunIntervalSeconds`: the next run starts no sooner),
 * plus the leading-edge window.
 */
export function waitBudgetSeconds(runP95: number, intervalSeconds: number, windowSeconds: number): number {
  return Math.max(runP95, intervalSeconds) + windowSeconds;
}

/** The figures the issue sets targets for, of one replay. */
export function targetsOf(r: ReplayReport): {
  runsPerSync: number;
  runBudget: number;
  waitOk: boolean;
  runsOk: boolean;
} {
  const runsPerSync = r.strategies[0].runs / Math.max(1, r.design.syncs);
  const runBudget = waitBudgetSeconds(
    r.design.incrementalTaskSeconds.p95,
    r.settings.minRunIntervalSeconds,
    r.settings.burstWindowSeconds,
  );
  return { runsPerSync, runBudget, waitOk: r.design.waitSeconds.sources.p95 <= runBudget, runsOk: runsPerSync <= 0.3 };
}

/**
 * Per scale and strategy, each figure beside its goal: the design (lease + pending set + join +
 * spacing) next to one run per trigger and an hourly run of everything on the same day. The
 * baselines are computed, not simulated: they cannot overlap-check, lose or dead-letter anything,
 * so those cells say so.
 */
export function renderStrategies(rows: readonly ReplayReport[]): string {
  const lines = rows.flatMap((r) => {
    const d = r.design;
    const k = targetsOf(r);
    return r.strategies.map((s, i) => {
      const rps = s.runs / Math.max(1, d.syncs);
      const design = i === 0;
      const wait = design ? d.waitSeconds.sources : s.waitSeconds;
      return (
        `| ${r.sources} | ${s.name} | ${s.runs} | ${fmt(rps, 2)} ${mark(rps <= 0.3)} | ${s.overlaps} ${mark(s.overlaps === 0)} | ` +
        (design
          ? `${d.lost} ${mark(d.lost === 0)} | ${d.deadLettered} | ${d.backlogAtEndOfDay} ${mark(d.backlogAtEndOfDay === 0)} | `
          : "– | – | – | ") +
        `${sec(wait)} | ${fmt(k.runBudget, 0)} ${mark(wait.p95 <= k.runBudget)} |`
      );
    });
  });
  return [
    "Goals: runs per sync ≤ 0.3; 0 overlapping runs; 0 lost (dead-lettered counted apart); backlog 0 at 24:00; source-trigger wait p95 ≤ the wait budget = max(one dbt run, the spacing `triggers.minRunIntervalSeconds`) + the window, where one dbt run is the p95 lifetime (RunTask → stopped) of the design's incremental runs that day. Backlog 24:00: requests waiting when the traced day ends that are older than the wait budget.",
    "",
    "| sources | strategy | runs | runs per sync (≤ 0.3) | overlap (0) | lost (0) | dead-lettered | backlog 24:00 (0) | wait p50 / p95 / max s | wait budget s (p95 ≤) |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...lines,
  ].join("\n");
}

/** One row per replay: sources, window, faults; each figure beside its target. */
export function renderScale(rows: readonly ReplayReport[]): string {
  const line = (r: ReplayReport) => {
    const d = r.design;
    const k = targetsOf(r);
    const delay = r.faults.listTasksDelayMs ?? 0;
    return (
      `| ${r.sources} | ${r.settings.burstWindowSeconds} | ${r.settings.minRunIntervalSeconds} | ${fmt(delay / 1000, 0)} | ${r.fastLane ? "yes" : "no"} | ${r.strategies[0].runs} | ${d.syncs} | ${fmt(k.runsPerSync, 2)} ${mark(k.runsOk)} | ` +
      `${d.overlaps} ${mark(d.overlaps === 0)} | ${d.lost} ${mark(d.lost === 0)} | ${d.deadLettered} | ${d.backlogAtEndOfDay} ${mark(d.backlogAtEndOfDay === 0)} (${d.waitingAtEndOfDay} waiting, oldest ${fmt(d.oldestAtEndOfDaySeconds, 0)} s) | ${d.leftAtEnd} ${mark(d.leftAtEnd === 0)} | ` +
      `${sec(d.waitSeconds.sources)} | ${fmt(k.runBudget, 0)} ${mark(k.waitOk)} | ${fmt(d.handOverSeconds.mean, 1)} / ${fmt(d.handOverSeconds.max, 0)} (n ${d.handOverSeconds.n}) | ${fmt(r.wallSeconds, 1)} |`
    );
  };
  return [
    'Targets: runs per sync ≤ 0.3 (runs over syncs and loads, one per load however many tables it notified); 0 overlapping runs at any ListTasks delay; 0 lost (dead-lettered counted apart); backlog 0 at the end of the day; source-trigger wait p95 ≤ max(one dbt run, the spacing) + the window. ✓ / ✗ mark each. "One dbt run": the p95 lifetime (RunTask → stopped) of the day\'s incremental runs. "Backlog 24:00": requests waiting when the traced day ends that are older than that wait budget (work the design fell behind on); requests that arrived during the run in progress are counted beside it, as "waiting". "Left at end": requests still queued or pending once the day drained.',
    "",
    "| sources | window s | spacing s | ListTasks delay s | fast lane | runs | syncs | runs per sync (≤ 0.3) | overlap | lost | dead-lettered | backlog 24:00 | left at end | wait p50 / p95 / max s | wait budget s (p95 ≤) | hand-over gap mean / max s | wall s |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(line),
  ].join("\n");
}

/** The detailed figures of one replay. */
export function renderReplay(r: ReplayReport): string {
  const byKind = Object.entries(r.design.waitSeconds.byKind).map(([k, s]) => `| ${k} | ${s.n} | ${sec(s)} |`);
  const strategies = r.strategies.map(
    (s) =>
      `| ${s.name} | ${s.runs} | ${fmt(s.runs / Math.max(1, r.design.syncs), 2)} | ${fmt(s.dbtMinutes, 0)} | ${fmt(s.billedMinutes, 0)} | ${fmt(s.taskMinutes, 0)} | ${s.overlaps} | ${sec(s.waitSeconds)} |`,
  );
  const inv = r.launch.invocations;
  return [
    `Seed ${r.seed}, day ${r.day} (UTC), ${r.sources} sources, stack \`${r.stack}\` settings (target \`${r.target}\`), dispatch idempotency store: ${r.store === "memory" ? "in-memory Powertools persistence layer on the virtual clock" : "dynalite"}.`,
    `Window ${r.settings.burstWindowSeconds} s, spacing between starts ${r.settings.minRunIntervalSeconds} s, sweep every ${r.settings.sweepSeconds} s, dedupe ${r.settings.dedupeSeconds / 3600} h, hourly \`${r.settings.hourlySchedule}\`, full refresh \`${r.settings.fullRefreshSchedule}\`.`,
    `Task model: dbt ${r.taskModel.baseSeconds} s + ${r.taskModel.perSourceSeconds} s per source (full refresh ${r.taskModel.fullRefreshSeconds} s); ${r.taskModel.startupSeconds} s from RunTask to dbt, ${r.taskModel.teardownSeconds} s after.`,
    "",
    `**Trace**: ${r.trace.deliveries} deliveries (${Object.entries(r.trace.byKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}); ${r.trace.distinctDeliveries} distinct; ` +
      `duplicates: ${Object.entries(r.trace.byAttempt)
        .filter(([k]) => k !== "original")
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}; ` +
      `${r.trace.failedSyncs} failed syncs; ${r.trace.bursts} bursts of ≥ 3 sources within 60 s (largest ${r.trace.largestBurst} sources).`,
    "",
    "| figure | value |",
    "|---|---|",
    `| dispatch calls / deliveries accepted | ${r.dispatch.calls} / ${r.dispatch.accepted} |`,
    `| duplicates dropped by idempotency / answered 409 / duplicate attempts in the trace | ${r.dispatch.duplicatesDropped} / ${r.dispatch.inProgressRejected} / ${r.dispatch.duplicateAttempts} |`,
    `| failed syncs reported (SNS alerts) | ${r.dispatch.alerts} |`,
    `| launch invocations: SQS batches / STOPPED events / sweeps / failed | ${inv.sqs} / ${inv.stopped} / ${inv.sweep} / ${inv.failed} |`,
    `| dbt tasks launched (RunTask calls) | **${r.strategies[0].runs}** (${r.launch.runTaskCalls}), ${r.strategies[0].fullRefreshes} full refresh, ${r.design.broadened} broadened to fit the overrides |`,
    `| syncs and loads / runs per sync | ${r.design.syncs} / ${fmt(r.strategies[0].runs / Math.max(1, r.design.syncs), 2)} |`,
    `| triggers per run, mean / max | ${fmt(r.design.triggersPerRun.mean, 2)} / ${r.design.triggersPerRun.max} |`,
    `| hand-over gap (a run stops → the next launches, requests waiting), mean / p95 / max (s) | ${fmt(r.design.handOverSeconds.mean)} / ${fmt(r.design.handOverSeconds.p95)} / ${fmt(r.design.handOverSeconds.max)} (n ${r.design.handOverSeconds.n}) |`,
    `| overlapping runs on one target | **${r.design.overlaps}** |`,
    `| triggers lost / in more than one run / dead-lettered | **${r.design.lost}** / ${r.design.duplicated} / ${r.design.deadLettered} |`,
    `| backlog at 24:00 (older than one run + window) / waiting at 24:00 (oldest, s) / left when the day drained | ${r.design.backlogAtEndOfDay} / ${r.design.waitingAtEndOfDay} (${fmt(r.design.oldestAtEndOfDaySeconds, 0)}) / ${r.design.leftAtEnd} |`,
    `| wait receipt → RunTask, source triggers p50 / p95 / max (s) | **${sec(r.design.waitSeconds.sources)}** |`,
    `| task lifetime RunTask → stopped, p50 / p95 / max (s): all runs; incremental runs | ${sec(r.design.taskSeconds)}; ${sec(r.design.incrementalTaskSeconds)} |`,
    "",
    "Wait by trigger kind (s):",
    "",
    "| kind | n | p50 / p95 / max |",
    "|---|---|---|",
    ...byKind,
    "",
    "Same day, three strategies (wait = source triggers, receipt → launch):",
    "",
    "| strategy | runs | runs per sync | dbt warehouse-min | warehouse-min billed | Fargate task-min | overlapping runs | wait p50 / p95 / max (s) |",
    "|---|---|---|---|---|---|---|---|",
    ...strategies,
    "",
    "dbt warehouse-min: minutes dbt works (sum over runs). Warehouse-min billed: minutes the one transforming warehouse is up (union of each run's dbt time plus the auto-suspend tail, ≥ 60 s per resume). Fargate task-min: RunTask to task stop.",
    "",
    `Wall-clock time of dispatch's core per call (this machine, mocked AWS): p50 ${fmt(r.timings.dispatchMs.p50, 2)} ms, p95 ${fmt(r.timings.dispatchMs.p95, 2)} ms (n ${r.timings.dispatchMs.n}). Replay wall time ${fmt(r.wallSeconds, 1)} s.`,
  ].join("\n");
}

/** One paragraph for a replay with injected faults. */
export function renderFaults(r: ReplayReport): string {
  const f = r.faults;
  const m = r.launch.metrics;
  const pct = (x: number | undefined) => `${((x ?? 0) * 100).toFixed(0)} %`;
  return (
    `${r.sources} sources with injected faults: RunTask ${pct(f.throttleRate)} ThrottlingException, ${pct(f.capacityRate)} no capacity (both retried with backoff), ${pct(f.rejectRate)} rejected for good (dead-lettered), ${pct(f.timeoutAfterStartRate)} timed out after starting the task (the claim waits for ListTasks); ` +
    `ListTasks/DescribeTasks blind for ${fmt((f.listTasksDelayMs ?? 0) / 1000, 0)} s after RunTask; STOPPED events ${pct(f.lostStopRate)} lost, ${pct(f.duplicateStopRate)} duplicated, delayed up to ${fmt((f.stopDelayMaxMs ?? 0) / 1000, 0)} s. ` +
    `${r.launch.runTaskCalls} RunTask calls, ${m.LaunchRetries ?? 0} retries, ${m.LaunchDeferred ?? 0} launches deferred to the next event, ${m.LostStopEvents ?? 0} lost STOPPED events recovered by the sweep, ${m.StaleStopEvents ?? 0} duplicate or stale STOPPED events ignored; ` +
    `${r.strategies[0].runs} runs, **${r.design.overlaps} overlapping**, **${r.design.lost} triggers lost**, ${r.design.deadLettered} dead-lettered (counted apart), ${r.design.duplicated} in more than one run, ` +
    `backlog at 24:00 ${r.design.backlogAtEndOfDay}, ${r.design.leftAtEnd} left at the end; source-trigger wait p50 ${fmt(r.design.waitSeconds.sources.p50, 0)} s, p95 ${fmt(r.design.waitSeconds.sources.p95, 0)} s.`
  );
}

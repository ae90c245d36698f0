/**
 * Load-to-transform latency model: the expected time from a sync (or load) finishing to the dbt
 * task's containers starting, per trigger path (webhook, Snowflake triggered task, hourly
 * schedule). The clock stops when the containers start; what the task does before dbt's own
 * command (prepare: profiles and state download, freshness) is reported apart. Built from
 *  - what this suite measured: the cores' wall-clock time per call and the bundles' cold
 *    initialisation (bundles.ts),
 *  - what the replay produced on its virtual clock: the wait from receipt to launch on a busy day,
 *  - the configuration (leading-edge window, hourly schedule),
 *  - documented platform latencies, each with its source,
 *  - figures inferred from documented ones (said how), and
 *  - assumptions where no figure could be cited, marked as such.
 * Every step has a low, typical and high value in seconds; a path's total adds them (the high
 * total is a pessimistic bound: the highs rarely coincide).
 */
import { randomUUID } from "node:crypto";
import type { ECSClient } from "@aws-sdk/client-ecs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { launch } from "../functions/launch/core";
import { MemoryLaunchStore } from "../sim/launch-memory-store";
import type { BundleRow } from "./bundles";
import type { ReplayReport } from "./replay";
import { Summary, summarize } from "./stats";

/** Where a figure comes from. */
export type Basis = "measured" | "replayed" | "config" | "documented" | "inferred" | "assumed";

/** One step of a path. */
export interface Step {
  readonly step: string;
  readonly low: number;
  readonly typical: number;
  readonly high: number;
  readonly basis: Basis;
  /** Source id (see {@link SOURCES}) or a short note. */
  readonly source: string;
}

/** One trigger path under one load condition. */
export interface PathModel {
  readonly name: string;
  readonly condition: string;
  readonly steps: readonly Step[];
  readonly total: { readonly low: number; readonly typical: number; readonly high: number };
  /** After the clock stops: the task's own steps before dbt's command (reported apart). */
  readonly after: readonly Step[];
  /** The figure usually quoted for designs of this kind. */
  readonly quoted: string;
}

/** Documented figures and where they come from. */
export const SOURCES: Readonly<Record<string, string>> = {
  fargate:
    "Fargate RunTask → RUNNING: 53–62 s (avg 57 s) measured for a 413 MB image in a private subnet with NAT (elasticscale.com/blog/reduce-aws-fargate-pull-times-with-soci, Apr 2024); ENI provisioning alone 11–44 s (opensearch-project/opensearch-migrations#2116); 30–90 s planning range for a 0.5–1.5 GB image.",
  soci: 'SOCI (Seekable OCI) lazy loading: image download is about three quarters of container start time, and AWS\'s internal testing shows "up to a 27% reduction" in task startup with a SOCI index (aws.amazon.com/blogs/aws/aws-fargate-enables-faster-container-startup-using-seekable-oci). An upper bound, not a typical figure; see docs/dbt-repo/fast-start.md.',
  lambdaCold:
    "Lambda Node.js cold start: ~100–150 ms hello world, ~375 ms tuned Node 22 + SDK v3, ~100 ms for a ~260 KB esbuild bundle (decodednode.com 2026-01; speedrun.nobackspacecrew.com 2025-07-21; gomomento.com 2023-11); cold starts in < 1 % of invocations (AWS analysis quoted by medium.com/@adtanasa). Collected in aws.md §7.2.",
  snowflakeTrigger:
    "Triggered tasks run at most once per USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS, 30 s by default (docs.snowflake.com/en/sql-reference/parameters; marked unverified-verbatim in /work/shared/reference/snowflake.md §2.1).",
  sqsFifoEsm:
    "SQS FIFO → Lambda event source mapping, producer to consumer: p10 21.9 ms, p50 28.1 ms, p90 61.2 ms, p99 645 ms (eu-west-1, Sept 2022; bitesizedserverless.com/bite/serverless-messaging-latency-compared/).",
  snsLambda:
    "SNS standard → asynchronous Lambda invocation: p10 62 ms, p50 73 ms, p90 125 ms, p99 225 ms (same source as sqsFifoEsm).",
  dynamodb:
    'DynamoDB: "single-digit millisecond performance at any scale" (AWS product description, aws.amazon.com/dynamodb).',
  esmBatching:
    "SQS event source mapping: MaximumBatchingWindowInSeconds defaults to 0 and is not supported for FIFO queues; FIFO batch size ≤ 10 (docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).",
  scheduler:
    "EventBridge Scheduler with flexibleTimeWindow OFF invokes at the scheduled time; with a window it may invoke up to the window later (docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-flexible-time-windows.html). The component sets OFF; the remaining delay in seconds is not documented.",
  quoted:
    "Figures usually quoted for such designs: 5–10 min for an event-driven workflow service, 30–60 min for an hourly cron.",
};

const ms = (x: number) => x / 1000;

/** The inputs the model takes from this run. */
export interface LatencyInputs {
  readonly replay: ReplayReport;
  /** Cold-init figures of the bundles (ms); when absent the documented range is used. */
  readonly bundles?: readonly BundleRow[];
  /** Wall-clock ms of launch's core for one request on an idle target (see {@link measureLaunchCore}). */
  readonly launchMs: Summary;
}

/**
 * Measures launch's core on this machine: `n` SQS batches of one request, each for its own idle
 * target, window 0, against the in-memory store and an ECS that answers at once (so the figure
 * leaves out every network round trip).
 */
export async function measureLaunchCore(n = 300): Promise<Summary> {
  const store = new MemoryLaunchStore();
  const ecs = {
    send: () =>
      Promise.resolve({ tasks: [{ taskArn: "arn:aws:ecs:eu-west-1:123456789012:task/bench/0" }], failures: [] }),
  } as unknown as ECSClient;
  const sqs = { send: () => Promise.resolve({}) } as unknown as SQSClient;
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const settings = {
    clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/bench",
    taskDefinition: "bench",
    subnetIds: ["subnet-a"],
    securityGroupIds: ["sg-a"],
    assignPublicIp: "DISABLED" as const,
    burstWindowSeconds: 0,
    minRunIntervalSeconds: 0,
    hourlySkipWhenIdle: false,
    maxLaunchAttempts: 5,
    dlqUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq.fifo",
    tableName: "bench",
    leaseSeconds: 3600,
    doneSeconds: 172800,
  };
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const target = `t${i}`;
    const body = JSON.stringify({
      target,
      select: ["source:stripe+"],
      sources: ["stripe"],
      triggers: [{ kind: "fivetran", id: `sync-${i}`, source: "stripe", receivedAt: new Date().toISOString() }],
    });
    const event = {
      Records: [
        {
          messageId: `m${i}`,
          receiptHandle: `r${i}`,
          body,
          attributes: { MessageGroupId: target },
          eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:runs.fifo",
        },
      ],
    };
    const started = process.hrtime.bigint();
    await launch(event, {
      settings,
      ecs,
      sqs,
      store,
      logger: quiet,
      metrics: { addMetric() {} },
      now: () => new Date(),
      sleep: async () => {},
      token: randomUUID,
    });
    if (i > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return summarize(times);
}

/** The stretch from RunTask to the containers running on Fargate (documented). */
const FARGATE: Step = {
  step: "Fargate: RunTask → containers running",
  low: 30,
  typical: 57,
  high: 90,
  basis: "documented",
  source: "fargate (typical: the 413 MB image's average)",
};

/** The same with a SOCI index pushed beside the image (inferred from the documented best case). */
const SOCI: Step = {
  ...FARGATE,
  step: "Fargate with a SOCI index: RunTask → containers running",
  low: FARGATE.low * 0.73,
  typical: FARGATE.typical * 0.73,
  basis: "inferred",
  source: 'fargate × (1 − 0.27): soci\'s "up to 27 %" applied to the typical, so a best case',
};

/** What the dbt container does before dbt's own work starts, reported apart from the latency. */
const prepareSteps = (freshness: boolean): Step[] => [
  freshness
    ? {
        step: "prepare (profiles, state download) + `dbt source freshness`",
        low: 10,
        typical: 30,
        high: 90,
        basis: "assumed",
        source: "depends on the dbt project and the number of sources",
      }
    : {
        step: "prepare (profiles, state download) + no-op freshness (`dbt --version`)",
        low: 3,
        typical: 6,
        high: 15,
        basis: "assumed",
        source: "S3 download of the previous manifest; Python start-up",
      },
];

/** From the sync's end to dispatch, for a Fivetran or Airbyte webhook. */
const WEBHOOK_HEAD: Step[] = [
  {
    step: "vendor sends the webhook after the sync ends",
    low: 1,
    typical: 5,
    high: 30,
    basis: "assumed",
    source: "Fivetran and Airbyte do not document it",
  },
  {
    step: "API Gateway HTTP API → Lambda",
    low: 0.01,
    typical: 0.03,
    high: 0.1,
    basis: "assumed",
    source: "no absolute figure found; AWS only states HTTP APIs have lower latency than REST APIs",
  },
];

/** From the load's commit to dispatch, through the Snowflake stream's triggered task and SNS. */
const SNOWFLAKE_HEAD: Step[] = [
  {
    step: "triggered task fires after the load commits",
    low: 0,
    typical: 15,
    high: 30,
    basis: "inferred",
    source: "snowflakeTrigger (uniform within the 30 s minimum interval, so 15 s on average)",
  },
  {
    step: "task body: resume loading warehouse, INSERT from the stream, send the notification",
    low: 2,
    typical: 5,
    high: 15,
    basis: "assumed",
    source: "warehouse resume and two statements",
  },
  {
    step: "Snowflake notification → SNS",
    low: 1,
    typical: 2,
    high: 10,
    basis: "assumed",
    source: "not documented by Snowflake",
  },
  {
    step: "SNS → dispatch (asynchronous invoke)",
    low: 0.062,
    typical: 0.073,
    high: 0.225,
    basis: "documented",
    source: "snsLambda (p10 / p50 / p99)",
  },
];

/** From the load to dispatch when only the hourly schedule picks it up. */
function hourlyHead(hourlySchedule: string): Step[] {
  return [
    {
      step: "wait for the next hourly schedule",
      low: 0,
      typical: 1800,
      high: 3600,
      basis: "config",
      source: `triggers.hourlySchedule = ${hourlySchedule}: a load ends at a uniformly random time in the hour`,
    },
    {
      step: "EventBridge Scheduler → dispatch",
      low: 0,
      typical: 1,
      high: 5,
      basis: "assumed",
      source: "scheduler (flexible window OFF)",
    },
  ];
}

/** The cold start of a function: measured when the bench measured its bundle, documented otherwise. */
function coldStep(fn: "dispatch" | "launch", measured: number | undefined): Step {
  return {
    step: `${fn} cold start (warm in > 99 % of calls)`,
    low: 0,
    typical: 0,
    high: measured !== undefined ? ms(measured) : 0.375,
    basis: measured !== undefined ? "measured" : "documented",
    source:
      measured !== undefined
        ? "bundle cold init measured in a fresh node process (section 3); lambdaCold for the range"
        : "lambdaCold",
  };
}

const coldOf = (inputs: LatencyInputs, name: string) => inputs.bundles?.find((b) => b.name === name)?.bundledInitMs;

/** Dispatch: its cold start, its core, its AWS calls, and the queue to launch. */
function dispatchSteps(inputs: LatencyInputs): Step[] {
  const t = inputs.replay.timings;
  return [
    coldStep("dispatch", coldOf(inputs, "dispatch")),
    {
      step: "dispatch core (validate, authenticate, dedupe, enqueue)",
      low: ms(t.dispatchMs.p50),
      typical: ms(t.dispatchMs.p50),
      high: ms(t.dispatchMs.p95),
      basis: "measured",
      source: "replay: wall-clock per call, p50 / p95, mocked AWS",
    },
    {
      step: "dispatch's AWS calls: DynamoDB put + update, SQS SendMessage",
      low: 0.012,
      typical: 0.03,
      high: 0.08,
      basis: "inferred",
      source: "dynamodb for the two writes (2 × single-digit ms); SendMessage 10–60 ms assumed",
    },
    {
      step: "SQS FIFO → launch (event source mapping)",
      low: 0.022,
      typical: 0.028,
      high: 0.645,
      basis: "documented",
      source: "sqsFifoEsm (p10 / p50 / p99); esmBatching",
    },
  ];
}

/** Launch: the wait for a run to start, its cold start, its core and calls, RunTask and Fargate. */
function launchSteps(inputs: LatencyInputs, wait: Step, start: Step = FARGATE): Step[] {
  return [
    wait,
    coldStep("launch", coldOf(inputs, "launch")),
    {
      step: "launch core (pending set, lease, merge)",
      low: ms(inputs.launchMs.p50),
      typical: ms(inputs.launchMs.p50),
      high: ms(inputs.launchMs.p95),
      basis: "measured",
      source: "measureLaunchCore: wall-clock per call, p50 / p95, in-memory store, ECS answering at once",
    },
    {
      step: "launch's DynamoDB calls: done marker?, put pending, take lease, query, claim, mark running, done marker, delete pending (8)",
      low: 0.016,
      typical: 0.04,
      high: 0.08,
      basis: "inferred",
      source: "dynamodb: 8 × single-digit ms (2–10 ms), sequential",
    },
    {
      step: "ECS RunTask API call",
      low: 0.1,
      typical: 0.3,
      high: 1,
      basis: "assumed",
      source: "no published figure found",
    },
    start,
  ];
}

/** The model for every path, idle and on the replayed day. */
export function latencyModel(inputs: LatencyInputs): PathModel[] {
  const { replay } = inputs;
  const window = replay.settings.burstWindowSeconds;
  const idleWait: Step = {
    step: "leading-edge window (idle target: the first trigger waits the whole window)",
    low: 0,
    typical: window,
    high: window,
    basis: "config",
    source: `triggers.burstWindowSeconds = ${window}; launch starts the run ${window} s after the oldest waiting trigger`,
  };
  const busyWait = (label: string, s: Summary | undefined): Step => ({
    step: `window + waiting for the running dbt task (${label}, replayed day)`,
    low: s ? s.p50 : window,
    typical: s ? s.p50 : window,
    high: s ? s.p95 : window,
    basis: "replayed",
    source: s
      ? `replay: receipt → RunTask, p50 (low and typical) / p95 (high), n ${s.n}`
      : "no such triggers in the replay",
  });
  const webhookWait = replay.design.waitSeconds.webhook.n ? replay.design.waitSeconds.webhook : undefined;

  const dispatchPath = dispatchSteps(inputs);
  const launchPath = (wait: Step, start: Step = FARGATE) => launchSteps(inputs, wait, start);
  const hourly = hourlyHead(replay.settings.hourlySchedule);
  const path = (name: string, condition: string, quoted: string, steps: Step[], freshness = false): PathModel => ({
    name,
    condition,
    quoted,
    steps,
    after: prepareSteps(freshness),
    total: {
      low: steps.reduce((s, x) => s + x.low, 0),
      typical: steps.reduce((s, x) => s + x.typical, 0),
      high: steps.reduce((s, x) => s + x.high, 0),
    },
  });
  const event = "5–10 min (event-driven workflow service)";
  const cron = "30–60 min (hourly cron)";
  return [
    path("webhook (Fivetran / Airbyte)", "idle target", event, [
      ...WEBHOOK_HEAD,
      ...dispatchPath,
      ...launchPath(idleWait),
    ]),
    path("webhook (Fivetran / Airbyte)", "idle target, SOCI index", event, [
      ...WEBHOOK_HEAD,
      ...dispatchPath,
      ...launchPath(idleWait, SOCI),
    ]),
    path("webhook (Fivetran / Airbyte)", "replayed day", event, [
      ...WEBHOOK_HEAD,
      ...dispatchPath,
      ...launchPath(busyWait("webhook triggers", webhookWait)),
    ]),
    path("Snowflake triggered task", "idle target", event, [
      ...SNOWFLAKE_HEAD,
      ...dispatchPath,
      ...launchPath(idleWait),
    ]),
    path("Snowflake triggered task", "idle target, SOCI index", event, [
      ...SNOWFLAKE_HEAD,
      ...dispatchPath,
      ...launchPath(idleWait, SOCI),
    ]),
    path("Snowflake triggered task", "replayed day", event, [
      ...SNOWFLAKE_HEAD,
      ...dispatchPath,
      ...launchPath(busyWait("Snowflake triggers", replay.design.waitSeconds.byKind.snowflake)),
    ]),
    path("hourly schedule", "idle target", cron, [...hourly, ...dispatchPath, ...launchPath(idleWait)], true),
    path(
      "hourly schedule",
      "replayed day",
      cron,
      [
        ...hourly,
        ...dispatchPath,
        ...launchPath(busyWait("schedule triggers", replay.design.waitSeconds.byKind.schedule)),
      ],
      true,
    ),
  ];
}

/** Seconds as a short human figure. */
export function human(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

/** The latency section of RESULTS.md. */
export function renderLatency(paths: readonly PathModel[]): string {
  const details = paths
    .filter((p) => p.condition === "idle target" && !p.name.startsWith("hourly"))
    .map((p) =>
      [
        `**${p.name}, ${p.condition}** (seconds):`,
        "",
        "| step | low | typical | high | basis | source |",
        "|---|---|---|---|---|---|",
        ...p.steps.map(
          (s) => `| ${s.step} | ${fmt(s.low)} | ${fmt(s.typical)} | ${fmt(s.high)} | ${s.basis} | ${s.source} |`,
        ),
        `| **total: sync end → containers running** | ${fmt(p.total.low)} | ${fmt(p.total.typical)} | ${fmt(p.total.high)} | | |`,
        ...p.after.map(
          (s) =>
            `| _after the clock stops:_ ${s.step} | ${fmt(s.low)} | ${fmt(s.typical)} | ${fmt(s.high)} | ${s.basis} | ${s.source} |`,
        ),
      ].join("\n"),
    );
  return [
    "Time from a sync or load finishing to the dbt task's containers starting, per path; the clock stops there, and the task's own preparation (profiles, previous state, freshness) before dbt's command is listed apart, after the total. \"Idle target\": no dbt task running, so only the leading-edge window delays the launch. \"Replayed day\": the launch delay is the replay's receipt → RunTask distribution for that kind of trigger (p50 for low and typical, p95 for high). Basis: measured (this machine), replayed (virtual clock), config (stack setting), documented (source below), inferred (derived from a documented figure, said how), assumed (no citable figure).",
    "",
    "Target: p50 ≤ 90 s from sync end to the containers starting on an idle target, webhook and Snowflake paths.",
    "",
    "| path | condition | low | typical (≈ p50) | high | ≤ 90 s typical | usually quoted |",
    "|---|---|---|---|---|---|---|",
    ...paths.map(
      (p) =>
        `| ${p.name} | ${p.condition} | ${human(p.total.low)} | **${human(p.total.typical)}** | ${human(p.total.high)} | ${p.name.startsWith("hourly") || p.condition === "replayed day" ? "–" : p.total.typical <= 90 ? "✓" : "✗"} | ${p.quoted} |`,
    ),
    "",
    ...details.flatMap((d) => [d, ""]),
    "Sources of the documented figures:",
    "",
    ...Object.entries(SOURCES).map(([id, text]) => `- \`${id}\`: ${text}`),
  ].join("\n");
}

function fmt(x: number): string {
  if (x === 0) return "0";
  if (x < 0.01) return `${(x * 1000).toFixed(2)} ms`;
  if (x < 0.1) return x.toFixed(3);
  if (x < 10) return x.toFixed(2);
  return x.toFixed(0);
}

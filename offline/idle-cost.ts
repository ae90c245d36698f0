/**
 * The idle month of a stack: what it costs with no loads and no webhooks, line by line. Only the
 * schedules run (the hourly run, the full refresh, the freshness Lambda every 5 minutes) and the
 * fixed items are billed. Each input is labelled: [list price] (a public price list, see
 * offline/cost.ts), [config] (the stack's settings), [program] (counted in the evaluated
 * program, see {@link inventoryOf}), [documented] (with its source), [inferred] (read from this
 * repository's code) or [assumed] (no figure found).
 */
import { PipelineConfig } from "../config";
import {
  CREDITS_PER_HOUR,
  DEFAULT_WORKLOAD,
  LIST_PRICES,
  UnitPrices,
  billedWarehouseSeconds,
  streamTaskCredits,
} from "./cost";

/** Prices the idle month needs beyond {@link UnitPrices} (USD, list prices). */
export interface IdlePrices {
  /** CloudWatch custom metric per month (first 10,000 metrics). */
  readonly customMetricMonth: number;
  /** ECR storage per GB-month. */
  readonly ecrGbMonth: number;
  /** Interface VPC endpoint per AZ-hour. */
  readonly interfaceEndpointAzHour: number;
}

/** The defaults of {@link IdlePrices}. */
export const IDLE_LIST_PRICES: IdlePrices = { customMetricMonth: 0.3, ecrGbMonth: 0.1, interfaceEndpointAzHour: 0.01 };

/** The fixed, billed-per-month resources of an evaluated program, counted by type. */
export interface Inventory {
  readonly alarms: number;
  readonly dashboards: number;
  readonly kmsKeys: number;
  readonly secrets: number;
  /** Interface VPC endpoints × their subnets (each endpoint is billed per AZ-hour). */
  readonly interfaceEndpointAzs: number;
  readonly natGateways: number;
}

/** A resource as the offline evaluation records it (offline/mocks.ts `RecordedResource`). */
export interface InventoryResource {
  readonly type: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** Counts the billed fixed resources of an evaluated program (`evaluate(...).resources`). */
export function inventoryOf(resources: readonly InventoryResource[]): Inventory {
  const count = (type: string) => resources.filter((r) => r.type === type).length;
  const interfaceEndpoints = resources.filter(
    (r) => r.type === "aws:ec2/vpcEndpoint:VpcEndpoint" && r.inputs.vpcEndpointType === "Interface",
  );
  return {
    alarms: count("aws:cloudwatch/metricAlarm:MetricAlarm") + count("aws:cloudwatch/compositeAlarm:CompositeAlarm"),
    dashboards: count("aws:cloudwatch/dashboard:Dashboard"),
    kmsKeys: count("aws:kms/key:Key"),
    secrets: count("aws:secretsmanager/secret:Secret"),
    interfaceEndpointAzs: interfaceEndpoints.reduce(
      (n, r) => n + (Array.isArray(r.inputs.subnetIds) ? r.inputs.subnetIds.length : 1),
      0,
    ),
    natGateways: count("aws:ec2/natGateway:NatGateway"),
  };
}

/** What an idle month does, beyond the stack's settings. */
export interface IdleAssumptions {
  /** Seconds the transforming warehouse works for an hourly run that finds nothing fresher (`dbt source freshness`). [assumed] */
  readonly freshnessQuerySeconds: number;
  /** Minutes of Fargate task for an hourly run with nothing to build (start, prepare, freshness, upload). [assumed] */
  readonly hourlyTaskMinutes: number;
  /** Minutes a full refresh keeps the warehouse busy on tables that did not change. [assumed] */
  readonly fullRefreshMinutes: number;
  /** Extra Fargate minutes around a full refresh. [assumed] */
  readonly fullRefreshTaskOverheadMinutes: number;
  /** Milliseconds and MB of one freshness Lambda run (S3 read of sources.json, metrics). [assumed] */
  readonly freshnessLambdaMs: number;
  readonly lambdaMemoryMb: number;
  /** Lambda invocations per scheduled run: dispatch, launch (first look plus a recheck), notify. [inferred] */
  readonly invocationsPerRun: number;
  /** Log MB per scheduled run and per freshness check. [assumed] */
  readonly logMbPerRun: number;
  readonly logKbPerFreshnessCheck: number;
  /** Custom metrics a run emits (RunsQueued, RunsLaunched, TriggersPerRun, TriggerToLaunchSeconds, TriggerToStartSeconds, RunSucceeded, RunDurationSeconds). [inferred] */
  readonly metricsPerRunPath: number;
  /** Custom metrics an hourly run that is skipped still emits: dispatch's RunsQueued and launch's HourlySkipped (functions/launch/lease.ts). [inferred] */
  readonly metricsPerSkippedRun: number;
  /** Lambda invocations of an hourly run that is skipped: dispatch and launch, no notify. [inferred] */
  readonly invocationsPerSkippedRun: number;
  /** GB of dbt images the ECR repository holds (layers shared between tags). [assumed] */
  readonly ecrImageGb: number;
  /** Overrides `triggers.hourlySkipWhenIdle` (launch's hourly skip, functions/launch/cadence.ts); undefined: the stack's value. */
  readonly hourlySkipWhenIdle?: boolean;
}

/** The assumptions the figures in bench/RESULTS.md use. */
export const DEFAULT_IDLE: IdleAssumptions = {
  freshnessQuerySeconds: 15,
  hourlyTaskMinutes: 2.5,
  fullRefreshMinutes: 3,
  fullRefreshTaskOverheadMinutes: 1.5,
  freshnessLambdaMs: 300,
  lambdaMemoryMb: 256,
  invocationsPerRun: 4,
  logMbPerRun: 0.2,
  logKbPerFreshnessCheck: 2,
  metricsPerRunPath: 7,
  metricsPerSkippedRun: 2,
  invocationsPerSkippedRun: 2,
  ecrImageGb: 1,
};

/** Hours in the 30-day month the model prices. */
const MONTH_HOURS = 30 * 24;

const DAYS = 30;

/** Values a cron field matches (`*`, `?`, `n`, `a-b`, `a,b`, `*\/n`, `a/n`), counted over `size` slots. */
function fieldCount(field: string, size: number): number {
  if (field === "*" || field === "?") return size;
  return field.split(",").reduce((n, part) => {
    const [range, step] = part.split("/");
    const [from, to] =
      range === "*"
        ? [0, size - 1]
        : range.includes("-")
          ? range.split("-").map(Number)
          : [Number(range), step ? size - 1 : Number(range)];
    return n + Math.floor((to - from) / (step ? Number(step) : 1)) + 1;
  }, 0);
}

/**
 * Runs per 30-day month of an EventBridge Scheduler expression: `rate(n unit)` or a six-field
 * `cron(min hour day-of-month month day-of-week year)` whose month and year are `*`; day-of-week
 * (`MON-FRI`, `SUN`, ...) counts days a week. Throws on forms it cannot count.
 */
export function runsPerMonth(expression: string): number {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const minutes = Number(rate[1]) * (rate[2].startsWith("minute") ? 1 : rate[2].startsWith("hour") ? 60 : 1440);
    return (DAYS * 1440) / minutes;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron || cron[4] !== "*" || cron[6] !== "*") throw new Error(`cannot count the runs of ${expression}`);
  const [, minute, hour, dom, , dow] = cron;
  const perDay = fieldCount(minute, 60) * fieldCount(hour, 24);
  if (dow !== "?" && dow !== "*") {
    const days = dow.split(",").reduce((n, d) => n + (d.includes("-") ? 5 : 1), 0);
    return perDay * days * (DAYS / 7);
  }
  return perDay * (dom === "*" || dom === "?" ? DAYS : fieldCount(dom, 31) * (DAYS / 31));
}

/** One line of the idle month. */
export interface IdleLine {
  readonly item: string;
  readonly usd: number;
  readonly basis: string;
}

/**
 * The idle month of a stack's config, line by line. `inventory` is what the program creates
 * ({@link inventoryOf} over an offline evaluation of the same stack).
 */
export function estimateIdleMonth(
  config: PipelineConfig,
  inventory: Inventory,
  idle: IdleAssumptions = DEFAULT_IDLE,
  prices: UnitPrices = LIST_PRICES,
  extra: IdlePrices = IDLE_LIST_PRICES,
): IdleLine[] {
  const sf = config.snowflake;
  const t = config.triggers;
  const scheduledHourly = t.hourlyEnabled ? runsPerMonth(t.hourlySchedule) : 0;
  const skip = idle.hourlySkipWhenIdle ?? config.triggers.hourlySkipWhenIdle;
  // With the skip, an idle hour's run stops in launch: nothing loaded since the last run.
  const hourly = skip ? 0 : scheduledHourly;
  const skipped = scheduledHourly - hourly;
  const refreshes = t.fullRefreshEnabled ? runsPerMonth(t.fullRefreshSchedule) : 0;
  const credit = (CREDITS_PER_HOUR[sf.warehouseSizes.transforming] * prices.snowflakeCredit) / 3600;
  const hourlyBilled = billedWarehouseSeconds(idle.freshnessQuerySeconds, sf.autoSuspendSeconds);
  const refreshBilled = billedWarehouseSeconds(idle.fullRefreshMinutes * 60, sf.autoSuspendSeconds);
  const [vcpuPrice, gbPrice] = config.dbt.arm64
    ? [prices.fargateVcpuHourArm, prices.fargateGbHourArm]
    : [prices.fargateVcpuHourX86, prices.fargateGbHourX86];
  const taskHour = (config.dbt.cpu / 1024) * vcpuPrice + (config.dbt.memory / 1024) * gbPrice;
  const ipHour = config.network.assignPublicIp ? prices.publicIpv4Hour : 0;
  const hourlyTaskHours = (hourly * idle.hourlyTaskMinutes) / 60;
  const refreshTaskHours = (refreshes * (idle.fullRefreshMinutes + idle.fullRefreshTaskOverheadMinutes)) / 60;
  const rawTables = config.sources.reduce((n, s) => n + s.rawTables.length, 0);
  // Scheduled stream tasks with WHEN SYSTEM$STREAM_HAS_DATA still run "approximately every 12
  // hours to prevent the stream from going stale" (docs.snowflake.com/en/release-notes/bcr-bundles/2024_06/bcr-1710);
  // triggered tasks "don't use compute resources until the event is triggered" (docs.snowflake.com/en/user-guide/tasks-triggered).
  const staleGuardRuns = sf.taskMode === "scheduled" ? rawTables * 2 * DAYS : 0;
  const loadingCredit = (CREDITS_PER_HOUR[sf.warehouseSizes.loading] * prices.snowflakeCredit) / 3600;
  const freshnessChecks = DAYS * 24 * 12;
  // launch's sweep runs every five minutes whatever happens (components/triggers LAUNCH_SWEEP_SCHEDULE).
  const sweeps = DAYS * 24 * 12;
  const runs = hourly + refreshes;
  const invocations =
    freshnessChecks + sweeps + runs * idle.invocationsPerRun + skipped * idle.invocationsPerSkippedRun;
  const gbSeconds = ((invocations * idle.freshnessLambdaMs) / 1000) * (idle.lambdaMemoryMb / 1024);
  // The change-detection reconciler runs every snowflake.reconcileScheduleMinutes with or without loads.
  const reconciler = streamTaskCredits(config, { ...DEFAULT_WORKLOAD, loadsPerSourcePerDay: 0 }, prices);
  const reconcilerCredits = sf.taskCompute === "serverless" ? reconciler.serverless : reconciler.warehouse;
  const logGb = (runs * idle.logMbPerRun + (freshnessChecks * idle.logKbPerFreshnessCheck) / 1024) / 1024;
  // A metric published in any hour of the month is priced for the whole month [assumed, the upper
  // bound]. RunsQueued is in both the run path and the skipped run's metrics.
  const runMetrics = runs > 0 ? idle.metricsPerRunPath : 0;
  const skipMetrics = skipped > 0 ? idle.metricsPerSkippedRun - (runs > 0 ? 1 : 0) : 0;
  const metrics = config.sources.length + 1 + runMetrics + skipMetrics;
  const skipSource = idle.hourlySkipWhenIdle !== undefined ? "[set for this estimate]" : "[config]";
  const hourlyWhy = !t.hourlyEnabled
    ? "triggers.hourlyEnabled is false [config]"
    : skip
      ? `${scheduledHourly} scheduled, none starts dbt: nothing loaded since the last run (triggers.hourlySkipWhenIdle ${skipSource})`
      : `${hourly} runs (${t.hourlySchedule} [config]), each starting a task that finds nothing fresher`;
  const n = (x: number) => Math.round(x * 100) / 100;

  const lines: IdleLine[] = [
    {
      item: "Hourly runs: transforming warehouse",
      usd: hourly * hourlyBilled * credit,
      basis: `${hourlyWhy}; ${hourlyBilled} s billed each (${idle.freshnessQuerySeconds} s of freshness queries [assumed] + ${sf.autoSuspendSeconds} s auto-suspend [config], 60 s minimum [documented: offline/cost.ts])`,
    },
    {
      item: "Hourly runs: Fargate and public IPv4",
      usd: hourlyTaskHours * (taskHour + ipHour),
      basis: `${hourlyTaskHours.toFixed(1)} task-hours (${idle.hourlyTaskMinutes} min a run [assumed])`,
    },
    {
      item: "Full refreshes: transforming warehouse",
      usd: refreshes * refreshBilled * credit,
      basis: t.fullRefreshEnabled
        ? `${n(refreshes)} runs (${t.fullRefreshSchedule} [config]) × ${refreshBilled} s billed (${idle.fullRefreshMinutes} min rebuilding unchanged tables [assumed])`
        : "triggers.fullRefreshEnabled is false [config]",
    },
    {
      item: "Full refreshes: Fargate and public IPv4",
      usd: refreshTaskHours * (taskHour + ipHour),
      basis: `${refreshTaskHours.toFixed(1)} task-hours`,
    },
    {
      item: "Stream tasks: loading warehouse",
      usd: staleGuardRuns * billedWarehouseSeconds(10, sf.autoSuspendSeconds) * loadingCredit,
      basis:
        sf.taskMode === "scheduled"
          ? `${staleGuardRuns} stale-guard runs (${rawTables} tables × 2 a day) [documented]`
          : "triggered tasks use no compute without new rows [documented]",
    },
    {
      item: "Change-detection reconciler (Snowflake)",
      usd: reconcilerCredits * prices.snowflakeCredit,
      basis: `${Math.round(reconciler.reconcileRuns)} runs (every ${sf.reconcileScheduleMinutes} min [config]; and once when a deploy recreates its task [inferred: components/change-detection/reconciler.ts]) × 5 s [assumed: offline/cost.ts RECONCILE_RUN_SECONDS], ${sf.taskCompute} [config]: ${reconcilerCredits.toFixed(2)} credits`,
    },
    {
      item: "Lambda (arm64)",
      usd: gbSeconds * prices.lambdaGbSecondArm + (invocations / 1e6) * prices.lambdaMillionRequests,
      basis: `${Math.round(invocations)} invocations: freshness and launch's sweep every 5 min [config] + ${idle.invocationsPerRun} per run, ${idle.invocationsPerSkippedRun} per skipped hourly run [inferred], ${idle.freshnessLambdaMs} ms × ${idle.lambdaMemoryMb} MB [assumed]`,
    },
    {
      item: "CloudWatch Logs",
      usd:
        logGb * prices.logsIngestGb +
        logGb * prices.logsStorageGbMonth * (Math.min(config.dbt.logRetentionDays, 365) / 30),
      basis: `${logGb.toFixed(3)} GB [assumed volumes], kept ${config.dbt.logRetentionDays} days [config]`,
    },
    {
      item: "CloudWatch custom metrics",
      usd: metrics * extra.customMetricMonth,
      basis: `${metrics} metrics published in the month: MinutesSinceLastLoad per source + SourcesSnapshotAgeMinutes${runMetrics ? ` + ${runMetrics} of the run path` : ""}${skipMetrics ? ` + ${skipMetrics} of the skipped hourly runs` : ""} [inferred]; each at a whole month's list price [assumed: upper bound]`,
    },
    {
      item: "CloudWatch alarms",
      usd: inventory.alarms * prices.alarmMonth,
      basis: `${inventory.alarms} alarms [program], standard resolution`,
    },
    {
      item: "CloudWatch dashboard",
      usd: inventory.dashboards * prices.dashboardMonth,
      basis: `${inventory.dashboards} dashboard(s) [program] at list price (free in an account with 3 or fewer [assumed from the free tier], not counted)`,
    },
    {
      item: "KMS customer-managed key",
      usd: inventory.kmsKeys * prices.kmsKeyMonth,
      basis: `${inventory.kmsKeys} key(s) [program]`,
    },
    {
      item: "Secrets Manager",
      usd: inventory.secrets * prices.secretMonth,
      basis: `${inventory.secrets} secrets [program]`,
    },
    {
      item: "VPC: interface endpoints and NAT gateways",
      usd:
        (inventory.interfaceEndpointAzs * extra.interfaceEndpointAzHour +
          inventory.natGateways * prices.natGatewayHour) *
        MONTH_HOURS,
      basis: `${inventory.interfaceEndpointAzs} interface endpoint AZs, ${inventory.natGateways} NAT gateways [program]`,
    },
    {
      item: "ECR image storage",
      usd: idle.ecrImageGb * extra.ecrGbMonth,
      basis: `${idle.ecrImageGb} GB of image layers [assumed]`,
    },
    {
      item: "SQS, DynamoDB, API Gateway, Scheduler, S3",
      usd: 0,
      basis: "billed per request or GB: a few thousand requests and KBs round to $0.00",
    },
  ];
  return lines.map((l) => ({ ...l, usd: Math.round(l.usd * 100) / 100 }));
}

/** The idle month as text, with its total. */
export function renderIdle(stack: string, lines: readonly IdleLine[]): string {
  const total = lines.reduce((s, l) => s + l.usd, 0);
  const width = Math.max(...lines.map((l) => l.item.length));
  return [
    `Idle month of ${stack} (no loads, no webhooks; model, not a bill):`,
    ...lines.map((l) => `  ${l.item.padEnd(width)}  $${l.usd.toFixed(2).padStart(8)}  ${l.basis}`),
    `  ${"Total".padEnd(width)}  $${total.toFixed(2).padStart(8)}`,
  ].join("\n");
}

/**
 * Monthly cost model of one stack: warehouses (per-second billing, 60 s minimum per resume,
 * auto-suspend tail), Fargate, Lambda, API Gateway, SQS, NAT, logs and the fixed items. Every
 * unit price is a named input with the list price it defaults to; every workload figure is an
 * input too. It is an estimate for review, printed by the offline plan and by `npm run bench`.
 */
import { PipelineConfig, WarehouseSize } from "../config";

/** Unit prices in USD (defaults: public list prices, AWS us-east-1 / eu-west-1 class regions, Snowflake Enterprise on AWS). */
export interface UnitPrices {
  readonly snowflakeCredit: number;
  readonly fargateVcpuHourArm: number;
  readonly fargateGbHourArm: number;
  readonly fargateVcpuHourX86: number;
  readonly fargateGbHourX86: number;
  readonly publicIpv4Hour: number;
  readonly natGatewayHour: number;
  readonly lambdaGbSecondArm: number;
  readonly lambdaMillionRequests: number;
  readonly httpApiMillionRequests: number;
  readonly sqsFifoMillionRequests: number;
  readonly logsIngestGb: number;
  readonly logsStorageGbMonth: number;
  readonly secretMonth: number;
  readonly alarmMonth: number;
  readonly dashboardMonth: number;
  readonly kmsKeyMonth: number;
  readonly dynamodbMillionWrites: number;
  /** Credits per compute-hour of serverless tasks, relative to a warehouse of the same size (Snowflake Service Consumption Table). */
  readonly serverlessTaskMultiplier: number;
}

/** The defaults of {@link UnitPrices}. Check them against current price lists before relying on a figure. */
export const LIST_PRICES: UnitPrices = {
  snowflakeCredit: 3.0,
  fargateVcpuHourArm: 0.03238,
  fargateGbHourArm: 0.00356,
  fargateVcpuHourX86: 0.04048,
  fargateGbHourX86: 0.004445,
  publicIpv4Hour: 0.005,
  natGatewayHour: 0.045,
  lambdaGbSecondArm: 0.0000133334,
  lambdaMillionRequests: 0.2,
  httpApiMillionRequests: 1.0,
  sqsFifoMillionRequests: 0.5,
  logsIngestGb: 0.5,
  logsStorageGbMonth: 0.03,
  secretMonth: 0.4,
  alarmMonth: 0.1,
  dashboardMonth: 3.0,
  kmsKeyMonth: 1.0,
  dynamodbMillionWrites: 1.25,
  serverlessTaskMultiplier: 0.9,
};

/** What the pipeline does in a month. */
export interface Workload {
  /** Incremental dbt runs per day (webhook/Snowflake-triggered and hourly, after burst merging). */
  readonly runsPerDay: number;
  /** Minutes an incremental dbt run keeps the transforming warehouse busy. */
  readonly runMinutes: number;
  /** Full refreshes per day and their minutes. */
  readonly fullRefreshesPerDay: number;
  readonly fullRefreshMinutes: number;
  /** Extra task minutes around dbt (Fargate start, prepare, freshness, upload). */
  readonly taskOverheadMinutes: number;
  /** Loads per source per day (webhooks and Snowflake load events). */
  readonly loadsPerSourcePerDay: number;
  /** Seconds a stream task keeps the loading warehouse busy. */
  readonly streamTaskSeconds: number;
  /** Log volume per dbt run, MB. */
  readonly logMbPerRun: number;
}

/** A stated workload: hourly loads, a 3-minute dbt run. */
export const DEFAULT_WORKLOAD: Workload = {
  runsPerDay: 24,
  runMinutes: 3,
  fullRefreshesPerDay: 1,
  fullRefreshMinutes: 15,
  taskOverheadMinutes: 1.5,
  loadsPerSourcePerDay: 24,
  streamTaskSeconds: 10,
  logMbPerRun: 2,
};

/** Snowflake credits per hour by warehouse size. */
export const CREDITS_PER_HOUR: Readonly<Record<WarehouseSize, number>> = {
  XSMALL: 1,
  SMALL: 2,
  MEDIUM: 4,
  LARGE: 8,
  XLARGE: 16,
  XXLARGE: 32,
  XXXLARGE: 64,
  X4LARGE: 128,
  X5LARGE: 256,
  X6LARGE: 512,
};

const DAYS = 30;

/** One line of the estimate. */
export interface CostLine {
  readonly item: string;
  readonly usd: number;
  readonly basis: string;
}

/** Seconds billed for one warehouse resume that works `busySeconds`: 60 s minimum, plus the idle tail before auto-suspend. */
export function billedWarehouseSeconds(busySeconds: number, autoSuspendSeconds: number): number {
  return Math.max(60, busySeconds + autoSuspendSeconds);
}

/** The monthly estimate for a stack's config. */
export function estimateMonthlyCost(
  config: PipelineConfig,
  workload: Workload = DEFAULT_WORKLOAD,
  prices: UnitPrices = LIST_PRICES,
): CostLine[] {
  const sf = config.snowflake;
  const runs = workload.runsPerDay * DAYS;
  const refreshes = workload.fullRefreshesPerDay * DAYS;
  const rawTables = config.sources.reduce((n, s) => n + s.rawTables.length, 0);
  const webhookSources = config.sources.filter(
    (s) => s.fivetranConnectors.length || s.airbyteConnections.length,
  ).length;
  const loads = workload.loadsPerSourcePerDay * DAYS;

  const transformingSeconds =
    runs * billedWarehouseSeconds(workload.runMinutes * 60, sf.autoSuspendSeconds) +
    refreshes * billedWarehouseSeconds(workload.fullRefreshMinutes * 60, sf.autoSuspendSeconds);
  const transformingCredits = (transformingSeconds / 3600) * CREDITS_PER_HOUR[sf.warehouseSizes.transforming];
  const tasks = streamTaskCredits(config, workload, prices);

  const taskHours =
    (runs * (workload.runMinutes + workload.taskOverheadMinutes) +
      refreshes * (workload.fullRefreshMinutes + workload.taskOverheadMinutes)) /
    60;
  const vcpu = config.dbt.cpu / 1024;
  const gb = config.dbt.memory / 1024;
  const [vcpuPrice, gbPrice] = config.dbt.arm64
    ? [prices.fargateVcpuHourArm, prices.fargateGbHourArm]
    : [prices.fargateVcpuHourX86, prices.fargateGbHourX86];

  const webhooks = webhookSources * loads;
  const snowflakeNotifications = rawTables * loads;
  const triggers = webhooks + snowflakeNotifications + runs + refreshes;
  // dispatch per trigger; launch per trigger plus burst/one-run rechecks (≈3 per run); notify per run; freshness every 5 minutes.
  const invocations = triggers + triggers + 3 * (runs + refreshes) + (runs + refreshes) + DAYS * 24 * 12;
  const lambdaGbSeconds = invocations * 0.25 * 0.3;
  const sqsRequests = triggers * 4 + (runs + refreshes) * 6;
  const logGb = ((runs + refreshes) * workload.logMbPerRun + invocations * 0.002) / 1024;
  const secrets =
    2 +
    (config.fivetran.webhookSecret ? 1 : 0) +
    (config.airbyte.webhookToken ? 1 : 0) +
    (config.notify.slackWebhookUrl ? 1 : 0);
  const alarms = config.sources.length + 1 + 3 + 4;

  const lines: CostLine[] = [
    {
      item: `Snowflake ${sf.warehouseSizes.transforming} transforming warehouse`,
      usd: transformingCredits * prices.snowflakeCredit,
      basis: `${transformingCredits.toFixed(1)} credits: ${runs} runs × ${workload.runMinutes} min + ${refreshes} full refreshes × ${workload.fullRefreshMinutes} min, each + ${sf.autoSuspendSeconds} s auto-suspend tail, 60 s minimum`,
    },
    ...streamTaskLines(config, tasks, prices),
    {
      item: `Fargate ${vcpu} vCPU / ${gb} GB ${config.dbt.arm64 ? "ARM64" : "x86_64"}`,
      usd: taskHours * (vcpu * vcpuPrice + gb * gbPrice),
      basis: `${taskHours.toFixed(1)} task-hours (dbt + ${workload.taskOverheadMinutes} min overhead per run)`,
    },
    {
      item: "Public IPv4 on dbt tasks",
      usd: config.network.assignPublicIp ? taskHours * prices.publicIpv4Hour : 0,
      basis: "billed only while a task runs",
    },
    {
      item: "NAT gateway",
      usd: 0,
      basis:
        config.network.mode === "create"
          ? "none: public subnets, no NAT"
          : "existing network: any NAT cost belongs to that VPC",
    },
    {
      item: "Lambda (arm64)",
      usd: lambdaGbSeconds * prices.lambdaGbSecondArm + (invocations / 1e6) * prices.lambdaMillionRequests,
      basis: `${Math.round(invocations)} invocations × 256 MB × 300 ms`,
    },
    {
      item: "API Gateway HTTP API",
      usd: (webhooks / 1e6) * prices.httpApiMillionRequests,
      basis: `${webhooks} webhook deliveries`,
    },
    {
      item: "SQS FIFO",
      usd: (sqsRequests / 1e6) * prices.sqsFifoMillionRequests,
      basis: `${Math.round(sqsRequests)} requests`,
    },
    {
      item: "DynamoDB (idempotency, notify state)",
      usd: (((triggers + runs + refreshes) * 2) / 1e6) * prices.dynamodbMillionWrites,
      basis: "on-demand writes",
    },
    {
      item: "CloudWatch Logs",
      usd:
        logGb * prices.logsIngestGb +
        logGb * prices.logsStorageGbMonth * (Math.min(config.dbt.logRetentionDays, 365) / 30),
      basis: `${logGb.toFixed(2)} GB ingested, kept ${config.dbt.logRetentionDays} days`,
    },
    { item: "Secrets Manager", usd: secrets * prices.secretMonth, basis: `${secrets} secrets` },
    {
      item: "CloudWatch alarms and dashboard, KMS key",
      usd: alarms * prices.alarmMonth + prices.dashboardMonth + prices.kmsKeyMonth,
      basis: `${alarms} alarms, 1 dashboard, 1 customer-managed key`,
    },
  ];
  return lines.map((l) => ({ ...l, usd: Math.round(l.usd * 100) / 100 }));
}

/** Seconds one reconciler run of change detection is assumed to take (a few metadata queries). */
export const RECONCILE_RUN_SECONDS = 5;

/** Monthly credits of the change-detection tasks under each compute model, for the same workload. */
export interface StreamTaskCredits {
  readonly runs: number;
  readonly reconcileRuns: number;
  /** Serverless: billed per second of work, no minimum, at the serverless multiplier (XSMALL-sized). */
  readonly serverless: number;
  /** Warehouse: each run resumes the loading warehouse, 60 s minimum plus the auto-suspend tail. */
  readonly warehouse: number;
}

/**
 * Credits of the per-table tasks (one run per load of each watched entry; a `SCHEMA.*` entry is
 * counted as one table) plus the reconciler's runs every `reconcileScheduleMinutes`.
 */
export function streamTaskCredits(
  config: PipelineConfig,
  workload: Workload = DEFAULT_WORKLOAD,
  prices: UnitPrices = LIST_PRICES,
): StreamTaskCredits {
  const sf = config.snowflake;
  const runs = config.sources.reduce((n, s) => n + s.rawTables.length, 0) * workload.loadsPerSourcePerDay * DAYS;
  const reconcileRuns = (DAYS * 24 * 60) / sf.reconcileScheduleMinutes;
  const serverlessSeconds = runs * workload.streamTaskSeconds + reconcileRuns * RECONCILE_RUN_SECONDS;
  const warehouseSeconds =
    (runs ? runs * billedWarehouseSeconds(workload.streamTaskSeconds, sf.autoSuspendSeconds) : 0) +
    reconcileRuns * billedWarehouseSeconds(RECONCILE_RUN_SECONDS, sf.autoSuspendSeconds);
  return {
    runs,
    reconcileRuns,
    serverless: (serverlessSeconds / 3600) * CREDITS_PER_HOUR.XSMALL * prices.serverlessTaskMultiplier,
    warehouse: (warehouseSeconds / 3600) * CREDITS_PER_HOUR[sf.warehouseSizes.loading],
  };
}

/** Both compute models as lines; only the configured one (`snowflake.taskCompute`) counts in the total. */
function streamTaskLines(config: PipelineConfig, c: StreamTaskCredits, prices: UnitPrices): CostLine[] {
  const sf = config.snowflake;
  const chosen = sf.taskCompute;
  const basis = (credits: number, how: string, model: "serverless" | "warehouse") =>
    `${credits.toFixed(1)} credits: ${c.runs} task runs + ${Math.round(c.reconcileRuns)} reconciler runs, ${how}${model === chosen ? "" : ` (alternative: $${(credits * prices.snowflakeCredit).toFixed(2)}, not in the total)`}`;
  return [
    {
      item: "Snowflake serverless change-detection tasks",
      usd: chosen === "serverless" ? c.serverless * prices.snowflakeCredit : 0,
      basis: basis(c.serverless, `per second, no minimum, × ${prices.serverlessTaskMultiplier}`, "serverless"),
    },
    {
      item: `Snowflake ${sf.warehouseSizes.loading} loading warehouse (change-detection tasks)`,
      usd: chosen === "warehouse" ? c.warehouse * prices.snowflakeCredit : 0,
      basis: basis(
        c.warehouse,
        `each resumes the warehouse: 60 s minimum + ${sf.autoSuspendSeconds} s auto-suspend tail`,
        "warehouse",
      ),
    },
  ];
}

/** The estimate as text, with its total. */
export function renderCost(lines: readonly CostLine[], workload: Workload = DEFAULT_WORKLOAD): string {
  const total = lines.reduce((s, l) => s + l.usd, 0);
  const width = Math.max(...lines.map((l) => l.item.length));
  return [
    `Monthly cost estimate (model, not a bill; workload: ${workload.runsPerDay} runs/day of ${workload.runMinutes} min, ${workload.fullRefreshesPerDay} full refresh/day of ${workload.fullRefreshMinutes} min, ${workload.loadsPerSourcePerDay} loads/source/day; list prices in offline/cost.ts):`,
    ...lines.map((l) => `  ${l.item.padEnd(width)}  $${l.usd.toFixed(2).padStart(8)}  ${l.basis}`),
    `  ${"Total".padEnd(width)}  $${total.toFixed(2).padStart(8)}`,
  ].join("\n");
}

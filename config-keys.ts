/**
 * The table of every `dbt-pipeline:` config key: its Pulumi.yaml type, description, default and
 * validation. It is the one source of truth: `config.ts` builds its zod schema and infers the
 * `PipelineConfig` type from it, and `npm run gen` writes `Pulumi.yaml` and the README's config
 * reference from it (a test fails when a committed copy is stale).
 */
import { z } from "zod";
import { isSelectorToken } from "./functions/lib/run-contract";

/** The project name, which is also the config namespace. */
export const PROJECT = "dbt-pipeline";

/** What the offline plan passes in place of a `secure:` value; accepted for secret keys only. */
export const SECRET_PLACEHOLDER = "[secret: not decrypted by the offline plan]";

/** Pulumi.yaml config types; `object` keys cannot be typed there (pulumi/pulumi#11321). */
export type KeyType = "string" | "integer" | "boolean" | "array" | "object";

/** One declared config key. */
export interface KeySpec {
  /** Key without the namespace, e.g. `dbt.cpu`. */
  readonly key: string;
  readonly type: KeyType;
  readonly description: string;
  /** Default applied when the stack does not set the key; absent means required. */
  readonly default?: unknown;
  /** Secret keys must be set with `pulumi config set --secret`; they have no default. */
  readonly secret?: boolean;
  /** Item type of an `array` key; defaults to string. */
  readonly items?: "string" | "integer";
  /** Secret keys that may be left unset. */
  readonly optional?: boolean;
  /** Validation of the decoded value; its issue messages are shown to the user verbatim. */
  readonly schema: z.ZodType;
}

const FARGATE_CPU = [256, 512, 1024, 2048, 4096] as const;
/** Snowflake warehouse sizes accepted by `snowflake.Warehouse.warehouseSize`. */
export const WAREHOUSE_SIZES = [
  "XSMALL",
  "SMALL",
  "MEDIUM",
  "LARGE",
  "XLARGE",
  "XXLARGE",
  "XXXLARGE",
  "X4LARGE",
  "X5LARGE",
  "X6LARGE",
] as const;
/** CloudWatch Logs retention values (days) the API accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Upper-case Snowflake identifier: letters, digits and underscores, starting with a letter. */
export const SNOWFLAKE_IDENT = /^[A-Z][A-Z0-9_]{0,199}$/;
const identifier = z.string().regex(SNOWFLAKE_IDENT, {
  message: "expected an UPPER_SNAKE Snowflake identifier (A-Z, 0-9, _; starting with a letter)",
});

function oneOf<T extends string | number>(values: readonly T[]): z.ZodType<T> {
  return z.custom<T>((v) => (values as readonly unknown[]).includes(v), {
    message: `expected one of ${values.join(", ")}`,
    // zod's custom schemas abort the object by default, which would skip config.ts's cross-key
    // rules; every problem should be reported at once.
    abort: false,
  });
}
function int(min: number, max: number): z.ZodType<number> {
  return z
    .number({ message: "expected an integer" })
    .int({ message: "expected an integer" })
    .min(min, { message: `expected an integer from ${min} to ${max}` })
    .max(max, { message: `expected an integer from ${min} to ${max}` });
}
const bool = z.boolean({ message: "expected true or false" });
const text = z.string({ message: "expected a string" });
const nonEmpty = text.min(1, { message: "expected a non-empty string" });
const scheduleExpression = text.regex(/^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/, {
  message: "expected an EventBridge Scheduler expression such as cron(0 2 * * ? *) or rate(1 hour)",
});
/**
 * Space-separated dbt selection tokens, each checked with the run contract's grammar (the same
 * check dispatch applies before a request reaches dbt), so a bad selection fails the preview, not a
 * scheduled run. Empty means dbt's default selection.
 */
const selectorTokens = text.superRefine((value, ctx) => {
  const bad = value.split(/\s+/).filter((t) => t && !isSelectorToken(t));
  if (bad.length)
    ctx.addIssue({
      code: "custom",
      message: `expected dbt selection tokens separated by spaces (method:value with optional +, @ and , as dbt's node selection grammar allows); not one: ${bad.map((t) => JSON.stringify(t)).join(", ")}`,
    });
});
/** dbt node selection as dbt's grammar writes it; checked again by the run contract. */
const selector = text.regex(/^[A-Za-z0-9_.:+*@,/-]+$/, {
  message: "expected a dbt selector (letters, digits and _ . : + * @ , / -)",
});
/** A selection that must select something named: one or more tokens, as dispatch splits it. */
const requiredSelectorTokens = selectorTokens.refine((value) => value.trim() !== "", {
  message: "expected at least one dbt selection token",
});

/**
 * A watched RAW table: `TABLE` (in snowflake.rawSchema), `SCHEMA.TABLE`, or `SCHEMA.*` (every
 * table of a schema). Fivetran writes each connector into its own destination schema and Airbyte
 * into each connection's namespace, so the qualified forms are what those loaders produce.
 */
export const RAW_TABLE_ENTRY = /^[A-Z][A-Z0-9_]{0,199}(\.([A-Z][A-Z0-9_]{0,199}|\*))?$/;

/** One source of raw data: how webhooks and Snowflake loads map to dbt. */
export const sourceSchema = z
  .object({
    fivetranConnectors: z.array(nonEmpty).default([]),
    airbyteConnections: z.array(z.string().uuid({ message: "expected an Airbyte connection id (UUID)" })).default([]),
    rawTables: z
      .array(
        text.regex(RAW_TABLE_ENTRY, {
          message: "expected TABLE, SCHEMA.TABLE or SCHEMA.* in UPPER_SNAKE (A-Z, 0-9, _; starting with a letter)",
        }),
      )
      .default([]),
    select: z.array(selector).optional(),
    exclude: z.array(selector).default([]),
    fastLaneTags: z.array(text.regex(/^[A-Za-z0-9_]+$/, { message: "expected a dbt tag name" })).default([]),
    fullRefresh: bool.default(false),
    staleAfterMinutes: int(5, 10080).optional(),
    loadedAtColumn: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]{0,199}$/, { message: "expected an UPPER_SNAKE column name such as _FIVETRAN_SYNCED" })
      .optional(),
  })
  .strict();
const sourceNameRe = /^[a-z][a-z0-9_]{0,62}$/;
const sources = z
  .record(z.string(), sourceSchema, { message: "expected a map of source name to its settings" })
  .superRefine((map, ctx) => {
    for (const name of Object.keys(map)) {
      if (!sourceNameRe.test(name)) {
        // `got` tells config.ts what to echo: the offending name, not the value under it.
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "expected source names in lower_snake_case (a dbt source name)",
          params: { got: name },
        });
      }
    }
  });

/** Functions of the package, the keys `lambda.reservedConcurrency` accepts. */
export const FUNCTION_NAMES = ["dispatch", "launch", "notify", "freshness"] as const;
const reservations = z
  .record(z.string(), int(1, 1000), { message: "expected a map of function name to reserved concurrency" })
  .superRefine((map, ctx) => {
    for (const name of Object.keys(map)) {
      if (!(FUNCTION_NAMES as readonly string[]).includes(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `expected a function name: ${FUNCTION_NAMES.join(", ")}`,
          params: { got: name },
        });
      }
    }
  });

/** GitHub allows at most this many required reviewers per environment. */
export const MAX_REVIEWERS = 6;

/**
 * Every `dbt-pipeline:` key, in the order the README lists them. `as const` keeps each entry's
 * literal key and schema type, from which config.ts infers the type of the loaded config.
 */
export const KEY_TABLE = [
  // General
  {
    key: "environment",
    type: "string",
    default: "",
    description: "Environment name used in resource names and dbt's target; empty means the stack name.",
    schema: text.regex(/^$|^[a-z][a-z0-9]{1,9}$/, {
      message: "expected 2-10 lower-case letters or digits, starting with a letter",
    }),
  },
  {
    key: "protect",
    type: "boolean",
    default: false,
    description:
      "Protect stateful resources (Snowflake database, RAW schema, artifact bucket) with protect and retainOnDelete.",
    schema: bool,
  },

  // Snowflake connection
  {
    key: "snowflake.organizationName",
    type: "string",
    description: "Snowflake organization name (the first part of <org>-<account>).",
    schema: identifier,
  },
  {
    key: "snowflake.accountName",
    type: "string",
    description: "Snowflake account name (the second part of <org>-<account>).",
    schema: identifier,
  },
  {
    key: "snowflake.adminUser",
    type: "string",
    default: "PULUMI_DEPLOYER",
    description: "Snowflake user Pulumi deploys as (key-pair auth; needs SYSADMIN, SECURITYADMIN and ACCOUNTADMIN).",
    schema: identifier,
  },
  {
    key: "snowflake.adminPrivateKey",
    type: "string",
    secret: true,
    description:
      "PEM private key of snowflake.adminUser (set with --secret); an ENCRYPTED PRIVATE KEY (PKCS#8) also needs snowflake.adminPrivateKeyPassphrase.",
    schema: nonEmpty.regex(/-----BEGIN [A-Z ]*PRIVATE KEY-----/, { message: "expected a PEM private key" }),
  },
  {
    key: "snowflake.adminPrivateKeyPassphrase",
    type: "string",
    secret: true,
    optional: true,
    description: "Passphrase of snowflake.adminPrivateKey when it is an ENCRYPTED PRIVATE KEY (set with --secret).",
    schema: nonEmpty,
  },

  // Snowflake objects
  {
    key: "snowflake.databaseName",
    type: "string",
    default: "DBT_PIPELINE",
    description: "Database name; the environment is appended (DBT_PIPELINE_DEV).",
    schema: identifier,
  },
  {
    key: "snowflake.rawSchema",
    type: "string",
    default: "RAW",
    description: "Schema the loaders write to.",
    schema: identifier,
  },
  {
    key: "snowflake.stagingSchema",
    type: "string",
    default: "STAGING",
    description: "Schema for dbt staging models.",
    schema: identifier,
  },
  {
    key: "snowflake.analyticsSchema",
    type: "string",
    default: "ANALYTICS",
    description: "Schema for dbt marts.",
    schema: identifier,
  },
  {
    key: "snowflake.metricsSchema",
    type: "string",
    default: "METRICS",
    description: "Schema for dbt metrics models.",
    schema: identifier,
  },
  {
    key: "snowflake.monitoringSchema",
    type: "string",
    default: "MONITORING",
    description: "Schema for load events and pipeline status.",
    schema: identifier,
  },
  {
    key: "snowflake.loadingWarehouseSize",
    type: "string",
    default: "XSMALL",
    description: "Size of the loading warehouse.",
    schema: oneOf(WAREHOUSE_SIZES),
  },
  {
    key: "snowflake.transformingWarehouseSize",
    type: "string",
    default: "XSMALL",
    description: "Size of the warehouse dbt runs on.",
    schema: oneOf(WAREHOUSE_SIZES),
  },
  {
    key: "snowflake.reportingWarehouseSize",
    type: "string",
    default: "XSMALL",
    description: "Size of the warehouse BI tools query.",
    schema: oneOf(WAREHOUSE_SIZES),
  },
  {
    key: "snowflake.autoSuspendSeconds",
    type: "integer",
    default: 60,
    description: "Seconds of idleness before a warehouse suspends.",
    schema: int(60, 3600),
  },
  {
    key: "snowflake.maxAutoSuspendSeconds",
    type: "integer",
    default: 300,
    description: "Highest auto-suspend the policy pack accepts.",
    schema: int(60, 3600),
  },
  {
    key: "snowflake.statementTimeoutSeconds",
    type: "integer",
    default: 3600,
    description: "Statement timeout on every warehouse.",
    schema: int(60, 172800),
  },
  {
    key: "snowflake.monthlyCreditQuota",
    type: "integer",
    default: 20,
    description: "Monthly credit quota of the environment's resource monitor.",
    schema: int(1, 1000000),
  },
  {
    key: "snowflake.suspendAtQuota",
    type: "boolean",
    default: true,
    description: "Suspend the warehouses at 100 % of the quota (false: notify only).",
    schema: bool,
  },
  {
    key: "snowflake.monitorNotifyUsers",
    type: "array",
    default: [],
    description: "Snowflake users e-mailed by the resource monitor.",
    schema: z.array(identifier),
  },
  {
    key: "snowflake.dataRetentionDays",
    type: "integer",
    default: 1,
    description: "Time Travel retention of the database.",
    schema: int(0, 90),
  },
  {
    key: "snowflake.keyGeneration",
    type: "integer",
    default: 1,
    description: "Generation of the service users' key pairs; raise by one to rotate without downtime.",
    schema: int(1, 1000),
  },
  {
    key: "snowflake.taskMode",
    type: "string",
    default: "triggered",
    description: "How stream tasks run: triggered (WHEN only) or scheduled (short schedule with WHEN).",
    schema: oneOf(["triggered", "scheduled"] as const),
  },
  {
    key: "snowflake.taskScheduleMinutes",
    type: "integer",
    default: 5,
    description: "Schedule of stream tasks when taskMode is scheduled.",
    schema: int(1, 1440),
  },
  {
    key: "snowflake.taskCompute",
    type: "string",
    default: "serverless",
    description:
      "Compute of the change-detection tasks: serverless (no warehouse resume per load) or warehouse (the loading warehouse).",
    schema: oneOf(["serverless", "warehouse"] as const),
  },
  {
    key: "snowflake.taskTargetCompletionMinutes",
    type: "integer",
    default: 1,
    description: "TARGET_COMPLETION_INTERVAL of serverless triggered tasks, in minutes.",
    schema: int(1, 1440),
  },
  {
    key: "snowflake.reconcileScheduleMinutes",
    type: "integer",
    default: 10,
    description:
      "How often the Snowflake-side reconciler creates streams and tasks for tables that appeared and checks for suspended tasks and stale streams.",
    schema: int(1, 1440),
  },
  {
    key: "snowflake.taskSuspendAfterFailures",
    type: "integer",
    default: 3,
    description: "Consecutive failures after which Snowflake suspends a stream task.",
    schema: int(1, 100),
  },

  // dbt runner
  {
    key: "dbt.imageTag",
    type: "string",
    description: "Tag or sha256 digest of the dbt image in the ECR repository, pushed by the dbt repository's CI.",
    schema: text.regex(/^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$/, {
      message: "expected an image tag or a sha256:<64 hex> digest",
    }),
  },
  {
    key: "dbt.buildOnImageChange",
    type: "boolean",
    default: true,
    description:
      "After a deploy that changes dbt.imageTag, queue dbt build --select state:modified+ (against the last successful run's manifest; on a stack without one, every node) so the new image's changes reach the warehouse.",
    schema: bool,
  },
  {
    key: "dbt.cpu",
    type: "integer",
    default: 512,
    description: "Fargate CPU units of a dbt task.",
    schema: oneOf(FARGATE_CPU),
  },
  {
    key: "dbt.memory",
    type: "integer",
    default: 1024,
    description: "Fargate memory (MiB) of a dbt task; must fit dbt.cpu.",
    schema: int(512, 30720),
  },
  {
    key: "dbt.arm64",
    type: "boolean",
    default: true,
    description: "Run dbt on ARM64 (Graviton); the image must be arm64 or multi-arch.",
    schema: bool,
  },
  {
    key: "dbt.target",
    type: "string",
    default: "",
    description: "dbt target (DBT_TARGET); empty means the environment.",
    schema: text.regex(/^$|^[a-z][a-z0-9_]{0,31}$/, { message: "expected a dbt target name in lower_snake_case" }),
  },
  { key: "dbt.threads", type: "integer", default: 4, description: "dbt threads (DBT_THREADS).", schema: int(1, 64) },
  {
    key: "dbt.logRetentionDays",
    type: "integer",
    default: 14,
    description: "Retention of dbt and Lambda logs.",
    schema: oneOf(LOG_RETENTION_DAYS),
  },
  {
    key: "dbt.artifactRetentionDays",
    type: "integer",
    default: 30,
    description: "Days before run artifacts under <env>/runs/ expire.",
    schema: int(1, 3650),
  },
  {
    key: "dbt.ecrExpireUnpulledDays",
    type: "integer",
    default: 30,
    description: "Days without a pull after which an image expires from ECR; the pinned dbt.imageTag never does.",
    schema: int(2, 3650),
  },
  {
    key: "dbt.containerInsights",
    type: "boolean",
    default: false,
    description: "Container Insights on the ECS cluster.",
    schema: bool,
  },
  {
    key: "dbt.awsCliImage",
    type: "string",
    default: "public.ecr.aws/aws-cli/aws-cli:2.27.50",
    description: "Stock AWS CLI image that syncs artifacts before and after dbt.",
    schema: nonEmpty,
  },

  // Network
  {
    key: "network.mode",
    type: "string",
    default: "create",
    description:
      "create: a VPC with public subnets and no NAT; existing: use network.subnetIds and network.securityGroupIds.",
    schema: oneOf(["create", "existing"] as const),
  },
  {
    key: "network.vpcCidr",
    type: "string",
    default: "10.60.0.0/16",
    description: "CIDR of the created VPC.",
    schema: text.regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, {
      message: "expected an IPv4 CIDR from /16 to /24",
    }),
  },
  {
    key: "network.availabilityZones",
    type: "integer",
    default: 2,
    description: "Availability zones of the created VPC.",
    schema: int(1, 4),
  },
  {
    key: "network.subnetIds",
    type: "array",
    default: [],
    description: "Existing subnets for dbt tasks (network.mode existing).",
    schema: z.array(text.regex(/^subnet-[0-9a-f]{8,17}$/, { message: "expected subnet ids (subnet-...)" })),
  },
  {
    key: "network.securityGroupIds",
    type: "array",
    default: [],
    description: "Existing security groups for dbt tasks (network.mode existing).",
    schema: z.array(text.regex(/^sg-[0-9a-f]{8,17}$/, { message: "expected security group ids (sg-...)" })),
  },
  {
    key: "network.assignPublicIp",
    type: "boolean",
    default: true,
    description: "Public IP on dbt tasks (needed in public subnets without NAT).",
    schema: bool,
  },

  // Triggers
  {
    key: "sources",
    type: "object",
    default: {},
    description:
      "Map of source name to { fivetranConnectors, airbyteConnections, rawTables, select, exclude, fastLaneTags, fullRefresh, staleAfterMinutes, loadedAtColumn }.",
    schema: sources,
  },
  {
    key: "triggers.hourlyEnabled",
    type: "boolean",
    default: true,
    description: "Hourly run of models downstream of fresher sources.",
    schema: bool,
  },
  {
    key: "triggers.hourlySchedule",
    type: "string",
    default: "cron(5 * * * ? *)",
    description: "Schedule of the hourly run.",
    schema: scheduleExpression,
  },
  {
    key: "triggers.hourlySelect",
    type: "string",
    default: "source_status:fresher+",
    description:
      "Selection of the hourly run, space-separated dbt selection tokens (a source_status: or state: token uses the previous successful run's state).",
    schema: requiredSelectorTokens,
  },
  {
    key: "triggers.hourlySkipWhenIdle",
    type: "boolean",
    default: false,
    description:
      "Skip the hourly run when, since the target's last successful run that covered everything, no source load was accepted and no run failed (counted as HourlySkipped). Only for stacks where every source that loads sends a trigger: the hourly run is what catches the others (docs/launch.md).",
    schema: bool,
  },
  {
    key: "triggers.fullRefreshEnabled",
    type: "boolean",
    default: true,
    description: "Daily full refresh.",
    schema: bool,
  },
  {
    key: "triggers.fullRefreshSelect",
    type: "string",
    default: "",
    description:
      "Selection of the daily full refresh, space-separated dbt selection tokens; empty: every node. Incremental models whose RAW history is pruned must set full_refresh=false, which dbt honours over --full-refresh (docs/dbt-repo/README.md).",
    schema: selectorTokens,
  },
  {
    key: "triggers.fullRefreshExclude",
    type: "string",
    default: "",
    description: "Nodes the daily full refresh leaves out, space-separated dbt selection tokens; empty: none.",
    schema: selectorTokens,
  },
  {
    key: "triggers.fullRefreshSchedule",
    type: "string",
    default: "cron(0 2 * * ? *)",
    description: "Schedule of the full refresh.",
    schema: scheduleExpression,
  },
  {
    key: "triggers.timezone",
    type: "string",
    default: "UTC",
    description: "IANA time zone of both schedules.",
    schema: text.regex(/^(UTC|[A-Za-z]+\/[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)?)$/, {
      message: "expected an IANA time zone such as Europe/Berlin",
    }),
  },
  {
    key: "triggers.burstWindowSeconds",
    type: "integer",
    default: 10,
    description:
      "Leading edge: an idle target starts its dbt run this many seconds after the first waiting trigger; triggers meanwhile join it (bench/RESULTS.md).",
    schema: int(0, 60),
  },
  {
    key: "triggers.minRunIntervalSeconds",
    type: "integer",
    default: 900,
    description:
      "Spacing: a busy target's next dbt run starts no sooner than this many seconds after the start of its previous run; triggers meanwhile join it. 0 starts it as soon as the previous run stops (docs/launch.md).",
    schema: int(0, 3600),
  },
  {
    key: "triggers.unknownConnector",
    type: "string",
    default: "ignore",
    description:
      "Webhook from a connector no source lists: ignore (HTTP 202, logged) or reject (HTTP 422). Warning: Fivetran retries a rejected delivery for 24 h and then disables the webhook for every connector of the account or group, including its own platform connector.",
    schema: oneOf(["reject", "ignore"] as const),
  },
  {
    key: "triggers.rateLimit",
    type: "integer",
    default: 10,
    description: "Steady requests per second the webhook API accepts.",
    schema: int(1, 10000),
  },
  {
    key: "triggers.burstLimit",
    type: "integer",
    default: 20,
    description: "Burst of requests the webhook API accepts.",
    schema: int(1, 5000),
  },
  {
    key: "triggers.dedupeHours",
    type: "integer",
    default: 25,
    description: "How long a delivery id is remembered (vendors retry for 24 h).",
    schema: int(1, 168),
  },
  {
    key: "triggers.maxLaunchAttempts",
    type: "integer",
    default: 5,
    description:
      "RunTask attempts in one launch invocation on throttling or missing capacity; the requests then stay pending for the next event or sweep (only requests ECS rejects for good, and poison messages, go to the dead-letter queue).",
    schema: int(1, 20),
  },
  {
    key: "lambda.reservedConcurrency",
    type: "object",
    default: {},
    description:
      "Opt-in reserved concurrency per function, e.g. { launch: 2 }; none by default (reservations must leave 100 unreserved executions in the account).",
    schema: reservations,
  },
  {
    key: "lambda.tracing",
    type: "boolean",
    default: true,
    description:
      "X-Ray active tracing on every Lambda function: the Lambda service records each invocation's segment (the handlers add no subsegments of their own).",
    schema: bool,
  },
  {
    key: "fivetran.webhookSecret",
    type: "string",
    secret: true,
    optional: true,
    description: "Fivetran webhook signing secret (required when a source lists Fivetran connectors).",
    schema: nonEmpty.min(16, { message: "expected at least 16 characters" }),
  },
  {
    key: "airbyte.webhookToken",
    type: "string",
    secret: true,
    optional: true,
    description: "Token in the Airbyte webhook URL (required when a source lists Airbyte connections).",
    schema: nonEmpty.regex(/^[A-Za-z0-9_-]{32,128}$/, { message: "expected 32-128 URL-safe characters" }),
  },

  // Notifications
  {
    key: "notify.slackWebhookUrl",
    type: "string",
    secret: true,
    optional: true,
    description: "Slack incoming webhook URL for run reports.",
    schema: text.regex(/^https:\/\/hooks\.slack\.com\/services\/\S+$/, {
      message: "expected a https://hooks.slack.com/services/... URL",
    }),
  },
  {
    key: "notify.emails",
    type: "array",
    default: [],
    description: "E-mail addresses subscribed to the alerts topic.",
    schema: z.array(z.string().email({ message: "expected e-mail addresses" })),
  },
  {
    key: "notify.consecutiveFailures",
    type: "integer",
    default: 2,
    description: "Failed dbt runs in a row that raise the alarm.",
    schema: int(1, 20),
  },
  {
    key: "notify.staleAfterMinutes",
    type: "integer",
    default: 180,
    description: "Default minutes without a load before a source is stale.",
    schema: int(5, 10080),
  },
  {
    key: "notify.lambdaErrorRatePercent",
    type: "integer",
    default: 5,
    description: "Lambda error rate (%) that raises the alarm.",
    schema: int(1, 100),
  },

  // GitHub
  {
    key: "github.owner",
    type: "string",
    default: "",
    description: "GitHub organization or user; empty skips the GitHub side.",
    schema: text.regex(/^$|^[A-Za-z0-9-]{1,39}$/, { message: "expected a GitHub owner name" }),
  },
  {
    key: "github.infraRepo",
    type: "string",
    default: "dbt-pipeline",
    description: "Repository holding this Pulumi program.",
    schema: text.regex(/^[A-Za-z0-9_.-]{1,100}$/, { message: "expected a repository name" }),
  },
  {
    key: "github.dbtRepo",
    type: "string",
    default: "dbt-project",
    description: "Repository holding the dbt project.",
    schema: text.regex(/^[A-Za-z0-9_.-]{1,100}$/, { message: "expected a repository name" }),
  },
  { key: "github.mainBranch", type: "string", default: "main", description: "Branch that deploys.", schema: nonEmpty },
  {
    key: "github.prodReviewers",
    type: "array",
    items: "integer",
    default: [],
    description: "GitHub user ids (numbers) who approve prod deploys.",
    schema: z
      .array(z.number().int().positive(), { message: "expected a list of GitHub user ids (numbers)" })
      .max(MAX_REVIEWERS, { message: `expected at most ${MAX_REVIEWERS} user ids (GitHub's limit per environment)` }),
  },
  {
    key: "github.oidcProvider",
    type: "string",
    default: "create",
    description:
      "GitHub Actions OIDC provider of this account: create (this stack creates it), existing (the account's provider, created elsewhere), or a provider ARN.",
    schema: text.regex(
      /^(create|existing|arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com)$/,
      {
        message:
          "expected create, existing or arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
      },
    ),
  },
  {
    key: "github.ownerId",
    type: "integer",
    default: 0,
    description:
      "Immutable id of github.owner, for repositories with immutable OIDC subject claims (repo:<owner>@<id>/<repo>@<id>); 0 uses names.",
    schema: int(0, 2147483647),
  },
  {
    key: "github.infraRepoId",
    type: "integer",
    default: 0,
    description: "Immutable id of github.infraRepo (with github.ownerId); 0 uses its name in OIDC subjects.",
    schema: int(0, 2147483647),
  },
  {
    key: "github.dbtRepoId",
    type: "integer",
    default: 0,
    description: "Immutable id of github.dbtRepo (with github.ownerId); 0 uses its name in OIDC subjects.",
    schema: int(0, 2147483647),
  },
  {
    key: "backend.stateBucket",
    type: "string",
    default: "",
    description:
      "S3 bucket of a self-managed Pulumi backend (s3://<bucket>); the preview and deploy roles get this stack's state objects. Empty: Pulumi Cloud.",
    schema: text.regex(/^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "expected an S3 bucket name" }),
  },
  {
    key: "backend.secretsKeyArn",
    type: "string",
    default: "",
    description:
      "ARN of the KMS key of the stacks' awskms secrets provider; the preview and deploy roles may decrypt with it. Empty: none.",
    schema: text.regex(/^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, {
      message: "expected a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)",
    }),
  },
] as const satisfies readonly KeySpec[];

/** Every key as a {@link KeySpec}. */
export const KEYS: readonly KeySpec[] = KEY_TABLE;

/** Spec by key. */
export const KEY_INDEX: ReadonlyMap<string, KeySpec> = new Map(KEYS.map((k): [string, KeySpec] => [k.key, k]));

/** Fargate CPU → valid memory values (MiB), from the ECS task size table. */
export function fargateMemoryOptions(cpu: number): number[] {
  const range = (from: number, to: number, step: number) =>
    Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);
  switch (cpu) {
    case 256:
      return [512, 1024, 2048];
    case 512:
      return range(1024, 4096, 1024);
    case 1024:
      return range(2048, 8192, 1024);
    case 2048:
      return range(4096, 16384, 1024);
    case 4096:
      return range(8192, 30720, 1024);
    default:
      return [];
  }
}

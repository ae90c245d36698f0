/**
 * The only module that reads Pulumi config. `loadConfig()` returns one typed, frozen, validated
 * object; a bad stack fails the whole program with every problem at once, each naming the key,
 * the stack and what is expected.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { KEYS, KEY_INDEX, KeySpec, PROJECT, SECRET_PLACEHOLDER, fargateMemoryOptions, sourceSchema } from "./config-keys";

/** One source of raw data and how it maps to dbt. */
export interface SourceConfig {
  /** dbt source name (lower_snake_case). */
  readonly name: string;
  readonly fivetranConnectors: readonly string[];
  readonly airbyteConnections: readonly string[];
  /** Watched RAW tables: `TABLE` (in the RAW schema), `SCHEMA.TABLE` or `SCHEMA.*`, upper-case. */
  readonly rawTables: readonly string[];
  /** dbt selection; defaults to `source:<name>+`. */
  readonly select: readonly string[];
  readonly exclude: readonly string[];
  /** Tags selected first, in a fast-lane run. */
  readonly fastLaneTags: readonly string[];
  readonly fullRefresh: boolean;
  /** Minutes without a load before the source is stale. */
  readonly staleAfterMinutes: number;
  /** Column of the RAW tables holding the load time (e.g. _FIVETRAN_SYNCED); absent: the time the task saw the rows. */
  readonly loadedAtColumn?: string;
}

/** Warehouse sizes as Snowflake spells them. */
export type WarehouseSize = (typeof import("./config-keys").WAREHOUSE_SIZES)[number];

/** The whole validated stack configuration. */
export interface PipelineConfig {
  readonly project: string;
  readonly stack: string;
  /** Lower-case environment name, e.g. `dev`. */
  readonly environment: string;
  /** Upper-case environment suffix for Snowflake names, e.g. `DEV`. */
  readonly envSuffix: string;
  /** Protect stateful resources. */
  readonly protect: boolean;
  readonly snowflake: {
    readonly organizationName: string;
    readonly accountName: string;
    readonly adminUser: string;
    readonly adminPrivateKey: pulumi.Output<string>;
    /** Passphrase of an encrypted (`ENCRYPTED PRIVATE KEY`) admin key; absent for an unencrypted key. */
    readonly adminPrivateKeyPassphrase?: pulumi.Output<string>;
    /** Full database name, environment included. */
    readonly databaseName: string;
    readonly schemas: {
      readonly raw: string; readonly staging: string; readonly analytics: string;
      readonly metrics: string; readonly monitoring: string;
    };
    readonly warehouseSizes: { readonly loading: WarehouseSize; readonly transforming: WarehouseSize; readonly reporting: WarehouseSize };
    readonly autoSuspendSeconds: number;
    readonly maxAutoSuspendSeconds: number;
    readonly statementTimeoutSeconds: number;
    readonly monthlyCreditQuota: number;
    readonly suspendAtQuota: boolean;
    readonly monitorNotifyUsers: readonly string[];
    readonly dataRetentionDays: number;
    readonly keyGeneration: number;
    readonly taskMode: "triggered" | "scheduled";
    readonly taskScheduleMinutes: number;
    readonly taskSuspendAfterFailures: number;
    /** Serverless (default) or warehouse-backed change-detection tasks. */
    readonly taskCompute: "serverless" | "warehouse";
    readonly taskTargetCompletionMinutes: number;
    readonly reconcileScheduleMinutes: number;
  };
  readonly dbt: {
    readonly imageTag: string;
    readonly cpu: number;
    readonly memory: number;
    readonly arm64: boolean;
    readonly target: string;
    readonly threads: number;
    readonly logRetentionDays: number;
    readonly artifactRetentionDays: number;
    readonly ecrExpireUnpulledDays: number;
    readonly containerInsights: boolean;
    readonly awsCliImage: string;
  };
  readonly network: {
    readonly mode: "create" | "existing";
    readonly vpcCidr: string;
    readonly availabilityZones: number;
    readonly subnetIds: readonly string[];
    readonly securityGroupIds: readonly string[];
    readonly assignPublicIp: boolean;
  };
  readonly sources: readonly SourceConfig[];
  readonly triggers: {
    readonly hourlyEnabled: boolean;
    readonly hourlySchedule: string;
    readonly hourlySelect: string;
    readonly fullRefreshEnabled: boolean;
    readonly fullRefreshSchedule: string;
    readonly timezone: string;
    readonly burstWindowSeconds: number;
    readonly unknownConnector: "reject" | "ignore";
    readonly rateLimit: number;
    readonly burstLimit: number;
    readonly dedupeHours: number;
    readonly maxLaunchAttempts: number;
  };
  readonly fivetran: { readonly webhookSecret?: pulumi.Output<string> };
  readonly airbyte: { readonly webhookToken?: pulumi.Output<string> };
  readonly notify: {
    readonly slackWebhookUrl?: pulumi.Output<string>;
    readonly emails: readonly string[];
    readonly consecutiveFailures: number;
    readonly staleAfterMinutes: number;
    readonly lambdaErrorRatePercent: number;
  };
  /** Absent when `github.owner` is empty: the GitHub side is skipped. */
  readonly github?: {
    readonly owner: string;
    readonly infraRepo: string;
    readonly dbtRepo: string;
    readonly mainBranch: string;
    readonly prodReviewers: readonly number[];
    /** `create`, `existing` (the account's provider at its fixed ARN), or a provider ARN. */
    readonly oidcProvider: string;
    /** Immutable ids for OIDC subjects; 0 means the name form. */
    readonly ownerId: number;
    readonly infraRepoId: number;
    readonly dbtRepoId: number;
  };
  /** Settings every Lambda function of the package shares. */
  readonly lambda: {
    /** Opt-in reserved concurrency by function name (dispatch, launch, notify, freshness). */
    readonly reservedConcurrency: Readonly<Record<string, number>>;
    /** X-Ray active tracing on every function. */
    readonly tracing: boolean;
  };
  /** Self-managed Pulumi backend the GitHub roles use; empty strings mean none. */
  readonly backend: {
    readonly stateBucket: string;
    readonly secretsKeyArn: string;
  };
}

/** Every problem found in a stack's config; the message lists them all. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: readonly string[], stack: string) {
    super(`Invalid configuration in stack ${stack} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The known key closest to `key`, or undefined when none is close. */
export function closestKey(key: string): string | undefined {
  let best: { key: string; d: number } | undefined;
  for (const spec of KEYS) {
    const d = editDistance(key.toLowerCase(), spec.key.toLowerCase());
    if (!best || d < best.d) best = { key: spec.key, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
}

/** Turns the raw config string into the key's type; returns a problem text when it cannot. */
function decode(spec: KeySpec, raw: string): { value?: unknown; problem?: string } {
  switch (spec.type) {
    case "string":
      return { value: raw };
    case "integer":
      return /^-?\d+$/.test(raw.trim()) ? { value: Number(raw.trim()) } : { value: raw };
    case "boolean":
      return raw === "true" || raw === "false" ? { value: raw === "true" } : { value: raw };
    case "array":
    case "object":
      try {
        return { value: JSON.parse(raw) };
      } catch {
        return { problem: `expected ${spec.type === "array" ? "a list" : "a map"} (set it as YAML in the stack file or with pulumi config set --path)` };
      }
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined), value);
}

/** Result of validating raw stack config without touching the Pulumi runtime. */
export interface ParsedConfig {
  /** Decoded values by key (defaults applied), or undefined when there were problems. */
  readonly values?: Readonly<Record<string, unknown>>;
  readonly problems: readonly string[];
}

/**
 * Validates raw config (`dbt-pipeline:key` → string, as the CLI passes it) for `stack`.
 * Pure: no Pulumi runtime, secrets stay plain strings here.
 */
export function parseConfig(raw: Readonly<Record<string, string>>, stack: string): ParsedConfig {
  const problems: string[] = [];
  const at = (key: string, msg: string) => problems.push(`${PROJECT}:${key}: ${msg} in stack ${stack}`);
  const values: Record<string, unknown> = {};

  for (const fullKey of Object.keys(raw)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) continue;
    const key = fullKey.slice(PROJECT.length + 1);
    if (!KEY_INDEX.has(key)) {
      const hint = closestKey(key);
      problems.push(`${fullKey}: unknown key in stack ${stack}${hint ? `; did you mean ${hint}?` : ""}`);
    }
  }

  for (const spec of KEYS) {
    const rawValue = raw[`${PROJECT}:${spec.key}`];
    if (rawValue === undefined) {
      if (spec.default !== undefined || spec.optional) {
        values[spec.key] = spec.default;
        continue;
      }
      at(spec.key, `required but not set; run pulumi config set${spec.secret ? " --secret" : ""} ${spec.key} <value> --stack ${stack}`);
      continue;
    }
    if (spec.secret && rawValue === SECRET_PLACEHOLDER) {
      // The offline plan never decrypts: a secret's presence is all it can check.
      values[spec.key] = rawValue;
      continue;
    }
    const decoded = decode(spec, rawValue);
    if (decoded.problem) {
      at(spec.key, decoded.problem);
      continue;
    }
    const result = spec.schema.safeParse(decoded.value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        const params = (issue as { params?: { got?: unknown } }).params;
        const shown = params?.got !== undefined ? params.got : valueAt(decoded.value, issue.path);
        const got = spec.secret ? "" : ` (got ${describe(shown)})`;
        at(`${spec.key}${issuePath(issue.path)}`, `${issue.message}${got}`);
      }
      continue;
    }
    values[spec.key] = result.data;
  }

  crossChecks(values, at);
  return problems.length ? { problems } : { values, problems };
}

/** Rules that span several keys. Only checks keys that decoded cleanly. */
function crossChecks(v: Record<string, unknown>, at: (key: string, msg: string) => void): void {
  const cpu = v["dbt.cpu"] as number | undefined;
  const memory = v["dbt.memory"] as number | undefined;
  if (cpu !== undefined && memory !== undefined && !fargateMemoryOptions(cpu).includes(memory)) {
    at("dbt.memory", `expected one of ${fargateMemoryOptions(cpu).join(", ")} for dbt.cpu ${cpu} (got ${memory})`);
  }
  const autoSuspend = v["snowflake.autoSuspendSeconds"] as number | undefined;
  const maxSuspend = v["snowflake.maxAutoSuspendSeconds"] as number | undefined;
  if (autoSuspend !== undefined && maxSuspend !== undefined && autoSuspend > maxSuspend) {
    at("snowflake.autoSuspendSeconds", `expected at most snowflake.maxAutoSuspendSeconds (${maxSuspend}) (got ${autoSuspend})`);
  }
  if (v["network.mode"] === "existing") {
    if ((v["network.subnetIds"] as string[] | undefined)?.length === 0) at("network.subnetIds", "expected at least one subnet id when network.mode is existing");
    if ((v["network.securityGroupIds"] as string[] | undefined)?.length === 0) at("network.securityGroupIds", "expected at least one security group id when network.mode is existing");
  }
  const schemaKeys = ["raw", "staging", "analytics", "metrics", "monitoring"].map((s) => `snowflake.${s}Schema`);
  const seenSchemas = new Map<unknown, string>();
  for (const key of schemaKeys) {
    const name = v[key];
    if (name === undefined) continue;
    const other = seenSchemas.get(name);
    if (other) at(key, `expected a schema name different from ${other} (got ${describe(name)})`);
    seenSchemas.set(name, key);
  }

  privateKeyChecks(v, at);

  const sources = v["sources"] as Record<string, z.infer<typeof sourceSchema>> | undefined;
  if (!sources) return;
  const owners = new Map<string, string>();
  const tables = new Map<string, { source: string; entry: string }>();
  let fivetran = false;
  let airbyte = false;
  for (const [name, s] of Object.entries(sources)) {
    for (const [field, ids] of [["fivetranConnectors", s.fivetranConnectors], ["airbyteConnections", s.airbyteConnections], ["rawTables", s.rawTables]] as const) {
      for (const id of ids) {
        const owner = owners.get(`${field}:${id}`);
        if (owner) at(`sources.${name}.${field}`, `${describe(id)} is already listed by source ${owner}; each id maps to one source`);
        owners.set(`${field}:${id}`, name);
      }
    }
    // `TABLE` means `<rawSchema>.TABLE`; a table may belong to one source only, whichever form names it.
    const rawSchema = (v["snowflake.rawSchema"] as string | undefined) ?? "RAW";
    for (const entry of s.rawTables) {
      const [schema, table] = entry.includes(".") ? entry.split(".") : [rawSchema, entry];
      for (const [key, other] of tables) {
        const [os, ot] = key.split(".");
        const overlaps = os === schema && (ot === table || ot === "*" || table === "*");
        if (overlaps && other.source !== name) at(`sources.${name}.rawTables`, `${describe(entry)} overlaps ${describe(other.entry)} of source ${other.source}; each RAW table maps to one source`);
      }
      tables.set(`${schema}.${table}`, { source: name, entry });
    }
    fivetran ||= s.fivetranConnectors.length > 0;
    airbyte ||= s.airbyteConnections.length > 0;
  }
  if (fivetran && v["fivetran.webhookSecret"] === undefined) {
    at("fivetran.webhookSecret", "required because a source lists Fivetran connectors; run pulumi config set --secret fivetran.webhookSecret <value>");
  }
  if (airbyte && v["airbyte.webhookToken"] === undefined) {
    at("airbyte.webhookToken", "required because a source lists Airbyte connections; run pulumi config set --secret airbyte.webhookToken <value>");
  }
}

/**
 * The admin key must be one the Snowflake provider can read. Upstream `sdk.ParsePrivateKey`
 * (terraform-provider-snowflake v1.2.1, pkg/sdk/config.go) decrypts only a PKCS#8
 * `ENCRYPTED PRIVATE KEY` with `private_key_passphrase`; any other PEM goes to
 * `ssh.ParseRawPrivateKey`, which fails on a legacy OpenSSL-encrypted key (`Proc-Type: 4,ENCRYPTED`).
 * Secret values are never echoed.
 */
function privateKeyChecks(v: Record<string, unknown>, at: (key: string, msg: string) => void): void {
  const key = v["snowflake.adminPrivateKey"] as string | undefined;
  const passphrase = v["snowflake.adminPrivateKeyPassphrase"] as string | undefined;
  if (key === undefined || key === SECRET_PLACEHOLDER) return;
  if (/Proc-Type:\s*4,ENCRYPTED/.test(key)) {
    at("snowflake.adminPrivateKey", "is a legacy OpenSSL-encrypted key (Proc-Type: 4,ENCRYPTED), which the Snowflake provider cannot decrypt; convert it with openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <key>.p8 and set snowflake.adminPrivateKeyPassphrase");
  } else if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) {
    if (passphrase === undefined) at("snowflake.adminPrivateKeyPassphrase", "required because snowflake.adminPrivateKey is an ENCRYPTED PRIVATE KEY; run pulumi config set --secret snowflake.adminPrivateKeyPassphrase <value>");
  } else if (passphrase !== undefined && passphrase !== SECRET_PLACEHOLDER) {
    at("snowflake.adminPrivateKeyPassphrase", "is set but snowflake.adminPrivateKey is not encrypted; remove the passphrase or set the encrypted (ENCRYPTED PRIVATE KEY) form of the key");
  }
}

/** Builds the typed object from validated values. Secrets become Pulumi secret outputs. */
export function buildConfig(values: Readonly<Record<string, unknown>>, project: string, stack: string): PipelineConfig {
  const g = <T>(key: string): T => {
    if (!KEY_INDEX.has(key)) throw new Error(`config key ${key} is not declared in config-keys.ts`);
    return values[key] as T;
  };
  const secret = (key: string): pulumi.Output<string> | undefined => {
    const value = g<string | undefined>(key);
    return value === undefined ? undefined : pulumi.secret(value);
  };
  const environment = g<string>("environment") || stack;
  const notifyStale = g<number>("notify.staleAfterMinutes");
  const sources = Object.entries(g<Record<string, z.infer<typeof sourceSchema>>>("sources"))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]): SourceConfig => ({
      name,
      fivetranConnectors: s.fivetranConnectors,
      airbyteConnections: s.airbyteConnections,
      rawTables: s.rawTables,
      select: s.select ?? [`source:${name}+`],
      exclude: s.exclude,
      fastLaneTags: s.fastLaneTags,
      fullRefresh: s.fullRefresh,
      staleAfterMinutes: s.staleAfterMinutes ?? notifyStale,
      ...(s.loadedAtColumn ? { loadedAtColumn: s.loadedAtColumn } : {}),
    }));
  const owner = g<string>("github.owner");
  const config: PipelineConfig = {
    project,
    stack,
    environment,
    envSuffix: environment.toUpperCase(),
    protect: g("protect"),
    snowflake: {
      organizationName: g("snowflake.organizationName"),
      accountName: g("snowflake.accountName"),
      adminUser: g("snowflake.adminUser"),
      adminPrivateKey: secret("snowflake.adminPrivateKey")!,
      adminPrivateKeyPassphrase: secret("snowflake.adminPrivateKeyPassphrase"),
      databaseName: `${g<string>("snowflake.databaseName")}_${environment.toUpperCase()}`,
      schemas: {
        raw: g("snowflake.rawSchema"),
        staging: g("snowflake.stagingSchema"),
        analytics: g("snowflake.analyticsSchema"),
        metrics: g("snowflake.metricsSchema"),
        monitoring: g("snowflake.monitoringSchema"),
      },
      warehouseSizes: {
        loading: g("snowflake.loadingWarehouseSize"),
        transforming: g("snowflake.transformingWarehouseSize"),
        reporting: g("snowflake.reportingWarehouseSize"),
      },
      autoSuspendSeconds: g("snowflake.autoSuspendSeconds"),
      maxAutoSuspendSeconds: g("snowflake.maxAutoSuspendSeconds"),
      statementTimeoutSeconds: g("snowflake.statementTimeoutSeconds"),
      monthlyCreditQuota: g("snowflake.monthlyCreditQuota"),
      suspendAtQuota: g("snowflake.suspendAtQuota"),
      monitorNotifyUsers: g("snowflake.monitorNotifyUsers"),
      dataRetentionDays: g("snowflake.dataRetentionDays"),
      keyGeneration: g("snowflake.keyGeneration"),
      taskMode: g("snowflake.taskMode"),
      taskScheduleMinutes: g("snowflake.taskScheduleMinutes"),
      taskSuspendAfterFailures: g("snowflake.taskSuspendAfterFailures"),
      taskCompute: g("snowflake.taskCompute"),
      taskTargetCompletionMinutes: g("snowflake.taskTargetCompletionMinutes"),
      reconcileScheduleMinutes: g("snowflake.reconcileScheduleMinutes"),
    },
    dbt: {
      imageTag: g("dbt.imageTag"),
      cpu: g("dbt.cpu"),
      memory: g("dbt.memory"),
      arm64: g("dbt.arm64"),
      target: g<string>("dbt.target") || environment,
      threads: g("dbt.threads"),
      logRetentionDays: g("dbt.logRetentionDays"),
      artifactRetentionDays: g("dbt.artifactRetentionDays"),
      ecrExpireUnpulledDays: g("dbt.ecrExpireUnpulledDays"),
      containerInsights: g("dbt.containerInsights"),
      awsCliImage: g("dbt.awsCliImage"),
    },
    network: {
      mode: g("network.mode"),
      vpcCidr: g("network.vpcCidr"),
      availabilityZones: g("network.availabilityZones"),
      subnetIds: g("network.subnetIds"),
      securityGroupIds: g("network.securityGroupIds"),
      assignPublicIp: g("network.assignPublicIp"),
    },
    sources,
    triggers: {
      hourlyEnabled: g("triggers.hourlyEnabled"),
      hourlySchedule: g("triggers.hourlySchedule"),
      hourlySelect: g("triggers.hourlySelect"),
      fullRefreshEnabled: g("triggers.fullRefreshEnabled"),
      fullRefreshSchedule: g("triggers.fullRefreshSchedule"),
      timezone: g("triggers.timezone"),
      burstWindowSeconds: g("triggers.burstWindowSeconds"),
      unknownConnector: g("triggers.unknownConnector"),
      rateLimit: g("triggers.rateLimit"),
      burstLimit: g("triggers.burstLimit"),
      dedupeHours: g("triggers.dedupeHours"),
      maxLaunchAttempts: g("triggers.maxLaunchAttempts"),
    },
    fivetran: { webhookSecret: secret("fivetran.webhookSecret") },
    airbyte: { webhookToken: secret("airbyte.webhookToken") },
    notify: {
      slackWebhookUrl: secret("notify.slackWebhookUrl"),
      emails: g("notify.emails"),
      consecutiveFailures: g("notify.consecutiveFailures"),
      staleAfterMinutes: notifyStale,
      lambdaErrorRatePercent: g("notify.lambdaErrorRatePercent"),
    },
    github: owner
      ? {
        owner,
        infraRepo: g("github.infraRepo"),
        dbtRepo: g("github.dbtRepo"),
        mainBranch: g("github.mainBranch"),
        prodReviewers: g("github.prodReviewers"),
        oidcProvider: g("github.oidcProvider"),
        ownerId: g("github.ownerId"),
        infraRepoId: g("github.infraRepoId"),
        dbtRepoId: g("github.dbtRepoId"),
      }
      : undefined,
    backend: { stateBucket: g("backend.stateBucket"), secretsKeyArn: g("backend.secretsKeyArn") },
    lambda: { reservedConcurrency: g("lambda.reservedConcurrency"), tracing: g("lambda.tracing") },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !pulumi.Output.isInstance(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** Reads and validates this stack's config; throws {@link ConfigError} listing every problem. */
export function loadConfig(): PipelineConfig {
  const stack = pulumi.getStack();
  const parsed = parseConfig(pulumi.runtime.allConfig(), stack);
  if (!parsed.values) throw new ConfigError(parsed.problems, stack);
  return buildConfig(parsed.values, pulumi.getProject(), stack);
}

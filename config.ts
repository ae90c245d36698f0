/**
 * The only module that reads Pulumi config. `loadConfig()` returns one typed, frozen, validated
 * object; a bad stack fails the whole program with every problem at once, each naming the key and
 * what is expected.
 *
 * One source of truth: each key's zod schema lives in `config-keys.ts`; {@link configSchema} is
 * built from that table, {@link ConfigValues} and {@link PipelineConfig} are inferred from it, and
 * every check that spans keys is in {@link CROSS_CHECKS}, run by the same schema.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { KEYS, KEY_INDEX, KEY_TABLE, KeySpec, PROJECT, SECRET_PLACEHOLDER, WAREHOUSE_SIZES, fargateMemoryOptions } from "./config-keys";
import { PROVIDER_KEYS } from "./config-providers";

type Spec = (typeof KEY_TABLE)[number];
/** A declared key, e.g. `dbt.cpu`. */
export type ConfigKey = Spec["key"];

/** The zod schema of one key as the stack object holds it: default applied, optional secrets optional. */
type FieldSchema<S extends Spec> = S extends { readonly default: unknown }
  ? z.ZodDefault<S["schema"]>
  : S extends { readonly optional: true } ? z.ZodOptional<S["schema"]> : S["schema"];
type Shape = { [S in Spec as S["key"]]: FieldSchema<S> };

/** Secrets: the offline plan passes a placeholder, never the value, so its presence is all it can check. */
function secretOrPlaceholder(schema: z.ZodType): z.ZodType {
  return z.unknown().superRefine((value, ctx) => {
    if (value === SECRET_PLACEHOLDER) return;
    const result = schema.safeParse(value);
    if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  });
}

function fieldSchema(spec: KeySpec): z.ZodType {
  const schema = spec.secret ? secretOrPlaceholder(spec.schema) : spec.schema;
  if (spec.default !== undefined) return schema.default(() => structuredClone(spec.default));
  return spec.optional ? schema.optional() : schema;
}

/** Where a cross-key problem is reported: a key, or a key and a path inside its value. */
type ProblemAt = ConfigKey | readonly [ConfigKey, ...string[]];
type Report = (at: ProblemAt, message: string) => void;

/** One rule that spans keys; it runs only when every key it reads passed its own schema. */
export interface CrossCheck {
  readonly keys: readonly ConfigKey[];
  readonly check: (v: ConfigValues, problem: Report) => void;
}

/** The schema of a stack's decoded `dbt-pipeline:` values, keyed as in config-keys.ts. */
export const configSchema = z
  .object(Object.fromEntries(KEYS.map((k) => [k.key, fieldSchema(k)])) as unknown as Shape)
  .superRefine((values, ctx) => {
    // Cross-key rules join the report even when other keys failed, so `when` always runs this
    // refinement; each rule reads only keys that passed their own schema.
    const failed = new Set(ctx.issues.map((i) => i.path?.[0]));
    for (const rule of CROSS_CHECKS) {
      if (rule.keys.some((k) => failed.has(k))) continue;
      rule.check(values, (at, message) => ctx.addIssue({ code: "custom", path: typeof at === "string" ? [at] : [...at], message, params: { quiet: true } }));
    }
  }, { when: () => true });

/** Validated values by key, defaults applied; secrets are still plain strings here. */
export type ConfigValues = z.output<typeof configSchema>;

// ---- The loaded config: the table's keys nested by their first dot, secrets as secret outputs.

type KeyValue<S extends Spec> = S extends { readonly secret: true }
  ? S extends { readonly optional: true } ? pulumi.Output<string> | undefined : pulumi.Output<string>
  : z.output<FieldSchema<S>>;
type Flat = { [S in Spec as S["key"]]: KeyValue<S> };
type GroupOf<K> = K extends `${infer G}.${string}` ? G : never;
type Nested = { [K in keyof Flat as K extends `${string}.${string}` ? never : K]: Flat[K] } & {
  [G in GroupOf<keyof Flat>]: { [K in keyof Flat as K extends `${G}.${infer F}` ? F : never]: Flat[K] };
};
type Frozen<T> = T extends pulumi.Output<any> ? T
  : T extends readonly (infer E)[] ? readonly Frozen<E>[]
    : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** Warehouse sizes as Snowflake spells them. */
export type WarehouseSize = (typeof WAREHOUSE_SIZES)[number];

type SourceValues = ConfigValues["sources"][string];
/** One source of raw data and how it maps to dbt (see `sources` in config-keys.ts). */
export type SourceConfig = Frozen<Omit<SourceValues, "select" | "staleAfterMinutes"> & {
  /** dbt source name (lower_snake_case). */
  name: string;
  /** dbt selection; defaults to `source:<name>+`. */
  select: string[];
  /** Minutes without a load before the source is stale; defaults to notify.staleAfterMinutes. */
  staleAfterMinutes: number;
}>;

/**
 * The whole validated stack configuration: every key of config-keys.ts under its group
 * (`dbt.cpu` → `dbt.cpu`), with these resolved: `environment` (empty → the stack name),
 * `snowflake.databaseName` (environment appended), `dbt.target` (empty → the environment),
 * `sources` as a sorted list with defaults, and `github` absent when `github.owner` is empty.
 */
export type PipelineConfig = Frozen<Omit<Nested, "snowflake" | "sources" | "github"> & {
  project: string;
  stack: string;
  /** Upper-case environment suffix for Snowflake names, e.g. `DEV`. */
  envSuffix: string;
  snowflake: Nested["snowflake"] & {
    schemas: Record<"raw" | "staging" | "analytics" | "metrics" | "monitoring", string>;
    warehouseSizes: Record<"loading" | "transforming" | "reporting", WarehouseSize>;
  };
  sources: SourceConfig[];
  /** Absent when `github.owner` is empty: the GitHub side is skipped. */
  github?: Nested["github"];
}>;

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

/** The candidate closest to `word`, or undefined when none is close. */
function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.c : undefined;
}

/** The known key closest to `key`, or undefined when none is close. */
export function closestKey(key: string): string | undefined {
  return closest(key, KEY_INDEX.keys());
}

/**
 * A key outside `dbt-pipeline:` that is a typo: an unknown key of a provider this program uses
 * (`aws:regin`; the explicit Snowflake and GitHub providers never read stack config, and the AWS
 * provider rejects it only when a resource is created, without naming it), or a namespace close
 * to a known one (`dbtpipeline:x`, read by nothing). Other namespaces (`pulumi:`, another
 * program's) are left alone.
 */
export function namespaceProblem(fullKey: string): string | undefined {
  const colon = fullKey.indexOf(":");
  const ns = fullKey.slice(0, colon);
  const key = fullKey.slice(colon + 1);
  if (colon < 0 || ns === PROJECT || ns === "pulumi") return undefined;
  const providerKeys = PROVIDER_KEYS[ns];
  if (providerKeys) {
    if (providerKeys.includes(key)) return undefined;
    const hint = closest(key, providerKeys);
    return `${fullKey}: not a setting of the ${ns} provider${hint ? `; did you mean ${ns}:${hint}?` : ""}`;
  }
  const nsHint = closest(ns, [PROJECT, ...Object.keys(PROVIDER_KEYS)]);
  if (!nsHint || ns.length < 3 || editDistance(ns.toLowerCase(), nsHint) > 2) return undefined;
  const keyHint = nsHint === PROJECT ? closestKey(key) ?? key : closest(key, PROVIDER_KEYS[nsHint]) ?? key;
  return `${fullKey}: unknown namespace ${ns}, which nothing reads; did you mean ${nsHint}:${keyHint}?`;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
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

/** One zod issue as a line of the report: the full key with its path, the message, the value unless secret. */
function formatIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, stack: string): string {
  const key = String(issue.path[0]);
  const spec = KEY_INDEX.get(key)!;
  const full = `${PROJECT}:${key}${issuePath(issue.path.slice(1))}`;
  const params = (issue as { params?: { got?: unknown; quiet?: boolean } }).params;
  if (params?.quiet) return `${full}: ${issue.message}`;
  if (input[key] === undefined) {
    return `${full}: required but not set; run pulumi config set${spec.secret ? " --secret" : ""} ${key} <value> --stack ${stack}`;
  }
  if (spec.secret) return `${full}: ${issue.message}`;
  const shown = params?.got !== undefined ? params.got : valueAt(input[key], issue.path.slice(1));
  return `${full}: ${issue.message} (got ${describe(shown)})`;
}

/** Result of validating raw stack config without touching the Pulumi runtime. */
export interface ParsedConfig {
  /** Validated values by key (defaults applied), or undefined when there were problems. */
  readonly values?: ConfigValues;
  readonly problems: readonly string[];
}

/**
 * Validates raw config (`namespace:key` → string, as the CLI passes it) for `stack`.
 * Pure: no Pulumi runtime, secrets stay plain strings here. Problems name the key, never the
 * stack: the report's header names it once.
 */
export function parseConfig(raw: Readonly<Record<string, string>>, stack: string): ParsedConfig {
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  const undecodable = new Map<string, string>();
  for (const fullKey of Object.keys(raw)) {
    if (!fullKey.startsWith(`${PROJECT}:`)) {
      const problem = namespaceProblem(fullKey);
      if (problem) problems.push(problem);
      continue;
    }
    const key = fullKey.slice(PROJECT.length + 1);
    const spec = KEY_INDEX.get(key);
    if (!spec) {
      const hint = closestKey(key);
      problems.push(`${fullKey}: unknown key${hint ? `; did you mean ${hint}?` : ""}`);
      continue;
    }
    const decoded = decode(spec, raw[fullKey]);
    if (decoded.problem) undecodable.set(key, `${fullKey}: ${decoded.problem}`);
    // A value that does not decode still fails its key's schema (as null), so cross-key rules skip it.
    input[key] = decoded.problem ? null : decoded.value;
  }
  const result = configSchema.safeParse(input);
  if (result.success && problems.length === 0) return { values: result.data, problems };
  // Problems of one key in the table's order, then the cross-key rules in theirs.
  const order = (issue: z.core.$ZodIssue) => (issue.code === "custom" && (issue.params as { quiet?: boolean } | undefined)?.quiet ? KEYS.length : KEYS.findIndex((k) => k.key === issue.path[0]));
  const issues = [...(result.error?.issues ?? [])].sort((a, b) => order(a) - order(b));
  for (const issue of issues) {
    const key = String(issue.path[0]);
    const line = undecodable.get(key) ?? formatIssue(issue, input, stack);
    // A missing or undecodable key fails its schema's checks one by one; report it once.
    if (!problems.includes(line)) problems.push(line);
  }
  return { problems };
}

/** The lower-case slug of an e-mail address, which names its subscription (alerts.ts). */
export function emailSlug(email: string): string {
  return email.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

/**
 * The rules that span keys, in the order they are reported. Each message names what the other
 * key holds; the value of the key at fault is echoed only where it is not a secret.
 */
export const CROSS_CHECKS: readonly CrossCheck[] = [
  {
    keys: ["dbt.cpu", "dbt.memory"],
    check: (v, problem) => {
      const options = fargateMemoryOptions(v["dbt.cpu"]);
      if (!options.includes(v["dbt.memory"])) problem("dbt.memory", `expected one of ${options.join(", ")} for dbt.cpu ${v["dbt.cpu"]} (got ${v["dbt.memory"]})`);
    },
  },
  {
    keys: ["snowflake.autoSuspendSeconds", "snowflake.maxAutoSuspendSeconds"],
    check: (v, problem) => {
      const [auto, max] = [v["snowflake.autoSuspendSeconds"], v["snowflake.maxAutoSuspendSeconds"]];
      if (auto > max) problem("snowflake.autoSuspendSeconds", `expected at most snowflake.maxAutoSuspendSeconds (${max}) (got ${auto})`);
    },
  },
  {
    keys: ["network.mode", "network.subnetIds", "network.securityGroupIds", "network.assignPublicIp"],
    check: (v, problem) => {
      if (v["network.mode"] === "existing") {
        if (v["network.subnetIds"].length === 0) problem("network.subnetIds", "expected at least one subnet id when network.mode is existing");
        if (v["network.securityGroupIds"].length === 0) problem("network.securityGroupIds", "expected at least one security group id when network.mode is existing");
      } else if (!v["network.assignPublicIp"]) {
        problem("network.assignPublicIp", "expected true when network.mode is create (the created subnets have no NAT gateway, so a task without a public IP cannot reach ECR, S3 or Snowflake) (got false)");
      }
    },
  },
  {
    keys: ["snowflake.rawSchema", "snowflake.stagingSchema", "snowflake.analyticsSchema", "snowflake.metricsSchema", "snowflake.monitoringSchema"],
    check: (v, problem) => {
      const seen = new Map<string, string>();
      for (const key of ["snowflake.rawSchema", "snowflake.stagingSchema", "snowflake.analyticsSchema", "snowflake.metricsSchema", "snowflake.monitoringSchema"] as const) {
        const other = seen.get(v[key]);
        if (other) problem(key, `expected a schema name different from ${other} (got ${describe(v[key])})`);
        seen.set(v[key], key);
      }
    },
  },
  { keys: ["snowflake.adminPrivateKey", "snowflake.adminPrivateKeyPassphrase"], check: privateKeyCheck },
  { keys: ["sources", "snowflake.rawSchema"], check: sourceOwnershipCheck },
  {
    keys: ["sources", "fivetran.webhookSecret", "airbyte.webhookToken"],
    check: (v, problem) => {
      const sources = Object.values(v.sources);
      if (sources.some((s) => s.fivetranConnectors.length > 0) && v["fivetran.webhookSecret"] === undefined) {
        problem("fivetran.webhookSecret", "required because a source lists Fivetran connectors; run pulumi config set --secret fivetran.webhookSecret <value>");
      }
      if (sources.some((s) => s.airbyteConnections.length > 0) && v["airbyte.webhookToken"] === undefined) {
        problem("airbyte.webhookToken", "required because a source lists Airbyte connections; run pulumi config set --secret airbyte.webhookToken <value>");
      }
    },
  },
  {
    // Each address names its subscription resource by its slug, so two addresses with one slug
    // would be two resources with one name.
    keys: ["notify.emails"],
    check: (v, problem) => {
      const slugs = new Map<string, string>();
      for (const email of v["notify.emails"]) {
        const other = slugs.get(emailSlug(email));
        if (other !== undefined) problem("notify.emails", `${describe(other)} and ${describe(email)} are the same address or differ only in punctuation; list each once`);
        slugs.set(emailSlug(email), email);
      }
    },
  },
  {
    // Only checked when the GitHub side is built (github.owner set).
    keys: ["github.owner", "github.infraRepo", "github.dbtRepo", "github.ownerId", "github.infraRepoId", "github.dbtRepoId"],
    check: (v, problem) => {
      if (!v["github.owner"]) return;
      if (v["github.infraRepo"] === v["github.dbtRepo"]) problem("github.dbtRepo", `expected a repository other than github.infraRepo (${v["github.infraRepo"]})`);
      const [owner, infra, dbt] = [v["github.ownerId"], v["github.infraRepoId"], v["github.dbtRepoId"]];
      if (!owner && (infra || dbt)) problem("github.ownerId", "required with github.infraRepoId or github.dbtRepoId (immutable subjects name the owner's id too)");
      if (owner && !infra && !dbt) problem("github.ownerId", "set github.infraRepoId and/or github.dbtRepoId with it, or leave it 0");
    },
  },
];

/**
 * A connector, connection or RAW table maps to one source. `TABLE` means `<rawSchema>.TABLE`;
 * a table may belong to one source only, whichever form names it.
 */
function sourceOwnershipCheck(v: ConfigValues, problem: Report): void {
  const owners = new Map<string, string>();
  const tables = new Map<string, { source: string; entry: string }>();
  for (const [name, s] of Object.entries(v.sources)) {
    for (const [field, ids] of [["fivetranConnectors", s.fivetranConnectors], ["airbyteConnections", s.airbyteConnections], ["rawTables", s.rawTables]] as const) {
      for (const id of ids) {
        const owner = owners.get(`${field}:${id}`);
        if (owner) problem(["sources", name, field], `${describe(id)} is already listed by source ${owner}; each id maps to one source`);
        owners.set(`${field}:${id}`, name);
      }
    }
    for (const entry of s.rawTables) {
      const [schema, table] = entry.includes(".") ? entry.split(".") : [v["snowflake.rawSchema"], entry];
      for (const [key, other] of tables) {
        const [os, ot] = key.split(".");
        const overlaps = os === schema && (ot === table || ot === "*" || table === "*");
        if (overlaps && other.source !== name) problem(["sources", name, "rawTables"], `${describe(entry)} overlaps ${describe(other.entry)} of source ${other.source}; each RAW table maps to one source`);
      }
      tables.set(`${schema}.${table}`, { source: name, entry });
    }
  }
}

/**
 * The admin key must be one the Snowflake provider can read. Upstream `sdk.ParsePrivateKey`
 * (terraform-provider-snowflake v1.2.1, pkg/sdk/config.go) decrypts only a PKCS#8
 * `ENCRYPTED PRIVATE KEY` with `private_key_passphrase`; any other PEM goes to
 * `ssh.ParseRawPrivateKey`, which fails on a legacy OpenSSL-encrypted key (`Proc-Type: 4,ENCRYPTED`).
 * Secret values are never echoed.
 */
function privateKeyCheck(v: ConfigValues, problem: Report): void {
  const key = v["snowflake.adminPrivateKey"];
  const passphrase = v["snowflake.adminPrivateKeyPassphrase"];
  if (key === SECRET_PLACEHOLDER) return;
  if (/Proc-Type:\s*4,ENCRYPTED/.test(key)) {
    problem("snowflake.adminPrivateKey", "is a legacy OpenSSL-encrypted key (Proc-Type: 4,ENCRYPTED), which the Snowflake provider cannot decrypt; convert it with openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <key>.p8 and set snowflake.adminPrivateKeyPassphrase");
  } else if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) {
    if (passphrase === undefined) problem("snowflake.adminPrivateKeyPassphrase", "required because snowflake.adminPrivateKey is an ENCRYPTED PRIVATE KEY; run pulumi config set --secret snowflake.adminPrivateKeyPassphrase <value>");
  } else if (passphrase !== undefined && passphrase !== SECRET_PLACEHOLDER) {
    problem("snowflake.adminPrivateKeyPassphrase", "is set but snowflake.adminPrivateKey is not encrypted; remove the passphrase or set the encrypted (ENCRYPTED PRIVATE KEY) form of the key");
  }
}

/**
 * Builds the typed object from validated values: each key under its group, secrets as Pulumi
 * secret outputs, then the resolved values {@link PipelineConfig} lists.
 */
export function buildConfig(values: ConfigValues, project: string, stack: string): PipelineConfig {
  const nested: Record<string, unknown> = {};
  for (const spec of KEYS) {
    const raw = (values as Record<string, unknown>)[spec.key];
    const value = spec.secret && raw !== undefined ? pulumi.secret(raw as string) : raw;
    const [group, field] = spec.key.split(".");
    if (field === undefined) nested[group] = value;
    else ((nested[group] ??= {}) as Record<string, unknown>)[field] = value;
  }
  const base = nested as unknown as Nested;
  const environment = values.environment || stack;
  const envSuffix = environment.toUpperCase();
  const sf = base.snowflake;
  const sources = Object.entries(values.sources)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => ({
      name,
      ...s,
      select: s.select ?? [`source:${name}+`],
      staleAfterMinutes: s.staleAfterMinutes ?? values["notify.staleAfterMinutes"],
    }));
  const config = {
    ...base,
    project,
    stack,
    environment,
    envSuffix,
    snowflake: {
      ...sf,
      databaseName: `${sf.databaseName}_${envSuffix}`,
      schemas: { raw: sf.rawSchema, staging: sf.stagingSchema, analytics: sf.analyticsSchema, metrics: sf.metricsSchema, monitoring: sf.monitoringSchema },
      warehouseSizes: { loading: sf.loadingWarehouseSize, transforming: sf.transformingWarehouseSize, reporting: sf.reportingWarehouseSize },
    },
    dbt: { ...base.dbt, target: base.dbt.target || environment },
    sources,
    github: values["github.owner"] ? base.github : undefined,
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

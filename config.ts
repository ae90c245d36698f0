/**
 * The only module that reads Pulumi config. `loadConfig()` returns one typed, frozen, validated
 * object; a bad stack fails the whole program with every problem at once, each naming the key and
 * what is expected.
 *
 * One source of truth: each key's zod schema lives in `config-keys.ts`; {@link configSchema} is
 * built from that table, {@link ConfigValues} and {@link PipelineConfig} are inferred from it, and
 * every check that spans keys is in `CROSS_CHECKS` (config-checks.ts), run by the same schema.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { KEYS, KEY_INDEX, KEY_TABLE, KeySpec, PROJECT, SECRET_PLACEHOLDER, WAREHOUSE_SIZES } from "./config-keys";
import { CROSS_CHECKS } from "./config-checks";
import { PROVIDER_KEYS } from "./config-providers";

type Spec = (typeof KEY_TABLE)[number];
/** A declared key, e.g. `dbt.cpu`. */
export type ConfigKey = Spec["key"];

/** The zod schema of one key as the stack object holds it: default applied, optional secrets optional. */
type FieldSchema<S extends Spec> = S extends { readonly default: unknown }
  ? z.ZodDefault<S["schema"]>
  : S extends { readonly optional: true }
    ? z.ZodOptional<S["schema"]>
    : S["schema"];
type Shape = { [S in Spec as S["key"]]: FieldSchema<S> };

/** Secrets: the offline plan passes a placeholder, never the value, so its presence is all it can check. */
function secretOrPlaceholder(schema: z.ZodType): z.ZodType {
  return z.unknown().superRefine((value, ctx) => {
    if (value === SECRET_PLACEHOLDER) return;
    const result = schema.safeParse(value);
    if (!result.success)
      for (const issue of result.error.issues)
        ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  });
}

function fieldSchema(spec: KeySpec): z.ZodType {
  const schema = spec.secret ? secretOrPlaceholder(spec.schema) : spec.schema;
  if (spec.default !== undefined) return schema.default(() => structuredClone(spec.default));
  return spec.optional ? schema.optional() : schema;
}

/** The schema of a stack's decoded `dbt-pipeline:` values, keyed as in config-keys.ts. */
export const configSchema = z
  .object(Object.fromEntries(KEYS.map((k) => [k.key, fieldSchema(k)])) as unknown as Shape)
  .superRefine(
    (values, ctx) => {
      // Cross-key rules join the report even when other keys failed, so `when` always runs this
      // refinement; each rule reads only keys that passed their own schema.
      const failed = new Set(ctx.issues.map((i) => i.path?.[0]));
      for (const rule of CROSS_CHECKS) {
        if (rule.keys.some((k) => failed.has(k))) continue;
        rule.check(values, (at, message) =>
          ctx.addIssue({
            code: "custom",
            path: typeof at === "string" ? [at] : [...at],
            message,
            params: { quiet: true },
          }),
        );
      }
    },
    { when: () => true },
  );

/** Validated values by key, defaults applied; secrets are still plain strings here. */
export type ConfigValues = z.output<typeof configSchema>;

// ---- The loaded config: the table's keys nested by their first dot, secrets as secret outputs.

type KeyValue<S extends Spec> = S extends { readonly secret: true }
  ? S extends { readonly optional: true }
    ? pulumi.Output<string> | undefined
    : pulumi.Output<string>
  : z.output<FieldSchema<S>>;
type Flat = { [S in Spec as S["key"]]: KeyValue<S> };
type GroupOf<K> = K extends `${infer G}.${string}` ? G : never;
type Nested = { [K in keyof Flat as K extends `${string}.${string}` ? never : K]: Flat[K] } & {
  [G in GroupOf<keyof Flat>]: { [K in keyof Flat as K extends `${G}.${infer F}` ? F : never]: Flat[K] };
};
type Frozen<T> =
  T extends pulumi.Output<unknown>
    ? T
    : T extends readonly (infer E)[]
      ? readonly Frozen<E>[]
      : T extends object
        ? { readonly [K in keyof T]: Frozen<T[K]> }
        : T;

/** Warehouse sizes as Snowflake spells them. */
export type WarehouseSize = (typeof WAREHOUSE_SIZES)[number];

type SourceValues = ConfigValues["sources"][string];
/** One source of raw data and how it maps to dbt (see `sources` in config-keys.ts). */
export type SourceConfig = Frozen<
  Omit<SourceValues, "select" | "staleAfterMinutes"> & {
    /** dbt source name (lower_snake_case). */
    name: string;
    /** dbt selection; defaults to `source:<name>+`. */
    select: string[];
    /** Minutes without a load before the source is stale; defaults to notify.staleAfterMinutes. */
    staleAfterMinutes: number;
  }
>;

/**
 * The whole validated stack configuration: every key of config-keys.ts under its group
 * (`dbt.cpu` → `dbt.cpu`), with these resolved: `environment` (empty → the stack name),
 * `snowflake.databaseName` (environment appended), `dbt.target` (empty → the environment),
 * `sources` as a sorted list with defaults, and `github` absent when `github.owner` is empty.
 */
export type PipelineConfig = Frozen<
  Omit<Nested, "snowflake" | "sources" | "github"> & {
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
  }
>;

/** Every problem found in a stack's config; the message lists them all. */
export class ConfigError extends pulumi.RunError {
  constructor(
    readonly problems: readonly string[],
    stack: string,
  ) {
    super(
      `Invalid configuration in stack ${stack} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
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
 * (`aws:regin`), or a namespace close to a known one (`dbtpipeline:x`, which nothing reads). It is
 * reported with the rest, before any resource is declared. Other namespaces (`pulumi:`, another
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
  const keyHint = nsHint === PROJECT ? (closestKey(key) ?? key) : (closest(key, PROVIDER_KEYS[nsHint]) ?? key);
  return `${fullKey}: unknown namespace ${ns}, which nothing reads; did you mean ${nsHint}:${keyHint}?`;
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
        return {
          problem: `expected ${spec.type === "array" ? "a list" : "a map"} (set it as YAML in the stack file or with pulumi config set --path)`,
        };
      }
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined),
    value,
  );
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
  return `${full}: ${issue.message} (got ${JSON.stringify(shown) ?? String(shown)})`;
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
  const order = (issue: z.core.$ZodIssue) =>
    issue.code === "custom" && (issue.params as { quiet?: boolean } | undefined)?.quiet
      ? KEYS.length
      : KEYS.findIndex((k) => k.key === issue.path[0]);
  const issues = [...(result.error?.issues ?? [])].sort((a, b) => order(a) - order(b));
  for (const issue of issues) {
    const key = String(issue.path[0]);
    const line = undecodable.get(key) ?? formatIssue(issue, input, stack);
    // A missing or undecodable key fails its schema's checks one by one; report it once.
    if (!problems.includes(line)) problems.push(line);
  }
  return { problems };
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
      schemas: {
        raw: sf.rawSchema,
        staging: sf.stagingSchema,
        analytics: sf.analyticsSchema,
        metrics: sf.metricsSchema,
        monitoring: sf.monitoringSchema,
      },
      warehouseSizes: {
        loading: sf.loadingWarehouseSize,
        transforming: sf.transformingWarehouseSize,
        reporting: sf.reportingWarehouseSize,
      },
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

/**
 * The freshness core: reads the last observed `sources.json` (written by `dbt source freshness`
 * and uploaded to `<env>/observed/` whenever a run's freshness step ran; `<env>/latest/` of the
 * last successful run before the first observation) and records, per configured source, the minutes
 * since its newest table was loaded (`MinutesSinceLastLoad`, dimensions environment + source).
 *
 * The minutes are computed against the clock at every check, not against the snapshot, so they
 * keep growing while nothing loads even if no dbt run refreshes sources.json. A source absent
 * from the file (or a missing file) records nothing: its alarm treats missing data as breaching.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import * as z from "zod/mini";

/** dbt's sources.json (https://schemas.getdbt.com/dbt/sources/v3.json), the fields read here. */
export const SourcesJsonSchema = z.looseObject({
  metadata: z.looseObject({ generated_at: z.optional(z.string()), dbt_schema_version: z.optional(z.string()) }),
  results: z.array(
    z.looseObject({
      unique_id: z.string(),
      status: z.optional(z.string()),
      /** Absent for `runtime error` results. */
      max_loaded_at: z.optional(z.string()),
      snapshotted_at: z.optional(z.string()),
    }),
  ),
});

/** A parsed sources.json. */
export type SourcesJson = z.infer<typeof SourcesJsonSchema>;

/** Settings read from the environment at init. */
export interface FreshnessSettings {
  readonly environment: string;
  readonly artifactBucket: string;
  /** dbt source names to report (the stack's `sources`). */
  readonly sources: readonly string[];
}

/** Everything the core needs. */
export interface FreshnessDeps {
  readonly settings: FreshnessSettings;
  readonly s3: S3Client;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly now?: () => Date;
}

/** What one check found: minutes per source (null: no load known), and the snapshot's age. */
export interface FreshnessResult {
  readonly minutesSinceLastLoad: Record<string, number | null>;
  readonly snapshotAgeMinutes: number | null;
}

/** sources.json exists but is not dbt's format. */
export class SourcesJsonError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SourcesJsonError";
  }
}

/** The key of the latest sources.json of an environment: the last successful run's (its `--state`). */
export const latestSourcesKey = (environment: string) => `${environment}/latest/sources.json`;
/**
 * The key of the last freshness observation: the upload step writes it whenever the freshness
 * step ran, whatever dbt's exit code, while `latest/` only moves on a success. Read first, so a
 * failing model does not make every source look unloaded.
 */
export const observedSourcesKey = (environment: string) => `${environment}/observed/sources.json`;

/** Parses a dbt timestamp (microseconds, `+00:00` or no zone, which dbt means as UTC). */
export function parseDbtTime(value: string): number {
  const trimmed = value
    .trim()
    .replace(" ", "T")
    .replace(/(\.\d{3})\d+/, "$1");
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) ? trimmed : `${trimmed}Z`;
  return Date.parse(zoned);
}

/** The newest max_loaded_at per source name (`source.<package>.<source>.<table>`). */
export function newestLoads(doc: SourcesJson): Map<string, number> {
  const newest = new Map<string, number>();
  for (const r of doc.results) {
    const parts = r.unique_id.split(".");
    if (parts[0] !== "source" || parts.length < 4 || !r.max_loaded_at) continue;
    const at = parseDbtTime(r.max_loaded_at);
    if (!Number.isFinite(at)) continue;
    const source = parts[2];
    newest.set(source, Math.max(newest.get(source) ?? -Infinity, at));
  }
  return newest;
}

const minutesBetween = (from: number, to: number) => Math.max(0, Math.floor((to - from) / 60_000));

/** Builds the check. */
export function createFreshnessCheck(deps: FreshnessDeps): () => Promise<FreshnessResult> {
  const { settings, logger, metrics } = deps;
  const keys = [observedSourcesKey(settings.environment), latestSourcesKey(settings.environment)];

  /** The object's text, or undefined when there is none (without s3:ListBucket, S3 answers 403 AccessDenied for a missing key). */
  async function fetchText(key: string): Promise<string | undefined> {
    try {
      const out = await deps.s3.send(new GetObjectCommand({ Bucket: settings.artifactBucket, Key: key }));
      return (await out.Body?.transformToString()) ?? "";
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name === "NoSuchKey" || name === "NotFound" || name === "AccessDenied") return undefined;
      throw err;
    }
  }

  async function read(): Promise<SourcesJson | undefined> {
    let found: { key: string; text: string } | undefined;
    for (const key of keys) {
      const text = await fetchText(key);
      if (text !== undefined) {
        found = { key, text };
        break;
      }
    }
    if (!found) {
      logger.warn("no sources.json yet; every source counts as stale", { keys });
      return undefined;
    }
    const { key, text } = found;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SourcesJsonError(`s3://${settings.artifactBucket}/${key} is not JSON`, { cause: err });
    }
    const parsed = SourcesJsonSchema.safeParse(json);
    if (!parsed.success)
      throw new SourcesJsonError(
        `s3://${settings.artifactBucket}/${key} is not a dbt sources.json: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }

  return async () => {
    const now = (deps.now?.() ?? new Date()).getTime();
    const doc = await read();
    const loads = doc ? newestLoads(doc) : new Map<string, number>();
    const minutesSinceLastLoad: Record<string, number | null> = {};
    for (const source of settings.sources) {
      const at = loads.get(source);
      minutesSinceLastLoad[source] = at === undefined ? null : minutesBetween(at, now);
      if (at === undefined) continue;
      // One EMF document per source: a dimension applies to every metric stored before a publish.
      metrics.addDimension("source", source);
      metrics.addMetric("MinutesSinceLastLoad", MetricUnit.NoUnit, minutesSinceLastLoad[source]!);
      metrics.publishStoredMetrics();
    }
    const generated = doc?.metadata.generated_at ? parseDbtTime(doc.metadata.generated_at) : NaN;
    const snapshotAgeMinutes = Number.isFinite(generated) ? minutesBetween(generated, now) : null;
    if (snapshotAgeMinutes !== null) {
      metrics.addMetric("SourcesSnapshotAgeMinutes", MetricUnit.NoUnit, snapshotAgeMinutes);
      metrics.publishStoredMetrics();
    }
    const missing = settings.sources.filter((s) => minutesSinceLastLoad[s] === null);
    if (missing.length) logger.warn("sources without a known load", { missing });
    logger.info("freshness checked", { minutesSinceLastLoad, snapshotAgeMinutes });
    return { minutesSinceLastLoad, snapshotAgeMinutes };
  };
}

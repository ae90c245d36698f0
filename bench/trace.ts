/**
 * A seeded, generated trace of one day of triggers for the replay: a dozen sources on mixed
 * cadences (Fivetran and Airbyte webhooks, Snowflake load notifications, two sources with both),
 * bursts where several sources finish within a minute, duplicate deliveries (Fivetran retrying a
 * sync_id at +0 s and +5 min, SNS redeliveries, an EventBridge Scheduler duplicate), failed syncs
 * (one Fivetran failure is followed by a successful retry that reuses the sync_id), the hourly
 * schedule and the daily full refresh.
 *
 * Pure: no AWS, no clock. The same seed gives the same trace on every machine.
 */
import { Rng } from "./stats";

/** How a source's loads announce themselves. */
export type Vendor = "fivetran" | "airbyte" | "snowflake";

/** One source of the trace. */
export interface TraceSource {
  readonly name: string;
  /** The loader; `snowflake` sources have no webhook, only RAW-table load notifications. */
  readonly vendor: Vendor;
  /** A sync starts every `cadenceMinutes`, first at `phaseMinutes` after midnight. */
  readonly cadenceMinutes: number;
  readonly phaseMinutes: number;
  /** How long a sync takes (uniform in this range, minutes); its delivery comes when it ends. */
  readonly syncMinutes: readonly [number, number];
  /** Fivetran connector id or Airbyte connection id (UUID). */
  readonly connector?: string;
  /** RAW tables with a stream and a triggered task: each load of one sends a Snowflake notification. */
  readonly rawTables: readonly string[];
  /** dbt exclusions of the source's runs. */
  readonly exclude?: readonly string[];
  /** dbt tags of the source's fast-lane run (prod ships `dashboard` on stripe). */
  readonly fastLaneTags?: readonly string[];
}

/** The dozen sources of the trace. Several share phase 0 and a 1.5–2.5 min sync: a burst a few minutes past each hour. */
export const TRACE_SOURCES: readonly TraceSource[] = [
  {
    name: "stripe",
    vendor: "fivetran",
    cadenceMinutes: 15,
    phaseMinutes: 0,
    syncMinutes: [1.5, 2.5],
    connector: "stripe_live",
    rawTables: ["STRIPE_CHARGES", "STRIPE_CUSTOMERS"],
    fastLaneTags: ["dashboard"],
  },
  {
    name: "shopify",
    vendor: "fivetran",
    cadenceMinutes: 30,
    phaseMinutes: 10,
    syncMinutes: [2, 6],
    connector: "shopify_store",
    rawTables: [],
  },
  {
    name: "salesforce",
    vendor: "fivetran",
    cadenceMinutes: 60,
    phaseMinutes: 0,
    syncMinutes: [1.5, 2.5],
    connector: "salesforce_prod",
    rawTables: [],
  },
  {
    name: "zendesk",
    vendor: "fivetran",
    cadenceMinutes: 120,
    phaseMinutes: 20,
    syncMinutes: [3, 8],
    connector: "zendesk_support",
    rawTables: [],
  },
  {
    name: "netsuite",
    vendor: "fivetran",
    cadenceMinutes: 240,
    phaseMinutes: 45,
    syncMinutes: [8, 20],
    connector: "netsuite_erp",
    rawTables: [],
  },
  {
    name: "hubspot",
    vendor: "airbyte",
    cadenceMinutes: 30,
    phaseMinutes: 0,
    syncMinutes: [1.5, 2.5],
    connector: "9b6e7d7c-1a52-4e0a-9a4e-3f0c6b1d2e11",
    rawTables: ["HUBSPOT_CONTACTS"],
    exclude: ["tag:heavy"],
  },
  {
    name: "intercom",
    vendor: "airbyte",
    cadenceMinutes: 60,
    phaseMinutes: 30,
    syncMinutes: [2, 5],
    connector: "0f3c2b1a-7d6e-4c5b-9a8f-1e2d3c4b5a69",
    rawTables: [],
  },
  {
    name: "github",
    vendor: "airbyte",
    cadenceMinutes: 120,
    phaseMinutes: 0,
    syncMinutes: [1.5, 2.5],
    connector: "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
    rawTables: [],
  },
  {
    name: "jira",
    vendor: "airbyte",
    cadenceMinutes: 240,
    phaseMinutes: 50,
    syncMinutes: [4, 10],
    connector: "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
    rawTables: [],
  },
  {
    name: "web_events",
    vendor: "snowflake",
    cadenceMinutes: 15,
    phaseMinutes: 7,
    syncMinutes: [0.5, 1.5],
    rawTables: ["WEB_EVENTS", "WEB_SESSIONS"],
  },
  {
    name: "app_events",
    vendor: "snowflake",
    cadenceMinutes: 30,
    phaseMinutes: 0,
    syncMinutes: [1.5, 2.5],
    rawTables: ["APP_EVENTS"],
  },
  {
    name: "ads_spend",
    vendor: "snowflake",
    cadenceMinutes: 60,
    phaseMinutes: 15,
    syncMinutes: [1, 3],
    rawTables: ["GOOGLE_ADS_SPEND", "META_ADS_SPEND"],
  },
];

/**
 * `count` sources: the dozen above, then copies of them (`<name>_<n>`, own connector ids, phase
 * shifted by 7 min per copy so the copies do not all finish in the same minute).
 */
export function scaledSources(count: number): TraceSource[] {
  return Array.from({ length: count }, (_, i) => {
    const base = TRACE_SOURCES[i % TRACE_SOURCES.length];
    const copy = Math.floor(i / TRACE_SOURCES.length);
    if (copy === 0) return base;
    const hex = (copy * 4096 + i).toString(16).padStart(12, "0");
    return {
      ...base,
      name: `${base.name}_${copy + 1}`,
      phaseMinutes: (base.phaseMinutes + 7 * copy) % base.cadenceMinutes,
      connector:
        base.vendor === "airbyte"
          ? `00000000-0000-4000-8000-${hex}`
          : base.connector && `${base.connector}_${copy + 1}`,
      rawTables: base.rawTables.map((t) => `${t}_${copy + 1}`),
    };
  });
}

/** Why a delivery exists. */
export type Attempt = "original" | "retry-0s" | "retry-5min" | "sns-redelivery" | "scheduler-duplicate";

/** One delivery to dispatch. */
export interface TraceEvent {
  /** Position in the trace (ties in `at` keep this order). */
  readonly seq: number;
  /** Milliseconds after the trace's midnight when dispatch receives it. */
  readonly at: number;
  readonly kind: "fivetran" | "airbyte" | "snowflake" | "schedule";
  readonly attempt: Attempt;
  /** The delivery key dispatch derives (its idempotency key), e.g. `fivetran:<sync_id>`. */
  readonly key: string;
  /** Sync id, job id, task run id or schedule time. */
  readonly id: string;
  readonly source?: string;
  /** Fivetran connector or Airbyte connection id. */
  readonly connector?: string;
  /** Snowflake notifications: the RAW table. */
  readonly table?: string;
  readonly schedule?: "hourly" | "full-refresh";
  /** Whether the sync succeeded (failed syncs are reported, never run). */
  readonly success: boolean;
  /** When the load finished (or the schedule was due), ms after midnight: the start of "load to transform". */
  readonly loadedAt: number;
  /** Rows loaded (Snowflake notifications). */
  readonly rows?: number;
}

/** Knobs of the generator. */
export interface TraceOptions {
  readonly seed: number;
  /** Midnight (UTC) of the traced day. */
  readonly day: string;
  readonly sources: readonly TraceSource[];
  /** Share of successful Fivetran deliveries that Fivetran sends again at +0 s and +5 min. */
  readonly fivetranRetryRate: number;
  /** Share of Snowflake notifications SNS delivers twice. */
  readonly snsRedeliveryRate: number;
  /** Share of webhook syncs that fail (reported, no run; a failed Fivetran sync is retried and succeeds). */
  readonly failedSyncRate: number;
  /** Hourly schedule invocations EventBridge Scheduler delivers twice. */
  readonly schedulerDuplicates: number;
  /** Minute past each hour of the hourly schedule (config `triggers.hourlySchedule`). */
  readonly hourlyMinute: number;
  /** Hour and minute (UTC) of the full refresh (config `triggers.fullRefreshSchedule`). */
  readonly fullRefreshHour: number;
  readonly fullRefreshMinute: number;
  /** Snowflake's minimum trigger interval of triggered tasks (snowflake.md §2.1: 30 s by default). */
  readonly triggerIntervalSeconds: number;
}

/** The defaults: seed 20261123, a Monday in UTC, the sources above. */
export const DEFAULT_TRACE_OPTIONS: TraceOptions = {
  seed: 20261123,
  day: "2026-11-23T00:00:00.000Z",
  sources: TRACE_SOURCES,
  fivetranRetryRate: 0.15,
  snsRedeliveryRate: 0.03,
  failedSyncRate: 0.02,
  schedulerDuplicates: 1,
  hourlyMinute: 5,
  fullRefreshHour: 2,
  fullRefreshMinute: 0,
  triggerIntervalSeconds: 30,
};

/** A generated day. */
export interface Trace {
  readonly options: TraceOptions;
  /** Midnight, epoch ms. */
  readonly start: number;
  readonly events: readonly TraceEvent[];
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

type Draft = Omit<TraceEvent, "seq">;

/** Generates the day for `options` (deterministic for a seed). */
export function generateTrace(over: Partial<TraceOptions> = {}): Trace {
  const options: TraceOptions = { ...DEFAULT_TRACE_OPTIONS, ...over };
  const rng = new Rng(options.seed);
  const start = Date.parse(options.day);
  if (Number.isNaN(start)) throw new Error(`invalid trace day ${options.day}`);
  const drafts: Draft[] = [];
  let airbyteJob = 4_000_000;

  const notifications = (source: TraceSource, loadedAt: number) => {
    for (const table of source.rawTables) {
      // The triggered task fires within the minimum trigger interval, runs a few seconds, then notifies SNS.
      const at = Math.round(
        loadedAt +
          rng.between(0, options.triggerIntervalSeconds * 1000) +
          rng.between(3000, 8000) +
          rng.between(1000, 3000),
      );
      const taskRunId = `${rng.int(1_000_000_000, 9_999_999_999)}`;
      const base: Draft = {
        at,
        kind: "snowflake",
        attempt: "original",
        key: `snowflake:${taskRunId}:${table}`,
        id: `${taskRunId}:${table}`,
        source: source.name,
        table,
        success: true,
        loadedAt,
        rows: rng.int(1, 50_000),
      };
      drafts.push(base);
      if (rng.chance(options.snsRedeliveryRate))
        drafts.push({ ...base, at: at + Math.round(rng.between(10_000, 90_000)), attempt: "sns-redelivery" });
    }
  };

  for (const source of options.sources) {
    for (let begin = source.phaseMinutes * MINUTE; begin < DAY; begin += source.cadenceMinutes * MINUTE) {
      const end = Math.round(begin + rng.between(source.syncMinutes[0], source.syncMinutes[1]) * MINUTE);
      if (end >= DAY) continue;
      if (source.vendor === "fivetran") {
        const syncId = rng.uuid();
        let loadedAt = end;
        if (rng.chance(options.failedSyncRate)) {
          drafts.push({
            at: end,
            kind: "fivetran",
            attempt: "original",
            key: `fivetran:${syncId}:failed`,
            id: syncId,
            source: source.name,
            connector: source.connector,
            success: false,
            loadedAt: end,
          });
          // Fivetran retries the sync; the successful retry's sync_end reuses the sync_id.
          loadedAt = Math.round(end + rng.between(5, 15) * MINUTE);
          if (loadedAt >= DAY) continue;
        }
        const original: Draft = {
          at: loadedAt,
          kind: "fivetran",
          attempt: "original",
          key: `fivetran:${syncId}`,
          id: syncId,
          source: source.name,
          connector: source.connector,
          success: true,
          loadedAt,
        };
        drafts.push(original);
        if (rng.chance(options.fivetranRetryRate)) {
          drafts.push({ ...original, attempt: "retry-0s" });
          drafts.push({ ...original, at: loadedAt + 5 * MINUTE, attempt: "retry-5min" });
        }
        notifications(source, loadedAt);
      } else if (source.vendor === "airbyte") {
        const jobId = String(++airbyteJob);
        if (rng.chance(options.failedSyncRate)) {
          drafts.push({
            at: end,
            kind: "airbyte",
            attempt: "original",
            key: `airbyte:${jobId}:failed`,
            id: jobId,
            source: source.name,
            connector: source.connector,
            success: false,
            loadedAt: end,
          });
          continue;
        }
        drafts.push({
          at: end,
          kind: "airbyte",
          attempt: "original",
          key: `airbyte:${jobId}`,
          id: jobId,
          source: source.name,
          connector: source.connector,
          success: true,
          loadedAt: end,
        });
        notifications(source, end);
      } else {
        notifications(source, end);
      }
    }
  }

  const schedule = (kind: "hourly" | "full-refresh", due: number): Draft => {
    const scheduledTime = new Date(start + due).toISOString();
    return {
      at: Math.round(due + rng.between(0, 2000)),
      kind: "schedule",
      attempt: "original",
      key: `schedule:${kind}:${scheduledTime}`,
      id: `${kind}:${scheduledTime}`,
      schedule: kind,
      success: true,
      loadedAt: due,
    };
  };
  const hourly: Draft[] = [];
  for (let h = 0; h < 24; h++) hourly.push(schedule("hourly", h * 60 * MINUTE + options.hourlyMinute * MINUTE));
  drafts.push(...hourly, schedule("full-refresh", (options.fullRefreshHour * 60 + options.fullRefreshMinute) * MINUTE));
  for (let i = 0; i < options.schedulerDuplicates; i++) {
    const original = hourly[rng.int(0, hourly.length - 1)];
    drafts.push({
      ...original,
      at: original.at + Math.round(rng.between(1000, 10_000)),
      attempt: "scheduler-duplicate",
    });
  }

  const events = drafts
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.at - b.d.at || a.i - b.i)
    .map(({ d }, seq) => ({ ...d, seq }));
  return { options, start, events };
}

/** What a trace holds, for the report. */
export interface TraceSummary {
  readonly deliveries: number;
  readonly byKind: Readonly<Record<string, number>>;
  readonly byAttempt: Readonly<Record<string, number>>;
  /** Distinct delivery keys. */
  readonly distinctDeliveries: number;
  readonly failedSyncs: number;
  /** Times three or more sources delivered within one minute, and the most sources in one such minute. */
  readonly bursts: number;
  readonly largestBurst: number;
}

const countBy = (values: readonly string[]) =>
  values.reduce<Record<string, number>>((acc, v) => ({ ...acc, [v]: (acc[v] ?? 0) + 1 }), {});

/** Counts of `trace`; a burst is a run of first deliveries from ≥ 3 distinct sources within 60 s of its first. */
export function summarizeTrace(trace: Trace): TraceSummary {
  const originals = trace.events.filter((e) => e.attempt === "original" && e.source !== undefined && e.success);
  let bursts = 0;
  let largest = 0;
  for (let i = 0; i < originals.length;) {
    let j = i;
    while (j + 1 < originals.length && originals[j + 1].at - originals[i].at <= 60_000) j++;
    const sources = new Set(originals.slice(i, j + 1).map((e) => e.source)).size;
    if (sources >= 3) {
      bursts++;
      largest = Math.max(largest, sources);
      i = j + 1;
    } else {
      i++;
    }
  }
  return {
    deliveries: trace.events.length,
    byKind: countBy(trace.events.map((e) => e.kind)),
    byAttempt: countBy(trace.events.map((e) => e.attempt)),
    distinctDeliveries: new Set(trace.events.map((e) => e.key)).size,
    failedSyncs: trace.events.filter((e) => !e.success && e.attempt === "original").length,
    bursts,
    largestBurst: largest,
  };
}

/** `sources.json` for dispatch (the Triggers component's shape) with the trace's sources. */
export function sourcesDocument(
  target: string,
  sources: readonly TraceSource[] = TRACE_SOURCES,
): { target: string; sources: unknown[] } {
  return {
    target,
    sources: sources.map((s) => ({
      name: s.name,
      fivetranConnectors: s.vendor === "fivetran" && s.connector ? [s.connector] : [],
      airbyteConnections: s.vendor === "airbyte" && s.connector ? [s.connector] : [],
      rawTables: [...s.rawTables],
      exclude: [...(s.exclude ?? [])],
      fastLaneTags: [...(s.fastLaneTags ?? [])],
      fullRefresh: false,
    })),
  };
}

/**
 * The `dbt.run.completed` event: what the notify Lambda publishes to the environment's run bus
 * (`dbt-pipeline-<env>-runs`) once per finished dbt task, for other teams to subscribe to.
 * docs/run-events.md documents the same schema for readers outside this repository; a change
 * here is a change to a public contract (add optional fields; never rename or remove).
 */
import * as z from "zod/mini";
import { TRIGGER_KINDS } from "./run-contract";

/** `source` of every run event. */
export const RUN_EVENT_SOURCE = "dbt-pipeline";
/** `detail-type` of a finished run. */
export const RUN_COMPLETED = "dbt.run.completed";
/** Failures carried by one event at most; `failureCount` always has the full number. */
export const MAX_EVENT_FAILURES = 100;

/** How a run ended: dbt exited 0, dbt exited non-zero, or dbt never ran. */
export const RUN_STATUSES = ["success", "failed", "not_started"] as const;
/** One of {@link RUN_STATUSES}. */
export type RunStatus = (typeof RUN_STATUSES)[number];

const isoTime = z.iso.datetime({ offset: true });
/** A whole number ≥ 0. */
const count = () => z.int().check(z.gte(0));

/** One node that did not pass, from the run's run_results.json. */
export const RunFailureSchema = z.strictObject({
  /** dbt's unique id, e.g. `model.analytics.orders` or `test.analytics.not_null_orders_id.5b1c`. */
  uniqueId: z.string(),
  /** The first segment of the unique id: model, test, seed, snapshot, source, unit_test, … */
  resourceType: z.string(),
  /** dbt's status: `error`, `fail` or `runtime error`. */
  status: z.enum(["error", "fail", "runtime error"]),
  /** dbt's message, trimmed to 500 characters; null when dbt gave none. */
  message: z.nullable(z.string()),
});

/** The `detail` of a `dbt.run.completed` event. */
export const RunCompletedDetailSchema = z.strictObject({
  /** Environment (stack) name, e.g. `prod`. */
  environment: z.string(),
  /** The run id the launch Lambda assigned; null for a task started outside the pipeline. */
  runId: z.nullable(z.string()),
  /** The ECS task's ARN; unique per run, use it (or runId) to deduplicate. */
  taskArn: z.string(),
  status: z.enum(RUN_STATUSES),
  /** Exit code of the `dbt` container; null when it never ran. */
  exitCode: z.nullable(z.int()),
  /** Why the task stopped when dbt did not run or did not exit: ECS stopCode and reason. */
  stopReason: z.nullable(z.string()),
  /** dbt command, e.g. `build` or `source freshness`; null when the task had no overrides. */
  command: z.nullable(z.string()),
  /** Node selection from the dbt command line; empty lists mean the whole project. */
  selection: z.strictObject({
    select: z.array(z.string()),
    exclude: z.array(z.string()),
    selector: z.nullable(z.string()),
    fullRefresh: z.boolean(),
  }),
  /** Sources the run served, when known. */
  sources: z.optional(z.array(z.string())),
  /** Triggers the run served, when known. */
  triggers: z.optional(z.array(z.strictObject({ kind: z.enum(TRIGGER_KINDS), id: z.optional(z.string()) }))),
  /** When the task's containers started (or was created, when it never started). */
  startedAt: z.nullable(isoTime),
  /** When the task stopped. */
  endedAt: isoTime,
  /** endedAt − startedAt in whole seconds; null without startedAt. */
  durationSeconds: z.nullable(count()),
  /** Models dbt built successfully; null when run_results.json was not available. */
  modelsBuilt: z.nullable(count()),
  /** Nodes that did not pass (at most {@link MAX_EVENT_FAILURES}). */
  failures: z.array(RunFailureSchema).check(z.maxLength(MAX_EVENT_FAILURES)),
  /** How many nodes did not pass in all. */
  failureCount: count(),
  /** Where the run's artifacts are; null when runId is unknown. */
  artifacts: z.nullable(
    z.strictObject({
      bucket: z.string(),
      /** Key prefix of the run, e.g. `prod/runs/<runId>/`. */
      prefix: z.string(),
      /** `s3://` URI of run_results.json. */
      runResults: z.string(),
      /** `s3://` URI of manifest.json. */
      manifest: z.string(),
    }),
  ),
});

/** A validated `dbt.run.completed` detail. */
export type RunCompletedDetail = z.infer<typeof RunCompletedDetailSchema>;
/** One entry of {@link RunCompletedDetail.failures}. */
export type RunFailure = z.infer<typeof RunFailureSchema>;

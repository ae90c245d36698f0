/**
 * Pure translation of a stopped dbt task (and its run_results.json) into the facts notify reports:
 * outcome, dbt command and selection, timings, failing nodes, artifact locations, log link, and
 * the `dbt.run.completed` event detail. No AWS calls here.
 */
import { truncate } from "../lib/errors";
import { CONTAINERS } from "../lib/run-contract";
import { MAX_EVENT_FAILURES, RunCompletedDetail, RunFailure, RunStatus } from "../lib/run-event";
import { RunResults, TaskDetail } from "./schema";

/** The `startedBy` prefix the launch Lambda sets: `dbt-pipeline/<runId>`. */
export const STARTED_BY_PREFIX = "dbt-pipeline/";
/** dbt statuses that mean a node did not pass. */
export const FAILING_STATUSES = ["error", "fail", "runtime error"] as const;

/** The node selection read back from a dbt argv. */
export interface Selection {
  readonly select: string[];
  readonly exclude: string[];
  readonly selector: string | null;
  readonly fullRefresh: boolean;
}

/** What the task event alone says about a run. */
export interface RunFacts {
  readonly environment: string;
  readonly runId: string | null;
  readonly taskArn: string;
  /** Last segment of the task ARN (the log stream suffix). */
  readonly taskId: string;
  readonly status: RunStatus;
  readonly exitCode: number | null;
  readonly stopCode: string | null;
  readonly stopReason: string | null;
  /** Exit code of the upload container when it failed (artifacts may be missing). */
  readonly uploadExitCode: number | null;
  readonly command: string | null;
  readonly argv: readonly string[] | null;
  readonly selection: Selection;
  readonly startedAt: string | null;
  readonly endedAt: string;
  readonly durationSeconds: number | null;
  /** Sources the run served, when the dbt container's overrides say (DBT_PIPELINE_SOURCES). */
  readonly sources?: string[];
  /** Seconds from the oldest trigger (encoded in a launch run id) to the task's start; null when unknown. */
  readonly triggerToStartSeconds: number | null;
}

/** The last segment of an ARN (`.../<cluster>/<task id>` → task id). */
export const taskIdOf = (taskArn: string): string => taskArn.slice(taskArn.lastIndexOf("/") + 1);

/** dbt's command (`build`, `source freshness`, …) and selection from its argv. */
export function parseDbtArgv(argv: readonly string[]): { command: string | null; selection: Selection } {
  const start = argv[0] === "dbt" ? 1 : 0;
  const words: string[] = [];
  let i = start;
  for (; i < argv.length && !argv[i].startsWith("-"); i++) words.push(argv[i]);
  const select: string[] = [];
  const exclude: string[] = [];
  let selector: string | null = null;
  let fullRefresh = false;
  let into: string[] | undefined;
  for (; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--select" || token === "-s" || token === "--models" || token === "-m") into = select;
    else if (token === "--exclude") into = exclude;
    else if (token.startsWith("-")) {
      into = undefined;
      if (token === "--full-refresh") fullRefresh = true;
      if (token === "--selector" && i + 1 < argv.length) selector = argv[++i];
      // Flags with one value (--profile p, --target t, --vars {...}, --state dir) skip it.
      else if (
        ["--profile", "--target", "--vars", "--state", "--threads", "--project-dir", "--profiles-dir"].includes(token)
      )
        i++;
    } else if (into) into.push(token);
  }
  return { command: words.length ? words.join(" ") : null, selection: { select, exclude, selector, fullRefresh } };
}

/** Seconds between two ISO times, or null. */
function secondsBetween(from: string | null | undefined, to: string): number | null {
  if (!from) return null;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1000)) : null;
}

/** ECS writes timestamps with up to nanosecond digits; ISO 8601 with milliseconds is what consumers parse. */
function iso(value: string | undefined): string | null {
  if (!value) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

/** Why a run that did not succeed stopped, in one line (ECS stop code and container reasons). */
function stopReasonOf(detail: TaskDetail, status: RunStatus): string | null {
  if (status === "success") return null;
  const parts: string[] = [];
  const task = [detail.stopCode, detail.stoppedReason].filter((p) => p).join(": ");
  // EssentialContainerExited is the normal end of every task; it explains nothing.
  if (task && (status === "not_started" || detail.stopCode !== "EssentialContainerExited")) parts.push(task);
  // Containers often repeat the task's reason (an image pull error); name each reason once.
  const byReason = new Map<string, string[]>();
  for (const c of detail.containers) {
    if (c.reason && c.reason !== detail.stoppedReason)
      byReason.set(c.reason, [...(byReason.get(c.reason) ?? []), c.name]);
    else if (status === "not_started" && c.exitCode !== undefined && c.exitCode !== 0)
      parts.push(`${c.name} exited ${c.exitCode}`);
  }
  for (const [reason, names] of byReason) parts.push(`${names.join(", ")}: ${reason}`);
  const text = parts.join("; ");
  return text ? truncate(text, 500) : null;
}

/** The run id from the dbt container's DBT_PIPELINE_RUN_ID, else from `startedBy`. */
export function runIdOf(detail: TaskDetail): string | null {
  const overrides = detail.overrides?.containerOverrides ?? [];
  for (const name of [CONTAINERS.dbt, CONTAINERS.upload]) {
    const value = overrides
      .find((o) => o.name === name)
      ?.environment?.find((e) => e.name === "DBT_PIPELINE_RUN_ID")?.value;
    if (value) return value;
  }
  return detail.startedBy?.startsWith(STARTED_BY_PREFIX)
    ? detail.startedBy.slice(STARTED_BY_PREFIX.length) || null
    : null;
}

/** The dbt container's override environment variable `name`, if set. */
function dbtEnv(detail: TaskDetail, name: string): string | undefined {
  return detail.overrides?.containerOverrides
    .find((o) => o.name === CONTAINERS.dbt)
    ?.environment?.find((e) => e.name === name)?.value;
}

/** Sources from `DBT_PIPELINE_SOURCES` (comma-separated, as docs/monitoring.md reads it), when set. */
export function sourcesOf(detail: TaskDetail): string[] | undefined {
  const raw = dbtEnv(detail, "DBT_PIPELINE_SOURCES");
  if (raw === undefined) return undefined;
  return [
    ...new Set(
      raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s),
    ),
  ].sort();
}

/**
 * When the run's oldest trigger arrived, from a run id launch generated: `<yyyymmdd>t<hhmmss>-<8 hex>`
 * (functions/launch/ecs.ts `runIdFor`). Undefined for any other run id.
 */
export function triggeredAtOf(runId: string | null): number | undefined {
  const m = runId ? /^(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})-[0-9a-f]{8}$/.exec(runId) : null;
  if (!m) return undefined;
  const at = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isFinite(at) ? at : undefined;
}

/** Reads the facts of a run from its STOPPED task event. */
export function runFacts(detail: TaskDetail, environment: string, eventTime: string): RunFacts {
  const dbt = detail.containers.find((c) => c.name === CONTAINERS.dbt);
  const upload = detail.containers.find((c) => c.name === CONTAINERS.upload);
  const exitCode = dbt?.exitCode ?? null;
  const status: RunStatus = exitCode === null ? "not_started" : exitCode === 0 ? "success" : "failed";
  const argv = detail.overrides?.containerOverrides.find((o) => o.name === CONTAINERS.dbt)?.command ?? null;
  const parsed = argv
    ? parseDbtArgv(argv)
    : { command: null, selection: { select: [], exclude: [], selector: null, fullRefresh: false } };
  const startedAt = iso(detail.startedAt) ?? iso(detail.createdAt);
  const endedAt = iso(detail.stoppedAt) ?? iso(eventTime) ?? eventTime;
  const runId = runIdOf(detail);
  const triggeredAt = triggeredAtOf(runId);
  const sources = sourcesOf(detail);
  return {
    environment,
    runId,
    taskArn: detail.taskArn,
    taskId: taskIdOf(detail.taskArn),
    status,
    exitCode,
    stopCode: detail.stopCode ?? null,
    stopReason: stopReasonOf(detail, status),
    uploadExitCode: upload?.exitCode !== undefined && upload.exitCode !== 0 ? upload.exitCode : null,
    command: parsed.command,
    argv,
    selection: parsed.selection,
    startedAt,
    endedAt,
    durationSeconds: secondsBetween(startedAt, endedAt),
    ...(sources ? { sources } : {}),
    // Only a task that really started (startedAt, not createdAt) has a trigger-to-start time.
    triggerToStartSeconds:
      triggeredAt !== undefined && detail.startedAt
        ? secondsBetween(new Date(triggeredAt).toISOString(), iso(detail.startedAt)!)
        : null,
  };
}

/** What run_results.json says: nodes that did not pass, and models built. */
export interface ResultSummary {
  readonly failures: RunFailure[];
  readonly modelsBuilt: number;
}

const resourceTypeOf = (uniqueId: string) => uniqueId.split(".")[0];

/** Failing nodes (status error, fail, runtime error) in run order, and successful models. */
export function summarizeResults(results: RunResults): ResultSummary {
  const failures: RunFailure[] = [];
  let modelsBuilt = 0;
  for (const r of results.results) {
    const type = resourceTypeOf(r.unique_id);
    if (type === "model" && r.status === "success") modelsBuilt++;
    if ((FAILING_STATUSES as readonly string[]).includes(r.status)) {
      const message = r.message?.trim() ? r.message.trim().replace(/\s+/g, " ") : null;
      failures.push({
        uniqueId: r.unique_id,
        resourceType: type,
        status: r.status as RunFailure["status"],
        message: message && truncate(message, 500),
      });
    }
  }
  return { failures, modelsBuilt };
}

/** Where a run's artifacts are. */
export function artifactsOf(
  bucket: string,
  environment: string,
  runId: string,
): NonNullable<RunCompletedDetail["artifacts"]> {
  const prefix = `${environment}/runs/${runId}/`;
  return {
    bucket,
    prefix,
    runResults: `s3://${bucket}/${prefix}run_results.json`,
    manifest: `s3://${bucket}/${prefix}manifest.json`,
  };
}

/** The run_results.json key of a run. */
export const runResultsKey = (environment: string, runId: string) => `${environment}/runs/${runId}/run_results.json`;

/** The `dbt.run.completed` detail for a run. */
export function runCompletedDetail(facts: RunFacts, results: ResultSummary | null, bucket: string): RunCompletedDetail {
  const failures = results?.failures ?? [];
  return {
    environment: facts.environment,
    runId: facts.runId,
    taskArn: facts.taskArn,
    status: facts.status,
    exitCode: facts.exitCode,
    stopReason: facts.stopReason,
    command: facts.command,
    selection: { ...facts.selection },
    ...(facts.sources ? { sources: [...facts.sources] } : {}),
    startedAt: facts.startedAt,
    endedAt: facts.endedAt,
    durationSeconds: facts.durationSeconds,
    modelsBuilt: results ? results.modelsBuilt : null,
    failures: failures.slice(0, MAX_EVENT_FAILURES),
    failureCount: failures.length,
    artifacts: facts.runId ? artifactsOf(bucket, facts.environment, facts.runId) : null,
  };
}

/**
 * The CloudWatch console URL of a log stream. The console's fragment expects each path part
 * URI-encoded twice with `%` written as `$`.
 */
export function logsConsoleUrl(region: string, logGroup: string, logStream: string): string {
  const enc = (s: string) => encodeURIComponent(encodeURIComponent(s)).replace(/%/g, "$");
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${enc(logGroup)}/log-events/${enc(logStream)}`;
}

/** The awslogs stream of the dbt container: `<prefix>/<container>/<task id>`. */
export const dbtLogStream = (prefix: string, taskId: string) => `${prefix}/${CONTAINERS.dbt}/${taskId}`;

/** Human duration: `45s`, `4m 12s`, `1h 3m`. */
export function formatDuration(seconds: number | null): string | null {
  if (seconds === null) return null;
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
}

/**
 * SNS records from Snowflake: load notifications queue a run for the source that lists the
 * table; task error notifications are recorded and reported. Invalid records are logged and
 * dropped (metric `NotificationsDropped`); when a downstream call fails the whole event is
 * retried by SNS (redeliveries of records already done are duplicates and do nothing).
 */
import { causeMessage, errorMessage, truncate } from "../lib/errors";
import {
  SnowflakeLoadNotification,
  SnowflakeTaskFailed,
  parseSnowflakeNotification,
} from "../lib/snowflake-notification";
import { SnsRetryError } from "./errors";
import { DispatchDeps, Outcome, enqueueSourceRuns, once, publishAlert } from "./runs";
import type { SnsEvent } from "./schema";

/** What an SNS event amounted to (Lambda ignores the return value of an asynchronous invocation). */
export interface SnsSummary {
  readonly records: number;
  readonly queued: number;
  readonly recorded: number;
  readonly duplicates: number;
  readonly dropped: number;
}

type RecordResult = Outcome | "dropped";

/** Processes every record; throws {@link SnsRetryError} after the loop when any record must be retried. */
export async function handleSns(event: SnsEvent, deps: DispatchDeps): Promise<SnsSummary> {
  const results: RecordResult[] = [];
  const failures: unknown[] = [];
  for (const record of event.Records) {
    const log = { snsMessageId: record.Sns.MessageId, topicArn: record.Sns.TopicArn };
    const drop = (reason: string): RecordResult => {
      deps.metrics.addMetric("NotificationsDropped", "Count", 1);
      deps.logger.error("Snowflake notification dropped", { ...log, reason });
      return "dropped";
    };
    try {
      const notification = parseSnowflakeNotification(record.Sns.Message);
      if (notification.kind === "invalid") results.push(drop(notification.reason));
      else if (notification.kind === "load") results.push(await load(notification.value, deps, drop));
      else results.push(await taskFailed(notification.value, deps));
    } catch (error) {
      deps.logger.error("Snowflake notification failed; SNS will retry the event", {
        ...log,
        error: errorMessage(error),
        cause: causeMessage(error),
      });
      failures.push(error);
    }
  }
  if (failures.length)
    throw new SnsRetryError(
      `${failures.length} of ${event.Records.length} SNS records failed: ${failures.map(errorMessage).join("; ")}`,
      failures,
    );
  const outcomes = results.filter((r): r is Outcome => r !== "dropped");
  return {
    records: event.Records.length,
    queued: outcomes.filter((o) => o.status === "queued" && !o.duplicate).length,
    recorded: outcomes.filter((o) => o.status === "recorded" && !o.duplicate).length,
    duplicates: outcomes.filter((o) => o.duplicate).length,
    dropped: results.length - outcomes.length,
  };
}

async function load(
  n: SnowflakeLoadNotification,
  deps: DispatchDeps,
  drop: (reason: string) => RecordResult,
): Promise<RecordResult> {
  // The task names the table as its config entry does (`TABLE`, or `SCHEMA.TABLE` for a qualified
  // or `SCHEMA.*` entry): the whole name is looked up, since the schema is what tells `STRIPE.*`
  // and same-named tables of different loaders apart.
  const table = n.table;
  const source = deps.sources.byRawTable(table);
  if (!source) {
    deps.metrics.addMetric("UnmappedDeliveries", "Count", 1);
    return drop(`RAW table ${table} is not listed by any source; add it to dbt-pipeline:sources.<source>.rawTables`);
  }
  if (source.name !== n.source) {
    return drop(
      `the notification names source ${n.source}, but RAW table ${table} belongs to source ${source.name}; fix the Snowflake task or dbt-pipeline:sources`,
    );
  }
  const delivery = `snowflake:${n.task_run_id}:${table}`;
  return once(deps, delivery, async () => {
    const trigger = {
      kind: "snowflake" as const,
      id: `${n.task_run_id}:${table}`,
      source: source.name,
      receivedAt: deps.now().toISOString(),
    };
    const messageId = await enqueueSourceRuns(deps, delivery, source, trigger);
    return {
      status: "queued",
      delivery,
      source: source.name,
      messageId,
      message: `queued a dbt run of source ${source.name} for the load of ${table} (${n.rows} rows)`,
    };
  });
}

async function taskFailed(n: SnowflakeTaskFailed, deps: DispatchDeps): Promise<RecordResult> {
  const delivery = `snowflake-task-failed:${n.messageId}`;
  return once(deps, delivery, async () => {
    const first = n.messages[0];
    const summary = `Snowflake task ${n.taskName} failed${first?.errorCode ? ` (error ${first.errorCode})` : ""}`;
    deps.metrics.addMetric("SnowflakeTasksFailed", "Count", 1);
    deps.logger.error("Snowflake task failed", {
      delivery,
      taskName: n.taskName,
      rootTaskName: n.rootTaskName,
      timestamp: n.timestamp,
      runs: n.messages.map((m) => ({
        runId: m.runId,
        queryId: m.queryId,
        errorCode: m.errorCode,
        errorMessage: m.errorMessage && truncate(m.errorMessage, 2000),
      })),
    });
    await publishAlert(deps, {
      alert: "snowflake_task_failed",
      summary,
      subject: summary,
      details: {
        taskName: n.taskName,
        rootTaskName: n.rootTaskName,
        accountName: n.accountName,
        timestamp: n.timestamp,
        runId: first?.runId,
        scheduledTime: first?.scheduledTime,
        queryId: first?.queryId,
        errorCode: first?.errorCode,
        errorMessage: first?.errorMessage === undefined ? undefined : truncate(first.errorMessage, 2000),
        delivery,
      },
    });
    return { status: "recorded", delivery, message: `${summary}; recorded and reported, no dbt run queued` };
  });
}

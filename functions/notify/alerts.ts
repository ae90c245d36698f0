/**
 * Classifies a message that arrived on the alert topic: a Snowflake task error (straight from an
 * error integration, or relayed by dispatch), a CloudWatch alarm, a failed sync from dispatch, or
 * anything else (forwarded as it is, shortened). notify's own pages are recognised by their
 * `origin` attribute and skipped before this.
 */
import { Alert } from "./messages";
import { SnowflakeTaskFailedSchema } from "../lib/snowflake-notification";
import { AlarmMessageSchema, DispatchAlertSchema, SnsRecord } from "./schema";

/** Message attribute notify puts on what it publishes, so it never handles its own pages again. */
export const ORIGIN_ATTRIBUTE = "origin";
/** Value of {@link ORIGIN_ATTRIBUTE} on notify's pages. */
export const NOTIFY_ORIGIN = "dbt-pipeline-notify";

/** True for a message notify published itself. */
export function isOwnMessage(record: SnsRecord): boolean {
  return record.Sns.MessageAttributes?.[ORIGIN_ATTRIBUTE]?.Value === NOTIFY_ORIGIN;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What an alert-topic message is. */
export function classifyAlert(record: SnsRecord): Alert {
  const body = parseJson(record.Sns.Message);
  // One schema for Snowflake's error payload, shared with dispatch.
  const snowflake = SnowflakeTaskFailedSchema.safeParse(body);
  if (snowflake.success) {
    const first = snowflake.data.messages[0];
    return {
      kind: "snowflake-task",
      taskName: snowflake.data.taskName,
      ...(first?.errorCode ? { errorCode: first.errorCode } : {}),
      ...(first?.errorMessage ? { errorMessage: first.errorMessage } : {}),
      ...(first?.queryId ? { queryId: first.queryId } : {}),
      ...(first?.scheduledTime ? { scheduledTime: first.scheduledTime } : {}),
    };
  }
  const alarm = AlarmMessageSchema.safeParse(body);
  if (alarm.success) {
    return {
      kind: "alarm",
      name: alarm.data.AlarmName,
      state: alarm.data.NewStateValue,
      ...(alarm.data.NewStateReason ? { reason: alarm.data.NewStateReason } : {}),
      ...(alarm.data.AlarmDescription ? { description: alarm.data.AlarmDescription } : {}),
    };
  }
  const dispatched = DispatchAlertSchema.safeParse(body);
  if (dispatched.success) {
    const a = dispatched.data;
    if (a.alert === "snowflake_task_failed" && a.taskName) {
      return {
        kind: "snowflake-task",
        taskName: a.taskName,
        ...(a.errorCode ? { errorCode: a.errorCode } : {}),
        ...(a.errorMessage ? { errorMessage: a.errorMessage } : {}),
        ...(a.queryId ? { queryId: a.queryId } : {}),
        ...(a.scheduledTime ? { scheduledTime: a.scheduledTime } : {}),
      };
    }
    const reason = a.reason ?? a.errorMessage;
    return {
      kind: a.alert === "sync_failed" ? "sync" : "dispatch",
      summary: a.summary,
      ...(reason ? { reason } : {}),
      ...(a.connectionUrl && /^https:\/\/[^\s<>|]+$/.test(a.connectionUrl) ? { url: a.connectionUrl } : {}),
    };
  }
  return { kind: "other", subject: record.Sns.Subject?.trim() || "alert", body: record.Sns.Message };
}

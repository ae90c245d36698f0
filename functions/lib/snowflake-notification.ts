/**
 * Messages Snowflake publishes to the SNS topic dispatch subscribes to. Shared with the Snowflake
 * SQL that produces them, so both sides agree on one shape.
 *
 * 1. A load notification, sent by the per-table task's RECORD_LOAD procedure
 *    (components/change-detection/procedures.ts) after it records a load of a watched RAW table:
 *    `{"kind":"snowflake_load","source":"stripe","table":"STRIPE.CHARGES","rows":120,"loaded_at":"2026-11-22T10:00:00.000+00:00","task_run_id":"..."}`
 *    `table` is `TABLE` for a simple-form `rawTables` entry and `SCHEMA.TABLE` for a qualified or
 *    `SCHEMA.*` one. Dispatch maps it to a source by `table` (`SourceIndex.byRawTable`); `source`
 *    must name that same source, or the message is rejected.
 * 2. A task error notification (task `ERROR_INTEGRATION`), Snowflake's documented payload with
 *    `"messageType":"USER_TASK_FAILED"` (https://docs.snowflake.com/en/user-guide/tasks-errors-payload).
 */
import * as z from "zod/mini";

/** `kind` of a load notification. */
export const SNOWFLAKE_LOAD_KIND = "snowflake_load";
/** `messageType` of a task error notification. */
export const USER_TASK_FAILED = "USER_TASK_FAILED";

/** Snowflake identifier part: unquoted, as Snowflake stores it (upper case). */
const IDENT_PART = "[A-Z_][A-Z0-9_$]{0,254}";
/** `TABLE`, `SCHEMA.TABLE` or `DATABASE.SCHEMA.TABLE`, upper case. */
const TABLE_RE = new RegExp(`^(?:${IDENT_PART}\\.){0,2}${IDENT_PART}$`);

/** A RAW table load notification. Unknown keys are dropped. */
export const SnowflakeLoadNotificationSchema = z.object({
  kind: z.literal(SNOWFLAKE_LOAD_KIND),
  /** dbt source name the producer believes the table belongs to; must agree with `sources.json`. */
  source: z
    .string()
    .check(z.regex(/^[a-z][a-z0-9_]{0,62}$/, { message: "is not a dbt source name (lower_snake_case)" })),
  /**
   * The RAW table loaded: `TABLE` for a simple-form entry, `SCHEMA.TABLE` for a qualified or
   * `SCHEMA.*` one (the per-table task's label, components/change-detection/reconciler.ts);
   * looked up whole with `SourceIndex.byRawTable`.
   */
  table: z.string().check(
    z.maxLength(600),
    z.regex(TABLE_RE, {
      message: "is not an upper-case Snowflake table name (TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE)",
    }),
  ),
  /** Rows loaded (informational). */
  rows: z.number().check(z.int(), z.gte(0)),
  /** When the load finished (ISO 8601 with offset). */
  loaded_at: z.string().check(z.iso.datetime({ offset: true })),
  /** The task run (graph run group id); with `table`, the delivery's idempotency key. */
  task_run_id: z
    .string()
    .check(z.regex(/^[A-Za-z0-9_.:-]{1,100}$/, { message: "must be 1-100 letters, digits or _ . : -" })),
});
/** A parsed load notification. */
export type SnowflakeLoadNotification = z.infer<typeof SnowflakeLoadNotificationSchema>;

/** Snowflake's task error notification. Unknown keys are kept. */
export const SnowflakeTaskFailedSchema = z.looseObject({
  version: z.optional(z.string()),
  messageId: z.string().check(z.minLength(1), z.maxLength(200)),
  messageType: z.literal(USER_TASK_FAILED),
  timestamp: z.string().check(z.minLength(1)),
  accountName: z.optional(z.string()),
  taskName: z.string().check(z.minLength(1)),
  taskId: z.optional(z.string()),
  rootTaskName: z.optional(z.string()),
  rootTaskId: z.optional(z.string()),
  messages: z._default(
    z.array(
      z.looseObject({
        runId: z.optional(z.string()),
        scheduledTime: z.optional(z.string()),
        queryStartTime: z.optional(z.string()),
        completedTime: z.optional(z.string()),
        queryId: z.optional(z.string()),
        errorCode: z.optional(z.string()),
        errorMessage: z.optional(z.string()),
      }),
    ),
    [],
  ),
});
/** A parsed task error notification. */
export type SnowflakeTaskFailed = z.infer<typeof SnowflakeTaskFailedSchema>;

/** What an SNS message from Snowflake turned out to be. */
export type SnowflakeNotification =
  | { readonly kind: "load"; readonly value: SnowflakeLoadNotification }
  | { readonly kind: "task_failed"; readonly value: SnowflakeTaskFailed }
  | { readonly kind: "invalid"; readonly reason: string };

/** Parses an SNS `Message` (a JSON string) from Snowflake. Never throws. */
export function parseSnowflakeNotification(message: string): SnowflakeNotification {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { kind: "invalid", reason: "message is not JSON" };
  }
  // Snowflake's documentation shows the payload as a JSON string to parse; accept it encoded twice too.
  if (typeof json === "string") {
    try {
      json = JSON.parse(json);
    } catch {
      return { kind: "invalid", reason: "message is a JSON string that is not JSON" };
    }
  }
  if (json === null || typeof json !== "object" || Array.isArray(json))
    return { kind: "invalid", reason: "message is not a JSON object" };
  const record = json as Record<string, unknown>;
  if (record.kind === SNOWFLAKE_LOAD_KIND) {
    const parsed = SnowflakeLoadNotificationSchema.safeParse(json);
    return parsed.success
      ? { kind: "load", value: parsed.data }
      : { kind: "invalid", reason: `invalid load notification:\n${z.prettifyError(parsed.error)}` };
  }
  if (record.messageType === USER_TASK_FAILED) {
    const parsed = SnowflakeTaskFailedSchema.safeParse(json);
    return parsed.success
      ? { kind: "task_failed", value: parsed.data }
      : { kind: "invalid", reason: `invalid task error notification:\n${z.prettifyError(parsed.error)}` };
  }
  return {
    kind: "invalid",
    reason: `neither a load notification (kind "${SNOWFLAKE_LOAD_KIND}") nor a task error notification (messageType "${USER_TASK_FAILED}")`,
  };
}

/**
 * The Snowflake side of change detection: three stored procedures and the reconciler task, each
 * created by one re-runnable `snowflake.Execute` (`CREATE OR REPLACE`, then ownership handed to
 * the role that must own it), with a refresh `query` that shows drift.
 *
 * Why a reconciler: a stream can only be created on a table that exists, and the loaders create
 * their tables on their first sync, after the first deploy. Declaring streams in Pulumi would fail
 * that deploy (or need a second one after every new table). Instead a scheduled task re-runs
 * RECONCILE every `reconcileMinutes`; it creates the stream and the triggered task of each
 * configured table as soon as the table exists, idempotently.
 *
 * Who does what (the owner of a task runs it; the owner of an owner's-rights procedure lends it
 * exactly its own privileges):
 * - PREPARE_WATCHED_TABLES, owned by LOADER (owner's rights), in RAW: only a table's owner may
 *   enable change tracking ("Only the object owner (i.e. the role with the OWNERSHIP privilege)
 *   ... can enable change tracking", Snowflake docs, Managing streams), and the loader owns every
 *   table it creates. It enables change tracking and grants SELECT on each watched table to the
 *   PIPELINE role, nothing else.
 * - RECONCILE_CHANGE_DETECTION and RECORD_LOAD, owned by PIPELINE (caller's rights: only
 *   PIPELINE's tasks call them, so they run as PIPELINE and PIPELINE owns what they create).
 * - The reconciler task and every per-table task are owned by PIPELINE, never SYSADMIN.
 */
import { ExecuteSql, LOAD_EVENTS_TABLE, WatchedEntry, bodyLiteral, fqn, quoteIdent, sqlString } from "./sql";

/** Compute of the change-detection tasks. */
export type TaskCompute =
  | { readonly kind: "serverless"; readonly targetCompletionMinutes: number }
  | { readonly kind: "warehouse"; readonly warehouse: string };

/** Everything the procedures and the reconciler task need. */
export interface ChangeDetectionSpec {
  readonly database: string;
  readonly rawSchema: string;
  readonly monitoringSchema: string;
  /** Lower-case environment, for comments and the marker of reconciler-made objects. */
  readonly environment: string;
  /** Owner of the streams, the tasks, RECONCILE and RECORD_LOAD. */
  readonly pipelineRole: string;
  /** Owner of the RAW tables (the loaders' role), and so of PREPARE_WATCHED_TABLES. */
  readonly loaderRole: string;
  /** Outbound SNS notification integration: load notifications and task errors. */
  readonly integration: string;
  readonly compute: TaskCompute;
  /** `taskMode: scheduled`: a schedule beside WHEN; absent: triggered tasks. */
  readonly scheduleMinutes?: number;
  readonly suspendAfterFailures: number;
  readonly reconcileMinutes: number;
  readonly entries: readonly WatchedEntry[];
}

/** Procedure and task names, all fixed. */
export const PREPARE_PROCEDURE = "PREPARE_WATCHED_TABLES";
export const RECORD_PROCEDURE = "RECORD_LOAD";
export const RECONCILE_PROCEDURE = "RECONCILE_CHANGE_DETECTION";
export const RECONCILER_TASK = "RECONCILE_CHANGE_DETECTION_TASK";
/** Hard stop for one task run (10 minutes). */
export const TASK_TIMEOUT_MS = 600_000;

/** The comment prefix that marks the streams and tasks the reconciler made (and may drop again). */
export function reconcilerMarker(environment: string): string {
  return `dbt-pipeline ${environment} change detection of`;
}

/** The JSON list of watched entries embedded in the procedures. */
export function entriesJson(entries: readonly WatchedEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      entry: e.entry,
      source: e.source,
      schema: e.schema,
      table: e.table,
      qualified: e.qualified,
      ...(e.loadedAtColumn ? { loadedAt: e.loadedAtColumn } : {}),
    })),
  );
}

/**
 * The settings of every per-table task, split around the per-table COMMENT (CREATE TASK order).
 * Serverless triggered tasks need TARGET_COMPLETION_INTERVAL and no WAREHOUSE ("To create a
 * serverless task, you must include the TARGET_COMPLETION_INTERVAL parameter. Do not include the
 * WAREHOUSE parameter", Snowflake docs, Triggered tasks). @pulumi/snowflake 1.3.0's Task has no
 * such argument (it first appears in the provider's v2.x), which is one more reason the tasks are
 * made by SQL.
 */
export function taskSettings(spec: ChangeDetectionSpec): { head: string; tail: string } {
  const head = [
    spec.compute.kind === "warehouse" ? `WAREHOUSE = ${quoteIdent(spec.compute.warehouse)}` : undefined,
    spec.scheduleMinutes !== undefined ? `SCHEDULE = '${int(spec.scheduleMinutes)} MINUTE'` : undefined,
    "ALLOW_OVERLAPPING_EXECUTION = FALSE",
    `USER_TASK_TIMEOUT_MS = ${TASK_TIMEOUT_MS}`,
    `SUSPEND_TASK_AFTER_NUM_FAILURES = ${int(spec.suspendAfterFailures)}`,
    `ERROR_INTEGRATION = ${quoteIdent(spec.integration)}`,
  ]
    .filter((x) => x !== undefined)
    .join(" ");
  const serverlessTriggered = spec.compute.kind === "serverless" && spec.scheduleMinutes === undefined;
  const tail = serverlessTriggered
    ? `TARGET_COMPLETION_INTERVAL = '${int(spec.compute.targetCompletionMinutes)} MINUTES'`
    : "";
  return { head, tail };
}

function int(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got ${n}`);
  return n;
}

/** CREATE OR REPLACE a procedure, grant USAGE, hand ownership over: one re-runnable block. */
export function procedureSql(
  spec: ChangeDetectionSpec,
  schema: string,
  name: string,
  signature: string,
  header: string,
  body: string,
  owner: string,
  callers: readonly string[],
): ExecuteSql {
  const proc = `${fqn(spec.database, schema, name)}(${signature})`;
  const grants = callers.map((r) => `  GRANT USAGE ON PROCEDURE ${proc} TO ROLE ${quoteIdent(r)};`);
  return {
    execute: [
      "EXECUTE IMMEDIATE $$",
      "BEGIN",
      `  ${header} AS ${bodyLiteral(body)};`,
      ...grants,
      // COPY keeps the USAGE grant above; the new owner's privileges are what the procedure runs with.
      `  GRANT OWNERSHIP ON PROCEDURE ${proc} TO ROLE ${quoteIdent(owner)} COPY CURRENT GRANTS;`,
      "END;",
      "$$",
    ].join("\n"),
    revert: `DROP PROCEDURE IF EXISTS ${proc}`,
    query: `SELECT PROCEDURE_NAME AS "name", PROCEDURE_OWNER AS "owner" FROM ${quoteIdent(spec.database)}.INFORMATION_SCHEMA.PROCEDURES WHERE PROCEDURE_SCHEMA = ${sqlString(schema)} AND PROCEDURE_NAME = ${sqlString(name)}`,
  };
}

/** PREPARE_WATCHED_TABLES: owned by the loader role; returns the watched tables that exist. */
export function prepareProcedure(spec: ChangeDetectionSpec): ExecuteSql {
  const db = quoteIdent(spec.database);
  const body = [
    "DECLARE",
    "  prepared ARRAY DEFAULT ARRAY_CONSTRUCT();",
    "  fq VARCHAR;",
    "  c CURSOR FOR",
    "    SELECT w.value:entry::VARCHAR AS w_entry, w.value:source::VARCHAR AS w_source, w.value:qualified::BOOLEAN AS w_qualified,",
    "      w.value:loadedAt::VARCHAR AS w_loaded_at, t.TABLE_SCHEMA AS t_schema, t.TABLE_NAME AS t_table",
    `    FROM TABLE(FLATTEN(INPUT => PARSE_JSON(${sqlString(entriesJson(spec.entries))}))) w`,
    `    JOIN ${db}.INFORMATION_SCHEMA.TABLES t`,
    "      ON t.TABLE_SCHEMA = w.value:schema::VARCHAR AND (w.value:table::VARCHAR = '*' OR t.TABLE_NAME = w.value:table::VARCHAR)",
    "    WHERE t.TABLE_TYPE = 'BASE TABLE';",
    "BEGIN",
    "  FOR r IN c DO",
    `    fq := '${db}."' || REPLACE(r.t_schema, '"', '""') || '"."' || REPLACE(r.t_table, '"', '""') || '"';`,
    "    BEGIN",
    // Idempotent: a table that already tracks changes stays as it is.
    "      EXECUTE IMMEDIATE 'ALTER TABLE ' || fq || ' SET CHANGE_TRACKING = TRUE';",
    `      EXECUTE IMMEDIATE 'GRANT SELECT ON TABLE ' || fq || ' TO ROLE ${quoteIdent(spec.pipelineRole)}';`,
    "      prepared := ARRAY_APPEND(prepared, OBJECT_CONSTRUCT('entry', r.w_entry, 'source', r.w_source, 'qualified', r.w_qualified, 'loadedAt', r.w_loaded_at, 'schema', r.t_schema, 'table', r.t_table));",
    "    EXCEPTION",
    "      WHEN OTHER THEN",
    "        prepared := ARRAY_APPEND(prepared, OBJECT_CONSTRUCT('entry', r.w_entry, 'source', r.w_source, 'qualified', r.w_qualified, 'schema', r.t_schema, 'table', r.t_table, 'error', SQLERRM));",
    "    END;",
    "  END FOR;",
    "  RETURN prepared;",
    "END;",
  ].join("\n");
  const header = `CREATE OR REPLACE PROCEDURE ${fqn(spec.database, spec.rawSchema, PREPARE_PROCEDURE)}() RETURNS ARRAY LANGUAGE SQL COMMENT = ${sqlString(`dbt-pipeline ${spec.environment}: enables change tracking on watched RAW tables and lets ${spec.pipelineRole} read them. Managed by Pulumi.`)} EXECUTE AS OWNER`;
  return procedureSql(spec, spec.rawSchema, PREPARE_PROCEDURE, "", header, body, spec.loaderRole, [spec.pipelineRole]);
}

/**
 * RECORD_LOAD, the body of every per-table task. At least once: the stream is consumed by the
 * INSERT inside an explicit transaction, the notification is sent before the COMMIT that advances
 * the stream's offset (the offset moves only when the consuming transaction commits, Snowflake
 * docs, Introduction to streams), and any failure — the send included — rolls the consumption back
 * and fails the run, so the same rows are seen again by the next run and the task error reaches
 * SNS through ERROR_INTEGRATION. A send that succeeded before a failed COMMIT is sent again by the
 * retry with another run id: a duplicate run request, never a lost one.
 * SYSTEM$SEND_SNOWFLAKE_NOTIFICATION hands the message to Snowflake's notification service, which
 * cannot roll it back; delivery failures after the call returns are outside the task's view and
 * are covered by the hourly run.
 */
export function recordLoadProcedure(spec: ChangeDetectionSpec): ExecuteSql {
  const loadEvents = fqn(spec.database, spec.monitoringSchema, LOAD_EVENTS_TABLE);
  const streamPrefix = `${quoteIdent(spec.database)}.${quoteIdent(spec.monitoringSchema)}.`;
  const body = [
    "DECLARE",
    "  run_id VARCHAR;",
    "  payload VARCHAR;",
    "  event_count INTEGER DEFAULT 0;",
    "  loaded_at VARCHAR;",
    "  bad_argument EXCEPTION (-20002, 'RECORD_LOAD: stream and column names must be UPPER_SNAKE');",
    "BEGIN",
    "  IF (NOT REGEXP_LIKE(STREAM_NAME, '[A-Z0-9_]{1,255}') OR (LOADED_AT_COLUMN IS NOT NULL AND NOT REGEXP_LIKE(LOADED_AT_COLUMN, '[A-Z_][A-Z0-9_]{0,254}'))) THEN",
    "    RAISE bad_argument;",
    "  END IF;",
    "  loaded_at := IFF(LOADED_AT_COLUMN IS NULL, 'CURRENT_TIMESTAMP()', '\"' || LOADED_AT_COLUMN || '\"::TIMESTAMP_TZ');",
    "  SELECT SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_GRAPH_RUN_GROUP_ID') INTO :run_id;",
    "  BEGIN TRANSACTION;",
    `  EXECUTE IMMEDIATE 'INSERT INTO ${loadEvents} (SOURCE, TABLE_NAME, ROW_COUNT, FIRST_LOADED_AT, LAST_LOADED_AT, TASK_RUN_ID, RECORDED_AT)'`,
    "    || ' SELECT ?, ?, COUNT(*), MIN(' || loaded_at || '), MAX(' || loaded_at || '), ?, CURRENT_TIMESTAMP()'",
    `    || ' FROM ${streamPrefix}"' || STREAM_NAME || '" HAVING COUNT(*) > 0' USING (SOURCE_NAME, TABLE_LABEL, run_id);`,
    "  SELECT COUNT(*), ANY_VALUE(TO_JSON(OBJECT_CONSTRUCT(",
    "      'kind', 'snowflake_load', 'source', SOURCE, 'table', TABLE_NAME, 'rows', ROW_COUNT,",
    `      'loaded_at', TO_VARCHAR(COALESCE(LAST_LOADED_AT, RECORDED_AT), 'YYYY-MM-DD"T"HH24:MI:SS.FF3TZH:TZM'),`,
    "      'task_run_id', TASK_RUN_ID)))",
    "    INTO :event_count, :payload",
    `    FROM ${loadEvents}`,
    "    WHERE TASK_RUN_ID = :run_id AND TABLE_NAME = :TABLE_LABEL;",
    "  IF (event_count > 0) THEN",
    `    CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(SNOWFLAKE.NOTIFICATION.APPLICATION_JSON(:payload), SNOWFLAKE.NOTIFICATION.INTEGRATION(${sqlString(spec.integration)}));`,
    "  END IF;",
    "  COMMIT;",
    "  RETURN event_count;",
    "EXCEPTION",
    "  WHEN OTHER THEN",
    "    ROLLBACK;",
    "    RAISE;",
    "END;",
  ].join("\n");
  const signature = "VARCHAR, VARCHAR, VARCHAR, VARCHAR";
  const header = `CREATE OR REPLACE PROCEDURE ${fqn(spec.database, spec.monitoringSchema, RECORD_PROCEDURE)}(SOURCE_NAME VARCHAR, TABLE_LABEL VARCHAR, STREAM_NAME VARCHAR, LOADED_AT_COLUMN VARCHAR) RETURNS NUMBER LANGUAGE SQL COMMENT = ${sqlString(`dbt-pipeline ${spec.environment}: records a load from a stream and notifies dispatch. Managed by Pulumi.`)} EXECUTE AS CALLER`;
  return procedureSql(spec, spec.monitoringSchema, RECORD_PROCEDURE, signature, header, body, spec.pipelineRole, []);
}

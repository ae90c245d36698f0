/**
 * Every SQL statement of the change-detection side, built by small pure functions. Identifiers
 * are validated as UPPER_SNAKE before they are quoted, string literals are escaped, and nothing
 * from config reaches SQL any other way. Each function is tested on its own as text.
 */

/** An UPPER_SNAKE identifier (a leading underscore allowed, as in _FIVETRAN_SYNCED); anything else is refused before it can reach SQL. */
const IDENT = /^[A-Z_][A-Z0-9_]{0,199}$/;

/** A SQL-breaking identifier in config or code. */
export class SqlIdentifierError extends Error {
  constructor(value: string) {
    super(`${JSON.stringify(value)} is not an UPPER_SNAKE Snowflake identifier; refusing to put it into SQL`);
    this.name = "SqlIdentifierError";
  }
}

/** `"NAME"` after checking `NAME` is an UPPER_SNAKE identifier. */
export function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new SqlIdentifierError(name);
  return `"${name}"`;
}

/** `"DB"."SCHEMA"."NAME"`. */
export function fqn(...parts: string[]): string {
  return parts.map(quoteIdent).join(".");
}

/** A single-quoted SQL string literal (quotes doubled, backslashes escaped, control characters refused). */
export function sqlString(value: string): string {
  if (/[\u0000-\u001f]/.test(value)) throw new Error(`refusing a control character in SQL string ${JSON.stringify(value)}`);
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** Names of the objects one RAW table gets, all in the MONITORING schema. */
export function objectNames(table: string): { stream: string; task: string } {
  quoteIdent(table);
  return { stream: `RAW_${table}_STREAM`, task: `RAW_${table}_LOAD_TASK` };
}

/** The table that records every load the tasks see. */
export const LOAD_EVENTS_TABLE = "LOAD_EVENTS";
/** The table dbt's on-run-end hook writes one row per run into (docs/monitoring.md). */
export const DBT_RUNS_TABLE = "DBT_RUNS";
/** The view joining loads with the dbt runs that transformed them. */
export const PIPELINE_STATUS_VIEW = "PIPELINE_STATUS";

/** Columns of LOAD_EVENTS, typed as Snowflake reports them (no diff after create). */
export const LOAD_EVENTS_COLUMNS = [
  { name: "SOURCE", type: "VARCHAR(16777216)", nullable: false },
  { name: "TABLE_NAME", type: "VARCHAR(16777216)", nullable: false },
  { name: "ROW_COUNT", type: "NUMBER(38,0)", nullable: false },
  { name: "FIRST_LOADED_AT", type: "TIMESTAMP_TZ(9)", nullable: true },
  { name: "LAST_LOADED_AT", type: "TIMESTAMP_TZ(9)", nullable: true },
  { name: "TASK_RUN_ID", type: "VARCHAR(16777216)", nullable: false },
  { name: "RECORDED_AT", type: "TIMESTAMP_TZ(9)", nullable: false },
] as const;

/** Columns of DBT_RUNS. */
export const DBT_RUNS_COLUMNS = [
  { name: "RUN_ID", type: "VARCHAR(16777216)", nullable: false },
  { name: "STATUS", type: "VARCHAR(16777216)", nullable: false },
  { name: "COMMAND", type: "VARCHAR(16777216)", nullable: true },
  { name: "SOURCES", type: "ARRAY", nullable: true },
  { name: "STARTED_AT", type: "TIMESTAMP_TZ(9)", nullable: true },
  { name: "ENDED_AT", type: "TIMESTAMP_TZ(9)", nullable: false },
] as const;

/** `ALTER TABLE … SET CHANGE_TRACKING = TRUE` for a RAW table (streams need it; the owner role runs it). */
export function enableChangeTracking(database: string, rawSchema: string, table: string): string {
  return `ALTER TABLE IF EXISTS ${fqn(database, rawSchema, table)} SET CHANGE_TRACKING = TRUE`;
}

/** The task condition: run only when the stream has rows. Takes the unquoted FQN, as Snowflake expects. */
export function streamHasData(database: string, schema: string, stream: string): string {
  [database, schema, stream].forEach(quoteIdent);
  return `SYSTEM$STREAM_HAS_DATA(${sqlString(`${database}.${schema}.${stream}`)})`;
}

/** Everything the task body needs to know. */
export interface LoadTaskSpec {
  readonly database: string;
  readonly monitoringSchema: string;
  readonly source: string;
  readonly table: string;
  /** Column holding the load time in the RAW table; absent: the time the task consumed the rows. */
  readonly loadedAtColumn?: string;
  /** Name of the outbound SNS notification integration. */
  readonly integration: string;
}

/**
 * The body of one RAW table's task. In one transaction it consumes the stream into LOAD_EVENTS
 * (the INSERT is DML on the stream, so its offset advances and the task does not fire again for
 * the same rows); after the commit it sends the JSON load notification that the dispatch Lambda
 * parses with `functions/lib/snowflake-notification.ts`. An empty stream records and sends
 * nothing. The run group id makes retries of one run share a dedupe key.
 */
export function loadTaskBody(spec: LoadTaskSpec): string {
  const { stream } = objectNames(spec.table);
  const loadEvents = fqn(spec.database, spec.monitoringSchema, LOAD_EVENTS_TABLE);
  const streamFqn = fqn(spec.database, spec.monitoringSchema, stream);
  const loadedAt = spec.loadedAtColumn ? `${quoteIdent(spec.loadedAtColumn)}::TIMESTAMP_TZ` : "CURRENT_TIMESTAMP()";
  const source = sqlString(spec.source);
  const table = sqlString(spec.table);
  return [
    "EXECUTE IMMEDIATE $$",
    "DECLARE",
    "  run_id VARCHAR;",
    "  event_count INTEGER DEFAULT 0;",
    "  payload VARCHAR;",
    "BEGIN",
    "  SELECT SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_GRAPH_RUN_GROUP_ID') INTO :run_id;",
    "  BEGIN TRANSACTION;",
    `  INSERT INTO ${loadEvents} (SOURCE, TABLE_NAME, ROW_COUNT, FIRST_LOADED_AT, LAST_LOADED_AT, TASK_RUN_ID, RECORDED_AT)`,
    `    SELECT ${source}, ${table}, COUNT(*), MIN(${loadedAt}), MAX(${loadedAt}), :run_id, CURRENT_TIMESTAMP()`,
    `    FROM ${streamFqn}`,
    "    HAVING COUNT(*) > 0;",
    "  COMMIT;",
    "  SELECT COUNT(*), ANY_VALUE(TO_JSON(OBJECT_CONSTRUCT(",
    "      'kind', 'snowflake_load', 'source', SOURCE, 'table', TABLE_NAME, 'rows', ROW_COUNT,",
    `      'loaded_at', TO_VARCHAR(COALESCE(LAST_LOADED_AT, RECORDED_AT), 'YYYY-MM-DD"T"HH24:MI:SS.FF3TZH:TZM'),`,
    "      'task_run_id', TASK_RUN_ID)))",
    "    INTO :event_count, :payload",
    `    FROM ${loadEvents}`,
    `    WHERE TASK_RUN_ID = :run_id AND TABLE_NAME = ${table};`,
    "  IF (event_count > 0) THEN",
    `    CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(SNOWFLAKE.NOTIFICATION.APPLICATION_JSON(:payload), SNOWFLAKE.NOTIFICATION.INTEGRATION(${sqlString(spec.integration)}));`,
    "  END IF;",
    "END;",
    "$$",
  ].join("\n");
}

/**
 * PIPELINE_STATUS: each load with the first dbt run that started after it was recorded and
 * served its source, and the load-to-transform latency in seconds (NULL while none has).
 */
export function pipelineStatusSelect(database: string, monitoringSchema: string): string {
  const loads = fqn(database, monitoringSchema, LOAD_EVENTS_TABLE);
  const runs = fqn(database, monitoringSchema, DBT_RUNS_TABLE);
  return [
    "SELECT l.SOURCE, l.TABLE_NAME, l.ROW_COUNT, l.LAST_LOADED_AT, l.RECORDED_AT, l.TASK_RUN_ID,",
    "  r.RUN_ID, r.STATUS AS RUN_STATUS, r.STARTED_AT AS RUN_STARTED_AT, r.ENDED_AT AS RUN_ENDED_AT,",
    "  DATEDIFF('second', COALESCE(l.LAST_LOADED_AT, l.RECORDED_AT), r.ENDED_AT) AS LOAD_TO_TRANSFORM_SECONDS",
    `FROM ${loads} l`,
    `LEFT JOIN ${runs} r`,
    "  ON r.STARTED_AT >= l.RECORDED_AT AND ARRAY_CONTAINS(l.SOURCE::VARIANT, r.SOURCES)",
    "QUALIFY ROW_NUMBER() OVER (PARTITION BY l.SOURCE, l.TABLE_NAME, l.TASK_RUN_ID ORDER BY r.STARTED_AT NULLS LAST) = 1",
  ].join("\n");
}

/** `CREATE OR REPLACE VIEW` for PIPELINE_STATUS and its revert. */
export function pipelineStatusView(database: string, monitoringSchema: string): { execute: string; revert: string } {
  const view = fqn(database, monitoringSchema, PIPELINE_STATUS_VIEW);
  return {
    execute: `CREATE OR REPLACE VIEW ${view} COMMENT = ${sqlString("Loads joined with the dbt runs that transformed them. Managed by Pulumi.")} AS\n${pipelineStatusSelect(database, monitoringSchema)}`,
    revert: `DROP VIEW IF EXISTS ${view}`,
  };
}

/**
 * Identifiers, literals, names and the Pulumi-managed tables and view of change detection, built
 * by small pure functions. Identifiers are validated as UPPER_SNAKE before they are quoted,
 * string literals are escaped, and nothing from config reaches SQL any other way. The procedures
 * that run inside Snowflake are in procedures.ts.
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

/** Whether `text` holds a control character (U+0000 to U+001F), other than a newline when `newlineAllowed`. */
function hasControlCharacter(text: string, newlineAllowed = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && !(newlineAllowed && code === 0x0a)) return true;
  }
  return false;
}

/** A single-quoted SQL string literal (quotes doubled, backslashes escaped, control characters refused). */
export function sqlString(value: string): string {
  if (hasControlCharacter(value))
    throw new Error(`refusing a control character in SQL string ${JSON.stringify(value)}`);
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * A multi-line body (a stored procedure's Snowflake Scripting) as a single-quoted literal, for
 * `CREATE PROCEDURE … AS '<body>'`. A `$$` body cannot be used: the statement itself runs inside
 * the `EXECUTE IMMEDIATE $$ … $$` block of a `snowflake.Execute`, and `$$` blocks do not nest.
 */
export function bodyLiteral(body: string): string {
  if (body.includes("$$")) throw new Error("a procedure body must not contain $$");
  if (hasControlCharacter(body, true))
    throw new Error("refusing a control character other than a newline in a procedure body");
  return `'${body.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The table that records every load the tasks see. */
export const LOAD_EVENTS_TABLE = "LOAD_EVENTS";
/** The table dbt's on-run-end hook writes one row per run into (docs/monitoring.md). */
export const DBT_RUNS_TABLE = "DBT_RUNS";
/** The view joining loads with the dbt runs that transformed them. */
export const PIPELINE_STATUS_VIEW = "PIPELINE_STATUS";
/** The table the reconciler rewrites on every run: one row per watched table or pending entry. */
export const STATE_TABLE = "CHANGE_DETECTION_STATE";

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

/**
 * Columns of CHANGE_DETECTION_STATE. STATUS is `watching`, `created` (this run), `pending` (the
 * entry matches no table yet), `suspended` (the task needs a person), `stale` (the stream was
 * stale and has been recreated) or `error` (DETAIL says why).
 */
export const STATE_COLUMNS = [
  { name: "ENTRY", type: "VARCHAR(16777216)", nullable: false },
  { name: "SOURCE", type: "VARCHAR(16777216)", nullable: false },
  { name: "TABLE_NAME", type: "VARCHAR(16777216)", nullable: true },
  { name: "STREAM_NAME", type: "VARCHAR(16777216)", nullable: true },
  { name: "TASK_NAME", type: "VARCHAR(16777216)", nullable: true },
  { name: "STATUS", type: "VARCHAR(16777216)", nullable: false },
  { name: "DETAIL", type: "VARCHAR(16777216)", nullable: true },
  { name: "CHECKED_AT", type: "TIMESTAMP_TZ(9)", nullable: false },
] as const;

/** One watched-table entry of config, resolved to a schema. */
export interface WatchedEntry {
  /** The entry as config lists it: `TABLE`, `SCHEMA.TABLE` or `SCHEMA.*`. */
  readonly entry: string;
  readonly source: string;
  readonly schema: string;
  /** A table name, or `*` for every table of the schema. */
  readonly table: string;
  /** Whether notifications name the table `SCHEMA.TABLE` (qualified entries) or `TABLE` (the simple form). */
  readonly qualified: boolean;
  readonly loadedAtColumn?: string;
}

/** The watched entries of every source; a simple `TABLE` lives in `rawSchema`. Throws on a name that is not UPPER_SNAKE. */
export function watchedEntries(
  sources: readonly { name: string; rawTables: readonly string[]; loadedAtColumn?: string }[],
  rawSchema: string,
): WatchedEntry[] {
  return sources.flatMap((s) =>
    s.rawTables.map((entry): WatchedEntry => {
      const qualified = entry.includes(".");
      const [schema, table] = qualified ? entry.split(".") : [rawSchema, entry];
      quoteIdent(schema);
      if (table !== "*") quoteIdent(table);
      if (s.loadedAtColumn) quoteIdent(s.loadedAtColumn);
      return {
        entry,
        source: s.name,
        schema,
        table,
        qualified,
        ...(s.loadedAtColumn ? { loadedAtColumn: s.loadedAtColumn } : {}),
      };
    }),
  );
}

/** Names of the stream and the task one RAW table gets, in MONITORING: `<SCHEMA>_<TABLE>_STREAM`, `<SCHEMA>_<TABLE>_LOAD_TASK`. */
export function objectNames(schema: string, table: string): { stream: string; task: string } {
  quoteIdent(schema);
  quoteIdent(table);
  return { stream: `${schema}_${table}_STREAM`, task: `${schema}_${table}_LOAD_TASK` };
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

/** A statement an `snowflake.Execute` runs, its revert, and the refresh query that shows drift. */
export interface ExecuteSql {
  readonly execute: string;
  readonly revert: string;
  readonly query: string;
}

/**
 * `CREATE OR REPLACE VIEW` for PIPELINE_STATUS (re-runnable), its revert, and a query that returns
 * one row while the view exists with this exact text. COPY GRANTS keeps REPORTER's SELECT across a
 * replacement (CREATE VIEW docs).
 */
export function pipelineStatusView(database: string, monitoringSchema: string): ExecuteSql {
  const view = fqn(database, monitoringSchema, PIPELINE_STATUS_VIEW);
  const select = pipelineStatusSelect(database, monitoringSchema);
  return {
    execute: `CREATE OR REPLACE VIEW ${view} COPY GRANTS COMMENT = ${sqlString("Loads joined with the dbt runs that transformed them. Managed by Pulumi.")} AS\n${select}`,
    revert: `DROP VIEW IF EXISTS ${view}`,
    query: viewDriftQuery(database, monitoringSchema, PIPELINE_STATUS_VIEW),
  };
}

/** One row per view named `view`, with its owner: no row means the view was dropped outside Pulumi. */
function viewDriftQuery(database: string, schema: string, view: string): string {
  quoteIdent(schema);
  quoteIdent(view);
  return `SELECT TABLE_NAME AS "name", TABLE_OWNER AS "owner" FROM ${quoteIdent(database)}.INFORMATION_SCHEMA.VIEWS WHERE TABLE_SCHEMA = ${sqlString(schema)} AND TABLE_NAME = ${sqlString(view)}`;
}

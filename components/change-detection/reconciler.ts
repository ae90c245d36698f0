/**
 * RECONCILE_CHANGE_DETECTION and the scheduled task that runs it: the part of change detection
 * that makes "streams appear once the loader has created the tables" true without a deploy.
 *
 * Each run, as PIPELINE:
 * 1. asks PREPARE_WATCHED_TABLES (the loader's procedure) which watched tables exist; it has
 *    enabled change tracking on them and granted SELECT to PIPELINE;
 * 2. per table: creates the stream if it is missing, recreates it when stale (and says so),
 *    creates or replaces the triggered task when missing or when its settings changed (the
 *    settings' hash is in the task's comment) and resumes it; a task that exists but is
 *    suspended is left alone and reported: Snowflake suspends it after
 *    SUSPEND_TASK_AFTER_NUM_FAILURES failures and a person should look first;
 * 3. drops the streams and tasks it made for tables no longer watched or no longer there;
 * 4. rewrites CHANGE_DETECTION_STATE (watching / created / pending / suspended / stale / error);
 * 5. fails with a fixed message when a problem appeared that the previous run had not reported,
 *    so ERROR_INTEGRATION publishes a USER_TASK_FAILED message to SNS and dispatch raises an
 *    alert, without waiting for a deploy. The task never suspends itself
 *    (SUSPEND_TASK_AFTER_NUM_FAILURES = 0).
 */
import {
  ChangeDetectionSpec,
  PREPARE_PROCEDURE,
  RECONCILER_TASK,
  RECONCILE_PROCEDURE,
  RECORD_PROCEDURE,
  TASK_TIMEOUT_MS,
  entriesJson,
  procedureSql,
  reconcilerMarker,
  taskSettings,
} from "./procedures";
import { ExecuteSql, STATE_TABLE, fqn, quoteIdent, sqlString } from "./sql";

/** `'…'` around a Snowflake Scripting string expression, quotes doubled: DDL text built inside the procedure. */
const quoted = (expr: string) => `'''' || REPLACE(${expr}, '''', '''''') || ''''`;

/** The fixed message of the reconciler's failure; the state table says what needs a person. */
export function attentionMessage(spec: ChangeDetectionSpec): string {
  return `change detection needs attention: see ${spec.database}.${spec.monitoringSchema}.${STATE_TABLE} where STATUS is suspended, stale or error`;
}

/** RECONCILE_CHANGE_DETECTION, owned by PIPELINE. */
export function reconcileProcedure(spec: ChangeDetectionSpec): ExecuteSql {
  const body = [...snapshotSql(spec), ...perTableSql(spec), ...finishSql(spec)].join("\n");
  const header = `CREATE OR REPLACE PROCEDURE ${fqn(spec.database, spec.monitoringSchema, RECONCILE_PROCEDURE)}() RETURNS ARRAY LANGUAGE SQL COMMENT = ${sqlString(`dbt-pipeline ${spec.environment}: creates the streams and tasks of watched RAW tables once they exist. Managed by Pulumi.`)} EXECUTE AS CALLER`;
  return procedureSql(spec, spec.monitoringSchema, RECONCILE_PROCEDURE, "", header, body, spec.pipelineRole, []);
}

/** Declarations, then what exists now: the prepared tables, the tasks and streams of MONITORING, the problems already reported. */
function snapshotSql(spec: ChangeDetectionSpec): string[] {
  const mon = `${quoteIdent(spec.database)}.${quoteIdent(spec.monitoringSchema)}`;
  const state = fqn(spec.database, spec.monitoringSchema, STATE_TABLE);
  const { head, tail } = taskSettings(spec);
  return [
    "DECLARE",
    "  prepared ARRAY;",
    "  task_states OBJECT;",
    "  stream_states OBJECT;",
    "  previous_problems ARRAY;",
    "  matched ARRAY DEFAULT ARRAY_CONSTRUCT();",
    "  expected_streams ARRAY DEFAULT ARRAY_CONSTRUCT();",
    "  expected_tasks ARRAY DEFAULT ARRAY_CONSTRUCT();",
    "  results ARRAY DEFAULT ARRAY_CONSTRUCT();",
    "  new_problem BOOLEAN DEFAULT FALSE;",
    "  t_label VARCHAR;",
    "  stream_name VARCHAR;",
    "  task_name VARCHAR;",
    "  t_status VARCHAR;",
    "  t_detail VARCHAR;",
    "  t_hash VARCHAR;",
    "  t_note VARCHAR;",
    `  settings VARCHAR DEFAULT ${sqlString(`${head}|${tail}`)};`,
    `  needs_attention EXCEPTION (-20001, ${sqlString(attentionMessage(spec))});`,
    "BEGIN",
    `  CALL ${fqn(spec.database, spec.rawSchema, PREPARE_PROCEDURE)}();`,
    "  SELECT $1::ARRAY INTO :prepared FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()));",
    `  SHOW TASKS IN SCHEMA ${mon};`,
    '  SELECT COALESCE(OBJECT_AGG("name", OBJECT_CONSTRUCT(\'state\', "state", \'comment\', "comment")::VARIANT), OBJECT_CONSTRUCT()) INTO :task_states FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()));',
    `  SHOW STREAMS IN SCHEMA ${mon};`,
    '  SELECT COALESCE(OBJECT_AGG("name", OBJECT_CONSTRUCT(\'stale\', "stale", \'comment\', "comment")::VARIANT), OBJECT_CONSTRUCT()) INTO :stream_states FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()));',
    `  SELECT COALESCE(ARRAY_AGG(ENTRY || '|' || COALESCE(TABLE_NAME, '') || '|' || STATUS), ARRAY_CONSTRUCT()) INTO :previous_problems FROM ${state} WHERE STATUS IN ('suspended', 'stale', 'error');`,
  ];
}

/** Per prepared table: the stream, the task, and the table's status. */
function perTableSql(spec: ChangeDetectionSpec): string[] {
  const db = quoteIdent(spec.database);
  const mon = `${db}.${quoteIdent(spec.monitoringSchema)}`;
  const { head, tail } = taskSettings(spec);
  // head and tail land inside a string literal of the procedure: their quotes are doubled there.
  const inLiteral = (text: string) => text.replace(/'/g, "''");
  const marker = reconcilerMarker(spec.environment);
  return [
    "  LET found RESULTSET := (SELECT value:entry::VARCHAR AS w_entry, value:source::VARCHAR AS w_source, value:qualified::BOOLEAN AS w_qualified,",
    "      value:loadedAt::VARCHAR AS w_loaded_at, value:schema::VARCHAR AS w_schema, value:table::VARCHAR AS w_table, value:error::VARCHAR AS w_error",
    "    FROM TABLE(FLATTEN(INPUT => :prepared)));",
    "  LET watched CURSOR FOR found;",
    "  FOR r IN watched DO",
    "    t_label := IFF(r.w_qualified, r.w_schema || '.' || r.w_table, r.w_table);",
    "    stream_name := r.w_schema || '_' || r.w_table || '_STREAM';",
    "    task_name := r.w_schema || '_' || r.w_table || '_LOAD_TASK';",
    "    t_status := 'watching';",
    "    t_detail := NULL;",
    "    matched := ARRAY_APPEND(matched, r.w_entry);",
    "    IF (r.w_error IS NOT NULL) THEN",
    "      t_status := 'error';",
    "      t_detail := r.w_error;",
    "    ELSEIF (NOT REGEXP_LIKE(r.w_schema || '_' || r.w_table, '[A-Z][A-Z0-9_]{0,200}')) THEN",
    "      t_status := 'error';",
    "      t_detail := 'the table name is not UPPER_SNAKE, so no stream or task can be named after it';",
    "    ELSE",
    "      t_hash := LEFT(SHA2(settings || '|' || COALESCE(r.w_loaded_at, '')), 12);",
    `      t_note := ${sqlString(`${marker} `)} || t_label || ' [' || t_hash || ']';`,
    "      IF (GET(stream_states, stream_name) IS NULL OR GET(GET(stream_states, stream_name), 'stale')::VARCHAR = 'true') THEN",
    "        IF (GET(stream_states, stream_name) IS NOT NULL) THEN",
    "          t_status := 'stale';",
    "          t_detail := 'the stream was stale (its offset fell outside the retention, or the table was recreated) and has been recreated; loads in between were not notified';",
    "        END IF;",
    `        EXECUTE IMMEDIATE 'CREATE OR REPLACE STREAM ${mon}."' || stream_name || '" ON TABLE ${db}."' || r.w_schema || '"."' || r.w_table || '" APPEND_ONLY = TRUE SHOW_INITIAL_ROWS = FALSE COMMENT = ' || ${quoted("t_note")};`,
    "      END IF;",
    "      IF (GET(task_states, task_name) IS NULL OR GET(GET(task_states, task_name), 'comment')::VARCHAR <> t_note) THEN",
    `        EXECUTE IMMEDIATE 'CREATE OR REPLACE TASK ${mon}."' || task_name || '" ${inLiteral(head)} COMMENT = ' || ${quoted("t_note")}`,
    `          || ' ${tail ? `${inLiteral(tail)} ` : ""}WHEN SYSTEM$STREAM_HAS_DATA(' || ${quoted(`'${spec.database}.${spec.monitoringSchema}.' || stream_name`)} || ')'`,
    `          || ' AS CALL ${fqn(spec.database, spec.monitoringSchema, RECORD_PROCEDURE)}(' || ${quoted("r.w_source")} || ', ' || ${quoted("t_label")} || ', ' || ${quoted("stream_name")} || ', ' || IFF(r.w_loaded_at IS NULL, 'NULL', ${quoted("r.w_loaded_at")}) || ')';`,
    // A new or replaced task starts suspended (CREATE TASK docs).
    `        EXECUTE IMMEDIATE 'ALTER TASK ${mon}."' || task_name || '" RESUME';`,
    "        IF (t_status = 'watching') THEN",
    "          t_status := 'created';",
    "        END IF;",
    "      ELSEIF (GET(GET(task_states, task_name), 'state')::VARCHAR = 'suspended') THEN",
    "        t_status := 'suspended';",
    `        t_detail := 'the task is suspended (after ${spec.suspendAfterFailures} failures in a row, or by hand); fix the cause, then ALTER TASK ... RESUME';`,
    "      END IF;",
    "    END IF;",
    "    expected_streams := ARRAY_APPEND(expected_streams, stream_name);",
    "    expected_tasks := ARRAY_APPEND(expected_tasks, task_name);",
    "    results := ARRAY_APPEND(results, OBJECT_CONSTRUCT('entry', r.w_entry, 'source', r.w_source, 'table', t_label, 'stream', stream_name, 'task', task_name, 'status', t_status, 'detail', t_detail));",
    "    IF (t_status IN ('suspended', 'stale', 'error') AND NOT ARRAY_CONTAINS((r.w_entry || '|' || t_label || '|' || t_status)::VARIANT, previous_problems)) THEN",
    "      new_problem := TRUE;",
    "    END IF;",
    "  END FOR;",
  ];
}

/** Drop what is no longer watched, report pending entries, write the state, alert on a new problem. */
function finishSql(spec: ChangeDetectionSpec): string[] {
  const mon = `${quoteIdent(spec.database)}.${quoteIdent(spec.monitoringSchema)}`;
  const state = fqn(spec.database, spec.monitoringSchema, STATE_TABLE);
  const marker = reconcilerMarker(spec.environment);
  return [
    "  LET orphans RESULTSET := (",
    `    SELECT key AS o_name, 'TASK' AS o_kind FROM TABLE(FLATTEN(INPUT => :task_states)) WHERE STARTSWITH(value:comment::VARCHAR, ${sqlString(marker)}) AND NOT ARRAY_CONTAINS(key::VARIANT, :expected_tasks)`,
    "    UNION ALL",
    `    SELECT key, 'STREAM' FROM TABLE(FLATTEN(INPUT => :stream_states)) WHERE STARTSWITH(value:comment::VARCHAR, ${sqlString(marker)}) AND NOT ARRAY_CONTAINS(key::VARIANT, :expected_streams));`,
    "  LET stale_objects CURSOR FOR orphans;",
    "  FOR o IN stale_objects DO",
    `    EXECUTE IMMEDIATE 'DROP ' || o.o_kind || ' IF EXISTS ${mon}."' || o.o_name || '"';`,
    "  END FOR;",
    `  LET pending RESULTSET := (SELECT value:entry::VARCHAR AS p_entry, value:source::VARCHAR AS p_source FROM TABLE(FLATTEN(INPUT => PARSE_JSON(${sqlString(entriesJson(spec.entries))}))) WHERE NOT ARRAY_CONTAINS(value:entry, :matched));`,
    "  LET waiting CURSOR FOR pending;",
    "  FOR p IN waiting DO",
    "    results := ARRAY_APPEND(results, OBJECT_CONSTRUCT('entry', p.p_entry, 'source', p.p_source, 'status', 'pending', 'detail', 'no such table yet: its stream and task appear within one reconcile interval of the loader creating it'));",
    "  END FOR;",
    // DDL commits implicitly, so every DDL above ran before this transaction.
    "  BEGIN TRANSACTION;",
    `  DELETE FROM ${state};`,
    `  INSERT INTO ${state} (ENTRY, SOURCE, TABLE_NAME, STREAM_NAME, TASK_NAME, STATUS, DETAIL, CHECKED_AT)`,
    "    SELECT value:entry::VARCHAR, value:source::VARCHAR, value:table::VARCHAR, value:stream::VARCHAR, value:task::VARCHAR, value:status::VARCHAR, value:detail::VARCHAR, CURRENT_TIMESTAMP()",
    "    FROM TABLE(FLATTEN(INPUT => :results));",
    "  COMMIT;",
    "  IF (new_problem) THEN",
    "    RAISE needs_attention;",
    "  END IF;",
    "  RETURN results;",
    "END;",
  ];
}

/**
 * The reconciler task: created as the deploying role, handed to PIPELINE (COPY keeps nothing
 * extra: a new task has no grants), resumed, and run once at once so a deploy's streams and
 * state appear without waiting a whole interval. Its refresh query returns its owner and state.
 */
export function reconcilerTask(spec: ChangeDetectionSpec): ExecuteSql {
  const task = fqn(spec.database, spec.monitoringSchema, RECONCILER_TASK);
  const settings = [
    // Scheduled serverless tasks need no TARGET_COMPLETION_INTERVAL; Snowflake sizes them.
    spec.compute.kind === "warehouse" ? `WAREHOUSE = ${quoteIdent(spec.compute.warehouse)}` : undefined,
    `SCHEDULE = '${spec.reconcileMinutes} MINUTE'`,
    "ALLOW_OVERLAPPING_EXECUTION = FALSE",
    `USER_TASK_TIMEOUT_MS = ${TASK_TIMEOUT_MS}`,
    "SUSPEND_TASK_AFTER_NUM_FAILURES = 0",
    `ERROR_INTEGRATION = ${quoteIdent(spec.integration)}`,
    `COMMENT = ${sqlString(`dbt-pipeline ${spec.environment}: reconciles change detection every ${spec.reconcileMinutes} minutes. Managed by Pulumi.`)}`,
  ]
    .filter((x) => x !== undefined)
    .join(" ");
  return {
    execute: [
      "EXECUTE IMMEDIATE $$",
      "BEGIN",
      `  CREATE OR REPLACE TASK ${task} ${settings} AS CALL ${fqn(spec.database, spec.monitoringSchema, RECONCILE_PROCEDURE)}();`,
      `  GRANT OWNERSHIP ON TASK ${task} TO ROLE ${quoteIdent(spec.pipelineRole)} COPY CURRENT GRANTS;`,
      `  ALTER TASK ${task} RESUME;`,
      `  EXECUTE TASK ${task};`,
      "END;",
      "$$",
    ].join("\n"),
    revert: `DROP TASK IF EXISTS ${task}`,
    query: `SHOW TASKS LIKE ${sqlString(RECONCILER_TASK)} IN SCHEMA ${quoteIdent(spec.database)}.${quoteIdent(spec.monitoringSchema)}`,
  };
}

/** The refresh query of the status probe: the reconciler's last view of every watched entry. */
export function stateQuery(spec: ChangeDetectionSpec): string {
  return `SELECT ENTRY AS "entry", SOURCE AS "source", TABLE_NAME AS "table", STATUS AS "status", DETAIL AS "detail", TO_VARCHAR(CHECKED_AT) AS "checkedAt" FROM ${fqn(spec.database, spec.monitoringSchema, STATE_TABLE)} ORDER BY ENTRY, TABLE_NAME`;
}

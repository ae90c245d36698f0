import { expect } from "chai";
import {
  SqlIdentifierError, enableChangeTracking, fqn, loadTaskBody, objectNames, pipelineStatusView, quoteIdent, sqlString, streamHasData,
} from "../../components/change-detection/sql";
import { SnowflakeLoadNotificationSchema } from "../../functions/lib/snowflake-notification";

describe("change-detection SQL", () => {
  describe("identifiers and literals", () => {
    const good: [string, string][] = [["RAW", '"RAW"'], ["STRIPE_CHARGES", '"STRIPE_CHARGES"'], ["T1", '"T1"']];
    const bad = ["raw", "A-B", 'X"; DROP TABLE Y; --', "", "1ABC", "A B", "A.B"];
    for (const [name, quoted] of good) it(`quotes ${name}`, () => expect(quoteIdent(name)).to.equal(quoted));
    for (const name of bad) it(`refuses ${JSON.stringify(name)}`, () => expect(() => quoteIdent(name)).to.throw(SqlIdentifierError, "is not an UPPER_SNAKE Snowflake identifier; refusing to put it into SQL"));
    const literals: [string, string][] = [["stripe", "'stripe'"], ["o'brien", "'o''brien'"], ["a\\b", "'a\\\\b'"]];
    for (const [value, sql] of literals) it(`escapes ${JSON.stringify(value)}`, () => expect(sqlString(value)).to.equal(sql));
    it("refuses control characters in literals", () => expect(() => sqlString("a\nb")).to.throw("refusing a control character"));
    it("builds quoted fully qualified names", () => expect(fqn("DB", "RAW", "T")).to.equal('"DB"."RAW"."T"'));
  });

  it("names each table's stream and task after the table only", () => {
    expect(objectNames("WEB_EVENTS")).to.deep.equal({ stream: "RAW_WEB_EVENTS_STREAM", task: "RAW_WEB_EVENTS_LOAD_TASK" });
  });

  it("turns change tracking on", () => {
    expect(enableChangeTracking("DBT_PIPELINE_DEV", "RAW", "WEB_EVENTS")).to.equal('ALTER TABLE IF EXISTS "DBT_PIPELINE_DEV"."RAW"."WEB_EVENTS" SET CHANGE_TRACKING = TRUE');
  });

  it("conditions the task on the stream having data", () => {
    expect(streamHasData("DBT_PIPELINE_DEV", "MONITORING", "RAW_WEB_EVENTS_STREAM")).to.equal("SYSTEM$STREAM_HAS_DATA('DBT_PIPELINE_DEV.MONITORING.RAW_WEB_EVENTS_STREAM')");
  });

  it("consumes the stream into LOAD_EVENTS in one transaction, then notifies", () => {
    expect(loadTaskBody({ database: "DBT_PIPELINE_DEV", monitoringSchema: "MONITORING", source: "web_events", table: "WEB_EVENTS", integration: "DBT_PIPELINE_SNS_DEV" })).to.equal([
      "EXECUTE IMMEDIATE $$",
      "DECLARE",
      "  run_id VARCHAR;",
      "  event_count INTEGER DEFAULT 0;",
      "  payload VARCHAR;",
      "BEGIN",
      "  SELECT SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_GRAPH_RUN_GROUP_ID') INTO :run_id;",
      "  BEGIN TRANSACTION;",
      '  INSERT INTO "DBT_PIPELINE_DEV"."MONITORING"."LOAD_EVENTS" (SOURCE, TABLE_NAME, ROW_COUNT, FIRST_LOADED_AT, LAST_LOADED_AT, TASK_RUN_ID, RECORDED_AT)',
      "    SELECT 'web_events', 'WEB_EVENTS', COUNT(*), MIN(CURRENT_TIMESTAMP()), MAX(CURRENT_TIMESTAMP()), :run_id, CURRENT_TIMESTAMP()",
      '    FROM "DBT_PIPELINE_DEV"."MONITORING"."RAW_WEB_EVENTS_STREAM"',
      "    HAVING COUNT(*) > 0;",
      "  COMMIT;",
      "  SELECT COUNT(*), ANY_VALUE(TO_JSON(OBJECT_CONSTRUCT(",
      "      'kind', 'snowflake_load', 'source', SOURCE, 'table', TABLE_NAME, 'rows', ROW_COUNT,",
      "      'loaded_at', TO_VARCHAR(COALESCE(LAST_LOADED_AT, RECORDED_AT), 'YYYY-MM-DD\"T\"HH24:MI:SS.FF3TZH:TZM'),",
      "      'task_run_id', TASK_RUN_ID)))",
      "    INTO :event_count, :payload",
      '    FROM "DBT_PIPELINE_DEV"."MONITORING"."LOAD_EVENTS"',
      "    WHERE TASK_RUN_ID = :run_id AND TABLE_NAME = 'WEB_EVENTS';",
      "  IF (event_count > 0) THEN",
      "    CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(SNOWFLAKE.NOTIFICATION.APPLICATION_JSON(:payload), SNOWFLAKE.NOTIFICATION.INTEGRATION('DBT_PIPELINE_SNS_DEV'));",
      "  END IF;",
      "END;",
      "$$",
    ].join("\n"));
  });

  it("uses the source's load-time column when it has one", () => {
    const body = loadTaskBody({ database: "DB", monitoringSchema: "MONITORING", source: "stripe", table: "STRIPE_CHARGES", loadedAtColumn: "_FIVETRAN_SYNCED", integration: "INT" });
    expect(body).to.include('MIN("_FIVETRAN_SYNCED"::TIMESTAMP_TZ), MAX("_FIVETRAN_SYNCED"::TIMESTAMP_TZ)');
  });

  it("refuses a table name that could break out of SQL", () => {
    expect(() => loadTaskBody({ database: "DB", monitoringSchema: "M", source: "s", table: "T$$; DROP", integration: "I" })).to.throw(SqlIdentifierError);
  });

  it("the notification the task builds is what dispatch parses (one shared schema)", () => {
    // What OBJECT_CONSTRUCT in loadTaskBody produces for one load, with Snowflake's TO_VARCHAR format.
    const sent = { kind: "snowflake_load", source: "web_events", table: "WEB_EVENTS", rows: 42, loaded_at: "2026-11-22T10:00:00.000+00:00", task_run_id: "01b2c3d4-0000-4000-8000-000000000001" };
    expect(SnowflakeLoadNotificationSchema.parse(sent)).to.deep.include({ source: "web_events", table: "WEB_EVENTS", rows: 42 });
    for (const key of Object.keys(sent)) expect(loadTaskBody({ database: "D", monitoringSchema: "M", source: "s", table: "T", integration: "I" })).to.include(`'${key}'`);
  });

  it("joins loads with the first dbt run that served their source", () => {
    const { execute, revert } = pipelineStatusView("DBT_PIPELINE_PROD", "MONITORING");
    expect(execute).to.equal([
      'CREATE OR REPLACE VIEW "DBT_PIPELINE_PROD"."MONITORING"."PIPELINE_STATUS" COMMENT = \'Loads joined with the dbt runs that transformed them. Managed by Pulumi.\' AS',
      "SELECT l.SOURCE, l.TABLE_NAME, l.ROW_COUNT, l.LAST_LOADED_AT, l.RECORDED_AT, l.TASK_RUN_ID,",
      "  r.RUN_ID, r.STATUS AS RUN_STATUS, r.STARTED_AT AS RUN_STARTED_AT, r.ENDED_AT AS RUN_ENDED_AT,",
      "  DATEDIFF('second', COALESCE(l.LAST_LOADED_AT, l.RECORDED_AT), r.ENDED_AT) AS LOAD_TO_TRANSFORM_SECONDS",
      'FROM "DBT_PIPELINE_PROD"."MONITORING"."LOAD_EVENTS" l',
      'LEFT JOIN "DBT_PIPELINE_PROD"."MONITORING"."DBT_RUNS" r',
      "  ON r.STARTED_AT >= l.RECORDED_AT AND ARRAY_CONTAINS(l.SOURCE::VARIANT, r.SOURCES)",
      "QUALIFY ROW_NUMBER() OVER (PARTITION BY l.SOURCE, l.TABLE_NAME, l.TASK_RUN_ID ORDER BY r.STARTED_AT NULLS LAST) = 1",
    ].join("\n"));
    expect(revert).to.equal('DROP VIEW IF EXISTS "DBT_PIPELINE_PROD"."MONITORING"."PIPELINE_STATUS"');
  });
});

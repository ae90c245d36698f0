import { expect } from "chai";
import { readFileSync } from "node:fs";
import { driftProblems } from "../../components/change-detection/drift";
import {
  ChangeDetectionSpec,
  prepareProcedure,
  recordLoadProcedure,
  taskSettings,
} from "../../components/change-detection/procedures";
import { pipelinePrivileges } from "../../components/change-detection/privileges";
import {
  attentionMessage,
  reconcileProcedure,
  reconcilerTask,
  stateQuery,
} from "../../components/change-detection/reconciler";
import {
  SqlIdentifierError,
  bodyLiteral,
  fqn,
  objectNames,
  pipelineStatusView,
  quoteIdent,
  sqlString,
  watchedEntries,
} from "../../components/change-detection/sql";
import {
  SnowflakeLoadNotificationSchema,
  parseSnowflakeNotification,
} from "../../functions/lib/snowflake-notification";

const ENTRIES = [
  { entry: "WEB_EVENTS", source: "web_events", schema: "RAW", table: "WEB_EVENTS", qualified: false },
  {
    entry: "STRIPE.CHARGES",
    source: "stripe",
    schema: "STRIPE",
    table: "CHARGES",
    qualified: true,
    loadedAtColumn: "_FIVETRAN_SYNCED",
  },
  { entry: "HUBSPOT.*", source: "hubspot", schema: "HUBSPOT", table: "*", qualified: true },
];
const SPEC: ChangeDetectionSpec = {
  database: "DBT_PIPELINE_DEV",
  rawSchema: "RAW",
  monitoringSchema: "MONITORING",
  environment: "dev",
  pipelineRole: "PIPELINE_DEV",
  loaderRole: "LOADER_DEV",
  integration: "DBT_PIPELINE_SNS_DEV",
  compute: { kind: "serverless", targetCompletionMinutes: 1 },
  suspendAfterFailures: 3,
  reconcileMinutes: 10,
  entries: ENTRIES,
};
const JSON_ENTRIES =
  '[{"entry":"WEB_EVENTS","source":"web_events","schema":"RAW","table":"WEB_EVENTS","qualified":false},{"entry":"STRIPE.CHARGES","source":"stripe","schema":"STRIPE","table":"CHARGES","qualified":true,"loadedAt":"_FIVETRAN_SYNCED"},{"entry":"HUBSPOT.*","source":"hubspot","schema":"HUBSPOT","table":"*","qualified":true}]';

describe("change-detection SQL", () => {
  describe("identifiers and literals", () => {
    const good: [string, string][] = [
      ["RAW", '"RAW"'],
      ["STRIPE_CHARGES", '"STRIPE_CHARGES"'],
      ["T1", '"T1"'],
    ];
    const bad = ["raw", "A-B", 'X"; DROP TABLE Y; --', "", "1ABC", "A B", "A.B"];
    for (const [name, quoted] of good) it(`quotes ${name}`, () => expect(quoteIdent(name)).to.equal(quoted));
    for (const name of bad)
      it(`refuses ${JSON.stringify(name)}`, () =>
        expect(() => quoteIdent(name)).to.throw(
          SqlIdentifierError,
          "is not an UPPER_SNAKE Snowflake identifier; refusing to put it into SQL",
        ));
    const literals: [string, string][] = [
      ["stripe", "'stripe'"],
      ["o'brien", "'o''brien'"],
      ["a\\b", "'a\\\\b'"],
    ];
    for (const [value, sql] of literals)
      it(`escapes ${JSON.stringify(value)}`, () => expect(sqlString(value)).to.equal(sql));
    it("refuses control characters in literals", () =>
      expect(() => sqlString("a\nb")).to.throw("refusing a control character"));
    // U+0000 to U+001F are refused; a literal may hold a space or DEL, a procedure body a newline.
    for (const [text, literal, body] of [
      ["\u0000", false, false],
      ["\t", false, false],
      ["\n", false, true],
      ["\u000b", false, false],
      ["\u001f", false, false],
      [" ", true, true],
      ["\u007f", true, true],
    ] as const) {
      it(`control characters: ${JSON.stringify(text)} in a literal ${literal ? "passes" : "is refused"}, in a body ${body ? "passes" : "is refused"}`, () => {
        const asLiteral = () => sqlString(`a${text}b`);
        const asBody = () => bodyLiteral(`a${text}b`);
        if (literal) expect(asLiteral()).to.equal(`'a${text}b'`);
        else expect(asLiteral).to.throw("refusing a control character");
        if (body) expect(asBody()).to.equal(`'a${text}b'`);
        else expect(asBody).to.throw("refusing a control character");
      });
    }
    it("builds quoted fully qualified names", () => expect(fqn("DB", "RAW", "T")).to.equal('"DB"."RAW"."T"'));
    it("a procedure body keeps its lines and doubles its quotes", () =>
      expect(bodyLiteral("BEGIN\n  RETURN 'x';\nEND;")).to.equal("'BEGIN\n  RETURN ''x'';\nEND;'"));
    it("a procedure body may not contain $$ (it runs inside EXECUTE IMMEDIATE $$)", () =>
      expect(() => bodyLiteral("SELECT $$x$$")).to.throw("must not contain $$"));
  });

  describe("watched tables", () => {
    it("resolves TABLE to the RAW schema and keeps SCHEMA.TABLE and SCHEMA.* as given", () => {
      expect(
        watchedEntries(
          [
            { name: "web_events", rawTables: ["WEB_EVENTS"] },
            { name: "stripe", rawTables: ["STRIPE.CHARGES"], loadedAtColumn: "_FIVETRAN_SYNCED" },
            { name: "hubspot", rawTables: ["HUBSPOT.*"] },
          ],
          "RAW",
        ),
      ).to.deep.equal(ENTRIES);
    });
    it("names each table's stream and task after its schema and table only", () => {
      expect(objectNames("RAW", "WEB_EVENTS")).to.deep.equal({
        stream: "RAW_WEB_EVENTS_STREAM",
        task: "RAW_WEB_EVENTS_LOAD_TASK",
      });
      expect(objectNames("STRIPE", "CHARGES")).to.deep.equal({
        stream: "STRIPE_CHARGES_STREAM",
        task: "STRIPE_CHARGES_LOAD_TASK",
      });
    });
    it("refuses a name that could break out of SQL", () => {
      expect(() => watchedEntries([{ name: "s", rawTables: ["T$$; DROP"] }], "RAW")).to.throw(SqlIdentifierError);
      expect(() => watchedEntries([{ name: "s", rawTables: ["T"], loadedAtColumn: "x'" }], "RAW")).to.throw(
        SqlIdentifierError,
      );
    });
  });

  describe("task settings", () => {
    it("serverless triggered (the default): no warehouse, a target completion interval", () => {
      expect(taskSettings(SPEC)).to.deep.equal({
        head: 'ALLOW_OVERLAPPING_EXECUTION = FALSE USER_TASK_TIMEOUT_MS = 600000 SUSPEND_TASK_AFTER_NUM_FAILURES = 3 ERROR_INTEGRATION = "DBT_PIPELINE_SNS_DEV"',
        tail: "TARGET_COMPLETION_INTERVAL = '1 MINUTES'",
      });
    });
    it("serverless scheduled: a schedule beside WHEN, no target interval", () => {
      expect(taskSettings({ ...SPEC, scheduleMinutes: 5 })).to.deep.equal({
        head: "SCHEDULE = '5 MINUTE' ALLOW_OVERLAPPING_EXECUTION = FALSE USER_TASK_TIMEOUT_MS = 600000 SUSPEND_TASK_AFTER_NUM_FAILURES = 3 ERROR_INTEGRATION = \"DBT_PIPELINE_SNS_DEV\"",
        tail: "",
      });
    });
    it("warehouse-backed triggered: the loading warehouse", () => {
      expect(taskSettings({ ...SPEC, compute: { kind: "warehouse", warehouse: "LOADING_WH_DEV" } })).to.deep.equal({
        head: 'WAREHOUSE = "LOADING_WH_DEV" ALLOW_OVERLAPPING_EXECUTION = FALSE USER_TASK_TIMEOUT_MS = 600000 SUSPEND_TASK_AFTER_NUM_FAILURES = 3 ERROR_INTEGRATION = "DBT_PIPELINE_SNS_DEV"',
        tail: "",
      });
    });
  });

  describe("RECORD_LOAD: at-least-once notification", () => {
    const sql = recordLoadProcedure(SPEC);
    it("consumes the stream, sends, and only then commits; any failure rolls the consumption back", () => {
      expect(sql.execute).to.equal(
        [
          "EXECUTE IMMEDIATE $$",
          "BEGIN",
          '  CREATE OR REPLACE PROCEDURE "DBT_PIPELINE_DEV"."MONITORING"."RECORD_LOAD"(SOURCE_NAME VARCHAR, TABLE_LABEL VARCHAR, STREAM_NAME VARCHAR, LOADED_AT_COLUMN VARCHAR) RETURNS NUMBER LANGUAGE SQL COMMENT = \'dbt-pipeline dev: records a load from a stream and notifies dispatch. Managed by Pulumi.\' EXECUTE AS CALLER AS \'DECLARE',
          "  run_id VARCHAR;",
          "  payload VARCHAR;",
          "  event_count INTEGER DEFAULT 0;",
          "  loaded_at VARCHAR;",
          "  bad_argument EXCEPTION (-20002, ''RECORD_LOAD: stream and column names must be UPPER_SNAKE'');",
          "BEGIN",
          "  IF (NOT REGEXP_LIKE(STREAM_NAME, ''[A-Z0-9_]{1,255}'') OR (LOADED_AT_COLUMN IS NOT NULL AND NOT REGEXP_LIKE(LOADED_AT_COLUMN, ''[A-Z_][A-Z0-9_]{0,254}''))) THEN",
          "    RAISE bad_argument;",
          "  END IF;",
          "  loaded_at := IFF(LOADED_AT_COLUMN IS NULL, ''CURRENT_TIMESTAMP()'', ''\"'' || LOADED_AT_COLUMN || ''\"::TIMESTAMP_TZ'');",
          "  SELECT SYSTEM$TASK_RUNTIME_INFO(''CURRENT_TASK_GRAPH_RUN_GROUP_ID'') INTO :run_id;",
          "  BEGIN TRANSACTION;",
          '  EXECUTE IMMEDIATE \'\'INSERT INTO "DBT_PIPELINE_DEV"."MONITORING"."LOAD_EVENTS" (SOURCE, TABLE_NAME, ROW_COUNT, FIRST_LOADED_AT, LAST_LOADED_AT, TASK_RUN_ID, RECORDED_AT)\'\'',
          "    || '' SELECT ?, ?, COUNT(*), MIN('' || loaded_at || ''), MAX('' || loaded_at || ''), ?, CURRENT_TIMESTAMP()''",
          "    || '' FROM \"DBT_PIPELINE_DEV\".\"MONITORING\".\"'' || STREAM_NAME || ''\" HAVING COUNT(*) > 0'' USING (SOURCE_NAME, TABLE_LABEL, run_id);",
          "  SELECT COUNT(*), ANY_VALUE(TO_JSON(OBJECT_CONSTRUCT(",
          "      ''kind'', ''snowflake_load'', ''source'', SOURCE, ''table'', TABLE_NAME, ''rows'', ROW_COUNT,",
          "      ''loaded_at'', TO_VARCHAR(COALESCE(LAST_LOADED_AT, RECORDED_AT), ''YYYY-MM-DD\"T\"HH24:MI:SS.FF3TZH:TZM''),",
          "      ''task_run_id'', TASK_RUN_ID)))",
          "    INTO :event_count, :payload",
          '    FROM "DBT_PIPELINE_DEV"."MONITORING"."LOAD_EVENTS"',
          "    WHERE TASK_RUN_ID = :run_id AND TABLE_NAME = :TABLE_LABEL;",
          "  IF (event_count > 0) THEN",
          "    CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION(SNOWFLAKE.NOTIFICATION.APPLICATION_JSON(:payload), SNOWFLAKE.NOTIFICATION.INTEGRATION(''DBT_PIPELINE_SNS_DEV''));",
          "  END IF;",
          "  COMMIT;",
          "  RETURN event_count;",
          "EXCEPTION",
          "  WHEN OTHER THEN",
          "    ROLLBACK;",
          "    RAISE;",
          "END;';",
          '  GRANT OWNERSHIP ON PROCEDURE "DBT_PIPELINE_DEV"."MONITORING"."RECORD_LOAD"(VARCHAR, VARCHAR, VARCHAR, VARCHAR) TO ROLE "PIPELINE_DEV" COPY CURRENT GRANTS;',
          "END;",
          "$$",
        ].join("\n"),
      );
    });
    it("the send comes after the consuming INSERT and before the COMMIT that advances the offset", () => {
      const at = (s: string) => sql.execute.indexOf(s);
      expect(at("BEGIN TRANSACTION;")).to.be.greaterThan(0);
      expect(at("BEGIN TRANSACTION;")).to.be.lessThan(at("EXECUTE IMMEDIATE ''INSERT INTO"));
      expect(at("EXECUTE IMMEDIATE ''INSERT INTO")).to.be.lessThan(at("CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION"));
      expect(at("CALL SYSTEM$SEND_SNOWFLAKE_NOTIFICATION")).to.be.lessThan(at("  COMMIT;"));
      expect(at("  COMMIT;")).to.be.lessThan(at("    ROLLBACK;\n    RAISE;"));
    });
    it("is dropped by its full signature and checked by its owner", () => {
      expect(sql.revert).to.equal(
        'DROP PROCEDURE IF EXISTS "DBT_PIPELINE_DEV"."MONITORING"."RECORD_LOAD"(VARCHAR, VARCHAR, VARCHAR, VARCHAR)',
      );
      expect(sql.query).to.equal(
        `SELECT PROCEDURE_NAME AS "name", PROCEDURE_OWNER AS "owner" FROM "DBT_PIPELINE_DEV".INFORMATION_SCHEMA.PROCEDURES WHERE PROCEDURE_SCHEMA = 'MONITORING' AND PROCEDURE_NAME = 'RECORD_LOAD'`,
      );
    });
    it("the notification it builds is what dispatch parses (one shared schema)", () => {
      const sent = {
        kind: "snowflake_load",
        source: "stripe",
        table: "STRIPE.CHARGES",
        rows: 42,
        loaded_at: "2026-11-22T10:00:00.000+00:00",
        task_run_id: "01b2c3d4-0000-4000-8000-000000000001",
      };
      expect(SnowflakeLoadNotificationSchema.parse(sent)).to.deep.include({
        source: "stripe",
        table: "STRIPE.CHARGES",
        rows: 42,
      });
      for (const key of Object.keys(sent)) expect(sql.execute).to.include(`''${key}''`);
    });
  });

  describe("PREPARE_WATCHED_TABLES: the loader's procedure", () => {
    const sql = prepareProcedure(SPEC);
    it("runs with the loader's rights, only on the watched tables that exist", () => {
      expect(sql.execute).to.include(
        `CREATE OR REPLACE PROCEDURE "DBT_PIPELINE_DEV"."RAW"."PREPARE_WATCHED_TABLES"() RETURNS ARRAY LANGUAGE SQL COMMENT = 'dbt-pipeline dev: enables change tracking on watched RAW tables and lets PIPELINE_DEV read them. Managed by Pulumi.' EXECUTE AS OWNER AS 'DECLARE`,
      );
      expect(sql.execute).to.include(
        `FROM TABLE(FLATTEN(INPUT => PARSE_JSON('${JSON_ENTRIES.replace(/'/g, "''")}'))) w`
          .replace(/'/g, "''")
          .replace(/^FROM/, "FROM"),
      );
      expect(sql.execute).to.include(
        "    JOIN \"DBT_PIPELINE_DEV\".INFORMATION_SCHEMA.TABLES t\n      ON t.TABLE_SCHEMA = w.value:schema::VARCHAR AND (w.value:table::VARCHAR = ''*'' OR t.TABLE_NAME = w.value:table::VARCHAR)",
      );
    });
    it("enables change tracking and lets PIPELINE read each table, and nothing more", () => {
      expect(sql.execute).to.include(
        "      EXECUTE IMMEDIATE ''ALTER TABLE '' || fq || '' SET CHANGE_TRACKING = TRUE'';\n      EXECUTE IMMEDIATE ''GRANT SELECT ON TABLE '' || fq || '' TO ROLE \"PIPELINE_DEV\"'';",
      );
      expect(sql.execute.match(/EXECUTE IMMEDIATE ''/g)).to.have.length(2);
    });
    it("is owned by the loader role, which owns the tables it creates; PIPELINE may call it", () => {
      expect(sql.execute.split("\n").slice(-5)).to.deep.equal([
        "END;';",
        '  GRANT USAGE ON PROCEDURE "DBT_PIPELINE_DEV"."RAW"."PREPARE_WATCHED_TABLES"() TO ROLE "PIPELINE_DEV";',
        '  GRANT OWNERSHIP ON PROCEDURE "DBT_PIPELINE_DEV"."RAW"."PREPARE_WATCHED_TABLES"() TO ROLE "LOADER_DEV" COPY CURRENT GRANTS;',
        "END;",
        "$$",
      ]);
      expect(sql.revert).to.equal('DROP PROCEDURE IF EXISTS "DBT_PIPELINE_DEV"."RAW"."PREPARE_WATCHED_TABLES"()');
    });
  });

  describe("RECONCILE_CHANGE_DETECTION", () => {
    const sql = reconcileProcedure(SPEC).execute;
    it("creates a missing or stale stream append-only, without initial rows", () => {
      expect(sql).to.include(
        "      IF (GET(stream_states, stream_name) IS NULL OR GET(GET(stream_states, stream_name), ''stale'')::VARCHAR = ''true'') THEN",
      );
      expect(sql).to.include(
        `        EXECUTE IMMEDIATE ''CREATE OR REPLACE STREAM "DBT_PIPELINE_DEV"."MONITORING"."'' || stream_name || ''" ON TABLE "DBT_PIPELINE_DEV"."'' || r.w_schema || ''"."'' || r.w_table || ''" APPEND_ONLY = TRUE SHOW_INITIAL_ROWS = FALSE COMMENT = '' || '''''''' || REPLACE(t_note, '''''''', '''''''''''') || '''''''';`,
      );
    });
    it("creates a serverless triggered task calling RECORD_LOAD, and resumes only a task it just created", () => {
      expect(sql).to.include(
        [
          "      IF (GET(task_states, task_name) IS NULL OR GET(GET(task_states, task_name), ''comment'')::VARCHAR <> t_note) THEN",
          `        EXECUTE IMMEDIATE ''CREATE OR REPLACE TASK "DBT_PIPELINE_DEV"."MONITORING"."'' || task_name || ''" ALLOW_OVERLAPPING_EXECUTION = FALSE USER_TASK_TIMEOUT_MS = 600000 SUSPEND_TASK_AFTER_NUM_FAILURES = 3 ERROR_INTEGRATION = "DBT_PIPELINE_SNS_DEV" COMMENT = '' || '''''''' || REPLACE(t_note, '''''''', '''''''''''') || ''''''''`,
          `          || '' TARGET_COMPLETION_INTERVAL = ''''1 MINUTES'''' WHEN SYSTEM$STREAM_HAS_DATA('' || '''''''' || REPLACE(''DBT_PIPELINE_DEV.MONITORING.'' || stream_name, '''''''', '''''''''''') || '''''''' || '')''`,
          `          || '' AS CALL "DBT_PIPELINE_DEV"."MONITORING"."RECORD_LOAD"('' || '''''''' || REPLACE(r.w_source, '''''''', '''''''''''') || '''''''' || '', '' || '''''''' || REPLACE(t_label, '''''''', '''''''''''') || '''''''' || '', '' || '''''''' || REPLACE(stream_name, '''''''', '''''''''''') || '''''''' || '', '' || IFF(r.w_loaded_at IS NULL, ''NULL'', '''''''' || REPLACE(r.w_loaded_at, '''''''', '''''''''''') || '''''''') || '')'';`,
          `        EXECUTE IMMEDIATE ''ALTER TASK "DBT_PIPELINE_DEV"."MONITORING"."'' || task_name || ''" RESUME'';`,
          "        IF (t_status = ''watching'') THEN",
          "          t_status := ''created'';",
          "        END IF;",
          "      ELSEIF (GET(GET(task_states, task_name), ''state'')::VARCHAR = ''suspended'') THEN",
          "        t_status := ''suspended'';",
        ].join("\n"),
      );
      expect(sql.match(/" RESUME''/g)).to.have.length(1);
    });
    it("warehouse-backed tasks name the loading warehouse instead", () => {
      const wh = reconcileProcedure({ ...SPEC, compute: { kind: "warehouse", warehouse: "LOADING_WH_DEV" } }).execute;
      expect(wh).to.include(`''" WAREHOUSE = "LOADING_WH_DEV" ALLOW_OVERLAPPING_EXECUTION = FALSE`);
      expect(wh).to.not.include("TARGET_COMPLETION_INTERVAL");
    });
    it("reports entries without a table as pending, drops only its own objects that are no longer watched", () => {
      expect(sql).to.include(
        `FROM TABLE(FLATTEN(INPUT => PARSE_JSON(''${JSON_ENTRIES}''))) WHERE NOT ARRAY_CONTAINS(value:entry, :matched));`,
      );
      expect(sql).to.include("''status'', ''pending''");
      expect(sql).to.include(
        "WHERE STARTSWITH(value:comment::VARCHAR, ''dbt-pipeline dev change detection of'') AND NOT ARRAY_CONTAINS(key::VARIANT, :expected_tasks)",
      );
    });
    it("fails (so ERROR_INTEGRATION alerts) only when a new problem appeared, after writing the state", () => {
      expect(sql).to.include(
        "  needs_attention EXCEPTION (-20001, ''change detection needs attention: see DBT_PIPELINE_DEV.MONITORING.CHANGE_DETECTION_STATE where STATUS is suspended, stale or error'');",
      );
      expect(sql.indexOf("  COMMIT;")).to.be.lessThan(sql.indexOf("    RAISE needs_attention;"));
      expect(sql).to.include(
        "IF (t_status IN (''suspended'', ''stale'', ''error'') AND NOT ARRAY_CONTAINS((r.w_entry || ''|'' || t_label || ''|'' || t_status)::VARIANT, previous_problems)) THEN",
      );
    });
    it("runs with its caller's rights (the PIPELINE-owned task) and is owned by PIPELINE", () => {
      expect(sql).to.include(
        `CREATE OR REPLACE PROCEDURE "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION"() RETURNS ARRAY LANGUAGE SQL COMMENT = 'dbt-pipeline dev: creates the streams and tasks of watched RAW tables once they exist. Managed by Pulumi.' EXECUTE AS CALLER AS 'DECLARE`,
      );
      expect(sql).to.include(
        '  GRANT OWNERSHIP ON PROCEDURE "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION"() TO ROLE "PIPELINE_DEV" COPY CURRENT GRANTS;\nEND;\n$$',
      );
    });
  });

  describe("the reconciler task", () => {
    it("is scheduled, never suspends itself, reports errors to SNS, belongs to PIPELINE and runs once at deploy", () => {
      const t = reconcilerTask(SPEC);
      expect(t.execute).to.equal(
        [
          "EXECUTE IMMEDIATE $$",
          "BEGIN",
          `  CREATE OR REPLACE TASK "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION_TASK" SCHEDULE = '10 MINUTE' ALLOW_OVERLAPPING_EXECUTION = FALSE USER_TASK_TIMEOUT_MS = 600000 SUSPEND_TASK_AFTER_NUM_FAILURES = 0 ERROR_INTEGRATION = "DBT_PIPELINE_SNS_DEV" COMMENT = 'dbt-pipeline dev: reconciles change detection every 10 minutes. Managed by Pulumi.' AS CALL "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION"();`,
          '  GRANT OWNERSHIP ON TASK "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION_TASK" TO ROLE "PIPELINE_DEV" COPY CURRENT GRANTS;',
          '  ALTER TASK "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION_TASK" RESUME;',
          '  EXECUTE TASK "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION_TASK";',
          "END;",
          "$$",
        ].join("\n"),
      );
      expect(t.revert).to.equal(
        'DROP TASK IF EXISTS "DBT_PIPELINE_DEV"."MONITORING"."RECONCILE_CHANGE_DETECTION_TASK"',
      );
      expect(t.query).to.equal(
        `SHOW TASKS LIKE 'RECONCILE_CHANGE_DETECTION_TASK' IN SCHEMA "DBT_PIPELINE_DEV"."MONITORING"`,
      );
    });
    it("reads the state table for the stack output", () => {
      expect(stateQuery(SPEC)).to.equal(
        'SELECT ENTRY AS "entry", SOURCE AS "source", TABLE_NAME AS "table", STATUS AS "status", DETAIL AS "detail", TO_VARCHAR(CHECKED_AT) AS "checkedAt" FROM "DBT_PIPELINE_DEV"."MONITORING"."CHANGE_DETECTION_STATE" ORDER BY ENTRY, TABLE_NAME',
      );
    });
  });

  it("PIPELINE_STATUS: re-runnable, keeps its grants, drift-checked", () => {
    const { execute, revert, query } = pipelineStatusView("DBT_PIPELINE_PROD", "MONITORING");
    expect(execute).to.equal(
      [
        `CREATE OR REPLACE VIEW "DBT_PIPELINE_PROD"."MONITORING"."PIPELINE_STATUS" COPY GRANTS COMMENT = 'Loads joined with the dbt runs that transformed them. Managed by Pulumi.' AS`,
        "SELECT l.SOURCE, l.TABLE_NAME, l.ROW_COUNT, l.LAST_LOADED_AT, l.RECORDED_AT, l.TASK_RUN_ID,",
        "  r.RUN_ID, r.STATUS AS RUN_STATUS, r.STARTED_AT AS RUN_STARTED_AT, r.ENDED_AT AS RUN_ENDED_AT,",
        "  DATEDIFF('second', COALESCE(l.LAST_LOADED_AT, l.RECORDED_AT), r.ENDED_AT) AS LOAD_TO_TRANSFORM_SECONDS",
        'FROM "DBT_PIPELINE_PROD"."MONITORING"."LOAD_EVENTS" l',
        'LEFT JOIN "DBT_PIPELINE_PROD"."MONITORING"."DBT_RUNS" r',
        "  ON r.STARTED_AT >= l.RECORDED_AT AND ARRAY_CONTAINS(l.SOURCE::VARIANT, r.SOURCES)",
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY l.SOURCE, l.TABLE_NAME, l.TASK_RUN_ID ORDER BY r.STARTED_AT NULLS LAST) = 1",
      ].join("\n"),
    );
    expect(revert).to.equal('DROP VIEW IF EXISTS "DBT_PIPELINE_PROD"."MONITORING"."PIPELINE_STATUS"');
    expect(query).to.equal(
      `SELECT TABLE_NAME AS "name", TABLE_OWNER AS "owner" FROM "DBT_PIPELINE_PROD".INFORMATION_SCHEMA.VIEWS WHERE TABLE_SCHEMA = 'MONITORING' AND TABLE_NAME = 'PIPELINE_STATUS'`,
    );
  });

  describe("drift", () => {
    const base = {
      object: "task DB.MONITORING.RECONCILE_CHANGE_DETECTION_TASK",
      owner: "PIPELINE_DEV",
      state: "started",
      urn: "urn:pulumi:dev::dbt-pipeline::x",
    };
    const cases: [string, readonly Record<string, string>[] | undefined, string[]][] = [
      ["not refreshed yet: nothing known, nothing reported", undefined, []],
      ["as deployed", [{ name: "RECONCILE_CHANGE_DETECTION_TASK", owner: "PIPELINE_DEV", state: "started" }], []],
      [
        "dropped outside Pulumi",
        [],
        [
          "task DB.MONITORING.RECONCILE_CHANGE_DETECTION_TASK is missing or unreadable; recreate it with pulumi up --refresh --replace 'urn:pulumi:dev::dbt-pipeline::x'",
        ],
      ],
      [
        "re-owned",
        [{ owner: "SYSADMIN", state: "started" }],
        [
          "task DB.MONITORING.RECONCILE_CHANGE_DETECTION_TASK is owned by SYSADMIN, expected PIPELINE_DEV; recreate it with pulumi up --refresh --replace 'urn:pulumi:dev::dbt-pipeline::x'",
        ],
      ],
      [
        "suspended by hand",
        [{ owner: "PIPELINE_DEV", state: "suspended" }],
        [
          "task DB.MONITORING.RECONCILE_CHANGE_DETECTION_TASK is suspended, expected started; resume it (ALTER TASK … RESUME as PIPELINE_DEV) or recreate it with pulumi up --refresh --replace 'urn:pulumi:dev::dbt-pipeline::x'",
        ],
      ],
    ];
    for (const [what, rows, expected] of cases)
      it(what, () => expect(driftProblems([{ ...base, rows }])).to.deep.equal(expected));
  });

  describe("PIPELINE privileges", () => {
    it("serverless: managed tasks, the integration, MONITORING to create streams and tasks, two tables", () => {
      expect(
        pipelinePrivileges("serverless").map((p) => [p.slug, p.privileges.join(","), JSON.stringify(p.on)]),
      ).to.deep.equal([
        ["execute-task", "EXECUTE MANAGED TASK,EXECUTE TASK", '{"kind":"account"}'],
        ["integration", "USAGE", '{"kind":"integration"}'],
        ["database", "USAGE", '{"kind":"database"}'],
        ["schema-raw", "USAGE", '{"kind":"schema","schema":"raw"}'],
        ["future-schemas", "USAGE", '{"kind":"futureSchemas"}'],
        ["schema-monitoring", "CREATE STREAM,CREATE TASK,USAGE", '{"kind":"schema","schema":"monitoring"}'],
        ["load-events", "INSERT,SELECT", '{"kind":"table","table":"loadEvents"}'],
        ["state", "DELETE,INSERT,SELECT", '{"kind":"table","table":"state"}'],
      ]);
    });
    it("warehouse: the loading warehouse instead of managed tasks", () => {
      const p = pipelinePrivileges("warehouse");
      expect(p[0].privileges).to.deep.equal(["EXECUTE TASK"]);
      expect(p.find((x) => x.slug === "warehouse")).to.deep.equal({
        slug: "warehouse",
        privileges: ["USAGE"],
        on: { kind: "warehouse" },
      });
    });
  });
});

describe("the reconciler's alert reaches dispatch", () => {
  it("its failure is a task error notification dispatch parses, naming the task and where to look", () => {
    const parsed = parseSnowflakeNotification(
      readFileSync(`${__dirname}/../fixtures/snowflake/reconciler-needs-attention.json`, "utf8"),
    );
    expect(parsed.kind).to.equal("task_failed");
    if (parsed.kind !== "task_failed") return;
    expect(parsed.value.taskName).to.equal("DBT_PIPELINE_DEV.MONITORING.RECONCILE_CHANGE_DETECTION_TASK");
    expect(parsed.value.messages[0].errorMessage).to.include(
      "change detection needs attention: see DBT_PIPELINE_DEV.MONITORING.CHANGE_DETECTION_STATE where STATUS is suspended, stale or error",
    );
    expect(attentionMessage(SPEC)).to.equal(
      "change detection needs attention: see DBT_PIPELINE_DEV.MONITORING.CHANGE_DETECTION_STATE where STATUS is suspended, stale or error",
    );
  });
});

import { expect } from "chai";
import { Evaluation } from "../../offline/mocks";
import { all, evaluateStack, json, one, within } from "../helpers/stack";
import { at, objs, str } from "./recorded";

const COMPONENT = "dbt-pipeline:snowflake:ChangeDetection::change-detection";
const T = {
  stream: "snowflake:index/streamOnTable:StreamOnTable",
  task: "snowflake:index/task:Task",
  table: "snowflake:index/table:Table",
  execute: "snowflake:index/execute:Execute",
  integration: "snowflake:index/notificationIntegration:NotificationIntegration",
  accountRole: "snowflake:index/accountRole:AccountRole",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  permission: "aws:lambda/permission:Permission",
  privileges: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
  roleGrant: "snowflake:index/grantAccountRole:GrantAccountRole",
  provider: "pulumi:providers:snowflake",
};
const EXECUTES = ["pipeline-status", "prepare-procedure", "record-procedure", "reconcile-procedure", "reconciler-task"];

for (const stack of ["dev", "prod"] as const) {
  const ENV = stack.toUpperCase();
  const DB = `DBT_PIPELINE_${ENV}`;
  describe(`change detection (${stack})`, () => {
    const ev = async (overrides = {}) => within(await evaluateStack(stack, overrides), COMPONENT);
    const sql = (e: Evaluation, key: string) => one(e, T.execute, `change-detection-${key}`).inputs.execute as string;

    it("first deploy with sources whose tables do not exist yet: no stream, task or table lookup that could fail", async () => {
      const whole = await evaluateStack(stack);
      // Nothing in the graph refers to a RAW table as an object: streams and tasks are made in Snowflake by the reconciler.
      expect(all(whole, T.stream)).to.deep.equal([]);
      expect(all(whole, T.task)).to.deep.equal([]);
      expect(whole.calls.filter((c) => c.token.startsWith("snowflake:"))).to.deep.equal([]);
      // The only place the watched tables appear is the procedures' embedded list.
      const mentions = whole.resources
        .filter((r) => JSON.stringify(r.inputs).includes("STRIPE_CHARGES") && r.type.startsWith("snowflake:"))
        .map((r) => r.name)
        .sort();
      expect(mentions).to.deep.equal(["change-detection-prepare-procedure", "change-detection-reconcile-procedure"]);
    });

    it("once the tables exist nothing is re-deployed; watching one more table changes only the two procedures that list them", async () => {
      // The graph has no input that depends on a table's existence (previous test), so the plan is
      // the same before and after the first sync; adding a watched table is the only config change.
      const first = await evaluateStack(stack);
      const later = await evaluateStack(stack, {
        sources: {
          stripe: { fivetranConnectors: ["warranty_bullish"], rawTables: ["STRIPE_CHARGES", "STRIPE_CUSTOMERS"] },
          hubspot: {
            airbyteConnections: [
              stack === "dev" ? "9b6e7d7c-1a52-4e0a-9a4e-3f0c6b1d2e11" : "5c1f0a2e-8d3b-4c6a-b7e9-0a1b2c3d4e5f",
            ],
          },
          web_events: { rawTables: ["WEB_EVENTS", "WEB_SESSIONS"] },
        },
      });
      const inputs = (e: Evaluation) =>
        new Map(within(e, COMPONENT).resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
      const a = inputs(first);
      const b = inputs(later);
      expect([...b.keys()].sort()).to.deep.equal([...a.keys()].sort());
      const changed = [...a.keys()].filter((k) => a.get(k) !== b.get(k)).sort();
      expect(changed).to.deep.equal([
        `${T.execute}::change-detection-prepare-procedure`,
        `${T.execute}::change-detection-reconcile-procedure`,
      ]);
    });

    it("schema-qualified tables and whole schemas reach the loader's procedure and the reconciler", async () => {
      const e = await ev({
        sources: {
          stripe: { rawTables: ["STRIPE.CHARGES"], loadedAtColumn: "_FIVETRAN_SYNCED" },
          hubspot: { rawTables: ["HUBSPOT.*"] },
          web_events: { rawTables: ["WEB_EVENTS"] },
        },
      });
      const list = `[{"entry":"HUBSPOT.*","source":"hubspot","schema":"HUBSPOT","table":"*","qualified":true},{"entry":"STRIPE.CHARGES","source":"stripe","schema":"STRIPE","table":"CHARGES","qualified":true,"loadedAt":"_FIVETRAN_SYNCED"},{"entry":"WEB_EVENTS","source":"web_events","schema":"RAW","table":"WEB_EVENTS","qualified":false}]`;
      expect(sql(e, "prepare-procedure")).to.include(`PARSE_JSON(''${list}'')`);
      expect(sql(e, "reconcile-procedure")).to.include(`PARSE_JSON(''${list}'')`);
    });

    it("the loader role owns the change-tracking procedure; PIPELINE owns the rest and the reconciler task", async () => {
      const e = await ev();
      expect(sql(e, "prepare-procedure")).to.include(
        `GRANT OWNERSHIP ON PROCEDURE "${DB}"."RAW"."PREPARE_WATCHED_TABLES"() TO ROLE "LOADER_${ENV}" COPY CURRENT GRANTS;`,
      );
      expect(sql(e, "prepare-procedure")).to.include(
        `GRANT SELECT ON TABLE '' || fq || '' TO ROLE "PIPELINE_${ENV}"''`,
      );
      expect(sql(e, "record-procedure")).to.include(`TO ROLE "PIPELINE_${ENV}" COPY CURRENT GRANTS;`);
      expect(sql(e, "reconcile-procedure")).to.include(`TO ROLE "PIPELINE_${ENV}" COPY CURRENT GRANTS;`);
      expect(sql(e, "reconciler-task")).to.include(
        `GRANT OWNERSHIP ON TASK "${DB}"."MONITORING"."RECONCILE_CHANGE_DETECTION_TASK" TO ROLE "PIPELINE_${ENV}" COPY CURRENT GRANTS;`,
      );
    });

    it("the tasks' owner role: its own role under SYSADMIN with exactly the privileges the tasks need", async () => {
      const e = await ev();
      expect(one(e, T.accountRole).inputs).to.deep.equal({
        name: `PIPELINE_${ENV}`,
        comment: `dbt-pipeline ${stack}: owns the change-detection streams and tasks. Managed by Pulumi.`,
      });
      expect(one(e, T.roleGrant).inputs).to.deep.equal({ roleName: `PIPELINE_${ENV}`, parentRoleName: "SYSADMIN" });
      const grants = all(e, T.privileges).filter((g) => g.inputs.accountRoleName === `PIPELINE_${ENV}`);
      expect(
        grants.map((g): unknown[] => [
          g.inputs.privileges,
          g.inputs.onAccount ?? g.inputs.onAccountObject ?? g.inputs.onSchema ?? g.inputs.onSchemaObject,
          g.options.provider,
        ]),
      ).to.deep.equal([
        [["EXECUTE MANAGED TASK", "EXECUTE TASK"], true, `${T.provider}::snowflake-accountadmin`],
        [
          ["USAGE"],
          { objectType: "INTEGRATION", objectName: `DBT_PIPELINE_SNS_${ENV}` },
          `${T.provider}::snowflake-accountadmin`,
        ],
        [["USAGE"], { objectType: "DATABASE", objectName: DB }, `${T.provider}::snowflake-securityadmin`],
        [["USAGE"], { schemaName: `"${DB}"."RAW"` }, `${T.provider}::snowflake-securityadmin`],
        [["USAGE"], { futureSchemasInDatabase: DB }, `${T.provider}::snowflake-securityadmin`],
        [
          ["CREATE STREAM", "CREATE TASK", "USAGE"],
          { schemaName: `"${DB}"."MONITORING"` },
          `${T.provider}::snowflake-securityadmin`,
        ],
        [
          ["INSERT", "SELECT"],
          { objectType: "TABLE", objectName: `"${DB}"."MONITORING"."LOAD_EVENTS"` },
          `${T.provider}::snowflake-securityadmin`,
        ],
        [
          ["DELETE", "INSERT", "SELECT"],
          { objectType: "TABLE", objectName: `"${DB}"."MONITORING"."CHANGE_DETECTION_STATE"` },
          `${T.provider}::snowflake-securityadmin`,
        ],
      ]);
      for (const g of [...all(e, T.privileges), ...all(e, T.roleGrant)])
        expect(g.options.deleteBeforeReplace, g.name).to.equal(true);
    });

    it("warehouse-backed tasks: USAGE on the loading warehouse instead of managed tasks, and WAREHOUSE in the task SQL", async () => {
      const e = await ev({ "snowflake.taskCompute": "warehouse" });
      const grants = all(e, T.privileges).filter((g) => g.inputs.accountRoleName === `PIPELINE_${ENV}`);
      expect(grants[0].inputs.privileges).to.deep.equal(["EXECUTE TASK"]);
      expect(grants.map((g) => at(g.inputs, "onAccountObject")).filter(Boolean)).to.deep.include({
        objectType: "WAREHOUSE",
        objectName: `LOADING_WH_${ENV}`,
      });
      expect(sql(e, "reconcile-procedure")).to.include(
        `''" WAREHOUSE = "LOADING_WH_${ENV}" ALLOW_OVERLAPPING_EXECUTION = FALSE`,
      );
      expect(sql(e, "reconciler-task")).to.include(
        // snowflake.reconcileScheduleMinutes: dev's stack file sets 1440, prod keeps the default 10.
        `"RECONCILE_CHANGE_DETECTION_TASK" WAREHOUSE = "LOADING_WH_${ENV}" SCHEDULE = '${stack === "dev" ? 1440 : 10} MINUTE'`,
      );
    });

    it("every Execute is re-runnable, replaced delete-first and drift-checked by a query", async () => {
      const e = await ev();
      for (const key of EXECUTES) {
        const x = one(e, T.execute, `change-detection-${key}`);
        expect(x.inputs.execute, key).to.match(
          /^(EXECUTE IMMEDIATE \$\$\nBEGIN\n {2}CREATE OR REPLACE |CREATE OR REPLACE VIEW )/,
        );
        expect(x.inputs.query, key)
          .to.be.a("string")
          .and.match(/^(SELECT|SHOW) /);
        expect(x.options.deleteBeforeReplace, key).to.equal(true);
        expect(x.options.provider, key).to.equal(`${T.provider}::snowflake-sysadmin`);
      }
    });

    it("the reconciler task waits for the SNS role and its policy, and for the procedures it calls", async () => {
      const deps = one(await ev(), T.execute, "change-detection-reconciler-task").options.dependsOn;
      expect(deps).to.include.members([
        `${T.role}::change-detection-sns-role`,
        `${T.rolePolicy}::change-detection-sns-publish`,
        `${T.execute}::change-detection-reconcile-procedure`,
      ]);
      expect(one(await ev(), T.execute, "change-detection-reconcile-procedure").options.dependsOn).to.include.members([
        `${T.execute}::change-detection-prepare-procedure`,
        `${T.execute}::change-detection-record-procedure`,
      ]);
    });

    it("the reconciler's state is read on refresh into a stack output; nothing is known before the first refresh", async () => {
      const e = await ev();
      expect(one(e, T.execute, "change-detection-state").inputs).to.deep.equal({
        execute: "SELECT 1",
        revert: "SELECT 1",
        query: `SELECT ENTRY AS "entry", SOURCE AS "source", TABLE_NAME AS "table", STATUS AS "status", DETAIL AS "detail", TO_VARCHAR(CHECKED_AT) AS "checkedAt" FROM "${DB}"."MONITORING"."CHANGE_DETECTION_STATE" ORDER BY ENTRY, TABLE_NAME`,
      });
      const { outputs } = await evaluateStack(stack);
      expect(outputs.snowflakeWatchedTables).to.deep.equal([]);
      expect(outputs.snowflakeDrift).to.deep.equal([]);
      expect(outputs.snowflakePipelineRole).to.equal(`PIPELINE_${ENV}`);
    });

    it("REPORTER reads PIPELINE_STATUS: an explicit grant on the view, after it exists", async () => {
      const e = await ev();
      const g = one(e, T.privileges, "change-detection-reporter-pipeline-status");
      expect(g.inputs).to.deep.equal({
        accountRoleName: `REPORTER_${ENV}`,
        privileges: ["SELECT"],
        onSchemaObject: { objectType: "VIEW", objectName: `"${DB}"."MONITORING"."PIPELINE_STATUS"` },
      });
      expect(g.options.dependsOn).to.deep.equal([`${T.execute}::change-detection-pipeline-status`]);
      expect(g.options.provider).to.equal(`${T.provider}::snowflake-securityadmin`);
    });

    it("records loads in LOAD_EVENTS, runs in DBT_RUNS and the reconciler's view in CHANGE_DETECTION_STATE", async () => {
      const e = await ev();
      expect(
        all(e, T.table).map((t) => [at(t.inputs, "name"), objs(t.inputs.columns).map((c) => c.name)]),
      ).to.deep.equal([
        [
          "LOAD_EVENTS",
          ["SOURCE", "TABLE_NAME", "ROW_COUNT", "FIRST_LOADED_AT", "LAST_LOADED_AT", "TASK_RUN_ID", "RECORDED_AT"],
        ],
        ["DBT_RUNS", ["RUN_ID", "STATUS", "COMMAND", "SOURCES", "STARTED_AT", "ENDED_AT"]],
        [
          "CHANGE_DETECTION_STATE",
          ["ENTRY", "SOURCE", "TABLE_NAME", "STREAM_NAME", "TASK_NAME", "STATUS", "DETAIL", "CHECKED_AT"],
        ],
      ]);
    });

    it("Snowflake publishes through an outbound integration to the topic, assuming a role trusted by the integration's own outputs", async () => {
      const e = await ev();
      const integration = one(e, T.integration);
      const topic = one(e, T.topic);
      expect(topic.inputs).to.include({
        name: `dbt-pipeline-${stack}-snowflake-loads`,
        kmsMasterKeyId: "alias/aws/sns",
      });
      expect(integration.inputs).to.deep.include({
        name: `DBT_PIPELINE_SNS_${ENV}`,
        notificationProvider: "AWS_SNS",
        enabled: true,
        awsSnsTopicArn: str(topic.state, "arn"),
        awsSnsRoleArn: `arn:aws:iam::123456789012:role/dbt-pipeline-${stack}-snowflake-sns`,
      });
      const role = one(e, T.role, "change-detection-sns-role");
      expect(json(role.inputs.assumeRolePolicy)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "SnowflakeNotificationIntegration",
            Effect: "Allow",
            Principal: { AWS: str(integration.state, "awsSnsIamUserArn") },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "sts:ExternalId": str(integration.state, "awsSnsExternalId") } },
          },
        ],
      });
      expect(json(one(e, T.rolePolicy, "change-detection-sns-publish").inputs.policy)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "PublishLoadNotifications",
            Effect: "Allow",
            Action: "sns:Publish",
            Resource: str(topic.state, "arn"),
          },
        ],
      });
    });

    it("the topic invokes the dispatch Lambda, and only that topic may", async () => {
      const e = await ev();
      const topicArn = str(one(e, T.topic).state, "arn");
      const dispatchArn = `arn:aws:lambda:eu-west-1:123456789012:function:dbt-pipeline-${stack}-dispatch`;
      expect(one(e, T.subscription).inputs).to.deep.equal({
        topic: topicArn,
        protocol: "lambda",
        endpoint: dispatchArn,
      });
      expect(one(e, T.permission).inputs).to.deep.equal({
        action: "lambda:InvokeFunction",
        function: `dbt-pipeline-${stack}-dispatch`,
        principal: "sns.amazonaws.com",
        sourceArn: topicArn,
      });
    });

    it(`${stack === "prod" ? "protects and retains" : "does not protect"} the load history and the reconciler's state`, async () => {
      const e = await ev();
      for (const r of all(e, T.table)) {
        expect(!!r.options.protect, r.name).to.equal(stack === "prod");
        expect(!!r.options.retainOnDelete, r.name).to.equal(stack === "prod");
      }
    });
  });
}

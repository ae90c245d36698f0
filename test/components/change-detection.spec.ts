import { expect } from "chai";
import { loadTaskBody } from "../../components/change-detection/sql";
import { all, evaluateStack, json, one, within } from "../helpers/stack";

const COMPONENT = "dbt-pipeline:snowflake:ChangeDetection::change-detection";
const T = {
  stream: "snowflake:index/streamOnTable:StreamOnTable",
  task: "snowflake:index/task:Task",
  table: "snowflake:index/table:Table",
  execute: "snowflake:index/execute:Execute",
  integration: "snowflake:index/notificationIntegration:NotificationIntegration",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  permission: "aws:lambda/permission:Permission",
  privileges: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
  roleGrant: "snowflake:index/grantAccountRole:GrantAccountRole",
};

for (const stack of ["dev", "prod"] as const) {
  const ENV = stack.toUpperCase();
  const DB = `DBT_PIPELINE_${ENV}`;
  describe(`change detection (${stack})`, () => {
    const ev = async (overrides = {}) => within(await evaluateStack(stack, overrides), COMPONENT);

    it("declares one append-only stream per RAW table listed in config, in MONITORING", async () => {
      const streams = all(await ev(), T.stream).map((s) => s.inputs).sort((a, b) => a.name.localeCompare(b.name));
      expect(streams).to.deep.equal(["STRIPE_CHARGES", "STRIPE_CUSTOMERS", "WEB_EVENTS"].map((table) => ({
        database: DB, schema: "MONITORING", name: `RAW_${table}_STREAM`, table: `"${DB}"."RAW"."${table}"`,
        appendOnly: "true", showInitialRows: "false", copyGrants: true,
        comment: `dbt-pipeline ${stack}: new rows of RAW.${table} (source ${table === "WEB_EVENTS" ? "web_events" : "stripe"}). Managed by Pulumi.`,
      })));
    });

    it("turns change tracking on for each table before its stream exists", async () => {
      const e = await ev();
      const tracking = one(e, T.execute, "change-detection-web-events-change-tracking");
      expect(tracking.inputs).to.deep.equal({ execute: `ALTER TABLE IF EXISTS "${DB}"."RAW"."WEB_EVENTS" SET CHANGE_TRACKING = TRUE`, revert: "SELECT 1" });
      expect(one(e, T.stream, "change-detection-web-events-stream").options.dependsOn).to.include(`${T.execute}::change-detection-web-events-change-tracking`);
    });

    it("runs a triggered task per table that forbids overlap, suspends after failures and reports errors", async () => {
      const task = one(await ev(), T.task, "change-detection-web-events-task");
      expect(task.inputs).to.deep.equal({
        database: DB, schema: "MONITORING", name: "RAW_WEB_EVENTS_LOAD_TASK",
        warehouse: `LOADING_WH_${ENV}`,
        when: `SYSTEM$STREAM_HAS_DATA('${DB}.MONITORING.RAW_WEB_EVENTS_STREAM')`,
        sqlStatement: loadTaskBody({ database: DB, monitoringSchema: "MONITORING", source: "web_events", table: "WEB_EVENTS", integration: `DBT_PIPELINE_SNS_${ENV}` }),
        started: true,
        allowOverlappingExecution: "false",
        suspendTaskAfterNumFailures: 3,
        errorIntegration: `DBT_PIPELINE_SNS_${ENV}`,
        userTaskTimeoutMs: 600000,
        comment: `dbt-pipeline ${stack}: records loads of RAW.WEB_EVENTS and notifies dispatch. Managed by Pulumi.`,
      });
    });

    it("uses a short schedule with WHEN when taskMode is scheduled", async () => {
      const task = one(await ev({ "snowflake.taskMode": "scheduled", "snowflake.taskScheduleMinutes": "2" }), T.task, "change-detection-web-events-task");
      expect(task.inputs.schedule).to.deep.equal({ minutes: 2 });
      expect(task.inputs.when).to.equal(`SYSTEM$STREAM_HAS_DATA('${DB}.MONITORING.RAW_WEB_EVENTS_STREAM')`);
    });

    it("changing one table's stream leaves the others' resources untouched", async () => {
      const before = await ev();
      const after = await ev({ sources: { stripe: { fivetranConnectors: ["warranty_bullish"], rawTables: ["STRIPE_CHARGES", "STRIPE_CUSTOMERS"] }, hubspot: { airbyteConnections: [stack === "dev" ? "9b6e7d7c-1a52-4e0a-9a4e-3f0c6b1d2e11" : "5c1f0a2e-8d3b-4c6a-b7e9-0a1b2c3d4e5f"] }, web_events: { rawTables: ["WEB_EVENTS_V2"] } } });
      const streams = (e: typeof before) => new Map(all(e, T.stream).map((s) => [s.name, JSON.stringify(s.inputs)]));
      const a = streams(before);
      const b = streams(after);
      expect(b.get("change-detection-stripe-charges-stream")).to.equal(a.get("change-detection-stripe-charges-stream"));
      expect(b.get("change-detection-stripe-customers-stream")).to.equal(a.get("change-detection-stripe-customers-stream"));
      expect(b.has("change-detection-web-events-stream")).to.equal(false);
      expect(b.has("change-detection-web-events-v2-stream")).to.equal(true);
    });

    it("records loads in MONITORING.LOAD_EVENTS and runs in MONITORING.DBT_RUNS; the view joins them", async () => {
      const e = await ev();
      expect(all(e, T.table).map((t) => [t.inputs.name, t.inputs.columns.map((c: { name: string }) => c.name)])).to.deep.equal([
        ["LOAD_EVENTS", ["SOURCE", "TABLE_NAME", "ROW_COUNT", "FIRST_LOADED_AT", "LAST_LOADED_AT", "TASK_RUN_ID", "RECORDED_AT"]],
        ["DBT_RUNS", ["RUN_ID", "STATUS", "COMMAND", "SOURCES", "STARTED_AT", "ENDED_AT"]],
      ]);
      const view = one(e, T.execute, "change-detection-pipeline-status");
      expect(view.inputs.execute).to.match(new RegExp(`^CREATE OR REPLACE VIEW "${DB}"."MONITORING"."PIPELINE_STATUS"`));
      expect(view.options.deleteBeforeReplace).to.equal(true);
    });

    it("Snowflake publishes through an outbound integration to the topic, assuming a role trusted by the integration's own outputs", async () => {
      const e = await ev();
      const integration = one(e, T.integration);
      const topic = one(e, T.topic);
      expect(topic.inputs).to.include({ name: `dbt-pipeline-${stack}-snowflake-loads`, kmsMasterKeyId: "alias/aws/sns" });
      expect(integration.inputs).to.deep.include({
        name: `DBT_PIPELINE_SNS_${ENV}`, notificationProvider: "AWS_SNS", enabled: true,
        awsSnsTopicArn: topic.state.arn,
        awsSnsRoleArn: `arn:aws:iam::123456789012:role/dbt-pipeline-${stack}-snowflake-sns`,
      });
      const role = one(e, T.role, "change-detection-sns-role");
      expect(role.inputs.name).to.equal(`dbt-pipeline-${stack}-snowflake-sns`);
      expect(json(role.inputs.assumeRolePolicy)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [{
          Sid: "SnowflakeNotificationIntegration", Effect: "Allow",
          Principal: { AWS: integration.state.awsSnsIamUserArn }, Action: "sts:AssumeRole",
          Condition: { StringEquals: { "sts:ExternalId": integration.state.awsSnsExternalId } },
        }],
      });
      expect(json(one(e, T.rolePolicy, "change-detection-sns-publish").inputs.policy)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [{ Sid: "PublishLoadNotifications", Effect: "Allow", Action: "sns:Publish", Resource: topic.state.arn }],
      });
    });

    it("the topic invokes the dispatch Lambda, and only that topic may", async () => {
      const e = await ev();
      const topicArn = one(e, T.topic).state.arn;
      const dispatchArn = `arn:aws:lambda:eu-west-1:123456789012:function:dbt-pipeline-${stack}-dispatch`;
      expect(one(e, T.subscription).inputs).to.deep.equal({ topic: topicArn, protocol: "lambda", endpoint: dispatchArn });
      expect(one(e, T.permission).inputs).to.deep.equal({ action: "lambda:InvokeFunction", function: `dbt-pipeline-${stack}-dispatch`, principal: "sns.amazonaws.com", sourceArn: topicArn });
    });

    it("the tasks' owner gets EXECUTE TASK and USAGE on the integration through a per-environment role", async () => {
      const e = await ev();
      expect(all(e, T.privileges).map((g) => [g.inputs.accountRoleName, g.inputs.privileges, g.inputs.onAccount ?? g.inputs.onAccountObject])).to.deep.equal([
        [`TASK_RUNNER_${ENV}`, ["EXECUTE TASK"], true],
        [`TASK_RUNNER_${ENV}`, ["USAGE"], { objectType: "INTEGRATION", objectName: `DBT_PIPELINE_SNS_${ENV}` }],
      ]);
      expect(one(e, T.roleGrant).inputs).to.deep.equal({ roleName: `TASK_RUNNER_${ENV}`, parentRoleName: "SYSADMIN" });
      for (const g of [...all(e, T.privileges), ...all(e, T.roleGrant)]) expect(g.options.deleteBeforeReplace, g.name).to.equal(true);
    });

    it(`${stack === "prod" ? "protects" : "does not protect"} the load history and the streams' offsets`, async () => {
      const e = await ev();
      for (const r of [...all(e, T.table), ...all(e, T.stream)]) expect(!!r.options.protect, r.name).to.equal(stack === "prod");
    });
  });
}

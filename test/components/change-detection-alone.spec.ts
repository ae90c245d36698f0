/**
 * ChangeDetection built alone from its own arguments (no stack config, providers of its own):
 * names, schemas, task settings and the dispatch function reach the inputs they decide.
 */
import * as snowflake from "@pulumi/snowflake";
import { expect } from "chai";
import { ChangeDetection, ChangeDetectionArgs } from "../../components/change-detection";
import { Evaluation } from "../../offline/mocks";
import { all, one } from "../helpers/stack";
import { evaluateAlone } from "./alone";
import { inputsOf, obj } from "./recorded";

const T = {
  execute: "snowflake:index/execute:Execute",
  table: "snowflake:index/table:Table",
  accountRole: "snowflake:index/accountRole:AccountRole",
  integration: "snowflake:index/notificationIntegration:NotificationIntegration",
  privileges: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  permission: "aws:lambda/permission:Permission",
} as const;

const DISPATCH_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:qa-dispatch";

const build = (args: Omit<ChangeDetectionArgs, "snowflake">) => () => {
  const provider = (role: string) =>
    new snowflake.Provider(`sf-${role.toLowerCase()}`, {
      organizationName: "ORG1",
      accountName: "ACCT1",
      user: "DEPLOYER",
      role,
    });
  new ChangeDetection("change-detection", {
    ...args,
    snowflake: {
      providers: {
        sysadmin: provider("SYSADMIN"),
        securityadmin: provider("SECURITYADMIN"),
        accountadmin: provider("ACCOUNTADMIN"),
      },
      databaseName: "DB_QA",
      schemas: { raw: "LANDING", monitoring: "OPS" },
      warehouse: "LOAD_WH",
      loaderRole: "LOADER_QA",
      reporterRole: "REPORTER_QA",
      accessGrants: [],
    },
  });
};

const ARGS: Omit<ChangeDetectionArgs, "snowflake"> = {
  environment: "qa",
  envSuffix: "QA",
  protect: false,
  sources: [{ name: "shop", rawTables: ["ORDERS"] }],
  tasks: {
    mode: "scheduled",
    scheduleMinutes: 15,
    compute: "warehouse",
    targetCompletionMinutes: 2,
    suspendAfterFailures: 4,
    reconcileMinutes: 20,
  },
  dispatch: { functionArn: DISPATCH_ARN, functionName: "qa-dispatch" },
};

const sql = (ev: Evaluation, key: string) => String(inputsOf(one(ev, T.execute, `change-detection-${key}`)).execute);

describe("ChangeDetection alone", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateAlone(build(ARGS));
  });

  it("names from the suffix and environment: PIPELINE_QA, DBT_PIPELINE_SNS_QA, dbt-pipeline-qa-snowflake-loads", () => {
    expect(inputsOf(one(ev, T.accountRole)).name).to.equal("PIPELINE_QA");
    expect(inputsOf(one(ev, T.integration)).name).to.equal("DBT_PIPELINE_SNS_QA");
    expect(inputsOf(one(ev, T.topic)).name).to.equal("dbt-pipeline-qa-snowflake-loads");
  });

  it("its tables in the given database and MONITORING schema, unprotected", () => {
    const tables = all(ev, T.table);
    expect(tables.map((t) => [inputsOf(t).database, inputsOf(t).schema, inputsOf(t).name])).to.deep.equal([
      ["DB_QA", "OPS", "LOAD_EVENTS"],
      ["DB_QA", "OPS", "DBT_RUNS"],
      ["DB_QA", "OPS", "CHANGE_DETECTION_STATE"],
    ]);
    for (const t of tables) expect(t.options, t.name).to.not.have.any.keys("protect", "retainOnDelete");
  });

  it("the watched table of the given RAW schema reaches the loader's procedure", () => {
    expect(sql(ev, "prepare-procedure")).to.include('"DB_QA"."LANDING"');
    expect(sql(ev, "prepare-procedure")).to.include("ORDERS");
  });

  it("task settings: the warehouse, the schedule, failures before suspension, the reconciler's period", () => {
    // The task's SQL is a string literal inside the procedure's dynamic SQL, itself a literal: quotes double twice.
    expect(sql(ev, "reconcile-procedure")).to.include(`WAREHOUSE = "LOAD_WH" SCHEDULE = ''''15 MINUTE''''`);
    expect(sql(ev, "reconcile-procedure")).to.include("SUSPEND_TASK_AFTER_NUM_FAILURES = 4");
    expect(sql(ev, "reconcile-procedure")).to.not.include("TARGET_COMPLETION_INTERVAL");
    expect(sql(ev, "reconciler-task")).to.include(
      `"RECONCILE_CHANGE_DETECTION_TASK" WAREHOUSE = "LOAD_WH" SCHEDULE = '20 MINUTE'`,
    );
    const onWarehouse = all(ev, T.privileges)
      .map((g) => inputsOf(g).onAccountObject)
      .filter((o) => o !== undefined);
    expect(onWarehouse).to.deep.include({ objectType: "WAREHOUSE", objectName: "LOAD_WH" });
  });

  it("the topic invokes the dispatch function it is given", () => {
    expect(inputsOf(one(ev, T.subscription))).to.deep.include({ protocol: "lambda", endpoint: DISPATCH_ARN });
    expect(inputsOf(one(ev, T.permission))).to.deep.include({
      function: "qa-dispatch",
      principal: "sns.amazonaws.com",
      sourceArn: obj(one(ev, T.topic).state).arn,
    });
  });

  it("serverless, triggered, protected: no warehouse, a target completion interval, protected tables", async () => {
    const other = await evaluateAlone(
      build({ ...ARGS, protect: true, tasks: { ...ARGS.tasks, mode: "triggered", compute: "serverless" } }),
    );
    const procedure = sql(other, "reconcile-procedure");
    expect(procedure).to.include("TARGET_COMPLETION_INTERVAL = ''''2 MINUTES''''");
    expect(procedure).to.not.include("WAREHOUSE =");
    expect(procedure).to.not.include("SCHEDULE =");
    for (const t of all(other, T.table))
      expect(t.options, t.name).to.deep.include({ protect: true, retainOnDelete: true });
  });
});

/**
 * SnowflakeFoundation built alone from its own arguments (no stack config): names, sizes, the
 * monitor, the admin sign-in and protection reach the inputs they decide.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { SnowflakeFoundation, SnowflakeFoundationArgs } from "../../components/snowflake";
import { Evaluation } from "../../offline/mocks";
import { FAKE_SECRETS, all, one } from "../helpers/stack";
import { evaluateAlone } from "./alone";
import { inputsOf, obj } from "./recorded";

const T = {
  provider: "pulumi:providers:snowflake",
  database: "snowflake:index/database:Database",
  schema: "snowflake:index/schema:Schema",
  warehouse: "snowflake:index/warehouse:Warehouse",
  monitor: "snowflake:index/resourceMonitor:ResourceMonitor",
  user: "snowflake:index/serviceUser:ServiceUser",
  secret: "aws:secretsmanager/secret:Secret",
} as const;

const PEM = FAKE_SECRETS["snowflake.adminPrivateKey"];
const ARGS: SnowflakeFoundationArgs = {
  environment: "qa",
  envSuffix: "QA",
  protect: true,
  admin: {
    organizationName: "ORG1",
    accountName: "ACCT1",
    user: "DEPLOYER",
    privateKey: pulumi.secret(PEM),
  },
  databaseName: "ANALYTICS_QA",
  dataRetentionDays: 3,
  schemas: { raw: "LANDING", staging: "STG", analytics: "MARTS", metrics: "KPI", monitoring: "OPS" },
  warehouses: {
    sizes: { loading: "XSMALL", transforming: "MEDIUM", reporting: "SMALL" },
    autoSuspendSeconds: 120,
    statementTimeoutSeconds: 900,
  },
  monitor: { monthlyCreditQuota: 50, suspendAtQuota: false, notifyUsers: ["ALICE"] },
  keyGeneration: 4,
};

describe("SnowflakeFoundation alone", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateAlone(() => {
      const foundation = new SnowflakeFoundation("snowflake", ARGS);
      return { account: foundation.accountIdentifier };
    });
  });

  it("three providers sign in as the given admin with its key, as a secret, and no passphrase", () => {
    const providers = all(ev, T.provider);
    expect(providers.map((p) => p.name)).to.deep.equal([
      "snowflake-sysadmin",
      "snowflake-securityadmin",
      "snowflake-accountadmin",
    ]);
    for (const p of providers) {
      expect(inputsOf(p), p.name).to.deep.include({
        organizationName: "ORG1",
        accountName: "ACCT1",
        user: "DEPLOYER",
        privateKey: PEM,
      });
      expect(p.secretPaths, p.name).to.include("privateKey");
      expect(inputsOf(p), p.name).to.not.have.property("privateKeyPassphrase");
    }
    expect(obj(ev.outputs.built).account).to.equal("ORG1-ACCT1");
  });

  it("the database and schemas under the names given; the database, raw and monitoring protected", () => {
    const db = one(ev, T.database);
    expect(inputsOf(db)).to.deep.include({ name: "ANALYTICS_QA", dataRetentionTimeInDays: 3 });
    expect(db.options).to.deep.include({ protect: true, retainOnDelete: true });
    expect(Object.fromEntries(all(ev, T.schema).map((s) => [s.name, inputsOf(s).name]))).to.deep.equal({
      "snowflake-schema-raw": "LANDING",
      "snowflake-schema-staging": "STG",
      "snowflake-schema-analytics": "MARTS",
      "snowflake-schema-metrics": "KPI",
      "snowflake-schema-monitoring": "OPS",
    });
    const protectedSchemas = all(ev, T.schema).filter((s) => s.options.protect === true);
    expect(protectedSchemas.map((s) => s.name)).to.deep.equal(["snowflake-schema-raw", "snowflake-schema-monitoring"]);
  });

  it("warehouses of the given sizes, suspend and timeout, under a monitor that only notifies", () => {
    const sizes = Object.fromEntries(
      all(ev, T.warehouse).map((w) => [String(inputsOf(w).name), inputsOf(w).warehouseSize]),
    );
    expect(sizes).to.deep.equal({ LOADING_WH_QA: "XSMALL", TRANSFORMING_WH_QA: "MEDIUM", REPORTING_WH_QA: "SMALL" });
    for (const w of all(ev, T.warehouse))
      expect(inputsOf(w), w.name).to.deep.include({
        autoSuspend: 120,
        statementTimeoutInSeconds: 900,
        resourceMonitor: "DBT_PIPELINE_MONITOR_QA",
      });
    expect(inputsOf(one(ev, T.monitor))).to.deep.equal({
      name: "DBT_PIPELINE_MONITOR_QA",
      creditQuota: 50,
      frequency: "MONTHLY",
      startTimestamp: "IMMEDIATELY",
      notifyTriggers: [75, 90, 100],
      notifyUsers: ["ALICE"],
    });
  });

  it("service users named after the suffix; their key secrets restorable for 30 days", () => {
    expect(all(ev, T.user).map((u) => inputsOf(u).name)).to.deep.equal(["LOADER_SVC_QA", "DBT_SVC_QA"]);
    const secrets = all(ev, T.secret);
    expect(secrets).to.have.length(2);
    for (const s of secrets) expect(inputsOf(s).recoveryWindowInDays, s.name).to.equal(30);
  });

  it("a passphrase, when given, reaches every provider as a secret", async () => {
    const withPassphrase = await evaluateAlone(() => {
      new SnowflakeFoundation("snowflake", {
        ...ARGS,
        admin: { ...ARGS.admin, privateKeyPassphrase: pulumi.secret("correct horse battery staple") },
      });
    });
    for (const p of all(withPassphrase, T.provider)) {
      expect(inputsOf(p).privateKeyPassphrase, p.name).to.equal("correct horse battery staple");
      expect(p.secretPaths, p.name).to.include("privateKeyPassphrase");
    }
  });
});

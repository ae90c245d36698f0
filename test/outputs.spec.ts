/**
 * The stack outputs are a contract other teams read with StackReference: this spec pins their
 * exact names and shapes for both stacks, so a rename is a deliberate, reviewed change (update
 * this list and the README's table together).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, evaluateStack } from "./helpers/stack";

const S = "string";

/** Every output and its shape. */
const CONTRACT: Record<string, unknown> = {
  environment: S,
  snowflakeAccount: S,
  snowflakeDatabase: S,
  snowflakeSchemas: { raw: S, staging: S, analytics: S, metrics: S, monitoring: S },
  snowflakeWarehouses: { loading: S, transforming: S, reporting: S },
  snowflakeRoles: { loader: S, transformer: S, reporter: S },
  snowflakeCiReaderRole: S,
  snowflakeUsers: { loader: S, dbt: S },
  snowflakePrivateKeySecretArns: { loader: S, dbt: S },
  snowflakeLoadTopicArn: S,
  snowflakePipelineRole: S,
  snowflakeWatchedTables: [],
  snowflakeDrift: [],
  dbtCluster: S,
  dbtTaskDefinition: S,
  dbtTaskFamily: S,
  dbtContainerName: S,
  dbtSubnets: [S],
  dbtSecurityGroups: [S],
  dbtAssignPublicIp: "boolean",
  dbtTaskRoles: { execution: S, task: S },
  dbtLogGroup: S,
  artifactBucket: S,
  artifactPrefixes: { runs: S, latest: S, observed: S },
  ecrRepositoryUrl: S,
  webhookUrlFivetran: S,
  webhookUrlAirbyte: S,
  runsQueueArn: S,
  deadLetterQueueArn: S,
  dispatchFunction: S,
  launchFunction: S,
  launchStateTable: S,
  alertTopicArn: S,
  runEventBusName: S,
  runEventBusArn: S,
  notifyFunction: S,
  dashboardName: S,
  githubPreviewRoleArn: S,
  permissionsBoundaryArn: S,
  githubDeployRoleArn: S,
  githubDbtCiRoleArn: S,
};

/** Outputs that are null in a stack: prod has no pull-request preview role. */
const NULL_IN: Record<string, readonly string[]> = { dev: [], prod: ["githubPreviewRoleArn"] };

/** Outputs that must be Pulumi secrets (they embed a credential). */
const SECRET_OUTPUTS = ["webhookUrlAirbyte"];

const shapeOf = (v: unknown): unknown =>
  v === undefined
    ? "undefined"
    : v === null
      ? "null"
      : Array.isArray(v)
        ? v.slice(0, 1).map(shapeOf)
        : typeof v === "object"
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]))
          : typeof v;

describe("stack outputs contract", () => {
  for (const stack of ["dev", "prod"] as const) {
    it(`${stack}: exactly the documented outputs, with their shapes`, async () => {
      const ev = await evaluateStack(stack);
      expect(Object.keys(ev.outputs).sort()).to.deep.equal(Object.keys(CONTRACT).sort());
      for (const [name, shape] of Object.entries(CONTRACT))
        expect(shapeOf(ev.outputs[name]), name).to.deep.equal(NULL_IN[stack].includes(name) ? "null" : shape);
    });

    it(`${stack}: outputs that embed a credential are secrets, and only those`, async () => {
      expect((await evaluateStack(stack)).secretOutputs).to.deep.equal(SECRET_OUTPUTS);
    });
  }

  it("values other teams hard-code follow the naming scheme", async () => {
    const o = (await evaluateStack("prod")).outputs;
    expect(o).to.include({
      environment: "prod",
      snowflakeAccount: "ACMEORG-ACME_DATA",
      snowflakeDatabase: "DBT_PIPELINE_PROD",
      snowflakeCiReaderRole: "DBT_CI_READER_PROD",
      dbtContainerName: "dbt",
      dbtTaskFamily: "dbt-pipeline-prod-dbt",
      runEventBusName: "dbt-pipeline-prod-runs",
      launchStateTable: "dbt-pipeline-prod-launch-state",
    });
    expect(o.artifactPrefixes).to.deep.equal({
      runs: "prod/runs/",
      latest: "prod/latest/",
      observed: "prod/observed/",
    });
  });

  it("the README documents every output", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Stack outputs"));
    for (const name of Object.keys(CONTRACT)) expect(section, name).to.include(`| \`${name}\` |`);
  });
});

import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleFunction } from "../../components/lib/bundle";

/**
 * Loads the bundled handler `name` as Lambda would, invokes it once with `event` and returns the
 * message of the error it throws. The bundles use zod/mini, which registers no messages of its
 * own (classic zod registers English); these read what a person sees in the logs.
 */
function errorOfBundle(name: string, env: Record<string, string>, event: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bundle-messages-${name}-`));
  try {
    const file = path.join(dir, "index.mjs");
    fs.writeFileSync(file, bundleFunction(name).code);
    const script = `
      const { handler } = await import(${JSON.stringify(file)});
      const context = { functionName: ${JSON.stringify(name)}, awsRequestId: "r-1", getRemainingTimeInMillis: () => 60000 };
      try { await handler(${JSON.stringify(event)}, context); process.stdout.write("no error"); }
      catch (err) { process.stdout.write(JSON.stringify(err.message)); }`;
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH, AWS_REGION: "eu-west-1", POWERTOOLS_METRICS_NAMESPACE: "test", ...env },
      encoding: "utf8",
    });
    expect(out.status, out.stderr).to.equal(0);
    return JSON.parse(out.stdout) as string;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("Lambda bundles: zod's messages read in English", () => {
  it("notify names each field an unknown event lacks", function () {
    this.timeout(120_000);
    const env = {
      ENVIRONMENT: "prod",
      ARTIFACT_BUCKET: "dbt-pipeline-prod-artifacts",
      EVENT_BUS_NAME: "dbt-pipeline-prod-runs",
      ALERT_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:dbt-pipeline-prod-alerts",
      LOG_GROUP_NAME: "/dbt-pipeline/prod/dbt",
      LOG_STREAM_PREFIX: "dbt",
      STATE_TABLE: "dbt-pipeline-prod-notify",
    };
    expect(errorOfBundle("notify", env, { source: "aws.ecs", "detail-type": "ECS Task State Change" })).to.equal(
      [
        "expected an ECS Task State Change event or an SNS delivery:",
        "✖ Invalid input: expected string, received undefined",
        "  → at version",
        "✖ Invalid input: expected string, received undefined",
        "  → at id",
        "✖ Invalid input: expected string, received undefined",
        "  → at account",
        "✖ Invalid input: expected string, received undefined",
        "  → at time",
        "✖ Invalid input: expected string, received undefined",
        "  → at region",
        "✖ Invalid input: expected array, received undefined",
        "  → at resources",
        "✖ Invalid input: expected object, received undefined",
        "  → at detail",
      ].join("\n"),
    );
  });

  it("launch names what an unknown event lacks", function () {
    this.timeout(120_000);
    const env = {
      CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/dbt-pipeline-prod",
      TASK_DEFINITION: "dbt-pipeline-prod-dbt",
      SUBNET_IDS: "subnet-0a1b2c3d",
      SECURITY_GROUP_IDS: "sg-0a1b2c3d",
      DLQ_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/dbt-pipeline-prod-runs-dlq.fifo",
      TABLE_NAME: "dbt-pipeline-prod-launch",
    };
    expect(errorOfBundle("launch", env, { kind: "sweeep" })).to.equal(
      'launch expects an SQS batch, an ECS Task State Change event or {"kind":"sweep"}: Records: Invalid input: expected array, received undefined',
    );
  });
});

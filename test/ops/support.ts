/**
 * Test support for the operator commands: a fake `pulumi` CLI that answers from fixtures and
 * records its calls, recorded stdout/stderr, and the outputs and config of a deployed dev stack
 * as the CLI prints them.
 */
import type { Io } from "../../ops/cli";
import type { PulumiResult, PulumiRunner } from "../../ops/stack";

/** `pulumi stack output --json` of a deployed dev stack (secrets masked as the CLI masks them). */
export const DEV_OUTPUTS = {
  environment: "dev",
  snowflakeAccount: "ACMEORG-ACME_DATA",
  snowflakeDatabase: "DBT_PIPELINE_DEV",
  snowflakeSchemas: {
    raw: "RAW",
    staging: "STAGING",
    analytics: "ANALYTICS",
    metrics: "METRICS",
    monitoring: "MONITORING",
  },
  dbtCluster: "arn:aws:ecs:eu-west-1:111122223333:cluster/dbt-pipeline-dev",
  dbtTaskDefinition: "arn:aws:ecs:eu-west-1:111122223333:task-definition/dbt-pipeline-dev-dbt:7",
  dbtTaskFamily: "dbt-pipeline-dev-dbt",
  dbtContainerName: "dbt",
  artifactBucket: "dbt-pipeline-dev-artifacts-111122223333",
  artifactPrefixes: { runs: "dev/runs/", latest: "dev/latest/" },
  dbtLogGroup: "/dbt-pipeline/dev/dbt",
  ecrRepositoryUrl: "111122223333.dkr.ecr.eu-west-1.amazonaws.com/dbt-pipeline-dev-dbt",
  webhookUrlFivetran: "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/fivetran",
  webhookUrlAirbyte: "[secret]",
  runsQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dbt-pipeline-dev-runs.fifo",
  deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dbt-pipeline-dev-runs-dlq.fifo",
  dispatchFunction: "dbt-pipeline-dev-dispatch",
  launchFunction: "dbt-pipeline-dev-launch",
  launchStateTable: "dbt-pipeline-dev-launch-state",
  notifyFunction: "dbt-pipeline-dev-notify",
};

/** `pulumi config --json` of the dev stack file (secrets elided without --show-secrets). */
export const DEV_CONFIG = {
  "aws:region": { value: "eu-west-1", secret: false },
  "dbt-pipeline:airbyte.webhookToken": { secret: true },
  "dbt-pipeline:dbt.imageTag": { value: "git-4f2c9e1", secret: false },
  "dbt-pipeline:fivetran.webhookSecret": { secret: true },
  "dbt-pipeline:github.owner": { value: "acme-data", secret: false },
  "dbt-pipeline:notify.slackWebhookUrl": { secret: true },
  "dbt-pipeline:snowflake.accountName": { value: "ACME_DATA", secret: false },
  "dbt-pipeline:snowflake.adminPrivateKey": { secret: true },
  "dbt-pipeline:snowflake.organizationName": { value: "ACMEORG", secret: false },
  "dbt-pipeline:sources": {
    value:
      '{"hubspot":{"airbyteConnections":["9b6e7d7c-1a52-4e0a-9a4e-3f0c6b1d2e11"],"exclude":["tag:heavy"]},"stripe":{"fastLaneTags":["dashboard"],"fivetranConnectors":["warranty_bullish"],"rawTables":["STRIPE_CHARGES","STRIPE_CUSTOMERS"],"staleAfterMinutes":120},"web_events":{"rawTables":["WEB_EVENTS"],"staleAfterMinutes":60}}',
    objectValue: {
      hubspot: { airbyteConnections: ["9b6e7d7c-1a52-4e0a-9a4e-3f0c6b1d2e11"], exclude: ["tag:heavy"] },
      stripe: {
        fastLaneTags: ["dashboard"],
        fivetranConnectors: ["warranty_bullish"],
        rawTables: ["STRIPE_CHARGES", "STRIPE_CUSTOMERS"],
        staleAfterMinutes: 120,
      },
      web_events: { rawTables: ["WEB_EVENTS"], staleAfterMinutes: 60 },
    },
    secret: false,
  },
};

/** The CLI's answer when the stack does not exist (pkg/cmd/pulumi `requireStack`). */
export const NO_STACK = (stack: string): PulumiResult => ({
  code: 255,
  stdout: "",
  stderr: `error: no stack named '${stack}' found\n`,
});

/** A fake `pulumi`: answers by the joined argv (without `--stack <name>`), records every call. */
export class FakePulumi {
  readonly calls: string[][] = [];
  constructor(private readonly answers: Record<string, PulumiResult | ((args: readonly string[]) => PulumiResult)>) {}

  readonly run: PulumiRunner = (args) => {
    this.calls.push([...args]);
    const key = args.filter((a, i) => a !== "--stack" && args[i - 1] !== "--stack").join(" ");
    const answer = this.answers[key];
    if (!answer)
      return Promise.resolve({ code: 1, stdout: "", stderr: `error: fake pulumi has no answer for: ${key}` });
    return Promise.resolve(typeof answer === "function" ? answer(args) : answer);
  };
}

/** A successful CLI call printing `json`. */
export const ok = (json: unknown): PulumiResult => ({
  code: 0,
  stdout: JSON.stringify(json, null, 2) + "\n",
  stderr: "",
});

/** A deployed dev stack: outputs and config. */
export function devPulumi(
  overrides: Record<string, PulumiResult | ((args: readonly string[]) => PulumiResult)> = {},
): FakePulumi {
  return new FakePulumi({ "stack output --json": ok(DEV_OUTPUTS), "config --json": ok(DEV_CONFIG), ...overrides });
}

/** Recorded stdout and stderr lines. */
export class RecordingIo implements Io {
  readonly outLines: string[] = [];
  readonly errLines: string[] = [];
  readonly out = (line: string) => {
    this.outLines.push(line);
  };
  readonly err = (line: string) => {
    this.errLines.push(line);
  };
}

/** An AWS SDK service error as the SDK throws it (name, message, $metadata). */
export function awsError(name: string, message: string, status = 400): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
  });
}

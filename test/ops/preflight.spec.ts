/**
 * `npm run preflight`: the whole report against a fake `pulumi`, mocked AWS clients and a fake
 * Snowflake connection; the exit code; and what is never touched when an earlier check fails.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { GetOpenIDConnectProviderCommand, IAMClient } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { PlannedStack } from "../../ops/plan";
import { preflight } from "../../ops/preflight";
import { FakeSnowflake, grantRow, tableRow } from "./fakes";
import { DEV_CONFIG, FakePulumi, NO_STACK, RecordingIo, awsError, ok } from "./support";

const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const iam = mockClient(IAMClient);
const ecr = mockClient(ECRClient);

const PRIVATE_KEY =
  "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----";
/** The dev stack file once its secrets are set (real ciphertexts, no placeholder). */
const SET_STACK_FILE = readFileSync(path.join(__dirname, "..", "..", "Pulumi.dev.yaml"), "utf8").replace(
  /v1:REPLACE-ME:[^\s]+/g,
  "v1:Qm9vdHN0cmFw:c2VjcmV0",
);
const PLAN: PlannedStack = {
  functions: [
    { name: "dbt-pipeline-dev-dispatch", reserved: 10 },
    { name: "dbt-pipeline-dev-launch", reserved: 2 },
  ],
  githubOidc: "create",
  ecrRepository: "dbt-pipeline-dev-dbt",
  database: "DBT_PIPELINE_DEV",
};

function newStackPulumi(overrides: ConstructorParameters<typeof FakePulumi>[0] = {}): FakePulumi {
  return new FakePulumi({
    version: { code: 0, stdout: "v3.210.0\n", stderr: "" },
    "whoami --json": ok({ user: "alice", url: "https://app.pulumi.com/alice" }),
    "config --json": ok(DEV_CONFIG),
    "stack output --json": ok({}),
    "config get snowflake.adminPrivateKey": { code: 0, stdout: `${PRIVATE_KEY}\n`, stderr: "" },
    ...overrides,
  });
}

function run(
  argv: string[],
  opts: { pulumi?: FakePulumi; stackFile?: string; plan?: () => Promise<PlannedStack>; snowflake?: FakeSnowflake } = {},
) {
  const io = new RecordingIo();
  const pulumi = opts.pulumi ?? newStackPulumi();
  const snowflake =
    opts.snowflake ??
    new FakeSnowflake([
      [/^SHOW GRANTS TO USER/, ["SYSADMIN", "SECURITYADMIN", "ACCOUNTADMIN", "PUBLIC"].map((r) => grantRow(r))],
      [/^SHOW TABLES LIKE 'STRIPE_CHARGES'/, [tableRow("DBT_PIPELINE_DEV", "RAW", "STRIPE_CHARGES")]],
      [/^SHOW TABLES LIKE 'STRIPE_CUSTOMERS'/, []],
      [/^SHOW TABLES LIKE 'WEB_EVENTS'/, []],
      [
        /^SELECT ENTRY, SOURCE, TABLE_NAME, STATUS, DETAIL, CHECKED_AT FROM "DBT_PIPELINE_DEV"\."MONITORING"\."CHANGE_DETECTION_STATE"/,
        [
          {
            ENTRY: "STRIPE_CHARGES",
            SOURCE: "stripe",
            TABLE_NAME: "RAW.STRIPE_CHARGES",
            STREAM_NAME: "RAW_STRIPE_CHARGES_STREAM",
            TASK_NAME: "RAW_STRIPE_CHARGES_LOAD_TASK",
            STATUS: "watching",
            DETAIL: null,
            CHECKED_AT: "2026-11-22 10:00:00.000 +0000",
          },
          {
            ENTRY: "STRIPE_CUSTOMERS",
            SOURCE: "stripe",
            TABLE_NAME: null,
            STREAM_NAME: null,
            TASK_NAME: null,
            STATUS: "pending",
            DETAIL: null,
            CHECKED_AT: "2026-11-22 10:00:00.000 +0000",
          },
          {
            ENTRY: "WEB_EVENTS",
            SOURCE: "web_events",
            TABLE_NAME: "RAW.WEB_EVENTS",
            STREAM_NAME: "RAW_WEB_EVENTS_STREAM",
            TASK_NAME: "RAW_WEB_EVENTS_LOAD_TASK",
            STATUS: "created",
            DETAIL: null,
            CHECKED_AT: "2026-11-22 10:00:00.000 +0000",
          },
        ],
      ],
    ]);
  const regions: string[] = [];
  const done = preflight(argv, {
    pulumi: pulumi.run,
    readStackFile: () => opts.stackFile ?? SET_STACK_FILE,
    plan: opts.plan ?? (() => Promise.resolve(PLAN)),
    clients: (region) => {
      regions.push(region);
      return {
        sts: new STSClient({ region }),
        lambda: new LambdaClient({ region }),
        iam: new IAMClient({ region }),
        ecr: new ECRClient({ region }),
      };
    },
    snowflake: snowflake.create,
    io,
  });
  return { io, pulumi, snowflake, regions, done };
}

const statusOf = (lines: string[]) => lines.map((l) => l.replace(/^(\w+)\s+([^:]+):.*$/, "$1 $2"));

describe("ops preflight", () => {
  beforeEach(() => {
    for (const m of [sts, lambda, iam, ecr]) m.reset();
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: "111122223333", Arn: "arn:aws:sts::111122223333:assumed-role/Admin/alice" });
    lambda
      .on(GetAccountSettingsCommand)
      .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
    lambda.on(GetFunctionConcurrencyCommand).rejects(awsError("ResourceNotFoundException", "Function not found", 404));
    iam.on(GetOpenIDConnectProviderCommand).rejects(awsError("NoSuchEntityException", "not found", 404));
    ecr
      .on(DescribeImagesCommand)
      .rejects(
        awsError("RepositoryNotFoundException", "The repository with name 'dbt-pipeline-dev-dbt' does not exist"),
      );
  });

  it("a new stack ready to deploy: every check in order, exit 0", async () => {
    const t = run(["dev"]);
    expect(await t.done).to.equal(0);
    expect(t.io.errLines).to.deep.equal([]);
    expect(statusOf(t.io.outLines)).to.deep.equal([
      "PASS pulumi CLI and backend login",
      "PASS secrets set",
      "PASS program",
      "PASS AWS identity and region",
      "PASS Lambda concurrency quota",
      "PASS GitHub OIDC provider",
      "WARN dbt image in ECR",
      "PASS Snowflake deployer login",
      "PASS Snowflake deployer roles",
      "PASS watched table STRIPE_CHARGES (stripe)",
      "WARN watched table STRIPE_CUSTOMERS (stripe)",
      "PASS watched table WEB_EVENTS (web_events)",
      "ready: pulumi up --stack dev",
    ]);
    expect(t.regions).to.deep.equal(["eu-west-1"]);
    expect(t.snowflake.options[0]).to.deep.include({
      account: "ACMEORG-ACME_DATA",
      username: "PULUMI_DEPLOYER",
      authenticator: "SNOWFLAKE_JWT",
      privateKey: PRIVATE_KEY,
    });
    expect(t.snowflake.statements).to.deep.equal([
      'SHOW GRANTS TO USER "PULUMI_DEPLOYER"',
      "USE ROLE SYSADMIN",
      'SELECT ENTRY, SOURCE, TABLE_NAME, STATUS, DETAIL, CHECKED_AT FROM "DBT_PIPELINE_DEV"."MONITORING"."CHANGE_DETECTION_STATE" ORDER BY ENTRY, TABLE_NAME',
    ]);
    expect(t.snowflake.destroyed).to.equal(1);
    expect(t.io.outLines.join("\n")).not.to.include("MIIEvQ");
  });

  it("the shipped placeholders: fails on the secrets and never decrypts or logs in to Snowflake", async () => {
    const t = run(["dev"], { stackFile: readFileSync(path.join(__dirname, "..", "..", "Pulumi.dev.yaml"), "utf8") });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines[1]).to.match(
      /^FAIL {2}secrets set: dbt-pipeline:airbyte\.webhookToken, .* fix: pulumi config set --secret airbyte\.webhookToken <value> --stack dev; /,
    );
    expect(t.io.outLines).to.include(
      "SKIP  Snowflake deployer login: needs snowflake.organizationName, snowflake.accountName and a real snowflake.adminPrivateKey",
    );
    expect(t.pulumi.calls.map((c) => c.join(" "))).not.to.include("config get snowflake.adminPrivateKey --stack dev");
    expect(t.snowflake.options).to.have.length(0);
    expect(t.io.outLines.at(-1)).to.equal("1 check(s) failed: fix them before pulumi up --stack dev");
  });

  it("an unknown stack: one failing line, exit 1, no AWS or Snowflake call", async () => {
    const t = run(["staging"], { pulumi: newStackPulumi({ "config --json": NO_STACK("staging") }) });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.deep.equal([
      "PASS  pulumi CLI and backend login: pulumi v3.210.0, logged in as alice to https://app.pulumi.com/alice",
      "FAIL  stack staging: unknown stack staging: no stack named 'staging' found; list the stacks with pulumi stack ls  fix: pulumi stack init staging (add --secrets-provider awskms://alias/<key> for a self-managed backend)",
    ]);
    expect(sts.calls().length + lambda.calls().length + iam.calls().length + ecr.calls().length).to.equal(0);
    expect(t.snowflake.options).to.have.length(0);
  });

  it("a stack whose config the CLI cannot read: the CLI's reason, and no stack init advice", async () => {
    const t = run(["dev"], {
      pulumi: newStackPulumi({
        "config --json": {
          code: 255,
          stdout: "",
          stderr:
            "error: could not read stack settings: yaml: line 7: mapping values are not allowed in this context\n",
        },
      }),
    });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines[1]).to.equal(
      "FAIL  stack dev: pulumi config failed for stack dev: could not read stack settings: yaml: line 7: mapping values are not allowed in this context  fix: run pulumi config --stack dev to see the CLI's own error",
    );
  });

  it("no pulumi CLI: one failing line and nothing else", async () => {
    const t = run(["dev"], {
      pulumi: newStackPulumi({ version: { code: 127, stdout: "", stderr: "pulumi: command not found" } }),
    });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.deep.equal([
      "FAIL  pulumi CLI and backend login: the pulumi CLI is not installed or not on PATH  fix: install it: https://www.pulumi.com/docs/iac/download-install/",
    ]);
    expect(sts.calls()).to.have.length(0);
  });

  it("expired AWS credentials: the identity check fails with the fix, the AWS checks are skipped, exit 1", async () => {
    sts
      .on(GetCallerIdentityCommand)
      .rejects(awsError("ExpiredToken", "The security token included in the request is expired", 403));
    const t = run(["dev"]);
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.include.members([
      "FAIL  AWS identity and region: checking your AWS identity (sts:GetCallerIdentity) failed: your AWS credentials are expired or missing (ExpiredToken); refresh them (aws sso login, or new keys in AWS_PROFILE) and run again  fix: refresh your credentials (aws sso login --profile <profile>) and run again",
      "SKIP  Lambda concurrency quota: needs working AWS credentials",
      "SKIP  GitHub OIDC provider: needs working AWS credentials",
      "SKIP  dbt image in ECR: needs working AWS credentials",
    ]);
    expect(lambda.calls().length + iam.calls().length + ecr.calls().length).to.equal(0);
  });

  it("a deployed stack checked with another account's credentials fails before any other AWS check", async () => {
    const pulumi = newStackPulumi({
      "stack output --json": ok({
        environment: "dev",
        runsQueueArn: "arn:aws:sqs:eu-west-1:444455556666:dbt-pipeline-dev-runs.fifo",
      }),
    });
    const t = run(["dev"], { pulumi });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.include(
      "FAIL  AWS identity and region: credentials for 111122223333 in eu-west-1, but stack dev is deployed in 444455556666 eu-west-1  fix: switch AWS_PROFILE to the stack's account (a deploy elsewhere would create a second copy)",
    );
    expect(lambda.calls().length + iam.calls().length + ecr.calls().length).to.equal(0);
  });

  it("a program that does not evaluate (bad config): fails with the plan's message and skips what needs it", async () => {
    const t = run(["dev"], {
      plan: () =>
        Promise.reject(
          new Error(
            "Invalid configuration in stack dev (1 problem):\n  - dbt-pipeline:dbt.memory: expected one of 1024, 2048",
          ),
        ),
    });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.include(
      "FAIL  program: Invalid configuration in stack dev (1 problem): - dbt-pipeline:dbt.memory: expected one of 1024, 2048  fix: npm run plan -- dev lists every problem",
    );
    expect(t.io.outLines).to.include("SKIP  Lambda concurrency quota: needs the program to evaluate");
    // The watched tables are the reconciler's business: without the plan, still one line each, never a FAIL.
    expect(t.io.outLines).to.include(
      "WARN  watched table WEB_EVENTS (web_events): change detection state not readable yet (first deploy, or Snowflake not reached); the reconciler creates its stream and task within 10 minutes (snowflake.reconcileScheduleMinutes) once the loader has created the table; until then loads into it start no dbt run, the source's webhooks and the schedules still do",
    );
  });

  it("a key pair Snowflake rejects: the login fails with how to compare the keys", async () => {
    const t = run(["dev"], {
      snowflake: new FakeSnowflake([], { message: "JWT token is invalid. [7d5f2a3e-...]", code: "390144" }),
    });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.include(
      "FAIL  Snowflake deployer login: PULUMI_DEPLOYER at ACMEORG-ACME_DATA: JWT token is invalid. [7d5f2a3e-...]  fix: in Snowflake, DESC USER PULUMI_DEPLOYER and compare RSA_PUBLIC_KEY_FP with the key's fingerprint; ALTER USER PULUMI_DEPLOYER SET RSA_PUBLIC_KEY='<public key>'",
    );
  });

  it("an encrypted private key is refused before connecting", async () => {
    const pulumi = newStackPulumi({
      "config get snowflake.adminPrivateKey": {
        code: 0,
        stdout: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n",
        stderr: "",
      },
    });
    const t = run(["dev"], { pulumi });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines.find((l) => l.startsWith("FAIL  Snowflake deployer login"))).to.include("is an encrypted key");
    expect(t.snowflake.options).to.have.length(0);
  });

  it("an encrypted private key with snowflake.adminPrivateKeyPassphrase set connects with the passphrase, never printed", async () => {
    const encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----";
    const pulumi = newStackPulumi({
      "config --json": ok({ ...DEV_CONFIG, "dbt-pipeline:snowflake.adminPrivateKeyPassphrase": { secret: true } }),
      "config get snowflake.adminPrivateKey": { code: 0, stdout: `${encrypted}\n`, stderr: "" },
      "config get snowflake.adminPrivateKeyPassphrase": { code: 0, stdout: "c0rrect horse\n", stderr: "" },
    });
    const t = run(["dev"], { pulumi });
    await t.done;
    expect(pulumi.calls.map((c) => c.join(" "))).to.include(
      "config get snowflake.adminPrivateKeyPassphrase --stack dev",
    );
    expect(t.snowflake.options[0]).to.deep.include({
      authenticator: "SNOWFLAKE_JWT",
      privateKey: encrypted,
      privateKeyPass: "c0rrect horse",
    });
    expect(t.io.outLines).to.include(
      "PASS  Snowflake deployer login: PULUMI_DEPLOYER at ACMEORG-ACME_DATA with its key pair",
    );
    expect([...t.io.outLines, ...t.io.errLines].join("\n")).not.to.include("c0rrect horse");
  });

  it("an encrypted private key without snowflake.adminPrivateKeyPassphrase fails with the command that sets it", async () => {
    const pulumi = newStackPulumi({
      "config get snowflake.adminPrivateKey": {
        code: 0,
        stdout: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED PRIVATE KEY-----\n",
        stderr: "",
      },
    });
    const t = run(["dev"], { pulumi });
    expect(await t.done).to.equal(1);
    expect(t.io.outLines).to.include(
      "FAIL  Snowflake deployer login: snowflake.adminPrivateKey is an encrypted key and snowflake.adminPrivateKeyPassphrase is not set  fix: pulumi config set --secret snowflake.adminPrivateKeyPassphrase --stack dev",
    );
  });

  it("usage errors exit 2", async () => {
    const t = run([]);
    expect(await t.done).to.equal(2);
    expect(t.io.errLines).to.deep.equal(["error: name the stack; usage: npm run preflight -- <stack>"]);
  });
});

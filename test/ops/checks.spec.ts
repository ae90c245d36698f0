/**
 * Preflight's checks, one by one: the exact line and fix each prints for the account it sees.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { DescribeImagesCommand, ECRClient } from "@aws-sdk/client-ecr";
import { GetOpenIDConnectProviderCommand, IAMClient } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  checkGithubOidc,
  checkImage,
  checkLambdaQuota,
  checkPulumi,
  checkSecrets,
  checkSnowflakeRoles,
  checkWatchedTables,
  formatResult,
  readChangeDetectionState,
  placeholderKeys,
} from "../../ops/checks";
import { PlannedStack, plannedStack } from "../../ops/plan";
import { connectSnowflake } from "../../ops/snowflake";
import { FakeSnowflake, grantRow, grantRow2025 } from "./fakes";
import { FakePulumi, awsError, ok } from "./support";

const lambda = mockClient(LambdaClient);
const iam = mockClient(IAMClient);
const ecr = mockClient(ECRClient);
const ROOT = path.join(__dirname, "..", "..");
const OIDC_ARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";

const PLAN: PlannedStack = {
  functions: [
    { name: "dbt-pipeline-dev-dispatch", reserved: 10 },
    { name: "dbt-pipeline-dev-launch", reserved: 2 },
    { name: "dbt-pipeline-dev-notify", reserved: 10 },
    { name: "dbt-pipeline-dev-freshness", reserved: 1 },
  ],
  githubOidc: "create",
  ecrRepository: "dbt-pipeline-dev-dbt",
  database: "DBT_PIPELINE_DEV",
};

const session = async (fake: FakeSnowflake) =>
  connectSnowflake(fake.create, {
    account: "ACMEORG-ACME_DATA",
    user: "PULUMI_DEPLOYER",
    privateKey: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
  });

describe("ops preflight checks", () => {
  beforeEach(() => {
    lambda.reset();
    iam.reset();
    ecr.reset();
  });

  describe("secrets", () => {
    it("finds the repository's placeholder secrets in the shipped dev stack file", () => {
      expect(placeholderKeys(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"))).to.deep.equal([
        "dbt-pipeline:airbyte.webhookToken",
        "dbt-pipeline:fivetran.webhookSecret",
        "dbt-pipeline:notify.slackWebhookUrl",
        "dbt-pipeline:snowflake.adminPrivateKey",
      ]);
    });

    it("fails with the command that sets each one", () => {
      const text =
        "config:\n  dbt-pipeline:snowflake.adminPrivateKey:\n    secure: v1:REPLACE-ME:x\n  dbt-pipeline:notify.slackWebhookUrl:\n    secure: v1:REPLACE-ME:y\n";
      expect(
        formatResult(
          checkSecrets(
            text,
            new Set(["dbt-pipeline:snowflake.adminPrivateKey", "dbt-pipeline:notify.slackWebhookUrl"]),
            "dev",
          ),
        ),
      ).to.equal(
        "FAIL  secrets set: dbt-pipeline:notify.slackWebhookUrl, dbt-pipeline:snowflake.adminPrivateKey are still the repository's placeholder or unset (pulumi cannot decrypt a placeholder, so every deploy fails)" +
          "  fix: pulumi config set --secret notify.slackWebhookUrl <value> --stack dev; pulumi config set --secret snowflake.adminPrivateKey --stack dev < <deployer key>.p8",
      );
    });

    it("fails when a required secret is not set at all, passes once it is", () => {
      expect(checkSecrets("config: {}\n", new Set(), "prod")).to.deep.include({
        status: "fail",
        fix: "pulumi config set --secret snowflake.adminPrivateKey --stack prod < <deployer key>.p8",
      });
      const real = "config:\n  dbt-pipeline:snowflake.adminPrivateKey:\n    secure: v1:9Wq3VnC1tYk=:Zm9vYmFy\n";
      expect(checkSecrets(real, new Set(["dbt-pipeline:snowflake.adminPrivateKey"]), "prod")).to.deep.equal({
        check: "secrets set",
        status: "pass",
        detail: "no placeholder secret left in the stack",
      });
    });
  });

  describe("pulumi", () => {
    it("not installed, not logged in, logged in", async () => {
      expect(await checkPulumi(new FakePulumi({}).run)).to.deep.include({ status: "fail" });
      expect((await checkPulumi(new FakePulumi({ version: { code: 127, stdout: "", stderr: "" } }).run)).fix).to.equal(
        "install it: https://www.pulumi.com/docs/iac/download-install/",
      );
      const notLoggedIn = new FakePulumi({
        version: ok("v3.210.0"),
        "whoami --json": {
          code: 255,
          stdout: "",
          stderr: "error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions\n",
        },
      });
      expect(formatResult(await checkPulumi(notLoggedIn.run))).to.equal(
        "FAIL  pulumi CLI and backend login: not logged in to a backend (error: PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions)  fix: pulumi login (Pulumi Cloud) or pulumi login s3://<state-bucket> (self-managed)",
      );
      const fine = new FakePulumi({
        version: { code: 0, stdout: "v3.210.0\n", stderr: "" },
        "whoami --json": ok({ user: "alice", organizations: ["acme"], url: "https://app.pulumi.com/alice" }),
      });
      expect(formatResult(await checkPulumi(fine.run))).to.equal(
        "PASS  pulumi CLI and backend login: pulumi v3.210.0, logged in as alice to https://app.pulumi.com/alice",
      );
    });
  });

  describe("Lambda quota", () => {
    it("passes with room to spare, listing what the stack reserves", async () => {
      lambda
        .on(GetAccountSettingsCommand)
        .resolves({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } });
      lambda
        .on(GetFunctionConcurrencyCommand)
        .rejects(awsError("ResourceNotFoundException", "Function not found: dbt-pipeline-dev-dispatch", 404));
      expect(formatResult(await checkLambdaQuota(new LambdaClient({ region: "eu-west-1" }), PLAN))).to.equal(
        "PASS  Lambda concurrency quota: account limit 1000, unreserved 1000; the stack reserves 23 (dbt-pipeline-dev-dispatch 10, dbt-pipeline-dev-launch 2, dbt-pipeline-dev-notify 10, dbt-pipeline-dev-freshness 1), leaving 977",
      );
    });

    it("fails on a new account's quota of 50: the reservations would leave less than 100", async () => {
      lambda
        .on(GetAccountSettingsCommand)
        .resolves({ AccountLimit: { ConcurrentExecutions: 50, UnreservedConcurrentExecutions: 50 } });
      lambda.on(GetFunctionConcurrencyCommand).resolves({});
      const r = await checkLambdaQuota(new LambdaClient({ region: "eu-west-1" }), PLAN);
      expect(r.status).to.equal("fail");
      expect(r.detail).to.equal(
        "account limit 50, unreserved 50; the stack reserves 23 (dbt-pipeline-dev-dispatch 10, dbt-pipeline-dev-launch 2, dbt-pipeline-dev-notify 10, dbt-pipeline-dev-freshness 1), leaving 27, below the 100 Lambda keeps unreserved (PutFunctionConcurrency fails during pulumi up)",
      );
      expect(r.fix).to.equal(
        'request a Lambda "Concurrent executions" quota of at least 123 in Service Quotas, or lower the functions\' reserved concurrency',
      );
    });

    it("counts back what the stack's functions already reserve (a redeploy reserves nothing new)", async () => {
      lambda
        .on(GetAccountSettingsCommand)
        .resolves({ AccountLimit: { ConcurrentExecutions: 123, UnreservedConcurrentExecutions: 100 } });
      lambda
        .on(GetFunctionConcurrencyCommand, { FunctionName: "dbt-pipeline-dev-dispatch" })
        .resolves({ ReservedConcurrentExecutions: 10 });
      lambda
        .on(GetFunctionConcurrencyCommand, { FunctionName: "dbt-pipeline-dev-launch" })
        .resolves({ ReservedConcurrentExecutions: 2 });
      lambda
        .on(GetFunctionConcurrencyCommand, { FunctionName: "dbt-pipeline-dev-notify" })
        .resolves({ ReservedConcurrentExecutions: 10 });
      lambda
        .on(GetFunctionConcurrencyCommand, { FunctionName: "dbt-pipeline-dev-freshness" })
        .resolves({ ReservedConcurrentExecutions: 1 });
      expect(await checkLambdaQuota(new LambdaClient({ region: "eu-west-1" }), PLAN)).to.deep.include({
        status: "pass",
      });
    });
  });

  describe("GitHub OIDC provider", () => {
    const account = { partition: "aws", id: "111122223333" };
    const client = () => new IAMClient({ region: "eu-west-1" });

    it("the stack creates it and it does not exist: pass", async () => {
      iam
        .on(GetOpenIDConnectProviderCommand)
        .rejects(awsError("NoSuchEntityException", `OpenIDConnect Provider not found for arn ${OIDC_ARN}`, 404));
      expect(await checkGithubOidc(client(), PLAN, account, "dev")).to.deep.equal({
        check: "GitHub OIDC provider",
        status: "pass",
        detail: `${OIDC_ARN} does not exist yet; this stack creates it`,
      });
      expect(iam.commandCalls(GetOpenIDConnectProviderCommand)[0].args[0].input).to.deep.equal({
        OpenIDConnectProviderArn: OIDC_ARN,
      });
    });

    it("the stack creates it but the account already has one of its own: fail (EntityAlreadyExists)", async () => {
      iam.on(GetOpenIDConnectProviderCommand).resolves({
        Url: "token.actions.githubusercontent.com",
        ClientIDList: ["sts.amazonaws.com"],
        Tags: [{ Key: "team", Value: "platform" }],
      });
      const r = await checkGithubOidc(client(), PLAN, account, "dev");
      expect(r.status).to.equal("fail");
      expect(r.detail).to.equal(
        `${OIDC_ARN} already exists and is not this stack's (tags project=-, environment=-); creating it again fails with EntityAlreadyExists`,
      );
    });

    it("the stack's own provider (a redeploy): pass", async () => {
      iam.on(GetOpenIDConnectProviderCommand).resolves({
        Url: "token.actions.githubusercontent.com",
        ClientIDList: ["sts.amazonaws.com"],
        Tags: [
          { Key: "project", Value: "dbt-pipeline" },
          { Key: "environment", Value: "dev" },
          { Key: "managed-by", Value: "pulumi" },
        ],
      });
      expect(await checkGithubOidc(client(), PLAN, account, "dev")).to.deep.include({
        status: "pass",
        detail: `${OIDC_ARN} exists and belongs to this stack`,
      });
    });

    it("prod trusts dev's provider: fail while dev has not created it", async () => {
      iam.on(GetOpenIDConnectProviderCommand).rejects(awsError("NoSuchEntityException", "not found", 404));
      const r = await checkGithubOidc(client(), { ...PLAN, githubOidc: "existing" }, account, "prod");
      expect(r).to.deep.include({
        status: "fail",
        fix: "deploy the stack that creates it first (dev), or create it: aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com",
      });
    });

    it("a provider without the sts.amazonaws.com audience: fail with the command that adds it", async () => {
      iam
        .on(GetOpenIDConnectProviderCommand)
        .resolves({ Url: "token.actions.githubusercontent.com", ClientIDList: ["sigstore"] });
      const r = await checkGithubOidc(client(), { ...PLAN, githubOidc: "existing" }, account, "prod");
      expect(r.fix).to.equal(
        `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${OIDC_ARN} --client-id sts.amazonaws.com`,
      );
    });

    it("no GitHub side: pass without asking IAM", async () => {
      expect(await checkGithubOidc(client(), { ...PLAN, githubOidc: "none" }, account, "dev")).to.deep.include({
        status: "pass",
      });
      expect(iam.calls()).to.have.length(0);
    });
  });

  describe("Snowflake", () => {
    it("connects with key-pair (JWT) authentication to <org>-<account>", async () => {
      const fake = new FakeSnowflake([]);
      await (await session(fake)).close();
      expect(fake.options).to.deep.equal([
        {
          account: "ACMEORG-ACME_DATA",
          username: "PULUMI_DEPLOYER",
          authenticator: "SNOWFLAKE_JWT",
          privateKey: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
          application: "dbt-pipeline-preflight",
        },
      ]);
      expect(fake.destroyed).to.equal(1);
    });

    it("roles: SHOW GRANTS TO USER, and the GRANT for each missing one", async () => {
      const fake = new FakeSnowflake([
        [
          /^SHOW GRANTS TO USER "PULUMI_DEPLOYER"$/,
          [grantRow("SYSADMIN"), grantRow("PUBLIC"), grantRow("SECURITYADMIN")],
        ],
      ]);
      const r = await checkSnowflakeRoles(await session(fake), "PULUMI_DEPLOYER", [
        "SYSADMIN",
        "SECURITYADMIN",
        "ACCOUNTADMIN",
      ]);
      expect(formatResult(r)).to.equal(
        'FAIL  Snowflake deployer roles: PULUMI_DEPLOYER lacks ACCOUNTADMIN (the providers switch to each role; holds PUBLIC, SECURITYADMIN, SYSADMIN)  fix: as ACCOUNTADMIN: GRANT ROLE "ACCOUNTADMIN" TO USER "PULUMI_DEPLOYER";',
      );
    });

    it("roles: reads the 2025_01 output, where privileges granted to the user sit beside role grants", async () => {
      const fake = new FakeSnowflake([
        [
          /^SHOW GRANTS TO USER/,
          [
            grantRow2025("USAGE", "ROLE", "SYSADMIN", "SYSADMIN"),
            grantRow2025("USAGE", "ROLE", "SECURITYADMIN", "SECURITYADMIN"),
            grantRow2025("USAGE", "WAREHOUSE", "ACCOUNTADMIN_WH", null),
          ],
        ],
      ]);
      const r = await checkSnowflakeRoles(await session(fake), "PULUMI_DEPLOYER", [
        "SYSADMIN",
        "SECURITYADMIN",
        "ACCOUNTADMIN",
      ]);
      expect(r.detail).to.equal(
        "PULUMI_DEPLOYER lacks ACCOUNTADMIN (the providers switch to each role; holds SECURITYADMIN, SYSADMIN)",
      );
    });

    it("watched tables: the reconciler's state per entry; a table not there yet is a WARN, never a FAIL", async () => {
      const fake = new FakeSnowflake([
        [
          /^SELECT ENTRY, SOURCE, TABLE_NAME, STATUS, DETAIL, CHECKED_AT FROM "DBT_PIPELINE_DEV"\."MONITORING"\."CHANGE_DETECTION_STATE" ORDER BY ENTRY, TABLE_NAME$/,
          [
            {
              ENTRY: "STRIPE.*",
              SOURCE: "stripe",
              TABLE_NAME: "STRIPE.CHARGES",
              STREAM_NAME: "STRIPE_CHARGES_STREAM",
              TASK_NAME: "STRIPE_CHARGES_LOAD_TASK",
              STATUS: "watching",
              DETAIL: null,
              CHECKED_AT: "2026-11-22 10:00:00.000 +0000",
            },
            {
              ENTRY: "STRIPE_CHARGES",
              SOURCE: "stripe",
              TABLE_NAME: "RAW.STRIPE_CHARGES",
              STREAM_NAME: "RAW_STRIPE_CHARGES_STREAM",
              TASK_NAME: "RAW_STRIPE_CHARGES_LOAD_TASK",
              STATUS: "suspended",
              DETAIL: "task suspended after 3 failures",
              CHECKED_AT: "2026-11-22 10:00:00.000 +0000",
            },
            {
              ENTRY: "WEB_EVENTS",
              SOURCE: "web_events",
              TABLE_NAME: null,
              STREAM_NAME: null,
              TASK_NAME: null,
              STATUS: "pending",
              DETAIL: null,
              CHECKED_AT: "2026-11-22 10:00:00.000 +0000",
            },
          ],
        ],
      ]);
      const state = await readChangeDetectionState(await session(fake), "DBT_PIPELINE_DEV", "MONITORING");
      const entries = [
        { source: "stripe", entry: "STRIPE.*" },
        { source: "stripe", entry: "STRIPE_CHARGES" },
        { source: "web_events", entry: "WEB_EVENTS" },
        { source: "hubspot", entry: "HUBSPOT_CONTACTS" },
      ];
      expect(checkWatchedTables(entries, 10, state).map(formatResult)).to.deep.equal([
        "PASS  watched table STRIPE.* (stripe): STRIPE.CHARGES: watching",
        "WARN  watched table STRIPE_CHARGES (stripe): RAW.STRIPE_CHARGES: suspended (task suspended after 3 failures)  fix: see docs/snowflake-day-one.md for each status (suspended: fix the cause, ALTER TASK … RESUME as PIPELINE_<ENV>; error: fix what the detail says)",
        "WARN  watched table WEB_EVENTS (web_events): matches no table yet (pending); the reconciler creates its stream and task within 10 minutes (snowflake.reconcileScheduleMinutes) once the loader has created the table  fix: run the source's first sync; check the schema name if it stays pending",
        "WARN  watched table HUBSPOT_CONTACTS (hubspot): not yet seen by the reconciler (added since its last run); the reconciler creates its stream and task within 10 minutes (snowflake.reconcileScheduleMinutes) once the loader has created the table",
      ]);
    });

    it("watched tables before the first deploy (no state table): every entry a WARN saying it is picked up later", async () => {
      const fake = new FakeSnowflake([
        [
          /CHANGE_DETECTION_STATE/,
          {
            error: {
              message:
                "SQL compilation error:\nObject 'DBT_PIPELINE_DEV.MONITORING.CHANGE_DETECTION_STATE' does not exist or not authorized.",
              code: "002003",
            },
          },
        ],
      ]);
      const state = await readChangeDetectionState(await session(fake), "DBT_PIPELINE_DEV", "MONITORING");
      expect(state).to.equal(undefined);
      expect(
        checkWatchedTables([{ source: "web_events", entry: "WEB_EVENTS" }], 15, state).map(formatResult),
      ).to.deep.equal([
        "WARN  watched table WEB_EVENTS (web_events): change detection state not readable yet (first deploy, or Snowflake not reached); the reconciler creates its stream and task within 15 minutes (snowflake.reconcileScheduleMinutes) once the loader has created the table; until then loads into it start no dbt run, the source's webhooks and the schedules still do",
      ]);
    });
  });

  describe("dbt image", () => {
    const client = () => new ECRClient({ region: "eu-west-1" });
    it("present: pass, asking for the exact tag", async () => {
      ecr.on(DescribeImagesCommand).resolves({
        imageDetails: [
          {
            repositoryName: "dbt-pipeline-dev-dbt",
            imageTags: ["git-4f2c9e1"],
            imagePushedAt: new Date("2026-11-30T10:00:00Z"),
          },
        ],
      });
      expect(formatResult(await checkImage(client(), "dbt-pipeline-dev-dbt", "git-4f2c9e1", true))).to.equal(
        "PASS  dbt image in ECR: dbt-pipeline-dev-dbt:git-4f2c9e1 pushed 2026-11-30T10:00:00.000Z",
      );
      expect(ecr.commandCalls(DescribeImagesCommand)[0].args[0].input).to.deep.equal({
        repositoryName: "dbt-pipeline-dev-dbt",
        imageIds: [{ imageTag: "git-4f2c9e1" }],
      });
    });

    it("a digest is looked up as a digest", async () => {
      ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{}] });
      const digest = `sha256:${"a".repeat(64)}`;
      await checkImage(client(), "r", digest, true);
      expect(ecr.commandCalls(DescribeImagesCommand)[0].args[0].input.imageIds).to.deep.equal([
        { imageDigest: digest },
      ]);
    });

    it("missing from a deployed repository: fail (every run would fail to start)", async () => {
      ecr
        .on(DescribeImagesCommand)
        .rejects(
          awsError(
            "ImageNotFoundException",
            "The image with imageId {imageDigest:'null', imageTag:'git-0000000'} does not exist within the repository",
          ),
        );
      expect(await checkImage(client(), "dbt-pipeline-dev-dbt", "git-0000000", true)).to.deep.include({
        status: "fail",
        detail:
          "dbt-pipeline-dev-dbt has no image git-0000000: every run would fail to start (CannotPullContainerError)",
      });
    });

    it("before the first deploy the repository does not exist yet: a warning, not a failure", async () => {
      ecr
        .on(DescribeImagesCommand)
        .rejects(
          awsError(
            "RepositoryNotFoundException",
            "The repository with name 'dbt-pipeline-dev-dbt' does not exist in the registry",
          ),
        );
      expect(await checkImage(client(), "dbt-pipeline-dev-dbt", "git-4f2c9e1", false)).to.deep.include({
        status: "warn",
      });
    });
  });

  describe("the plan the checks read", () => {
    it("reads reservations, OIDC, the repository and the database from declared resources", () => {
      expect(
        plannedStack([
          {
            type: "aws:lambda/function:Function",
            name: "triggers-dispatch-function",
            inputs: { name: "dbt-pipeline-dev-dispatch", reservedConcurrentExecutions: 10 },
          },
          {
            type: "aws:lambda/function:Function",
            name: "x-function",
            inputs: { name: "dbt-pipeline-dev-x", reservedConcurrentExecutions: -1 },
          },
          {
            type: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
            name: "github-oidc-provider",
            inputs: { url: "https://token.actions.githubusercontent.com", clientIdLists: ["sts.amazonaws.com"] },
          },
          {
            type: "aws:ecr/repository:Repository",
            name: "runner-repository",
            inputs: { name: "dbt-pipeline-dev-dbt" },
          },
          {
            type: "snowflake:index/database:Database",
            name: "snowflake-database",
            inputs: { name: "DBT_PIPELINE_DEV" },
          },
        ]),
      ).to.deep.equal({
        functions: [
          { name: "dbt-pipeline-dev-dispatch", reserved: 10 },
          { name: "dbt-pipeline-dev-x", reserved: 0 },
        ],
        githubOidc: "create",
        ecrRepository: "dbt-pipeline-dev-dbt",
        database: "DBT_PIPELINE_DEV",
      });
      expect(
        plannedStack([
          {
            type: "aws:iam/role:Role",
            name: "r",
            inputs: {
              assumeRolePolicy:
                '{"Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}}',
            },
          },
        ]).githubOidc,
      ).to.equal("existing");
    });
  });
});

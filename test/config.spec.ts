import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { buildConfig, closestKey, parseConfig } from "../config";
import { KEYS } from "../config-keys";
import { SECRET_PLACEHOLDER, readStackConfig } from "../offline/stack-config";
import { ROOT, evaluateStack } from "./helpers/stack";

const base = (stack: "dev" | "prod") => readStackConfig(stack, ROOT).config;
const withValues = (stack: "dev" | "prod", values: Record<string, string | undefined>) => {
  const raw = { ...base(stack) };
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete raw[`dbt-pipeline:${k}`];
    else raw[`dbt-pipeline:${k}`] = v;
  }
  return raw;
};

describe("config", () => {
  describe("each environment loads", () => {
    it("dev: small, cheap, unprotected", () => {
      const { values, problems } = parseConfig(base("dev"), "dev");
      expect(problems).to.deep.equal([]);
      expect(values).to.include({
        protect: false,
        "snowflake.transformingWarehouseSize": "XSMALL",
        "snowflake.monthlyCreditQuota": 20,
        "snowflake.suspendAtQuota": true,
        "dbt.cpu": 512,
        "dbt.memory": 1024,
        "dbt.logRetentionDays": 14,
      });
    });

    it("prod: protected and sized", () => {
      const { values, problems } = parseConfig(base("prod"), "prod");
      expect(problems).to.deep.equal([]);
      expect(values).to.include({
        protect: true,
        "snowflake.transformingWarehouseSize": "SMALL",
        "snowflake.monthlyCreditQuota": 300,
        "snowflake.suspendAtQuota": false,
        "dbt.cpu": 1024,
        "dbt.memory": 4096,
        "dbt.logRetentionDays": 90,
        "dbt.containerInsights": true,
      });
    });

    it("secure values reach the program as placeholders, never decrypted", () => {
      const { config, secretKeys } = readStackConfig("prod", ROOT);
      expect(secretKeys.sort()).to.deep.equal([
        "dbt-pipeline:airbyte.webhookToken",
        "dbt-pipeline:fivetran.webhookSecret",
        "dbt-pipeline:notify.slackWebhookUrl",
        "dbt-pipeline:snowflake.adminPrivateKey",
      ]);
      for (const k of secretKeys) expect(config[k]).to.equal(SECRET_PLACEHOLDER);
    });

    it("sources get their default selection and staleness", () => {
      const config = buildConfig(parseConfig(base("dev"), "dev").values!, "dbt-pipeline", "dev");
      expect(config.sources.map((s) => [s.name, s.select, s.staleAfterMinutes])).to.deep.equal([
        ["hubspot", ["source:hubspot+"], 180],
        ["stripe", ["source:stripe+"], 120],
        ["web_events", ["source:web_events+"], 60],
      ]);
    });
  });

  describe("bad values give exact messages", () => {
    const cases: [string, Record<string, string | undefined>, string[]][] = [
      [
        "a Fargate CPU that does not exist",
        { "dbt.cpu": "300" },
        ["dbt-pipeline:dbt.cpu: expected one of 256, 512, 1024, 2048, 4096 (got 300)"],
      ],
      [
        "memory that does not fit the CPU",
        { "dbt.memory": "1024" },
        [
          "dbt-pipeline:dbt.memory: expected one of 2048, 3072, 4096, 5120, 6144, 7168, 8192 for dbt.cpu 1024 (got 1024)",
        ],
      ],
      [
        "an unknown warehouse size",
        { "snowflake.transformingWarehouseSize": "HUGE" },
        [
          'dbt-pipeline:snowflake.transformingWarehouseSize: expected one of XSMALL, SMALL, MEDIUM, LARGE, XLARGE, XXLARGE, XXXLARGE, X4LARGE, X5LARGE, X6LARGE (got "HUGE")',
        ],
      ],
      [
        "a negative credit quota",
        { "snowflake.monthlyCreditQuota": "-5" },
        ["dbt-pipeline:snowflake.monthlyCreditQuota: expected an integer from 1 to 1000000 (got -5)"],
      ],
      [
        "a word where a number belongs",
        { "dbt.threads": "many" },
        ['dbt-pipeline:dbt.threads: expected an integer (got "many")'],
      ],
      ["a boolean spelt wrong", { protect: "yes" }, ['dbt-pipeline:protect: expected true or false (got "yes")']],
      [
        "a lower-case Snowflake name",
        { "snowflake.rawSchema": "raw" },
        [
          'dbt-pipeline:snowflake.rawSchema: expected an UPPER_SNAKE Snowflake identifier (A-Z, 0-9, _; starting with a letter) (got "raw")',
        ],
      ],
      [
        "a missing required key",
        { "dbt.imageTag": undefined },
        ["dbt-pipeline:dbt.imageTag: required but not set; run pulumi config set dbt.imageTag <value> --stack prod"],
      ],
      [
        "a missing secret",
        { "snowflake.adminPrivateKey": undefined },
        [
          "dbt-pipeline:snowflake.adminPrivateKey: required but not set; run pulumi config set --secret snowflake.adminPrivateKey <value> --stack prod",
        ],
      ],
      ["a typo in a key", { "dbt.cpus": "512" }, ["dbt-pipeline:dbt.cpus: unknown key; did you mean dbt.cpu?"]],
      [
        "an unknown key with no near neighbour",
        { completelyunrelatedthing: "1" },
        ["dbt-pipeline:completelyunrelatedthing: unknown key"],
      ],
      [
        "a retention CloudWatch does not accept",
        { "dbt.logRetentionDays": "10" },
        [
          "dbt-pipeline:dbt.logRetentionDays: expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (got 10)",
        ],
      ],
      [
        "auto-suspend above the allowed maximum",
        { "snowflake.autoSuspendSeconds": "600" },
        ["dbt-pipeline:snowflake.autoSuspendSeconds: expected at most snowflake.maxAutoSuspendSeconds (300) (got 600)"],
      ],
      [
        "existing network without subnets",
        { "network.mode": "existing" },
        [
          "dbt-pipeline:network.subnetIds: expected at least one subnet id when network.mode is existing",
          "dbt-pipeline:network.securityGroupIds: expected at least one security group id when network.mode is existing",
        ],
      ],
      [
        "two layers with one schema name",
        { "snowflake.metricsSchema": "ANALYTICS" },
        [
          'dbt-pipeline:snowflake.metricsSchema: expected a schema name different from snowflake.analyticsSchema (got "ANALYTICS")',
        ],
      ],
      [
        "a bad schedule",
        { "triggers.fullRefreshSchedule": "0 2 * * *" },
        [
          'dbt-pipeline:triggers.fullRefreshSchedule: expected an EventBridge Scheduler expression such as cron(0 2 * * ? *) or rate(1 hour) (got "0 2 * * *")',
        ],
      ],
      [
        "a full-refresh selection that would be a flag",
        { "triggers.fullRefreshSelect": "tag:nightly --exclude x" },
        [
          'dbt-pipeline:triggers.fullRefreshSelect: expected dbt selection tokens separated by spaces (method:value with optional +, @ and , as dbt\'s node selection grammar allows); not one: "--exclude" (got "tag:nightly --exclude x")',
        ],
      ],
      [
        "an hourly selection with a flag in it",
        { "triggers.hourlySelect": "source_status:fresher+ --full-refresh" },
        [
          'dbt-pipeline:triggers.hourlySelect: expected dbt selection tokens separated by spaces (method:value with optional +, @ and , as dbt\'s node selection grammar allows); not one: "--full-refresh" (got "source_status:fresher+ --full-refresh")',
        ],
      ],
      [
        "an empty hourly selection",
        { "triggers.hourlySelect": " " },
        ['dbt-pipeline:triggers.hourlySelect: expected at least one dbt selection token (got " ")'],
      ],
      [
        "a full-refresh exclusion with an unknown method",
        { "triggers.fullRefreshExclude": "materialized:incremental" },
        [
          'dbt-pipeline:triggers.fullRefreshExclude: expected dbt selection tokens separated by spaces (method:value with optional +, @ and , as dbt\'s node selection grammar allows); not one: "materialized:incremental" (got "materialized:incremental")',
        ],
      ],
      [
        "a list that is not a list",
        { "notify.emails": "oncall@example.com" },
        [
          "dbt-pipeline:notify.emails: expected a list (set it as YAML in the stack file or with pulumi config set --path)",
        ],
      ],
      [
        "a bad e-mail in a list",
        { "notify.emails": '["oncall@example.com","nobody"]' },
        ['dbt-pipeline:notify.emails[1]: expected e-mail addresses (got "nobody")'],
      ],
      [
        "a source with a camelCase name",
        { sources: '{"Stripe":{}}' },
        ['dbt-pipeline:sources.Stripe: expected source names in lower_snake_case (a dbt source name) (got "Stripe")'],
      ],
      [
        "a source field that does not exist",
        { sources: '{"stripe":{"fivetranConnector":["a"]}}' },
        ['dbt-pipeline:sources.stripe: Unrecognized key: "fivetranConnector" (got {"fivetranConnector":["a"]})'],
      ],
      [
        "a lower-case raw table",
        { sources: '{"stripe":{"rawTables":["charges"]}}' },
        [
          'dbt-pipeline:sources.stripe.rawTables[0]: expected TABLE, SCHEMA.TABLE or SCHEMA.* in UPPER_SNAKE (A-Z, 0-9, _; starting with a letter) (got "charges")',
        ],
      ],
      [
        "a selector with shell characters",
        { sources: '{"stripe":{"select":["source:stripe+; rm -rf /"]}}' },
        [
          'dbt-pipeline:sources.stripe.select[0]: expected a dbt selector (letters, digits and _ . : + * @ , / -) (got "source:stripe+; rm -rf /")',
        ],
      ],
      [
        "one connector in two sources",
        { sources: '{"a":{"fivetranConnectors":["c1"]},"b":{"fivetranConnectors":["c1"]}}' },
        ['dbt-pipeline:sources.b.fivetranConnectors: "c1" is already listed by source a; each id maps to one source'],
      ],
      [
        "Fivetran connectors without the signing secret",
        { "fivetran.webhookSecret": undefined },
        [
          "dbt-pipeline:fivetran.webhookSecret: required because a source lists Fivetran connectors; run pulumi config set --secret fivetran.webhookSecret <value>",
        ],
      ],
      [
        "a created VPC (no NAT) without public IPs on tasks",
        { "network.assignPublicIp": "false" },
        [
          "dbt-pipeline:network.assignPublicIp: expected true when network.mode is create (the created subnets have no NAT gateway, so a task without a public IP cannot reach ECR, S3 or Snowflake) (got false)",
        ],
      ],
      [
        "existing subnets may be private (behind a NAT or endpoints)",
        {
          "network.mode": "existing",
          "network.assignPublicIp": "false",
          "network.subnetIds": '["subnet-0123456789abcdef0"]',
          "network.securityGroupIds": '["sg-0123456789abcdef0"]',
        },
        [],
      ],
      [
        "one e-mail address twice, differing in case",
        { "notify.emails": '["oncall@example.com","OnCall@example.com"]' },
        [
          'dbt-pipeline:notify.emails: "oncall@example.com" and "OnCall@example.com" are the same address or differ only in punctuation; list each once',
        ],
      ],
      [
        "one repository for the infrastructure and the dbt project",
        { "github.dbtRepo": "dbt-pipeline" },
        ["dbt-pipeline:github.dbtRepo: expected a repository other than github.infraRepo (dbt-pipeline)"],
      ],
      [
        "a repository id without the owner id",
        { "github.infraRepoId": "81234" },
        [
          "dbt-pipeline:github.ownerId: required with github.infraRepoId or github.dbtRepoId (immutable subjects name the owner's id too)",
        ],
      ],
      [
        "an owner id without a repository id",
        { "github.ownerId": "71234" },
        ["dbt-pipeline:github.ownerId: set github.infraRepoId and/or github.dbtRepoId with it, or leave it 0"],
      ],
      [
        "GitHub settings are not checked without github.owner",
        { "github.owner": "", "github.dbtRepo": "dbt-pipeline", "github.ownerId": "71234" },
        [],
      ],
      [
        "more prod reviewers than GitHub allows",
        { "github.prodReviewers": "[1,2,3,4,5,6,7]" },
        [
          "dbt-pipeline:github.prodReviewers: expected at most 6 user ids (GitHub's limit per environment) (got [1,2,3,4,5,6,7])",
        ],
      ],
    ];
    for (const [what, values, expected] of cases) {
      it(what, () => {
        expect(parseConfig(withValues("prod", values), "prod").problems).to.deep.equal(expected);
      });
    }

    it("reports every problem at once: key typos, bad values, then the rules that span keys", () => {
      const raw = {
        ...withValues("prod", {
          "dbt.cpu": "300",
          "dbt.cpus": "1",
          "snowflake.monthlyCreditQuota": "0",
          "network.assignPublicIp": "false",
          "notify.emails": '["a@example.com","A@example.com"]',
          "github.ownerId": "7",
        }),
        "aws:regin": "eu-west-1",
      };
      const { problems, values } = parseConfig(raw, "prod");
      expect(values).to.equal(undefined);
      expect(problems).to.deep.equal([
        "dbt-pipeline:dbt.cpus: unknown key; did you mean dbt.cpu?",
        "aws:regin: not a setting of the aws provider; did you mean aws:region?",
        "dbt-pipeline:snowflake.monthlyCreditQuota: expected an integer from 1 to 1000000 (got 0)",
        "dbt-pipeline:dbt.cpu: expected one of 256, 512, 1024, 2048, 4096 (got 300)",
        "dbt-pipeline:network.assignPublicIp: expected true when network.mode is create (the created subnets have no NAT gateway, so a task without a public IP cannot reach ECR, S3 or Snowflake) (got false)",
        'dbt-pipeline:notify.emails: "a@example.com" and "A@example.com" are the same address or differ only in punctuation; list each once',
        "dbt-pipeline:github.ownerId: set github.infraRepoId and/or github.dbtRepoId with it, or leave it 0",
      ]);
    });

    it("a rule that spans keys skips a key that failed its own check", () => {
      expect(parseConfig(withValues("prod", { "dbt.cpu": "300", "dbt.memory": "100" }), "prod").problems).to.deep.equal(
        [
          "dbt-pipeline:dbt.cpu: expected one of 256, 512, 1024, 2048, 4096 (got 300)",
          "dbt-pipeline:dbt.memory: expected an integer from 512 to 30720 (got 100)",
        ],
      );
    });

    it("never echoes a secret's value", () => {
      const { problems } = parseConfig(
        withValues("prod", { "notify.slackWebhookUrl": "http://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX" }),
        "prod",
      );
      expect(problems).to.deep.equal([
        "dbt-pipeline:notify.slackWebhookUrl: expected a https://hooks.slack.com/services/... URL",
      ]);
    });

    it("the program fails with the whole list", async () => {
      let error: unknown;
      try {
        await evaluateStack("prod", { "dbt.cpu": "300", "snowflake.rawSchema": "raw" });
      } catch (err) {
        error = err;
      }
      expect(String((error as Error)?.message)).to.equal(
        [
          "Invalid configuration in stack prod (2 problems):",
          '  - dbt-pipeline:snowflake.rawSchema: expected an UPPER_SNAKE Snowflake identifier (A-Z, 0-9, _; starting with a letter) (got "raw")',
          "  - dbt-pipeline:dbt.cpu: expected one of 256, 512, 1024, 2048, 4096 (got 300)",
        ].join("\n"),
      );
    });
  });

  describe("keys outside dbt-pipeline:", () => {
    const cases: [string, string, string[]][] = [
      [
        "a key the AWS provider does not have",
        "aws:regin",
        ["aws:regin: not a setting of the aws provider; did you mean aws:region?"],
      ],
      [
        "a Snowflake provider key in the wrong case",
        "snowflake:AccountName",
        ["snowflake:AccountName: not a setting of the snowflake provider; did you mean snowflake:accountName?"],
      ],
      [
        "a provider key with no near neighbour",
        "aws:completelyUnrelatedSetting",
        ["aws:completelyUnrelatedSetting: not a setting of the aws provider"],
      ],
      [
        "the project namespace without its dash",
        "dbtpipeline:dbt.cpu",
        ["dbtpipeline:dbt.cpu: unknown namespace dbtpipeline, which nothing reads; did you mean dbt-pipeline:dbt.cpu?"],
      ],
      [
        "a misspelt namespace and key",
        "dbt-pipline:dbt.cpus",
        [
          "dbt-pipline:dbt.cpus: unknown namespace dbt-pipline, which nothing reads; did you mean dbt-pipeline:dbt.cpu?",
        ],
      ],
      [
        "a provider namespace with two letters swapped",
        "asw:region",
        ["asw:region: unknown namespace asw, which nothing reads; did you mean aws:region?"],
      ],
      ["a known provider key", "aws:skipCredentialsValidation", []],
      ["Pulumi's own namespace", "pulumi:template", []],
      ["an unrelated namespace", "acme-finance:costCenter", []],
    ];
    for (const [what, key, expected] of cases) {
      it(what, () => {
        expect(parseConfig({ ...base("dev"), [key]: "x" }, "dev").problems).to.deep.equal(expected);
      });
    }
  });

  describe("the loaded config", () => {
    const prod = () => buildConfig(parseConfig(base("prod"), "prod").values!, "dbt-pipeline", "prod");

    it("groups keys by their first dot and resolves the derived values", () => {
      const config = prod();
      expect(config.project).to.equal("dbt-pipeline");
      expect(config.environment).to.equal("prod");
      expect(config.envSuffix).to.equal("PROD");
      expect(config.dbt).to.deep.include({ cpu: 1024, memory: 4096, target: "prod", threads: 8 });
      expect(config.snowflake.databaseName).to.equal("DBT_PIPELINE_PROD");
      expect(config.snowflake.schemas).to.deep.equal({
        raw: "RAW",
        staging: "STAGING",
        analytics: "ANALYTICS",
        metrics: "METRICS",
        monitoring: "MONITORING",
      });
      expect(config.snowflake.warehouseSizes).to.deep.equal({
        loading: "XSMALL",
        transforming: "SMALL",
        reporting: "SMALL",
      });
      expect(config.network).to.deep.equal({
        mode: "create",
        vpcCidr: "10.60.0.0/16",
        availabilityZones: 2,
        subnetIds: [],
        securityGroupIds: [],
        assignPublicIp: true,
      });
      expect(config.github).to.deep.equal({
        owner: "acme-data",
        infraRepo: "dbt-pipeline",
        dbtRepo: "dbt-project",
        mainBranch: "main",
        prodReviewers: [],
        oidcProvider: "existing",
        ownerId: 0,
        infraRepoId: 0,
        dbtRepoId: 0,
      });
    });

    it("secrets become secret outputs; an unset optional secret stays undefined", async () => {
      const config = buildConfig(
        parseConfig(withValues("prod", { "notify.slackWebhookUrl": undefined }), "prod").values!,
        "dbt-pipeline",
        "prod",
      );
      expect(pulumi.Output.isInstance(config.snowflake.adminPrivateKey)).to.equal(true);
      expect(await (config.snowflake.adminPrivateKey as unknown as { isSecret: Promise<boolean> }).isSecret).to.equal(
        true,
      );
      expect(config.notify.slackWebhookUrl).to.equal(undefined);
      expect(config.snowflake.adminPrivateKeyPassphrase).to.equal(undefined);
    });

    it("an explicit environment and dbt target win over the stack name; no github.owner: no GitHub side", () => {
      const config = buildConfig(
        parseConfig(
          withValues("prod", { environment: "live", "dbt.target": "prod_main", "github.owner": undefined }),
          "prod",
        ).values!,
        "dbt-pipeline",
        "prod",
      );
      expect([config.environment, config.envSuffix, config.snowflake.databaseName, config.dbt.target]).to.deep.equal([
        "live",
        "LIVE",
        "DBT_PIPELINE_LIVE",
        "prod_main",
      ]);
      expect(config.github).to.equal(undefined);
    });

    it("is frozen", () => {
      const config = prod();
      expect(Object.isFrozen(config.dbt)).to.equal(true);
      expect(Object.isFrozen(config.notify.emails)).to.equal(true);
      expect(Object.isFrozen(config.sources[0])).to.equal(true);
    });
  });

  describe("key suggestions", () => {
    const table: [string, string | undefined][] = [
      ["dbt.cpus", "dbt.cpu"],
      ["snowflake.monthlyCreditQuote", "snowflake.monthlyCreditQuota"],
      ["Snowflake.RawSchema", "snowflake.rawSchema"],
      ["triggers.timeZone", "triggers.timezone"],
      ["zzzzzzzzzzzzzzzz", undefined],
    ];
    for (const [typo, expected] of table)
      it(`${typo} → ${expected}`, () => expect(closestKey(typo)).to.equal(expected));
  });

  it("every key has a description and secrets have no default", () => {
    for (const k of KEYS) {
      expect(k.description, k.key).to.match(/\.$/);
      if (k.secret) expect(k.default, k.key).to.equal(undefined);
    }
  });
});

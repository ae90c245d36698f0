import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import {
  ContainerSpec,
  containerDefinitions,
  defaultDbtCommand,
  imageUri,
  logStreamName,
} from "../../components/runner/containers";
import {
  artifactPrefixes,
  bucketLifecycleRules,
  bucketPolicyDocument,
  ecrLifecyclePolicy,
  executionRoleStatements,
  taskRoleStatements,
} from "../../components/runner/policies";
import { ENV, PROFILE_FIELDS, prepareScript, uploadScript } from "../../components/runner/scripts";
import { CONTAINERS, taskOverrides, parseRunRequest } from "../../functions/lib/run-contract";
import { policyDocument } from "../../components/lib/iam";
import { at, objs, parsed, statementsOf } from "./recorded";

const resolve = <T>(o: pulumi.Output<T>) =>
  new Promise<T>((r) =>
    o.apply((v) => {
      r(v);
      return v;
    }),
  );

const SPEC: ContainerSpec = {
  dbtImage: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbt-pipeline-prod-dbt:git-abc",
  awsCliImage: "public.ecr.aws/aws-cli/aws-cli:2.27.50",
  environment: "prod",
  target: "prod",
  threads: 8,
  bucketName: "bucket-name",
  logGroupName: "/ecs/dbt-pipeline-prod-dbt",
  region: "eu-west-1",
  snowflake: {
    account: "ORG-ACCT",
    user: "DBT_SVC_PROD",
    role: "TRANSFORMER_PROD",
    warehouse: "TRANSFORMING_WH_PROD",
    database: "DBT_PIPELINE_PROD",
    schema: "STAGING",
    layerSchemas: {
      raw: "RAW",
      staging: "STAGING",
      analytics: "ANALYTICS",
      metrics: "METRICS",
      monitoring: "MONITORING",
    },
    privateKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf",
  },
};
const defs = containerDefinitions(SPEC);
const byName = Object.fromEntries(defs.map((d) => [d.name as string, d]));
const envNames = (name: string) => [
  ...(byName[name].environment ?? []).map((e) => e.name),
  ...(byName[name].secrets ?? []).map((s) => s.name),
];
/** `$NAME` references in a shell script (lower-case names are the script's own variables). */
const shellVars = (script: string) =>
  [...new Set([...script.matchAll(/\$([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]))].sort();

describe("runner helpers", () => {
  describe("image reference", () => {
    const repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/dbt-pipeline-dev-dbt";
    const digest = `sha256:${"ab".repeat(32)}`;
    const table: [string, string][] = [
      ["git-4f2c9e1", `${repo}:git-4f2c9e1`],
      ["1.8.3", `${repo}:1.8.3`],
      [digest, `${repo}@${digest}`],
    ];
    for (const [tag, uri] of table)
      it(`${tag.slice(0, 20)} → ${uri.slice(repo.length)}`, () => expect(imageUri(repo, tag)).to.equal(uri));
  });

  describe("containers and the run contract", () => {
    it("declares exactly the containers the run contract names, in start order", () => {
      expect(defs.map((d) => d.name)).to.deep.equal([
        CONTAINERS.prepare,
        CONTAINERS.freshness,
        CONTAINERS.dbt,
        CONTAINERS.upload,
      ]);
    });

    it("every container the launch overrides exists, and the overrides only add the run id, the sources and the trigger kinds served", () => {
      const overrides = taskOverrides(
        parseRunRequest({
          target: "prod",
          triggers: [{ kind: "manual", id: "x", receivedAt: "2026-11-22T10:00:00Z" }],
        }),
        "run-00000001",
      );
      for (const o of overrides.containerOverrides) expect(byName).to.have.property(o.name);
      expect(overrides.containerOverrides.flatMap((o) => o.environment ?? []).map((e) => e.name)).to.deep.equal([
        ENV.runId,
        "DBT_PIPELINE_SOURCES",
        "DBT_PIPELINE_TRIGGERS",
        ENV.runId,
      ]);
    });

    it("the dbt containers get every variable the profile reads; the key only as a secret", () => {
      for (const name of [CONTAINERS.freshness, CONTAINERS.dbt]) {
        expect(envNames(name), name).to.include.members(PROFILE_FIELDS.map(([, v]) => v));
        expect(
          (byName[name].environment ?? []).map((e) => e.name),
          name,
        ).not.to.include(ENV.privateKey);
        expect(byName[name].secrets, name).to.deep.equal([
          { name: ENV.privateKey, valueFrom: SPEC.snowflake.privateKeySecretArn },
        ]);
      }
    });

    it("prepare gets exactly the variables its script reads (a retried run id arrives as an override), and no secret", () => {
      expect(shellVars(prepareScript())).to.deep.equal([ENV.bucket, ENV.target, ENV.environment, ENV.retryOf].sort());
      expect(envNames(CONTAINERS.prepare).sort()).to.deep.equal(
        ["AWS_REGION", ENV.bucket, ENV.environment, ENV.target].sort(),
      );
    });

    it("upload gets the variables its script reads (the run id arrives as an override), and no secret", () => {
      expect(shellVars(uploadScript())).to.deep.equal([ENV.bucket, ENV.environment, ENV.runId].sort());
      expect(envNames(CONTAINERS.upload).sort()).to.deep.equal(["AWS_REGION", ENV.bucket, ENV.environment].sort());
    });

    it("the dbt command defaults to a build of the configured target with the generated profile", () => {
      expect(defaultDbtCommand("prod")).to.deep.equal([
        "dbt",
        "build",
        "--profile",
        "dbt_pipeline",
        "--target",
        "prod",
      ]);
      expect(byName.dbt.command).to.deep.equal(defaultDbtCommand("prod"));
    });

    it("no container waits on a dependency with a start timeout (dbt may run for hours)", () => {
      for (const d of defs) expect(d.startTimeout, d.name as string).to.equal(undefined);
    });

    it("log streams are named run/<container>/<task id>", () => {
      expect(logStreamName("dbt", "0123abcd")).to.equal("run/dbt/0123abcd");
    });
  });

  describe("IAM documents", () => {
    it("execution role: pull one repository, read one secret, write one log group", async () => {
      const doc = await resolve(
        policyDocument(
          executionRoleStatements({
            repositoryArn: "arn:repo",
            privateKeySecretArn: "arn:secret",
            logGroupArn: "arn:logs",
          }),
        ),
      );
      expect(JSON.parse(doc)).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "PullDbtImage",
            Effect: "Allow",
            Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            Resource: "arn:repo",
          },
          {
            Sid: "GetEcrTokenAccountWideByDesign",
            Effect: "Allow",
            Action: "ecr:GetAuthorizationToken",
            Resource: "*",
          },
          {
            Sid: "InjectDbtPrivateKey",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: "arn:secret",
          },
          {
            Sid: "WriteTaskLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: "arn:logs:*",
          },
        ],
      });
    });

    it("task role: list and read latest/ and runs/ (a retried run), write runs/, latest/ and observed/sources.json, nothing else", async () => {
      const doc = await resolve(policyDocument(taskRoleStatements("arn:aws:s3:::b", artifactPrefixes("dev"))));
      expect(statementsOf(doc)).to.deep.equal([
        {
          Sid: "ListPreviousState",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: "arn:aws:s3:::b",
          Condition: { StringLike: { "s3:prefix": ["dev/latest/*", "dev/runs/*"] } },
        },
        {
          Sid: "ReadPreviousState",
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: ["arn:aws:s3:::b/dev/latest/*", "arn:aws:s3:::b/dev/runs/*"],
        },
        {
          Sid: "WriteRunArtifacts",
          Effect: "Allow",
          Action: "s3:PutObject",
          Resource: [
            "arn:aws:s3:::b/dev/runs/*",
            "arn:aws:s3:::b/dev/latest/*",
            "arn:aws:s3:::b/dev/observed/sources.json",
          ],
        },
      ]);
    });

    it("bucket policy: deny anything without TLS", async () => {
      expect(JSON.parse(await resolve(bucketPolicyDocument("arn:aws:s3:::b")))).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      });
    });
  });

  describe("lifecycles", () => {
    it("artifact bucket: runs expire after the retention, old versions after 30 days, uploads after 7", () => {
      expect(bucketLifecycleRules(artifactPrefixes("prod"), 365)).to.deep.equal([
        { id: "expire-runs", status: "Enabled", filter: { prefix: "prod/runs/" }, expiration: { days: 365 } },
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: {},
          expiration: { expiredObjectDeleteMarker: true },
          noncurrentVersionExpiration: { noncurrentDays: 30 },
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
        },
      ]);
    });

    it("ECR: the pinned tag is kept by the first rule; the rest expire after days without a pull; no count rule", () => {
      expect(JSON.parse(ecrLifecyclePolicy("git-abc1234", 14))).to.deep.equal({
        rules: [
          {
            rulePriority: 1,
            description: "Never expire the pinned image git-abc1234",
            selection: {
              tagStatus: "tagged",
              tagPatternList: ["git-abc1234"],
              countType: "imageCountMoreThan",
              countNumber: 1,
            },
            action: { type: "expire" },
          },
          {
            rulePriority: 2,
            description: "Expire images not pulled for 14 days",
            selection: { tagStatus: "any", countType: "sinceImagePulled", countUnit: "days", countNumber: 14 },
            action: { type: "expire" },
          },
        ],
      });
    });

    it("ECR: an image pinned by digest has no tag to select; its pulls keep it", () => {
      const digest = `sha256:${"a".repeat(64)}`;
      expect(objs(at(parsed(ecrLifecyclePolicy(digest, 30)), "rules")).map((r) => r.rulePriority)).to.deep.equal([2]);
    });
  });
});

import { expect } from "chai";
import { dbtWrapperScript, prepareScript, uploadScript } from "../../components/runner/scripts";
import { Evaluation, RecordedResource } from "../../offline/mocks";
import { z } from "zod";
import { all, evaluateStack, json, one } from "../helpers/stack";
import { at, obj, parsed, statementsOf, str } from "./recorded";

const T = {
  repository: "aws:ecr/repository:Repository",
  ecrLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
  cluster: "aws:ecs/cluster:Cluster",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  vpc: "awsx:ec2:Vpc",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
} as const;

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const REPO_URL = (env: string) => `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/dbt-pipeline-${env}-dbt`;
const BUCKET = (env: string) => `dbt-pipeline-${env}-artifacts-${ACCOUNT}`;
const EXPECTED = {
  dev: { cpu: "512", memory: "1024", arch: "ARM64", threads: "4", insights: "disabled", logDays: 14, runDays: 30 },
  prod: { cpu: "1024", memory: "4096", arch: "ARM64", threads: "8", insights: "enabled", logDays: 90, runDays: 365 },
} as const;

const runner = (ev: Evaluation) => ev.resources.filter((r) => r.parent === "dbt-pipeline:runner:DbtRunner::runner");
/** The fields of a container definition these specs read. */
const ContainerSchema = z.object({
  name: z.string(),
  image: z.string(),
  essential: z.boolean(),
  entryPoint: z.array(z.string()),
  command: z.array(z.string()),
  dependsOn: z.array(z.object({ containerName: z.string(), condition: z.string() })).optional(),
  environment: z.array(z.object({ name: z.string(), value: z.string() })),
  secrets: z.array(z.object({ name: z.string(), valueFrom: z.string() })).optional(),
  mountPoints: z.array(z.unknown()),
  readonlyRootFilesystem: z.boolean().optional(),
  linuxParameters: z.unknown().optional(),
  stopTimeout: z.number().optional(),
  startTimeout: z.number().optional(),
  logConfiguration: z.unknown().optional(),
});
type Container = z.infer<typeof ContainerSchema>;
const containers = (ev: Evaluation): Record<string, Container> =>
  Object.fromEntries(
    z
      .array(ContainerSchema)
      .parse(parsed(one(ev, T.taskDefinition, "runner-task").inputs.containerDefinitions))
      .map((c) => [c.name, c]),
  );
const statements = (r: RecordedResource) => statementsOf(r.inputs.policy);
const list = (x: unknown): unknown[] => (Array.isArray(x) ? (x as unknown[]) : [x]);

for (const stack of ["dev", "prod"] as const) {
  describe(`DbtRunner (${stack})`, () => {
    const x = EXPECTED[stack];
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateStack(stack);
    });

    describe("image", () => {
      it("an immutable, scanned, encrypted ECR repository named after the environment", () => {
        const repo = one(ev, T.repository, "runner-repository");
        expect(repo.inputs).to.deep.include({
          name: `dbt-pipeline-${stack}-dbt`,
          imageTagMutability: "IMMUTABLE",
          imageScanningConfiguration: { scanOnPush: true },
          encryptionConfigurations: [{ encryptionType: "AES256" }],
          forceDelete: stack === "dev",
        });
        expect(repo.options.protect).to.equal(stack === "prod" ? true : undefined);
      });

      it("never expires the pinned dbt.imageTag; expires other images not pulled for dbt.ecrExpireUnpulledDays", () => {
        const policy = one(ev, T.ecrLifecycle, "runner-repository-lifecycle");
        expect(policy.inputs.repository).to.equal(`dbt-pipeline-${stack}-dbt`);
        const tag = "git-4f2c9e1"; // dbt.imageTag of both stack files
        expect(json(policy.inputs.policy)).to.deep.equal({
          rules: [
            {
              rulePriority: 1,
              description: `Never expire the pinned image ${tag}`,
              selection: {
                tagStatus: "tagged",
                tagPatternList: [tag],
                countType: "imageCountMoreThan",
                countNumber: 1,
              },
              action: { type: "expire" },
            },
            {
              rulePriority: 2,
              description: "Expire images not pulled for 30 days",
              selection: { tagStatus: "any", countType: "sinceImagePulled", countUnit: "days", countNumber: 30 },
              action: { type: "expire" },
            },
          ],
        });
      });
    });

    describe("cluster and task definition", () => {
      it(`Container Insights ${x.insights}`, () => {
        expect(one(ev, T.cluster, "runner-cluster").inputs).to.deep.include({
          name: `dbt-pipeline-${stack}-dbt`,
          settings: [{ name: "containerInsights", value: x.insights }],
        });
      });

      it(`Fargate, awsvpc, ${x.cpu} CPU / ${x.memory} MiB on ${x.arch}, three ephemeral volumes, the runner's roles`, () => {
        const td = one(ev, T.taskDefinition, "runner-task");
        const roleArn = (name: string) => str(one(ev, T.role, name).state, "arn");
        expect(td.inputs).to.deep.include({
          family: `dbt-pipeline-${stack}-dbt`,
          requiresCompatibilities: ["FARGATE"],
          networkMode: "awsvpc",
          cpu: x.cpu,
          memory: x.memory,
          runtimePlatform: { cpuArchitecture: x.arch, operatingSystemFamily: "LINUX" },
          volumes: [{ name: "artifacts" }, { name: "tmp" }, { name: "cli-tmp" }],
          executionRoleArn: roleArn("runner-execution-role"),
          taskRoleArn: roleArn("runner-task-role"),
        });
      });

      it("four containers: only upload is essential, each waits for the one before it", () => {
        const c = containers(ev);
        expect(Object.keys(c)).to.deep.equal(["prepare", "freshness", "dbt", "upload"]);
        expect(Object.fromEntries(Object.values(c).map((d) => [d.name, d.essential]))).to.deep.equal({
          prepare: false,
          freshness: false,
          dbt: false,
          upload: true,
        });
        expect(Object.fromEntries(Object.values(c).map((d) => [d.name, d.dependsOn ?? []]))).to.deep.equal({
          prepare: [],
          freshness: [{ containerName: "prepare", condition: "SUCCESS" }],
          dbt: [
            { containerName: "prepare", condition: "SUCCESS" },
            { containerName: "freshness", condition: "COMPLETE" },
          ],
          upload: [{ containerName: "dbt", condition: "COMPLETE" }],
        });
        // ECS refuses COMPLETE/SUCCESS on an essential container.
        for (const d of Object.values(c)) {
          for (const dep of d.dependsOn ?? [])
            if (dep.condition !== "START")
              expect(c[dep.containerName].essential, `${d.name} → ${dep.containerName}`).to.equal(false);
        }
      });

      it("dbt runs the configured image tag; the AWS CLI steps run the stock image with the constant scripts", () => {
        const c = containers(ev);
        expect(c.freshness.image).to.equal(`${REPO_URL(stack)}:git-4f2c9e1`);
        expect(c.dbt.image).to.equal(`${REPO_URL(stack)}:git-4f2c9e1`);
        expect(ev.outputs.ecrRepositoryUrl).to.equal(REPO_URL(stack));
        for (const name of ["prepare", "upload"]) {
          expect(c[name].image, name).to.equal("public.ecr.aws/aws-cli/aws-cli:2.27.50");
          expect(c[name].entryPoint, name).to.deep.equal(["/bin/sh", "-c"]);
        }
        expect(c.prepare.command).to.deep.equal([prepareScript()]);
        expect(c.upload.command).to.deep.equal([uploadScript()]);
        // Images FROM dbt-labs' have ENTRYPOINT ["dbt"]; dumb-init turns ECS's SIGTERM into the SIGINT dbt handles.
        expect(c.freshness.entryPoint).to.deep.equal(["dumb-init", "--rewrite", "15:2", "--"]);
        expect(c.dbt.entryPoint).to.deep.equal([
          "dumb-init",
          "--rewrite",
          "15:2",
          "--",
          "/bin/sh",
          "-c",
          dbtWrapperScript(),
          "dbt-pipeline-wrapper",
          "/artifacts/status/dbt-succeeded",
        ]);
        expect(c.freshness.command).to.deep.equal(["dbt", "--version"]);
        expect(c.dbt.command).to.deep.equal(["dbt", "build", "--profile", "dbt_pipeline", "--target", stack]);
      });

      it("the dbt containers connect with the foundation's names and get the key only as a secret", () => {
        const c = containers(ev);
        const o = obj(ev.outputs);
        for (const name of ["freshness", "dbt"]) {
          expect(c[name].environment, name).to.deep.equal([
            { name: "DBT_TARGET", value: stack },
            { name: "DBT_PROFILES_DIR", value: "/artifacts/profiles" },
            { name: "DBT_TARGET_PATH", value: "/artifacts/target" },
            { name: "DBT_LOG_PATH", value: "/artifacts/logs" },
            { name: "DBT_THREADS", value: x.threads },
            { name: "SNOWFLAKE_ACCOUNT", value: o.snowflakeAccount },
            { name: "SNOWFLAKE_USER", value: at(o, "snowflakeUsers", "dbt") },
            { name: "SNOWFLAKE_ROLE", value: at(o, "snowflakeRoles", "transformer") },
            { name: "SNOWFLAKE_WAREHOUSE", value: at(o, "snowflakeWarehouses", "transforming") },
            { name: "SNOWFLAKE_DATABASE", value: o.snowflakeDatabase },
            { name: "SNOWFLAKE_SCHEMA", value: at(o, "snowflakeSchemas", "staging") },
            { name: "DBT_PIPELINE_SCHEMA_RAW", value: at(o, "snowflakeSchemas", "raw") },
            { name: "DBT_PIPELINE_SCHEMA_STAGING", value: at(o, "snowflakeSchemas", "staging") },
            { name: "DBT_PIPELINE_SCHEMA_ANALYTICS", value: at(o, "snowflakeSchemas", "analytics") },
            { name: "DBT_PIPELINE_SCHEMA_METRICS", value: at(o, "snowflakeSchemas", "metrics") },
            { name: "DBT_PIPELINE_SCHEMA_MONITORING", value: at(o, "snowflakeSchemas", "monitoring") },
            { name: "DBT_SEND_ANONYMOUS_USAGE_STATS", value: "false" },
          ]);
          expect(c[name].secrets, name).to.deep.equal([
            { name: "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY", valueFrom: at(o, "snowflakePrivateKeySecretArns", "dbt") },
          ]);
          expect(c[name].readonlyRootFilesystem, name).to.equal(true);
          expect(c[name].linuxParameters, name).to.equal(undefined);
          expect(c[name].stopTimeout, name).to.equal(120);
          expect(c[name].mountPoints, name).to.deep.equal([
            { sourceVolume: "artifacts", containerPath: "/artifacts", readOnly: false },
            { sourceVolume: "tmp", containerPath: "/tmp", readOnly: false },
          ]);
        }
        for (const d of Object.values(c)) {
          expect(JSON.stringify(d.environment), d.name).not.to.match(/PRIVATE|secretsmanager/);
          if (!["freshness", "dbt"].includes(d.name)) expect(d.secrets, d.name).to.equal(undefined);
          expect(d.startTimeout, d.name).to.equal(undefined);
        }
      });

      it("the AWS CLI steps get the bucket, environment and region; prepare also the target; upload mounts read-only", () => {
        const c = containers(ev);
        const common = [
          { name: "DBT_PIPELINE_BUCKET", value: BUCKET(stack) },
          { name: "DBT_PIPELINE_ENV", value: stack },
        ];
        expect(c.prepare.environment).to.deep.equal([
          ...common,
          { name: "DBT_TARGET", value: stack },
          { name: "AWS_REGION", value: REGION },
        ]);
        expect(c.upload.environment).to.deep.equal([...common, { name: "AWS_REGION", value: REGION }]);
        expect(c.prepare.mountPoints).to.deep.equal([
          { sourceVolume: "artifacts", containerPath: "/artifacts", readOnly: false },
          { sourceVolume: "tmp", containerPath: "/dbt-tmp", readOnly: false },
          { sourceVolume: "cli-tmp", containerPath: "/tmp", readOnly: false },
        ]);
        expect(c.upload.mountPoints).to.deep.equal([
          { sourceVolume: "artifacts", containerPath: "/artifacts", readOnly: true },
          { sourceVolume: "cli-tmp", containerPath: "/tmp", readOnly: false },
        ]);
      });

      it("every container has a read-only root filesystem", () => {
        expect(
          Object.values(containers(ev))
            .filter((d) => d.readonlyRootFilesystem !== true)
            .map((d) => d.name),
        ).to.deep.equal([]);
      });

      it("every container logs to the runner's log group, which keeps dbt.logRetentionDays", () => {
        const group = one(ev, T.logGroup, "runner-logs");
        expect(group.inputs).to.deep.include({ name: `/ecs/dbt-pipeline-${stack}-dbt`, retentionInDays: x.logDays });
        for (const d of Object.values(containers(ev))) {
          expect(d.logConfiguration, d.name).to.deep.equal({
            logDriver: "awslogs",
            options: {
              "awslogs-group": `/ecs/dbt-pipeline-${stack}-dbt`,
              "awslogs-region": REGION,
              "awslogs-stream-prefix": "run",
            },
          });
        }
      });
    });

    describe("IAM", () => {
      it("both roles trust only ECS tasks of this account", () => {
        for (const name of ["runner-execution-role", "runner-task-role"]) {
          expect(json(one(ev, T.role, name).inputs.assumeRolePolicy), name).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "ecs-tasks.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
              },
            ],
          });
        }
      });

      it("execution role: this repository, this secret, this log group", () => {
        const policy = one(ev, T.rolePolicy, "runner-execution-policy");
        expect(policy.inputs.role).to.equal(`dbt-pipeline-${stack}-dbt-execution`);
        expect(json(policy.inputs.policy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "PullDbtImage",
              Effect: "Allow",
              Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
              Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/dbt-pipeline-${stack}-dbt`,
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
              Resource: at(ev.outputs, "snowflakePrivateKeySecretArns", "dbt"),
            },
            {
              Sid: "WriteTaskLogs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/ecs/dbt-pipeline-${stack}-dbt:*`,
            },
          ],
        });
      });

      it("task role: this environment's prefixes of the artifact bucket only", () => {
        const arn = `arn:aws:s3:::${BUCKET(stack)}`;
        const policy = one(ev, T.rolePolicy, "runner-task-policy");
        expect(policy.inputs.role).to.equal(`dbt-pipeline-${stack}-dbt-task`);
        expect(json(policy.inputs.policy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "ListPreviousState",
              Effect: "Allow",
              Action: "s3:ListBucket",
              Resource: arn,
              Condition: { StringLike: { "s3:prefix": [`${stack}/latest/*`, `${stack}/runs/*`] } },
            },
            {
              Sid: "ReadPreviousState",
              Effect: "Allow",
              Action: "s3:GetObject",
              Resource: [`${arn}/${stack}/latest/*`, `${arn}/${stack}/runs/*`],
            },
            {
              Sid: "WriteRunArtifacts",
              Effect: "Allow",
              Action: "s3:PutObject",
              Resource: [`${arn}/${stack}/runs/*`, `${arn}/${stack}/latest/*`, `${arn}/${stack}/observed/sources.json`],
            },
          ],
        });
      });

      it("no wildcard action anywhere; a wildcard resource only for ecr:GetAuthorizationToken", () => {
        for (const p of all(ev, T.rolePolicy, /^runner-/)) {
          for (const s of statements(p)) {
            for (const a of list(s.Action)) expect(a, `${p.name} ${s.Sid}`).not.to.match(/\*/);
            if (list(s.Resource).includes("*"))
              expect(list(s.Action), `${p.name} ${s.Sid}`).to.deep.equal(["ecr:GetAuthorizationToken"]);
          }
        }
      });
    });

    describe("artifact bucket", () => {
      const child = (type: string, name: string) => one(ev, type, name).inputs;

      it("is named after the environment and the account", () => {
        expect(one(ev, T.bucket, "runner-artifacts").inputs.bucket).to.equal(BUCKET(stack));
        expect(ev.outputs.artifactBucket).to.equal(BUCKET(stack));
        expect(ev.outputs.artifactPrefixes).to.deep.equal({
          runs: `${stack}/runs/`,
          latest: `${stack}/latest/`,
          observed: `${stack}/observed/`,
        });
      });

      it("versioned, SSE-S3 encrypted, private, owner-enforced", () => {
        expect(child(T.versioning, "runner-artifacts-versioning")).to.deep.equal({
          bucket: BUCKET(stack),
          versioningConfiguration: { status: "Enabled" },
        });
        expect(child(T.encryption, "runner-artifacts-encryption")).to.deep.equal({
          bucket: BUCKET(stack),
          rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        });
        expect(child(T.publicAccess, "runner-artifacts-public-access")).to.deep.equal({
          bucket: BUCKET(stack),
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        });
        expect(child(T.ownership, "runner-artifacts-ownership")).to.deep.equal({
          bucket: BUCKET(stack),
          rule: { objectOwnership: "BucketOwnerEnforced" },
        });
      });

      it(`runs expire after ${x.runDays} days; old versions, delete markers and stale uploads are cleaned`, () => {
        expect(child(T.lifecycle, "runner-artifacts-lifecycle")).to.deep.equal({
          bucket: BUCKET(stack),
          rules: [
            {
              id: "expire-runs",
              status: "Enabled",
              filter: { prefix: `${stack}/runs/` },
              expiration: { days: x.runDays },
            },
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
          ],
        });
      });

      it("refuses requests without TLS", () => {
        const arn = `arn:aws:s3:::${BUCKET(stack)}`;
        expect(json(child(T.bucketPolicy, "runner-artifacts-policy").policy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: "*",
              Action: "s3:*",
              Resource: [arn, `${arn}/*`],
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        });
      });

      if (stack === "prod") {
        it("prod: the bucket and its settings are protected and retained; objects are never force-destroyed", () => {
          expect(one(ev, T.bucket, "runner-artifacts").inputs.forceDestroy).to.equal(false);
          const bucketResources = runner(ev).filter((r) => r.name.startsWith("runner-artifacts"));
          expect(bucketResources).to.have.length(7);
          for (const r of bucketResources)
            expect(r.options, r.name).to.include({ protect: true, retainOnDelete: true });
        });
      } else {
        it("dev: nothing protected or retained, so the stack can be torn down with its objects", () => {
          expect(one(ev, T.bucket, "runner-artifacts").inputs.forceDestroy).to.equal(true);
          expect(
            runner(ev)
              .filter((r) => r.options.protect || r.options.retainOnDelete)
              .map((r) => r.name),
          ).to.deep.equal([]);
        });
      }
    });

    describe("network (network.mode create)", () => {
      it("a VPC of public subnets with no NAT gateway", () => {
        expect(one(ev, T.vpc, "runner-vpc").inputs).to.deep.include({
          cidrBlock: "10.60.0.0/16",
          numberOfAvailabilityZones: 2,
          subnetStrategy: "Auto",
          subnetSpecs: [{ type: "Public", name: "public" }],
          natGateways: { strategy: "None" },
        });
      });

      it("a security group with no ingress and only HTTPS egress", () => {
        const sg = one(ev, T.securityGroup, "runner-sg");
        expect(sg.inputs.vpcId).to.equal(one(ev, T.vpc, "runner-vpc").state.vpcId);
        expect(sg.inputs.ingress).to.deep.equal([]);
        expect(sg.inputs.egress).to.deep.equal([
          {
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrBlocks: ["0.0.0.0/0"],
            description: "HTTPS to Snowflake and AWS APIs",
          },
        ]);
      });

      it("tasks run in the VPC's public subnets with a public IP", () => {
        expect(ev.outputs.dbtSubnets)
          .to.deep.equal(one(ev, T.vpc, "runner-vpc").state.publicSubnetIds)
          .and.have.length(2);
        expect(ev.outputs.dbtSecurityGroups).to.have.length(1);
        expect(at(ev.outputs, "dbtSecurityGroups", 0)).to.match(/^sg-[0-9a-f]+$/);
        expect(ev.outputs.dbtAssignPublicIp).to.equal(true);
      });
    });

    it("exports what a team needs to run a dbt task itself", () => {
      const o = obj(ev.outputs);
      expect({
        dbtCluster: o.dbtCluster,
        dbtTaskDefinition: o.dbtTaskDefinition,
        dbtTaskFamily: o.dbtTaskFamily,
        dbtContainerName: o.dbtContainerName,
        dbtLogGroup: o.dbtLogGroup,
        dbtTaskRoles: o.dbtTaskRoles,
      }).to.deep.equal({
        dbtCluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/dbt-pipeline-${stack}-dbt`,
        dbtTaskDefinition: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/dbt-pipeline-${stack}-dbt:1`,
        dbtTaskFamily: `dbt-pipeline-${stack}-dbt`,
        dbtContainerName: "dbt",
        dbtLogGroup: `/ecs/dbt-pipeline-${stack}-dbt`,
        dbtTaskRoles: {
          execution: `arn:aws:iam::${ACCOUNT}:role/dbt-pipeline-${stack}-dbt-execution`,
          task: `arn:aws:iam::${ACCOUNT}:role/dbt-pipeline-${stack}-dbt-task`,
        },
      });
    });
  });
}

describe("DbtRunner with other settings", () => {
  it("a sha256 digest in dbt.imageTag pins the image by digest", async () => {
    const digest = `sha256:${"0123456789abcdef".repeat(4)}`;
    const c = containers(await evaluateStack("dev", { "dbt.imageTag": digest }));
    expect(c.dbt.image).to.equal(`${REPO_URL("dev")}@${digest}`);
    expect(c.freshness.image).to.equal(`${REPO_URL("dev")}@${digest}`);
  });

  it("network.mode existing: no VPC or security group, the given ids are used", async () => {
    const ev = await evaluateStack("prod", {
      "network.mode": "existing",
      "network.subnetIds": ["subnet-0123456789abcdef0"],
      "network.securityGroupIds": ["sg-0123456789abcdef0"],
    });
    expect(all(ev, T.vpc)).to.deep.equal([]);
    expect(all(ev, T.securityGroup, /^runner-/)).to.deep.equal([]);
    expect(ev.outputs.dbtSubnets).to.deep.equal(["subnet-0123456789abcdef0"]);
    expect(ev.outputs.dbtSecurityGroups).to.deep.equal(["sg-0123456789abcdef0"]);
    expect(ev.outputs.dbtAssignPublicIp).to.equal(true);
  });

  it("x86_64 when dbt.arm64 is false", async () => {
    const td = one(await evaluateStack("dev", { "dbt.arm64": false }), T.taskDefinition, "runner-task");
    expect(td.inputs.runtimePlatform).to.deep.equal({ cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" });
  });
});

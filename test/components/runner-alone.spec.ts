/**
 * DbtRunner built alone from its own arguments (no stack config): each argument reaches the
 * resource input it decides.
 */
import { expect } from "chai";
import { DbtRunner, DbtRunnerArgs } from "../../components/runner";
import { Evaluation } from "../../offline/mocks";
import { all, one } from "../helpers/stack";
import { evaluateAlone } from "./alone";
import { obj, objs, parsed, statementsOf } from "./recorded";

const ACCOUNT = "123456789012";
const ARGS: DbtRunnerArgs = {
  environment: "qa",
  protect: false,
  image: { tag: "v9", awsCliImage: "public.ecr.aws/aws-cli/aws-cli:2.22.0", expireUnpulledDays: 7 },
  task: { cpu: 256, memory: 512, arm64: false, threads: 2, target: "ci", containerInsights: true },
  network: { mode: "existing", subnetIds: ["subnet-a", "subnet-b"], securityGroupIds: ["sg-1"], assignPublicIp: false },
  logRetentionDays: 7,
  artifactRetentionDays: 10,
  snowflake: {
    account: "ORG-ACCT",
    user: "DBT_QA",
    role: "TRANSFORMER_QA",
    warehouse: "TRANSFORMING_QA",
    database: "DB_QA",
    schema: "STAGING",
    layerSchemas: { staging: "STAGING" },
    privateKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbt-key-AbCdEf",
  },
};

const build = (args: DbtRunnerArgs) => () => {
  const runner = new DbtRunner("runner", args);
  return { subnetIds: runner.subnetIds, securityGroupIds: runner.securityGroupIds, publicIp: runner.assignPublicIp };
};

describe("DbtRunner alone", () => {
  describe("existing network, unprotected", () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateAlone(build(ARGS));
    });

    it("runs in the subnets and groups it is given, creating no network", () => {
      expect(obj(ev.outputs.built)).to.deep.equal({
        subnetIds: ["subnet-a", "subnet-b"],
        securityGroupIds: ["sg-1"],
        publicIp: false,
      });
      expect(all(ev, "awsx:ec2:Vpc")).to.have.length(0);
      expect(all(ev, "aws:ec2/securityGroup:SecurityGroup")).to.have.length(0);
    });

    it("image: the repository can be deleted with its images; the tag is pinned; others expire after 7 days", () => {
      const repo = one(ev, "aws:ecr/repository:Repository");
      expect(repo.inputs).to.deep.include({ name: "dbt-pipeline-qa-dbt", forceDelete: true });
      expect(repo.options.protect).to.equal(undefined);
      const rules = objs(obj(parsed(one(ev, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy)).rules);
      expect(rules.map((r) => obj(r.selection))).to.deep.equal([
        { tagStatus: "tagged", tagPatternList: ["v9"], countType: "imageCountMoreThan", countNumber: 1 },
        { tagStatus: "any", countType: "sinceImagePulled", countUnit: "days", countNumber: 7 },
      ]);
    });

    it("task: its size, architecture, Container Insights and log retention", () => {
      expect(one(ev, "aws:ecs/cluster:Cluster").inputs.settings).to.deep.equal([
        { name: "containerInsights", value: "enabled" },
      ]);
      expect(one(ev, "aws:cloudwatch/logGroup:LogGroup").inputs).to.deep.include({
        name: "/ecs/dbt-pipeline-qa-dbt",
        retentionInDays: 7,
      });
      expect(one(ev, "aws:ecs/taskDefinition:TaskDefinition").inputs).to.deep.include({
        family: "dbt-pipeline-qa-dbt",
        cpu: "256",
        memory: "512",
        runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
      });
    });

    it("containers: the pinned image, the AWS CLI image, dbt's target and threads, the Snowflake connection", () => {
      const defs = objs(parsed(one(ev, "aws:ecs/taskDefinition:TaskDefinition").inputs.containerDefinitions));
      const byName = Object.fromEntries(defs.map((d) => [String(d.name), d]));
      expect(byName.dbt.image).to.equal(`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/dbt-pipeline-qa-dbt:v9`);
      expect(byName.prepare.image).to.equal("public.ecr.aws/aws-cli/aws-cli:2.22.0");
      expect(byName.upload.image).to.equal("public.ecr.aws/aws-cli/aws-cli:2.22.0");
      expect(byName.dbt.command).to.deep.equal(["dbt", "build", "--profile", "dbt_pipeline", "--target", "ci"]);
      expect(byName.dbt.environment).to.deep.include.members([
        { name: "DBT_TARGET", value: "ci" },
        { name: "DBT_THREADS", value: "2" },
        { name: "SNOWFLAKE_ACCOUNT", value: "ORG-ACCT" },
        { name: "SNOWFLAKE_USER", value: "DBT_QA" },
        { name: "SNOWFLAKE_ROLE", value: "TRANSFORMER_QA" },
        { name: "SNOWFLAKE_WAREHOUSE", value: "TRANSFORMING_QA" },
        { name: "SNOWFLAKE_DATABASE", value: "DB_QA" },
        { name: "SNOWFLAKE_SCHEMA", value: "STAGING" },
      ]);
      expect(byName.dbt.secrets).to.deep.equal([
        {
          name: "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY",
          valueFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbt-key-AbCdEf",
        },
      ]);
    });

    it("the execution role may read exactly the key secret it is given", () => {
      const policy = one(ev, "aws:iam/rolePolicy:RolePolicy", "runner-execution-policy");
      const reads = statementsOf(policy.inputs.policy).filter((s) => s.Action === "secretsmanager:GetSecretValue");
      expect(reads.map((s) => s.Resource)).to.deep.equal([
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbt-key-AbCdEf",
      ]);
    });

    it("artifacts: a bucket deleted with its objects, runs expired after 10 days", () => {
      expect(one(ev, "aws:s3/bucket:Bucket").inputs).to.deep.include({
        bucket: `dbt-pipeline-qa-artifacts-${ACCOUNT}`,
        forceDestroy: true,
      });
      const rules = objs(one(ev, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules);
      expect(rules[0]).to.deep.equal({
        id: "expire-runs",
        status: "Enabled",
        filter: { prefix: "qa/runs/" },
        expiration: { days: 10 },
      });
    });
  });

  describe("created network, protected", () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateAlone(
        build({
          ...ARGS,
          protect: true,
          network: { mode: "create", vpcCidr: "10.42.0.0/16", availabilityZones: 3, assignPublicIp: true },
        }),
      );
    });

    it("a VPC of public subnets only in the given CIDR and zones, and an HTTPS-egress-only group", () => {
      expect(one(ev, "awsx:ec2:Vpc", "runner-vpc").inputs).to.deep.include({
        cidrBlock: "10.42.0.0/16",
        numberOfAvailabilityZones: 3,
        subnetSpecs: [{ type: "Public", name: "public" }],
        natGateways: { strategy: "None" },
      });
      expect(one(ev, "aws:ec2/securityGroup:SecurityGroup", "runner-sg").inputs).to.deep.include({
        name: "dbt-pipeline-qa-dbt-tasks",
        ingress: [],
      });
      expect(obj(ev.outputs.built).publicIp).to.equal(true);
    });

    it("protects the repository and protects and retains the bucket, which keeps its objects", () => {
      expect(one(ev, "aws:ecr/repository:Repository").options.protect).to.equal(true);
      expect(one(ev, "aws:ecr/repository:Repository").inputs.forceDelete).to.equal(false);
      const bucket = one(ev, "aws:s3/bucket:Bucket");
      expect(bucket.options).to.deep.include({ protect: true, retainOnDelete: true });
      expect(bucket.inputs.forceDestroy).to.equal(false);
    });
  });
});

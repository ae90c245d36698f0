/**
 * {@link DbtRunner}: dbt Core as an ECS Fargate task. The image is built and pushed by the dbt
 * repository's CI into this stack's ECR repository; the stack runs the tag or digest in
 * `dbt.imageTag` (promotion to prod is a config change to a tag tested in dev). Each run is one
 * task of four containers (see containers.ts): prepare → freshness → dbt → upload, sharing an
 * ephemeral `/artifacts` volume, with artifacts kept in S3 between runs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINERS } from "../../functions/lib/run-contract";
import { policyDocument, servicePrincipalTrust } from "../lib/iam";
import { awsName, defaultTags } from "../lib/naming";
import { createArtifactBucket } from "./artifacts";
import { LOG_STREAM_PREFIX, SnowflakeConnection, VOLUMES, containerDefinitions, imageUri } from "./containers";
import { RunnerNetworkArgs, createRunnerNetwork } from "./network";
import {
  ArtifactPrefixes,
  artifactPrefixes,
  ecrLifecyclePolicy,
  executionRoleStatements,
  taskRoleStatements,
} from "./policies";

/** The dbt image the task runs and how long other images are kept. */
export interface DbtImageArgs {
  /** Tag, or `sha256:` digest, of the image CI pushed to this stack's repository (`dbt.imageTag`). No default. */
  readonly tag: string;
  /** Stock AWS CLI image of the prepare and upload containers (`dbt.awsCliImage`). No default. */
  readonly awsCliImage: string;
  /** Days after which an image nobody pulled expires; never the pinned tag (`dbt.ecrExpireUnpulledDays`). No default. */
  readonly expireUnpulledDays: number;
}

/** The task's size and the settings dbt runs with. */
export interface DbtTaskArgs {
  /** Fargate CPU units (`task.cpu`). No default. */
  readonly cpu: number;
  /** Fargate memory in MiB (`task.memory`). No default. */
  readonly memory: number;
  /** ARM64 (Graviton) instead of X86_64 (`task.arm64`). No default. */
  readonly arm64: boolean;
  /** dbt threads (`task.threads`). No default. */
  readonly threads: number;
  /** dbt target of the default command (`task.target`, resolved). No default. */
  readonly target: string;
  /** Container Insights on the cluster (`task.containerInsights`). No default. */
  readonly containerInsights: boolean;
}

/**
 * Arguments of {@link DbtRunner}. Nothing has a default here: the stack's defaults live in
 * config-keys.ts, and a runner built alone (a test, another program) states every choice.
 */
export interface DbtRunnerArgs {
  /** Environment name: resource names `dbt-pipeline-<env>-…`, tags, artifact prefixes. No default. */
  readonly environment: string;
  /** Protect and retain the repository and the artifact bucket, and keep their contents on delete (`protect`). No default. */
  readonly protect: boolean;
  /** The image and its repository's lifecycle. No default. */
  readonly image: DbtImageArgs;
  /** The task's size and dbt's settings. No default. */
  readonly task: DbtTaskArgs;
  /** Where tasks run: a network created for them or existing subnets (`network.*`). No default. */
  readonly network: RunnerNetworkArgs;
  /** Days the task's CloudWatch logs are kept (`dbt.logRetentionDays`). No default. */
  readonly logRetentionDays: number;
  /** Days a run's artifacts are kept under `<env>/runs/` (`dbt.artifactRetentionDays`). No default. */
  readonly artifactRetentionDays: number;
  /** The Snowflake connection dbt uses (from the Snowflake foundation). No default. */
  readonly snowflake: SnowflakeConnection;
}

/** ECR repository, ECS cluster and task definition, artifact bucket, network and roles for dbt runs. */
export class DbtRunner extends pulumi.ComponentResource {
  /** ECS cluster to run the task in. */
  public readonly clusterArn: pulumi.Output<string>;
  public readonly clusterName: pulumi.Output<string>;
  /** Task definition ARN (with revision). */
  public readonly taskDefinitionArn: pulumi.Output<string>;
  /** Task definition family, `dbt-pipeline-<env>-dbt`: RunTask takes it to run the latest revision. */
  public readonly taskDefinitionFamily: pulumi.Output<string>;
  /** The container whose command runs dbt and whose exit code is the run's outcome. */
  public readonly containerName: string;
  /** Subnets for `awsvpcConfiguration.subnets`. */
  public readonly subnetIds: pulumi.Output<string[]>;
  /** Security groups for `awsvpcConfiguration.securityGroups`. */
  public readonly securityGroupIds: pulumi.Output<string[]>;
  /** Whether RunTask must set `assignPublicIp: ENABLED`. */
  public readonly assignPublicIp: boolean;
  public readonly artifactBucketName: pulumi.Output<string>;
  public readonly artifactBucketArn: pulumi.Output<string>;
  /** `<env>/runs/` (one folder per run id) and `<env>/latest/` (the last run's artifacts). */
  public readonly artifactPrefixes: ArtifactPrefixes;
  /** Log group of every container; streams are `<logStreamPrefix>/<container>/<task id>`. */
  public readonly logGroupName: pulumi.Output<string>;
  /** awslogs stream prefix of every container (`run`). */
  public readonly logStreamPrefix: string;
  public readonly logGroupArn: pulumi.Output<string>;
  /** Where the dbt repository's CI pushes the image. */
  public readonly ecrRepositoryUrl: pulumi.Output<string>;
  public readonly ecrRepositoryArn: pulumi.Output<string>;
  /** The dbt image the task runs: `<repository>:<tag>` or `<repository>@sha256:...`. */
  public readonly imageUri: pulumi.Output<string>;
  /** Role ECS uses to pull the image, inject the key and write logs (RunTask callers need iam:PassRole on it). */
  public readonly executionRoleArn: pulumi.Output<string>;
  /** Role of the containers: S3 artifacts only (RunTask callers need iam:PassRole on it). */
  public readonly taskRoleArn: pulumi.Output<string>;

  constructor(name: string, args: DbtRunnerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:runner:DbtRunner", name, {}, opts);
    const { environment, protect, image: img, task, snowflake } = args;
    const tags = defaultTags(environment);
    const family = awsName(environment, "dbt");
    const parent = { parent: this };
    const region = aws.getRegionOutput({}, parent).region;
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;

    const network = createRunnerNetwork(name, environment, args.network, this);
    const prefixes = artifactPrefixes(environment);
    const artifacts = createArtifactBucket(
      name,
      { environment, protect, retentionDays: args.artifactRetentionDays },
      prefixes,
      accountId,
      this,
    );

    // Images are pushed by CI, never built here. Immutable tags: a tag names one image forever,
    // so promoting a tested tag to prod runs exactly what was tested.
    const repository = new aws.ecr.Repository(
      `${name}-repository`,
      {
        name: family,
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        forceDelete: !protect,
        tags,
      },
      protect ? { ...parent, protect: true } : parent,
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-repository-lifecycle`,
      {
        repository: repository.name,
        policy: ecrLifecyclePolicy(img.tag, img.expireUnpulledDays),
      },
      parent,
    );

    const cluster = new aws.ecs.Cluster(
      `${name}-cluster`,
      {
        name: family,
        settings: [{ name: "containerInsights", value: task.containerInsights ? "enabled" : "disabled" }],
        tags,
      },
      parent,
    );

    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/ecs/${family}`,
        retentionInDays: args.logRetentionDays,
        tags,
      },
      parent,
    );

    // Both roles are assumed by ECS tasks of this account only (confused-deputy guard).
    const trust = servicePrincipalTrust("ecs-tasks.amazonaws.com", {
      StringEquals: { "aws:SourceAccount": accountId },
    });
    const executionRole = new aws.iam.Role(
      `${name}-execution-role`,
      {
        name: awsName(environment, "dbt-execution"),
        description: "ECS: pull the dbt image, inject the Snowflake key, write the dbt task's logs",
        assumeRolePolicy: trust,
        tags,
      },
      parent,
    );
    const executionPolicy = new aws.iam.RolePolicy(
      `${name}-execution-policy`,
      {
        role: executionRole.name,
        policy: policyDocument(
          executionRoleStatements({
            repositoryArn: repository.arn,
            privateKeySecretArn: snowflake.privateKeySecretArn,
            logGroupArn: logGroup.arn,
          }),
        ),
      },
      parent,
    );
    const taskRole = new aws.iam.Role(
      `${name}-task-role`,
      {
        name: awsName(environment, "dbt-task"),
        description: "dbt task containers: read the previous state, write run artifacts",
        assumeRolePolicy: trust,
        tags,
      },
      parent,
    );
    const taskPolicy = new aws.iam.RolePolicy(
      `${name}-task-policy`,
      {
        role: taskRole.name,
        policy: policyDocument(taskRoleStatements(artifacts.arn, prefixes)),
      },
      parent,
    );

    const image = repository.repositoryUrl.apply((url) => imageUri(url, img.tag));
    const taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(task.cpu),
        memory: String(task.memory),
        runtimePlatform: { cpuArchitecture: task.arm64 ? "ARM64" : "X86_64", operatingSystemFamily: "LINUX" },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        volumes: [{ name: VOLUMES.artifacts }, { name: VOLUMES.tmp }, { name: VOLUMES.cliTmp }],
        containerDefinitions: pulumi.jsonStringify(
          containerDefinitions({
            dbtImage: image,
            awsCliImage: img.awsCliImage,
            environment,
            target: task.target,
            threads: task.threads,
            bucketName: artifacts.name,
            logGroupName: logGroup.name,
            region,
            snowflake,
          }),
        ),
        tags,
      },
      { ...parent, dependsOn: [executionPolicy, taskPolicy] },
    );

    this.clusterArn = cluster.arn;
    this.clusterName = cluster.name;
    this.taskDefinitionArn = taskDefinition.arn;
    this.taskDefinitionFamily = taskDefinition.family;
    this.containerName = CONTAINERS.dbt;
    this.subnetIds = network.subnetIds;
    this.securityGroupIds = network.securityGroupIds;
    this.assignPublicIp = network.assignPublicIp;
    this.artifactBucketName = artifacts.name;
    this.artifactBucketArn = artifacts.arn;
    this.artifactPrefixes = prefixes;
    this.logGroupName = logGroup.name;
    this.logGroupArn = logGroup.arn;
    this.logStreamPrefix = LOG_STREAM_PREFIX;
    this.ecrRepositoryUrl = repository.repositoryUrl;
    this.ecrRepositoryArn = repository.arn;
    this.imageUri = image;
    this.executionRoleArn = executionRole.arn;
    this.taskRoleArn = taskRole.arn;
    this.registerOutputs({
      clusterArn: this.clusterArn,
      clusterName: this.clusterName,
      taskDefinitionArn: this.taskDefinitionArn,
      taskDefinitionFamily: this.taskDefinitionFamily,
      containerName: this.containerName,
      subnetIds: this.subnetIds,
      securityGroupIds: this.securityGroupIds,
      assignPublicIp: this.assignPublicIp,
      artifactBucketName: this.artifactBucketName,
      artifactBucketArn: this.artifactBucketArn,
      artifactPrefixes: this.artifactPrefixes,
      logGroupName: this.logGroupName,
      logGroupArn: this.logGroupArn,
      logStreamPrefix: this.logStreamPrefix,
      ecrRepositoryUrl: this.ecrRepositoryUrl,
      ecrRepositoryArn: this.ecrRepositoryArn,
      imageUri: this.imageUri,
      executionRoleArn: this.executionRoleArn,
      taskRoleArn: this.taskRoleArn,
    });
  }
}

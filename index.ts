/**
 * Composition root: load the validated config, build the components, export the stack outputs.
 * Data flows one way: config → components → outputs.
 */
import { loadConfig } from "./config";

const config = loadConfig();

/** Environment this stack deploys. */
export const environment = config.environment;

// <boundary>
import { PermissionsBoundary, applyPermissionsBoundary } from "./components/lib/boundary";
import { applyLambdaSettings } from "./components/lib/node-function";

// Before any component: every IAM role created from here on carries the boundary.
const boundary = new PermissionsBoundary("permissions-boundary", { environment: config.environment });
applyPermissionsBoundary(boundary.arn);
// Every Lambda function: X-Ray tracing as lambda.tracing says, reservations only where lambda.reservedConcurrency opts in.
applyLambdaSettings(config.lambda);

/** Permissions boundary policy every IAM role of this stack carries. */
export const permissionsBoundaryArn = boundary.arn;
// </boundary>

// <snowflake>
import { SnowflakeFoundation } from "./components/snowflake";

const sf = config.snowflake;
const snowflake = new SnowflakeFoundation("snowflake", {
  environment: config.environment,
  envSuffix: config.envSuffix,
  protect: config.protect,
  admin: {
    organizationName: sf.organizationName,
    accountName: sf.accountName,
    user: sf.adminUser,
    privateKey: sf.adminPrivateKey,
    privateKeyPassphrase: sf.adminPrivateKeyPassphrase,
  },
  databaseName: sf.databaseName,
  dataRetentionDays: sf.dataRetentionDays,
  schemas: sf.schemas,
  warehouses: {
    sizes: sf.warehouseSizes,
    autoSuspendSeconds: sf.autoSuspendSeconds,
    statementTimeoutSeconds: sf.statementTimeoutSeconds,
  },
  monitor: {
    monthlyCreditQuota: sf.monthlyCreditQuota,
    suspendAtQuota: sf.suspendAtQuota,
    notifyUsers: sf.monitorNotifyUsers,
  },
  keyGeneration: sf.keyGeneration,
});

/** Database of this environment, e.g. DBT_PIPELINE_DEV. */
export const snowflakeDatabase = snowflake.databaseName;
/** Layer schema names (raw, staging, analytics, metrics, monitoring) inside snowflakeDatabase. */
export const snowflakeSchemas = snowflake.schemas;
/** Warehouse names per workload (loading, transforming, reporting). */
export const snowflakeWarehouses = snowflake.warehouses;
/** Functional account roles (loader, transformer, reporter). */
export const snowflakeRoles = snowflake.roles;
/** Service user names (loader, dbt), key-pair auth only. */
export const snowflakeUsers = snowflake.users;
/** Secrets Manager ARNs holding each service user's current private key (plain PKCS#8 PEM). */
export const snowflakePrivateKeySecretArns = snowflake.privateKeySecretArns;
/** Account identifier `<organization>-<account>` for dbt's `account`. */
export const snowflakeAccount = snowflake.accountIdentifier;
// </snowflake>

// <ci-reader>
import { CiReader } from "./components/snowflake/ci-reader";

const ciReader = new CiReader("ci-reader", {
  environment: config.environment,
  envSuffix: config.envSuffix,
  databaseName: snowflake.databaseName,
  schemaFqns: snowflake.schemaFqns,
  provider: snowflake.providers.securityadmin,
  dependsOn: snowflake.accessGrants,
});

/** Read-only role over the dbt layers for Slim CI's deferral; grant it to the CI user's role (docs/dbt-repo). */
export const snowflakeCiReaderRole = ciReader.roleName;
// </ci-reader>

// <runner>
import { DbtRunner } from "./components/runner";

const { dbt, network } = config;
const runner = new DbtRunner("runner", {
  environment: config.environment,
  protect: config.protect,
  image: { tag: dbt.imageTag, awsCliImage: dbt.awsCliImage, expireUnpulledDays: dbt.ecrExpireUnpulledDays },
  task: {
    cpu: dbt.cpu,
    memory: dbt.memory,
    arm64: dbt.arm64,
    threads: dbt.threads,
    target: dbt.target,
    containerInsights: dbt.containerInsights,
  },
  network:
    network.mode === "create"
      ? {
          mode: "create",
          vpcCidr: network.vpcCidr,
          availabilityZones: network.availabilityZones,
          assignPublicIp: network.assignPublicIp,
        }
      : {
          mode: "existing",
          subnetIds: network.subnetIds,
          securityGroupIds: network.securityGroupIds,
          assignPublicIp: network.assignPublicIp,
        },
  logRetentionDays: dbt.logRetentionDays,
  artifactRetentionDays: dbt.artifactRetentionDays,
  snowflake: {
    account: snowflake.accountIdentifier,
    user: snowflake.users.dbt,
    role: snowflake.roles.transformer,
    warehouse: snowflake.warehouses.transforming,
    database: snowflake.databaseName,
    schema: snowflake.schemas.staging,
    layerSchemas: snowflake.schemas,
    privateKeySecretArn: snowflake.privateKeySecretArns.dbt,
  },
});

/** ECS cluster ARN to run dbt tasks in (RunTask `cluster`). */
export const dbtCluster = runner.clusterArn;
/** dbt task definition ARN, with revision. */
export const dbtTaskDefinition = runner.taskDefinitionArn;
/** Task definition family (RunTask `taskDefinition` runs its latest revision). */
export const dbtTaskFamily = runner.taskDefinitionFamily;
/** Container to override with the dbt command; its exit code is the run's outcome. */
export const dbtContainerName = runner.containerName;
/** Subnets for RunTask `awsvpcConfiguration.subnets`. */
export const dbtSubnets = runner.subnetIds;
/** Security groups for RunTask `awsvpcConfiguration.securityGroups`. */
export const dbtSecurityGroups = runner.securityGroupIds;
/** Whether RunTask must set `awsvpcConfiguration.assignPublicIp: ENABLED`. */
export const dbtAssignPublicIp = runner.assignPublicIp;
/** Roles of the task; a RunTask caller needs iam:PassRole on both. */
export const dbtTaskRoles = { execution: runner.executionRoleArn, task: runner.taskRoleArn };
/** Bucket of dbt artifacts (manifest, run_results, sources, dbt.log). */
export const artifactBucket = runner.artifactBucketName;
/** Key prefixes in artifactBucket: `runs` (`<env>/runs/<run id>/`), `latest` (the next run's state), `observed` (the last freshness observation). */
export const artifactPrefixes = runner.artifactPrefixes;
/** CloudWatch log group of the dbt task; streams are `run/<container>/<task id>`. */
export const dbtLogGroup = runner.logGroupName;
/** ECR repository the dbt repository's CI pushes images to (immutable tags). */
export const ecrRepositoryUrl = runner.ecrRepositoryUrl;
// </runner>

// <alerts>
import { Alerts } from "./components/observability";

const alerts = new Alerts("alerts", { environment: config.environment, emails: config.notify.emails });

/** SNS topic of everything that needs a person (alarms, failed runs, failed syncs, Snowflake task errors); e-mails go to notify.emails. */
export const alertTopicArn = alerts.topicArn;
// </alerts>

// <triggers>
import { Triggers } from "./components/triggers";

const triggers = new Triggers("triggers", {
  environment: config.environment,
  protect: config.protect,
  settings: config.triggers,
  sources: config.sources,
  dbtTarget: config.dbt.target,
  logRetentionDays: config.dbt.logRetentionDays,
  webhooks: { fivetranSecret: config.fivetran.webhookSecret, airbyteToken: config.airbyte.webhookToken },
  runner: {
    clusterArn: runner.clusterArn,
    clusterName: runner.clusterName,
    taskDefinitionFamily: runner.taskDefinitionFamily,
    subnetIds: runner.subnetIds,
    securityGroupIds: runner.securityGroupIds,
    assignPublicIp: runner.assignPublicIp,
    taskRoleArn: runner.taskRoleArn,
    executionRoleArn: runner.executionRoleArn,
  },
  alertTopicArn: alerts.topicArn,
});

/** URL to register as the Fivetran webhook (with fivetran.webhookSecret as its secret); absent when that secret is not set. */
export const webhookUrlFivetran = triggers.fivetranWebhookUrl;
/** URL to register as the Airbyte notification webhook; it contains the token, so it is a secret (`pulumi stack output --show-secrets`). */
export const webhookUrlAirbyte = triggers.airbyteWebhookUrl;
/** FIFO queue of dbt run requests, from dispatch to launch. */
export const runsQueueArn = triggers.runsQueueArn;
/** FIFO dead-letter queue of run requests launch cannot run (poison messages, requests ECS rejects for good); redrive from here. */
export const deadLetterQueueArn = triggers.deadLetterQueueArn;
/** Lambda that receives webhooks, schedules and Snowflake notifications and enqueues runs. */
export const dispatchFunction = triggers.dispatchFunctionName;
/** Lambda that reads the runs queue and starts one dbt task at a time. */
export const launchFunction = triggers.launchFunctionName;
/** DynamoDB table of launch's waiting requests (`p#…`) and per-target leases; `npm run status` reads it. The name launch itself is given (its TABLE_NAME). */
export const launchStateTable = triggers.functions.launch.function.environment.apply(
  (e) => e?.variables?.TABLE_NAME ?? "",
);
// </triggers>

// <deploy-build>
import { DeployBuild } from "./components/triggers";

// A new dbt.imageTag builds what it changed, once its task definition and dispatch are deployed.
if (config.dbt.buildOnImageChange) {
  new DeployBuild("deploy-build", {
    functionName: triggers.dispatchFunctionName,
    imageTag: config.dbt.imageTag,
    dependsOn: [runner, triggers],
  });
}
// </deploy-build>

// <change-detection>
import { ChangeDetection } from "./components/change-detection";

const changeDetection = new ChangeDetection("change-detection", {
  environment: config.environment,
  envSuffix: config.envSuffix,
  protect: config.protect,
  sources: config.sources,
  tasks: {
    mode: sf.taskMode,
    scheduleMinutes: sf.taskScheduleMinutes,
    compute: sf.taskCompute,
    targetCompletionMinutes: sf.taskTargetCompletionMinutes,
    suspendAfterFailures: sf.taskSuspendAfterFailures,
    reconcileMinutes: sf.reconcileScheduleMinutes,
  },
  snowflake: {
    providers: snowflake.providers,
    databaseName: snowflake.databaseName,
    schemas: { raw: sf.schemas.raw, monitoring: sf.schemas.monitoring },
    warehouse: snowflake.warehouses.loading,
    loaderRole: snowflake.roles.loader,
    reporterRole: snowflake.roles.reporter,
    accessGrants: snowflake.accessGrants,
  },
  dispatch: { functionArn: triggers.dispatchFunctionArn, functionName: triggers.dispatchFunctionName },
});

/** SNS topic Snowflake publishes load notifications and task errors to (feeds dispatch). */
export const snowflakeLoadTopicArn = changeDetection.topicArn;
/** Role that owns the change-detection streams and tasks. */
export const snowflakePipelineRole = changeDetection.pipelineRole;
/** Each watched RAW table's status after the last refresh (watching, created, pending, suspended, stale, error); docs/snowflake-day-one.md. */
export const snowflakeWatchedTables = changeDetection.watchedTables;
/** Snowflake objects changed outside Pulumi, each with its fix; empty when none (needs pulumi up --refresh). */
export const snowflakeDrift = changeDetection.drift;
// </change-detection>

// <observability>
import { Observability, queueNameFromArn } from "./components/observability";
import { LOG_STREAM_PREFIX } from "./components/runner";

const observability = new Observability("observability", {
  environment: config.environment,
  protect: config.protect,
  logRetentionDays: config.dbt.logRetentionDays,
  thresholds: {
    consecutiveFailures: config.notify.consecutiveFailures,
    lambdaErrorRatePercent: config.notify.lambdaErrorRatePercent,
  },
  sources: config.sources,
  slackWebhookUrl: config.notify.slackWebhookUrl,
  alerts: { topicArn: alerts.topicArn },
  runner: {
    clusterArn: runner.clusterArn,
    taskDefinitionFamily: runner.taskDefinitionFamily,
    artifactBucketName: runner.artifactBucketName,
    artifactBucketArn: runner.artifactBucketArn,
    logGroupName: runner.logGroupName,
    logStreamPrefix: LOG_STREAM_PREFIX,
  },
  deadLetterQueues: [
    { label: "runs", queueName: triggers.deadLetterQueueArn.apply(queueNameFromArn) },
    { label: "dispatch", queueName: triggers.asyncDeadLetterQueueArn.apply(queueNameFromArn) },
  ],
  functions: [
    { label: "dispatch", functionName: triggers.dispatchFunctionName },
    { label: "launch", functionName: triggers.launchFunctionName },
  ],
});

/** EventBridge bus with one `dbt.run.completed` event per finished dbt task (schema: docs/run-events.md); other teams put their rules on it. */
export const runEventBusName = observability.runEventBusName;
/** ARN of runEventBusName (for cross-account rules and IAM). */
export const runEventBusArn = observability.runEventBusArn;
/** Lambda that reports finished runs and alert-topic messages to Slack, pages the alert topic and publishes run events. */
export const notifyFunction = observability.notifyFunctionName;
/** CloudWatch dashboard of this environment: runs, durations, failures in a row, source freshness, DLQs, Lambda errors, alarms. */
export const dashboardName = observability.dashboardName;
// </observability>

// <github>
import { getRegionOutput } from "@pulumi/aws";
import { GithubDelivery } from "./components/github";

// Each stack manages only its own environment on GitHub; github.oidcProvider says whether this
// stack creates the account's OIDC provider. Skipped entirely when github.owner is empty.
const github = config.github
  ? new GithubDelivery("github", {
      github: config.github,
      environment: config.environment,
      project: config.project,
      stack: config.stack,
      backend: config.backend,
      createsNetwork: config.network.mode === "create",
      invokesDispatch: config.dbt.buildOnImageChange,
      production: config.environment === "prod",
      ecrRepositoryArn: runner.ecrRepositoryArn,
      ecrRepositoryUrl: runner.ecrRepositoryUrl,
      artifactBucketName: runner.artifactBucketName,
      artifactBucketArn: runner.artifactBucketArn,
      region: getRegionOutput().region,
      permissionsBoundaryArn: boundary.arn,
    })
  : undefined;

// A stack without one of these roles exports null: the engine drops a top-level undefined with a
// warning (@pulumi/pulumi runtime/stack.js, massage), and a StackReference reader is better served
// by an explicit null than by an output that is missing in some stacks.
/** Role the `<env>-preview` environment of the infrastructure repository assumes for `pulumi preview` (reads only); null in prod and without github.owner. */
export const githubPreviewRoleArn = github?.previewRoleArn ?? null;
/** Role this environment's deploy job assumes for `pulumi up`; null without github.owner. */
export const githubDeployRoleArn = github?.deployRoleArn ?? null;
/** Role the dbt repository assumes to push images and CI artifacts for this environment; null without github.owner. */
export const githubDbtCiRoleArn = github?.dbtCiRoleArn ?? null;
// </github>

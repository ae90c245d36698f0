/**
 * The dbt task's four containers, built by one pure function from plain values so the JSON ECS
 * receives can be asserted field by field.
 *
 * Order and essential flags (ECS rules, see ContainerDependency in the ECS API reference):
 *   prepare (AWS CLI, essential: false)
 *     └─ SUCCESS → freshness (dbt image, essential: false)
 *     └─ SUCCESS ┐
 *   freshness ─ COMPLETE → dbt (dbt image, essential: false)
 *                            └─ COMPLETE → upload (AWS CLI, essential: true)
 *
 * - COMPLETE and SUCCESS "can't be set on an essential container", so every container another
 *   one waits for (prepare, freshness, dbt) is non-essential.
 * - `upload` is the only essential container: the task stops when it exits, which is after dbt
 *   exited (whatever its code), so artifacts are uploaded for failed runs too.
 * - The upload learns dbt's outcome from a marker the dbt container's wrapper leaves only when
 *   dbt exited 0 (scripts.ts). Not from a container that depends on dbt's SUCCESS: the ECS agent
 *   fails a dependency on a container that "has not and will not start" for good
 *   (aws/amazon-ecs-agent `agent/engine/dependencygraph/graph.go`,
 *   `verifyContainerOrderingStatusResolvable` / `HasNotAndWillNotStart`), so such a container, skipped after a
 *   failed dbt, would block the upload of exactly the runs that need their logs.
 * - `dbt` waits for prepare SUCCESS itself, not only through freshness: when prepare fails, ECS
 *   stops freshness with a dependency error, which would satisfy a COMPLETE-only dependency.
 * - The run's outcome is the `dbt` container's `exitCode` in the task's STOPPED event
 *   (`detail.containers[name = "dbt"]`); the notifier reads it by that name. The task's own
 *   stop code says only that `upload` exited. When prepare fails, ECS never starts dbt: the
 *   agent stops it with a "failed to resolve container ordering dependency" reason (and, per
 *   aws/amazon-ecs-agent#3218, records exit code 143 for it), then upload runs and ends the task.
 * - No `startTimeout` on freshness or dbt: ECS gives up on a COMPLETE/SUCCESS dependency that
 *   has not exited `startTimeout` seconds after it started, and dbt runs for as long as it needs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { CONTAINERS, PATHS, PROFILE_NAME } from "../../functions/lib/run-contract";
import {
  ARTIFACTS_ROOT,
  ENV,
  PREPARE_TMP_MOUNT,
  SUCCESS_MARKER,
  dbtWrapperScript,
  prepareScript,
  uploadScript,
} from "./scripts";

/** Task-level volumes: no host path, so Fargate backs them with the task's ephemeral storage. */
export const VOLUMES = {
  /** Shared by all containers at /artifacts: profile, previous state, this run's target and logs. */
  artifacts: "artifacts",
  /** dbt's /tmp, needed because its root filesystem is read-only. */
  tmp: "tmp",
  /** The AWS CLI steps' /tmp (read-only root filesystems; the shell's here-documents and temporary files go there). */
  cliTmp: "cli-tmp",
} as const;

/** awslogs stream prefix; ECS names each stream `run/<container name>/<task id>`. */
export const LOG_STREAM_PREFIX = "run";

/** The CloudWatch log stream of one container of a task. */
export function logStreamName(containerName: string, taskId: string): string {
  return `${LOG_STREAM_PREFIX}/${containerName}/${taskId}`;
}

/** Seconds ECS waits after SIGTERM before killing a dbt container (Fargate's maximum). */
export const DBT_STOP_TIMEOUT_SECONDS = 120;

/**
 * The dbt containers' entry point. Set explicitly because images built `FROM` dbt-labs' images
 * inherit `ENTRYPOINT ["dbt"]`, which would turn the command `dbt build ...` into
 * `dbt dbt build ...`. dumb-init runs the command and rewrites SIGTERM (15), which ECS sends to
 * stop a task, into SIGINT (2), sent to the command's whole process group (Yelp/dumb-init's
 * default setsid mode): dbt-core installs no signal handler, so SIGTERM would kill it at
 * once, while SIGINT raises KeyboardInterrupt, on which `task/runnable.py` writes
 * run_results.json and cancels the running queries (`_cancel_connections`). The image must
 * provide `dumb-init` on its PATH (`pip install dumb-init`; docs/dbt-repo/README.md).
 */
export const DBT_ENTRY_POINT = ["dumb-init", "--rewrite", "15:2", "--"];

/** The dbt container's entry point: {@link DBT_ENTRY_POINT} running the wrapper that records a success for the upload. */
export const DBT_WRAPPED_ENTRY_POINT = [
  ...DBT_ENTRY_POINT,
  "/bin/sh",
  "-c",
  dbtWrapperScript(),
  "dbt-pipeline-wrapper",
  SUCCESS_MARKER,
];

/** The environment variable that carries the name of a layer schema (`staging` → `DBT_PIPELINE_SCHEMA_STAGING`). */
export function layerSchemaVariable(layer: string): string {
  return `DBT_PIPELINE_SCHEMA_${layer.toUpperCase()}`;
}

/** The image reference for a tag or a `sha256:` digest in `repositoryUrl`. */
export function imageUri(repositoryUrl: string, tagOrDigest: string): string {
  return /^sha256:[a-f0-9]{64}$/.test(tagOrDigest)
    ? `${repositoryUrl}@${tagOrDigest}`
    : `${repositoryUrl}:${tagOrDigest}`;
}

/** The default argv of the dbt container when the launch sends no command. */
export function defaultDbtCommand(target: string): string[] {
  return ["dbt", "build", "--profile", PROFILE_NAME, "--target", target];
}

/** The Snowflake connection dbt uses (from the Snowflake foundation). */
export interface SnowflakeConnection {
  /** Account identifier `<org>-<account>`. */
  readonly account: pulumi.Input<string>;
  /** dbt's service user. */
  readonly user: pulumi.Input<string>;
  /** The transformer role. */
  readonly role: pulumi.Input<string>;
  /** The transforming warehouse. */
  readonly warehouse: pulumi.Input<string>;
  /** The environment's database. */
  readonly database: pulumi.Input<string>;
  /** Default schema of the profile (staging). */
  readonly schema: pulumi.Input<string>;
  /**
   * Every layer schema by key (raw, staging, analytics, metrics, monitoring): dbt gets each as
   * {@link layerSchemaVariable}, for the project's `generate_schema_name` and source definitions.
   */
  readonly layerSchemas: Readonly<Record<string, pulumi.Input<string>>>;
  /** Secrets Manager ARN holding the dbt user's PEM private key as the whole secret string. */
  readonly privateKeySecretArn: pulumi.Input<string>;
}

/** Everything the containers are built from. */
export interface ContainerSpec {
  /** dbt image (repository URL with tag or digest). */
  readonly dbtImage: pulumi.Input<string>;
  /** Stock AWS CLI image. */
  readonly awsCliImage: string;
  /** Environment name (artifact key prefix). */
  readonly environment: string;
  /** dbt target. */
  readonly target: string;
  readonly threads: number;
  readonly bucketName: pulumi.Input<string>;
  readonly logGroupName: pulumi.Input<string>;
  readonly region: pulumi.Input<string>;
  readonly snowflake: SnowflakeConnection;
}

type Env = { name: string; value: pulumi.Input<string> }[];

/** The task's container definitions, in start order. */
export function containerDefinitions(spec: ContainerSpec): aws.ecs.ContainerDefinition[] {
  const log: aws.ecs.LogConfiguration = {
    logDriver: "awslogs",
    options: {
      "awslogs-group": spec.logGroupName,
      "awslogs-region": spec.region,
      "awslogs-stream-prefix": LOG_STREAM_PREFIX,
    },
  };
  const artifacts = (readOnly = false): aws.ecs.MountPoint => ({
    sourceVolume: VOLUMES.artifacts,
    containerPath: ARTIFACTS_ROOT,
    readOnly,
  });
  const region: Env = [{ name: "AWS_REGION", value: spec.region }];
  const artifactEnv: Env = [
    { name: ENV.bucket, value: spec.bucketName },
    { name: ENV.environment, value: spec.environment },
  ];
  // Both dbt containers connect to Snowflake with the same profile.
  const dbtEnv: Env = [
    { name: ENV.target, value: spec.target },
    { name: ENV.profilesDir, value: PATHS.profiles },
    { name: ENV.targetPath, value: PATHS.target },
    { name: ENV.logPath, value: PATHS.logs },
    { name: ENV.threads, value: String(spec.threads) },
    { name: ENV.account, value: spec.snowflake.account },
    { name: ENV.user, value: spec.snowflake.user },
    { name: ENV.role, value: spec.snowflake.role },
    { name: ENV.warehouse, value: spec.snowflake.warehouse },
    { name: ENV.database, value: spec.snowflake.database },
    { name: ENV.schema, value: spec.snowflake.schema },
    ...Object.entries(spec.snowflake.layerSchemas).map(([layer, value]) => ({
      name: layerSchemaVariable(layer),
      value,
    })),
    { name: ENV.anonymousUsageStats, value: "false" },
  ];
  const dbtContainer = (
    name: string,
    entryPoint: string[],
    command: string[],
    dependsOn: aws.ecs.ContainerDependency[],
  ): aws.ecs.ContainerDefinition => ({
    name,
    image: spec.dbtImage,
    essential: false,
    entryPoint,
    command,
    dependsOn,
    environment: dbtEnv,
    // Injected by ECS with the execution role; never in `environment`, never in the task definition.
    secrets: [{ name: ENV.privateKey, valueFrom: spec.snowflake.privateKeySecretArn }],
    mountPoints: [artifacts(), { sourceVolume: VOLUMES.tmp, containerPath: "/tmp", readOnly: false }],
    // dbt writes only under /artifacts (profiles dir, target and log paths) and /tmp.
    readonlyRootFilesystem: true,
    // No ECS init process: dumb-init (the entry point) is the init, reaps dbt's children and rewrites SIGTERM.
    stopTimeout: DBT_STOP_TIMEOUT_SECONDS,
    logConfiguration: log,
  });

  const cliTmp = { sourceVolume: VOLUMES.cliTmp, containerPath: "/tmp", readOnly: false };
  return [
    {
      name: CONTAINERS.prepare,
      image: spec.awsCliImage,
      essential: false,
      // The stock image's entry point is `aws`; the script needs a shell. Constant text, values via env.
      entryPoint: ["/bin/sh", "-c"],
      command: [prepareScript()],
      environment: [...artifactEnv, { name: ENV.target, value: spec.target }, ...region],
      mountPoints: [
        artifacts(),
        { sourceVolume: VOLUMES.tmp, containerPath: PREPARE_TMP_MOUNT, readOnly: false },
        cliTmp,
      ],
      // `aws s3 cp` writes a download beside its destination (under /artifacts) and renames it.
      readonlyRootFilesystem: true,
      linuxParameters: { initProcessEnabled: true },
      logConfiguration: log,
    },
    // `dbt --version` is a no-op; the launch overrides it with `dbt source freshness` when a run selects by source_status.
    dbtContainer(
      CONTAINERS.freshness,
      DBT_ENTRY_POINT,
      ["dbt", "--version"],
      [{ containerName: CONTAINERS.prepare, condition: "SUCCESS" }],
    ),
    dbtContainer(CONTAINERS.dbt, DBT_WRAPPED_ENTRY_POINT, defaultDbtCommand(spec.target), [
      { containerName: CONTAINERS.prepare, condition: "SUCCESS" },
      // COMPLETE, not SUCCESS: stale sources make `dbt source freshness` exit 1, and dbt must run anyway.
      { containerName: CONTAINERS.freshness, condition: "COMPLETE" },
    ]),
    {
      name: CONTAINERS.upload,
      image: spec.awsCliImage,
      essential: true,
      entryPoint: ["/bin/sh", "-c"],
      command: [uploadScript()],
      dependsOn: [{ containerName: CONTAINERS.dbt, condition: "COMPLETE" }],
      environment: [...artifactEnv, ...region],
      mountPoints: [artifacts(true), cliTmp],
      readonlyRootFilesystem: true,
      linuxParameters: { initProcessEnabled: true },
      logConfiguration: log,
    },
  ];
}

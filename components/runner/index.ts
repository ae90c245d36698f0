/**
 * dbt on ECS Fargate: start at {@link DbtRunner}. Pure helpers (container definitions, scripts,
 * policy documents) are exported for the components and tests that build on the same contract.
 */
export { DbtRunner } from "./runner";
export type { DbtImageArgs, DbtRunnerArgs, DbtTaskArgs } from "./runner";
export {
  DBT_STOP_TIMEOUT_SECONDS,
  LOG_STREAM_PREFIX,
  VOLUMES,
  containerDefinitions,
  defaultDbtCommand,
  imageUri,
  logStreamName,
} from "./containers";
export type { ContainerSpec, SnowflakeConnection } from "./containers";
export { ENV, LOG_FILE, PROFILE_FIELDS, STATE_FILES, prepareScript, profilesYaml, uploadScript } from "./scripts";
export {
  artifactPrefixes,
  bucketLifecycleRules,
  bucketPolicyDocument,
  ecrLifecyclePolicy,
  executionRoleStatements,
  taskRoleStatements,
} from "./policies";
export type { ArtifactPrefixes } from "./policies";
export { EGRESS_RULES } from "./network";
export type { CreatedNetworkArgs, ExistingNetworkArgs, RunnerNetworkArgs } from "./network";
export { artifactBucketName } from "./artifacts";

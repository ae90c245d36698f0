/**
 * The GitHub side of one environment as plain data: each repository's deployment environment
 * (reviewers, which branches may deploy) and the Actions variables workflows read instead of
 * copied values. Pure functions, tested on their own.
 *
 * Variables come in two kinds:
 * - environment variables (no suffix, e.g. `AWS_ROLE_ARN`), visible only to jobs that declare
 *   `environment: <env>`, whose OIDC `sub` is then `...:environment:<env>`;
 * - repository variables suffixed with the environment (e.g. `AWS_PREVIEW_ROLE_ARN_DEV`) for
 *   pull-request jobs: such a job must not declare an environment, or its `sub` would no longer
 *   be `...:pull_request` (and prod's branch policy would refuse the PR branch). The suffix lets
 *   each stack own its own variables in the shared repository.
 */

/** The two repositories the pipeline configures. */
export type RepositoryKey = "infra" | "dbt";

/** Arguments of `github.RepositoryEnvironment` plus its branch policy, as this package sets them. */
export interface EnvironmentSettings {
  readonly environment: string;
  /** Required reviewers (user ids); empty means none. */
  readonly reviewerUserIds: readonly number[];
  /** Whether repository admins may skip the protection rules. */
  readonly canAdminsBypass: boolean;
  /** Whether the person who triggered a deployment is barred from approving it. */
  readonly preventSelfReview: boolean;
  /** The one branch allowed to deploy, or undefined for any branch. */
  readonly branchPattern?: string;
}

/** GitHub allows at most this many required reviewers per environment. */
export const MAX_REVIEWERS = 6;

/**
 * How an environment of `repository` is protected:
 * - production: required reviewers (if configured), no admin bypass, main branch only;
 * - other environments of the infrastructure repository: main branch only (deploy.yml runs on
 *   main; nothing else should assume that environment's deploy role);
 * - other environments of the dbt repository: any branch (its pull-request CI may use them).
 * Self-review is prevented only with two or more reviewers, so a lone reviewer can still
 * approve their own merges.
 */
export function environmentSettings(repository: RepositoryKey, environment: string, production: boolean, mainBranch: string, reviewers: readonly number[]): EnvironmentSettings {
  if (production) {
    return { environment, reviewerUserIds: [...reviewers], canAdminsBypass: false, preventSelfReview: reviewers.length > 1, branchPattern: mainBranch };
  }
  return {
    environment,
    reviewerUserIds: [],
    canAdminsBypass: true,
    preventSelfReview: false,
    ...(repository === "infra" ? { branchPattern: mainBranch } : {}),
  };
}

/** The values the variables publish (plain strings in tests, Outputs in the component). */
export interface DeliveryValues<T> {
  readonly region: T;
  readonly stack: T;
  readonly ecrRepositoryUrl: T;
  readonly artifactBucketName: T;
  readonly previewRoleArn: T;
  readonly deployRoleArn: T;
  readonly dbtCiRoleArn: T;
  /** Production only: the role pull-request CI uses to read this environment's latest state. */
  readonly dbtStateRoleArn?: T;
}

/** `dev` → `DEV`; the suffix of repository-level variables. */
export function variableSuffix(environment: string): string {
  return environment.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/** The Actions variables of one repository for one environment. */
export interface RepositoryVariables<T> {
  /** `github.ActionsEnvironmentVariable`s of the environment. */
  readonly environment: Record<string, T>;
  /** `github.ActionsVariable`s of the repository, suffixed with the environment. */
  readonly repository: Record<string, T>;
}

/** The infrastructure repository: deploy jobs read the environment's, preview jobs the suffixed ones. */
export function infraVariables<T>(environment: string, v: DeliveryValues<T>): RepositoryVariables<T> {
  const sfx = variableSuffix(environment);
  return {
    environment: {
      AWS_REGION: v.region,
      AWS_ROLE_ARN: v.deployRoleArn,
      PULUMI_STACK: v.stack,
      ECR_REPOSITORY_URL: v.ecrRepositoryUrl,
      ARTIFACT_BUCKET: v.artifactBucketName,
    },
    repository: {
      [`AWS_PREVIEW_ROLE_ARN_${sfx}`]: v.previewRoleArn,
      [`AWS_REGION_${sfx}`]: v.region,
    },
  };
}

/**
 * The dbt repository: image pushes read the environment's variables; pull-request CI reads the
 * non-production environment's CI role and bucket and production's state role and bucket.
 */
export function dbtVariables<T>(environment: string, production: boolean, v: DeliveryValues<T>): RepositoryVariables<T> {
  const sfx = variableSuffix(environment);
  if (production && v.dbtStateRoleArn === undefined) throw new Error("dbtVariables: production needs dbtStateRoleArn");
  return {
    environment: {
      AWS_REGION: v.region,
      DBT_CI_ROLE_ARN: v.dbtCiRoleArn,
      ECR_REPOSITORY_URL: v.ecrRepositoryUrl,
      ARTIFACT_BUCKET: v.artifactBucketName,
    },
    repository: production
      ? { [`DBT_STATE_ROLE_ARN_${sfx}`]: v.dbtStateRoleArn as T, [`ARTIFACT_BUCKET_${sfx}`]: v.artifactBucketName, [`AWS_REGION_${sfx}`]: v.region }
      : { [`DBT_CI_ROLE_ARN_${sfx}`]: v.dbtCiRoleArn, [`ARTIFACT_BUCKET_${sfx}`]: v.artifactBucketName, [`AWS_REGION_${sfx}`]: v.region },
  };
}

/** Pulumi resource-name part of a variable: `AWS_ROLE_ARN` → `aws-role-arn`. */
export function variableSlug(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}

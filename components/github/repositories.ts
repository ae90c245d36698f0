/**
 * The GitHub side of one environment as plain data: each repository's deployment environment
 * (reviewers, which branches may deploy) and the Actions variables workflows read instead of
 * copied values. Pure functions, tested on their own.
 *
 * Variables come in two kinds:
 * - environment variables (no suffix, e.g. `AWS_ROLE_ARN`), visible only to jobs that declare
 *   `environment: <name>`, whose OIDC `sub` is then `...:environment:<name>`;
 * - repository variables of the dbt repository suffixed with the environment (e.g.
 *   `DBT_CI_ROLE_ARN_DEV`) for its pull-request CI, which declares no environment so that its
 *   `sub` is `...:pull_request`. The suffix lets each stack own its own variables.
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

export { MAX_REVIEWERS } from "../../config-keys";

/**
 * How an environment of `repository` is protected:
 * - production: required reviewers (if configured), no admin bypass, main branch only;
 * - other environments: main branch only (deploy.yml and the dbt image pushes run on main;
 *   nothing else should assume that environment's deploy or image-push role).
 * Self-review is prevented only with two or more reviewers, so a lone reviewer can still
 * approve their own merges.
 */
export function environmentSettings(
  environment: string,
  production: boolean,
  mainBranch: string,
  reviewers: readonly number[],
): EnvironmentSettings {
  if (production) {
    return {
      environment,
      reviewerUserIds: [...reviewers],
      canAdminsBypass: false,
      preventSelfReview: reviewers.length > 1,
      branchPattern: mainBranch,
    };
  }
  return {
    environment,
    reviewerUserIds: [],
    canAdminsBypass: true,
    preventSelfReview: false,
    branchPattern: mainBranch,
  };
}

/**
 * The `<env>-preview` environment of the infrastructure repository (non-production only): any
 * branch may use it, since pull requests preview from their own branch. It holds this
 * environment's preview secrets and nothing of production.
 */
export function previewEnvironmentSettings(environment: string): EnvironmentSettings {
  return { environment, reviewerUserIds: [], canAdminsBypass: true, preventSelfReview: false };
}

/** The values the variables publish (plain strings in tests, Outputs in the component). */
export interface DeliveryValues<T> {
  readonly region: T;
  readonly stack: T;
  readonly ecrRepositoryUrl: T;
  readonly artifactBucketName: T;
  readonly deployRoleArn: T;
  readonly dbtCiRoleArn: T;
  /** Non-production only: the preview role and the dbt pull-request role. */
  readonly previewRoleArn?: T;
  readonly dbtPrRoleArn?: T;
  /** Production only: the role pull-request CI uses to read this environment's latest state. */
  readonly dbtStateRoleArn?: T;
}

/** `dev` → `DEV`; the suffix of repository-level variables. */
export function variableSuffix(environment: string): string {
  return environment.toUpperCase().replace(/[^A-Z0-9]+/g, "_");
}

/** The Actions variables of one repository for one environment. */
export interface RepositoryVariables<T> {
  /** `github.ActionsEnvironmentVariable`s, by environment name. */
  readonly environments: Record<string, Record<string, T>>;
  /** `github.ActionsVariable`s of the repository, suffixed with the environment. */
  readonly repository: Record<string, T>;
}

/**
 * The infrastructure repository: the deploy job reads the `<env>` environment's variables, the
 * pull-request preview (non-production) the `<env>-preview` environment's. No repository-level
 * variable: every job that assumes a role declares an environment.
 */
export function infraVariables<T>(
  environment: string,
  previewEnvironment: string,
  v: DeliveryValues<T>,
): RepositoryVariables<T> {
  return {
    environments: {
      [environment]: {
        AWS_REGION: v.region,
        AWS_ROLE_ARN: v.deployRoleArn,
        PULUMI_STACK: v.stack,
        ECR_REPOSITORY_URL: v.ecrRepositoryUrl,
        ARTIFACT_BUCKET: v.artifactBucketName,
      },
      ...(v.previewRoleArn === undefined
        ? {}
        : { [previewEnvironment]: { AWS_REGION: v.region, AWS_ROLE_ARN: v.previewRoleArn, PULUMI_STACK: v.stack } }),
    },
    repository: {},
  };
}

/**
 * The dbt repository: image pushes read the environment's variables; pull-request CI reads the
 * non-production environment's pull-request role and bucket and production's state role and bucket.
 */
export function dbtVariables<T>(
  environment: string,
  production: boolean,
  v: DeliveryValues<T>,
): RepositoryVariables<T> {
  const sfx = variableSuffix(environment);
  if (production && v.dbtStateRoleArn === undefined) throw new Error("dbtVariables: production needs dbtStateRoleArn");
  if (!production && v.dbtPrRoleArn === undefined)
    throw new Error("dbtVariables: a non-production environment needs dbtPrRoleArn");
  return {
    environments: {
      [environment]: {
        AWS_REGION: v.region,
        DBT_CI_ROLE_ARN: v.dbtCiRoleArn,
        ECR_REPOSITORY_URL: v.ecrRepositoryUrl,
        ARTIFACT_BUCKET: v.artifactBucketName,
      },
    },
    repository: production
      ? {
          [`DBT_STATE_ROLE_ARN_${sfx}`]: v.dbtStateRoleArn as T,
          [`ARTIFACT_BUCKET_${sfx}`]: v.artifactBucketName,
          [`AWS_REGION_${sfx}`]: v.region,
        }
      : // The pull-request role keeps the name slim CI reads (docs/dbt-repo/workflows/ci.yml).
        {
          [`DBT_CI_ROLE_ARN_${sfx}`]: v.dbtPrRoleArn as T,
          [`ARTIFACT_BUCKET_${sfx}`]: v.artifactBucketName,
          [`AWS_REGION_${sfx}`]: v.region,
        },
  };
}

/** Pulumi resource-name part of a variable: `AWS_ROLE_ARN` → `aws-role-arn`. */
export function variableSlug(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}

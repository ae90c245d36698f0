/**
 * Who may assume the GitHub Actions roles: the OIDC provider's identity, the `sub` claims of
 * the repositories, environments and pull requests each role trusts, and the trust policies
 * built from them. Pure functions over plain strings, so tests can assert the exact JSON.
 */

/** Host of GitHub's OIDC token issuer; also the prefix of its claim condition keys. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** URL of the issuer, as IAM's OIDC provider records it. */
export const GITHUB_OIDC_URL = `https://${GITHUB_OIDC_HOST}`;

/** Audience `aws-actions/configure-aws-credentials` requests by default. */
export const STS_AUDIENCE = "sts.amazonaws.com";

/** ARN of the account's GitHub OIDC provider (one per account; its name is the issuer host). */
export function oidcProviderArn(partition: string, accountId: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
}

/**
 * Immutable ids of a repository and its owner. GitHub puts them in the `sub` claim of
 * repositories created (or renamed or transferred) after 2026-06-18, and of older ones that
 * opted in: `repo:owner@<owner id>/name@<repo id>:...` instead of `repo:owner/name:...`.
 */
export interface RepositoryIds {
  readonly ownerId: number;
  readonly repositoryId: number;
}

/** The `repo:...` part of a `sub` claim; with ids, the immutable form. */
export function repositorySubject(owner: string, repository: string, ids?: RepositoryIds): string {
  return ids ? `repo:${owner}@${ids.ownerId}/${repository}@${ids.repositoryId}` : `repo:${owner}/${repository}`;
}

/** `sub` of a job that declares `environment: <environment>`. */
export function environmentSubject(repo: string, environment: string): string {
  return `${repo}:environment:${environment}`;
}

/** `sub` of a job run by a `pull_request` event that declares no environment. */
export function pullRequestSubject(repo: string): string {
  return `${repo}:pull_request`;
}

/**
 * Trust policy for GitHub Actions jobs whose `sub` is exactly one of `subjects`. The audience
 * is pinned too; `StringEquals` (not `StringLike`) so no wildcard widens the set.
 */
export function githubTrustPolicy(providerArn: string, subjects: readonly string[]): Record<string, unknown> {
  if (subjects.length === 0) throw new Error("a GitHub trust policy needs at least one subject");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GitHubActions",
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${GITHUB_OIDC_HOST}:aud`]: STS_AUDIENCE,
            [`${GITHUB_OIDC_HOST}:sub`]: [...subjects],
          },
        },
      },
    ],
  };
}

/** Name of the GitHub environment pull-request previews of `environment` run in: `<env>-preview`. */
export function previewEnvironment(environment: string): string {
  return `${environment}-preview`;
}

/** What each role of an environment trusts. */
export interface RoleSubjects {
  /** `pulumi preview` from the `<env>-preview` environment of the infrastructure repository (non-production only). */
  readonly preview?: readonly string[];
  /** `pulumi up` from the infrastructure repository's job in this environment. */
  readonly deploy: readonly string[];
  /** The dbt repository's image pushes from its `<env>` environment (main only). */
  readonly dbtCi: readonly string[];
  /** Pull-request CI of the dbt repository writing its artifacts (non-production only). */
  readonly dbtPr?: readonly string[];
  /** Pull-request CI of the dbt repository reading this environment's latest dbt state (production only). */
  readonly dbtState?: readonly string[];
}

/** Inputs of {@link roleSubjects}. */
export interface SubjectInputs {
  readonly owner: string;
  readonly infraRepo: string;
  readonly dbtRepo: string;
  readonly environment: string;
  /** The production environment: no pull-request role may reach it except the state reader. */
  readonly production: boolean;
  /** Immutable ids, when the repositories use immutable subject claims. */
  readonly infraRepoIds?: RepositoryIds;
  readonly dbtRepoIds?: RepositoryIds;
}

/**
 * The exact `sub` claims each role of one environment trusts. A job that declares an
 * environment gets `...:environment:<name>` as its subject, whatever event started it; one
 * that declares none gets `...:pull_request` on pull requests (GitHub, "OpenID Connect
 * reference", docs.github.com/en/actions/reference/security/oidc). So production trusts no
 * pull request except for reading its latest dbt state, and non-production previews run in
 * their own environment, whose secrets are the non-production ones only.
 */
export function roleSubjects(i: SubjectInputs): RoleSubjects {
  const infra = repositorySubject(i.owner, i.infraRepo, i.infraRepoIds);
  const dbt = repositorySubject(i.owner, i.dbtRepo, i.dbtRepoIds);
  return {
    ...(i.production ? {} : { preview: [environmentSubject(infra, previewEnvironment(i.environment))] }),
    deploy: [environmentSubject(infra, i.environment)],
    dbtCi: [environmentSubject(dbt, i.environment)],
    ...(i.production ? { dbtState: [pullRequestSubject(dbt)] } : { dbtPr: [pullRequestSubject(dbt)] }),
  };
}

/**
 * Delivery from GitHub Actions: start at {@link GithubDelivery}. Trust policies, permission
 * statements and repository settings are pure builders exported for tests and docs.
 */
export { GithubDelivery } from "./delivery";
export type { GithubDeliveryArgs, GithubSettings, PulumiBackend } from "./delivery";
export {
  GITHUB_OIDC_HOST,
  GITHUB_OIDC_URL,
  STS_AUDIENCE,
  environmentSubject,
  githubTrustPolicy,
  oidcProviderArn,
  previewEnvironment,
  pullRequestSubject,
  repositorySubject,
  roleSubjects,
} from "./trust";
export type { RepositoryIds, RoleSubjects, SubjectInputs } from "./trust";
export {
  INLINE_POLICIES_MAX_CHARS,
  MANAGED_POLICY_MAX_CHARS,
  NOT_GRANTED_TO_DEPLOY,
  PASSED_TO_SERVICES,
  backendStatements,
  ciArtifactPrefix,
  dbtCiStatements,
  dbtPullRequestStatements,
  dbtStateStatements,
  deployPolicies,
  namePrefix,
  policyDocumentOf,
  policySize,
  previewStatements,
  viewOnlyAccessArn,
} from "./permissions";
export type {
  AwsScope,
  DeployPolicies,
  PolicyDocument,
  PolicyStatement,
  PulumiRoleOptions,
  StateBackend,
} from "./permissions";
export {
  MAX_REVIEWERS,
  dbtVariables,
  environmentSettings,
  infraVariables,
  previewEnvironmentSettings,
  variableSlug,
  variableSuffix,
} from "./repositories";
export type { DeliveryValues, EnvironmentSettings, RepositoryKey, RepositoryVariables } from "./repositories";

/**
 * Delivery from GitHub for one environment: the GitHub Actions OIDC provider (created here, or
 * an existing one), the roles GitHub jobs assume, each trusted only for named repositories,
 * events and environments, and the deployment environments and Actions variables of the
 * infrastructure and dbt repositories.
 *
 * Each stack declares only its own environment's GitHub environments, roles and variables, so
 * `dev` and `prod` never manage the same object. The OIDC provider exists once per AWS account:
 * `github.oidcProvider` says whether this stack creates it or uses an existing one.
 */
import * as aws from "@pulumi/aws";
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { awsName, defaultTags } from "../lib/naming";
import {
  AwsScope,
  PolicyStatement,
  StateBackend,
  dbtCiStatements,
  dbtPullRequestStatements,
  dbtStateStatements,
  deployPolicies,
  policyDocumentOf,
  previewStatements,
  viewOnlyAccessArn,
} from "./permissions";
import {
  DeliveryValues,
  EnvironmentSettings,
  RepositoryKey,
  RepositoryVariables,
  dbtVariables,
  environmentSettings,
  infraVariables,
  previewEnvironmentSettings,
  variableSlug,
} from "./repositories";
import {
  GITHUB_OIDC_URL,
  RepositoryIds,
  STS_AUDIENCE,
  githubTrustPolicy,
  oidcProviderArn,
  previewEnvironment,
  roleSubjects,
} from "./trust";

/** The GitHub side (`github.*`), checked by config.ts: distinct repositories, immutable ids in pairs. */
export interface GithubSettings {
  /** Organization or user owning both repositories (`github.owner`). No default. */
  readonly owner: string;
  /** Repository of this Pulumi program (`github.infraRepo`). No default. */
  readonly infraRepo: string;
  /** Repository of the dbt project (`github.dbtRepo`). No default. */
  readonly dbtRepo: string;
  /** Branch that deploys (`github.mainBranch`). No default. */
  readonly mainBranch: string;
  /** GitHub user ids whose approval a production deploy waits for (`github.prodReviewers`). No default. */
  readonly prodReviewers: readonly number[];
  /** `create`, `existing`, or the ARN of the account's GitHub OIDC provider (`github.oidcProvider`). No default. */
  readonly oidcProvider: string;
  /** Immutable id of the owner; 0: trust by name (`github.ownerId`). No default. */
  readonly ownerId: number;
  /** Immutable id of the infrastructure repository; 0: by name (`github.infraRepoId`). No default. */
  readonly infraRepoId: number;
  /** Immutable id of the dbt repository; 0: by name (`github.dbtRepoId`). No default. */
  readonly dbtRepoId: number;
}

/** A self-managed Pulumi backend (`backend.*`); empty strings mean none. */
export interface PulumiBackend {
  /** S3 bucket of the state (`backend.stateBucket`). No default. */
  readonly stateBucket: string;
  /** KMS key of the secrets provider (`backend.secretsKeyArn`). No default. */
  readonly secretsKeyArn: string;
}

/** Arguments of {@link GithubDelivery}. */
export interface GithubDeliveryArgs {
  /** The GitHub settings. No default. */
  readonly github: GithubSettings;
  /** Environment name, in role names, GitHub environments and OIDC subjects. */
  readonly environment: string;
  /** Pulumi project and stack, which name this stack's state objects and the `PULUMI_STACK` variable. */
  readonly project: string;
  readonly stack: string;
  /** A self-managed Pulumi backend the preview and deploy roles use; empty strings mean none. */
  readonly backend: PulumiBackend;
  /** The stack creates its VPC (`network.mode: create`), so the deploy role may manage one. */
  readonly createsNetwork: boolean;
  /** This is the production environment: required reviewers, no pull-request trust, publishes its dbt state to slim CI. */
  readonly production: boolean;
  /** ARN of the environment's ECR repository, the only one dbt CI may push to. */
  readonly ecrRepositoryArn: pulumi.Input<string>;
  /** URL of that repository, published as `ECR_REPOSITORY_URL`. */
  readonly ecrRepositoryUrl: pulumi.Input<string>;
  /** Name of the environment's artifact bucket, published as `ARTIFACT_BUCKET`. */
  readonly artifactBucketName: pulumi.Input<string>;
  /** ARN of that bucket; dbt CI may read and write its `<env>/` prefix. */
  readonly artifactBucketArn: pulumi.Input<string>;
  /** AWS region of the stack, published as `AWS_REGION`. */
  readonly region: pulumi.Input<string>;
  /** ARN of the permissions boundary every role carries; the deploy role may create and change roles only with it. */
  readonly permissionsBoundaryArn: pulumi.Input<string>;
  /** The deploy invokes the dispatch function (`dbt.buildOnImageChange`), so the deploy role may. Default false. */
  readonly invokesDispatch?: boolean;
}

/** What the stack declares on one repository. */
interface RepositorySide {
  readonly repository: string;
  readonly environments: readonly EnvironmentSettings[];
  readonly variables: RepositoryVariables<pulumi.Output<string>>;
}

/** Immutable ids of a repository, when configured (0 means the name form). */
function idsOf(ownerId: number, repositoryId: number): RepositoryIds | undefined {
  return ownerId && repositoryId ? { ownerId, repositoryId } : undefined;
}

/** Roles, environments and variables that let GitHub Actions preview and deploy one environment. */
export class GithubDelivery extends pulumi.ComponentResource {
  /** Non-production only: role the `<env>-preview` environment of the infrastructure repository assumes for `pulumi preview` (reads only). */
  public readonly previewRoleArn?: pulumi.Output<string>;
  /** Role the infrastructure repository's deploy job in this environment assumes for `pulumi up`. */
  public readonly deployRoleArn: pulumi.Output<string>;
  /** Role the dbt repository's `<env>` environment (main only) assumes to push images. */
  public readonly dbtCiRoleArn: pulumi.Output<string>;
  /** Non-production only: role the dbt repository's pull-request CI assumes to upload its artifacts. */
  public readonly dbtPrRoleArn?: pulumi.Output<string>;
  /** Production only: role the dbt repository's pull-request CI assumes to read the latest manifest. */
  public readonly dbtStateRoleArn?: pulumi.Output<string>;
  /** The account's GitHub Actions OIDC provider. */
  public readonly oidcProviderArn: pulumi.Output<string>;

  constructor(name: string, args: GithubDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:github:GithubDelivery", name, {}, opts);
    const { github: gh, production, backend: b } = args;
    const env = args.environment;
    const tags = defaultTags(env);
    const parent = { parent: this };
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;

    // One provider per account and issuer URL: `create` makes it here; `existing` names the
    // account's one by its fixed ARN; an ARN names it outright.
    const creates = gh.oidcProvider === "create";
    this.oidcProviderArn = creates
      ? new aws.iam.OpenIdConnectProvider(
          `${name}-oidc-provider`,
          { url: GITHUB_OIDC_URL, clientIdLists: [STS_AUDIENCE], tags },
          parent,
        ).arn
      : gh.oidcProvider === "existing"
        ? pulumi.all([partition, accountId]).apply(([p, a]) => oidcProviderArn(p, a))
        : pulumi.output(gh.oidcProvider);

    const subjects = roleSubjects({
      owner: gh.owner,
      infraRepo: gh.infraRepo,
      dbtRepo: gh.dbtRepo,
      environment: env,
      production,
      infraRepoIds: idsOf(gh.ownerId, gh.infraRepoId),
      dbtRepoIds: idsOf(gh.ownerId, gh.dbtRepoId),
    });
    const backend: StateBackend | undefined =
      b.stateBucket || b.secretsKeyArn
        ? { project: args.project, stack: args.stack, stateBucket: b.stateBucket, secretsKeyArn: b.secretsKeyArn }
        : undefined;
    const scope = pulumi
      .all([partition, accountId, args.region])
      .apply(([p, a, r]): AwsScope => ({ partition: p, accountId: a, region: r, environment: env }));
    const pulumiRoleOptions = pulumi
      .all([scope, this.oidcProviderArn, args.permissionsBoundaryArn])
      .apply(([s, oidc, boundaryArn]) => ({
        scope: s,
        options: {
          createsNetwork: args.createsNetwork,
          ownedOidcProviderArn: creates ? oidc : undefined,
          boundaryArn,
          backend,
          invokesDispatch: args.invokesDispatch ?? false,
        },
      }));

    const role = (key: string, part: string, description: string, trusted: readonly string[]) =>
      new aws.iam.Role(
        `${name}-${key}-role`,
        {
          name: awsName(env, part),
          description,
          assumeRolePolicy: this.oidcProviderArn.apply((arn) => JSON.stringify(githubTrustPolicy(arn, trusted))),
          tags,
        },
        parent,
      );
    const inline = (key: string, r: aws.iam.Role, policyName: string, statements: pulumi.Output<PolicyStatement[]>) =>
      new aws.iam.RolePolicy(
        `${name}-${key}-policy`,
        {
          role: r.name,
          name: policyName,
          policy: statements.apply((s) => JSON.stringify(policyDocumentOf(s))),
        },
        parent,
      );
    const attach = (key: string, r: aws.iam.Role, policyArn: pulumi.Input<string>) =>
      new aws.iam.RolePolicyAttachment(`${name}-${key}`, { role: r.name, policyArn }, parent);
    const repo = (r: string) => `${gh.owner}/${r}`;

    let preview: aws.iam.Role | undefined;
    if (subjects.preview) {
      preview = role(
        "preview",
        "github-preview",
        `GitHub Actions: pulumi preview of ${env} from the ${previewEnvironment(env)} environment of ${repo(gh.infraRepo)} (reads only)`,
        subjects.preview,
      );
      inline(
        "preview",
        preview,
        "read-configuration",
        pulumiRoleOptions.apply(({ scope: s, options }) => previewStatements(s, options)),
      );
      attach("preview-view-only", preview, partition.apply(viewOnlyAccessArn));
    }

    const deploy = role(
      "deploy",
      "github-deploy",
      `GitHub Actions: pulumi up of ${env} from the ${env} environment of ${repo(gh.infraRepo)}`,
      subjects.deploy,
    );
    const deployDocs = pulumiRoleOptions.apply(({ scope: s, options }) => deployPolicies(s, options));
    for (const group of ["services", "platform", "identity"] as const) {
      const policy = new aws.iam.Policy(
        `${name}-deploy-${group}-policy`,
        {
          name: awsName(env, `github-deploy-${group}`),
          description: `GitHub Actions deploy of ${env}: ${group}`,
          policy: deployDocs.apply((d) => JSON.stringify(policyDocumentOf(d[group]))),
          tags,
        },
        parent,
      );
      attach(`deploy-${group}`, deploy, policy.arn);
    }
    attach("deploy-view-only", deploy, partition.apply(viewOnlyAccessArn));

    const dbtCi = role(
      "dbt-ci",
      "github-dbt-ci",
      `GitHub Actions: dbt image pushes of ${env} from the ${env} environment (main) of ${repo(gh.dbtRepo)}`,
      subjects.dbtCi,
    );
    inline(
      "dbt-ci",
      dbtCi,
      "push-image",
      pulumi.output(args.ecrRepositoryArn).apply((ecr) => dbtCiStatements(ecr)),
    );

    let dbtPr: aws.iam.Role | undefined;
    if (subjects.dbtPr) {
      dbtPr = role(
        "dbt-pr",
        "github-dbt-pr",
        `GitHub Actions: CI artifacts of ${repo(gh.dbtRepo)} pull requests under ${env}/runs/ci-*`,
        subjects.dbtPr,
      );
      inline(
        "dbt-pr",
        dbtPr,
        "write-ci-artifacts",
        pulumi.output(args.artifactBucketArn).apply((bucket) => dbtPullRequestStatements(bucket, env)),
      );
    }
    let dbtState: aws.iam.Role | undefined;
    if (subjects.dbtState) {
      dbtState = role(
        "dbt-state",
        "github-dbt-state",
        `GitHub Actions: slim CI of ${repo(gh.dbtRepo)} pull requests reads the latest ${env} manifest`,
        subjects.dbtState,
      );
      inline(
        "dbt-state",
        dbtState,
        "read-latest-state",
        pulumi.output(args.artifactBucketArn).apply((bucket) => dbtStateStatements(bucket, env)),
      );
    }

    this.previewRoleArn = preview?.arn;
    this.deployRoleArn = deploy.arn;
    this.dbtCiRoleArn = dbtCi.arn;
    this.dbtPrRoleArn = dbtPr?.arn;
    this.dbtStateRoleArn = dbtState?.arn;

    // GitHub: an explicit provider, so the owner comes from config. The token is read from the
    // environment at deploy time and never stored in config; wrapped as a secret so neither the
    // state nor the offline plan records it in clear.
    const token = process.env.GITHUB_TOKEN;
    const provider = new github.Provider(
      `${name}-github`,
      { owner: gh.owner, token: token ? pulumi.secret(token) : undefined },
      parent,
    );
    const values: DeliveryValues<pulumi.Output<string>> = {
      region: pulumi.output(args.region),
      stack: pulumi.output(args.stack),
      ecrRepositoryUrl: pulumi.output(args.ecrRepositoryUrl),
      artifactBucketName: pulumi.output(args.artifactBucketName),
      deployRoleArn: deploy.arn,
      dbtCiRoleArn: dbtCi.arn,
      previewRoleArn: preview?.arn,
      dbtPrRoleArn: dbtPr?.arn,
      dbtStateRoleArn: dbtState?.arn,
    };
    const repos: Record<RepositoryKey, RepositorySide> = {
      infra: {
        repository: gh.infraRepo,
        environments: [
          environmentSettings(env, production, gh.mainBranch, gh.prodReviewers),
          ...(preview ? [previewEnvironmentSettings(previewEnvironment(env))] : []),
        ],
        variables: infraVariables(env, previewEnvironment(env), values),
      },
      dbt: {
        repository: gh.dbtRepo,
        environments: [environmentSettings(env, production, gh.mainBranch, gh.prodReviewers)],
        variables: dbtVariables(env, production, values),
      },
    };

    for (const [key, repo] of Object.entries(repos) as [RepositoryKey, RepositorySide][])
      this.declareRepository(name, env, key, repo, provider);

    this.registerOutputs({
      previewRoleArn: this.previewRoleArn,
      deployRoleArn: this.deployRoleArn,
      dbtCiRoleArn: this.dbtCiRoleArn,
      dbtPrRoleArn: this.dbtPrRoleArn,
      dbtStateRoleArn: this.dbtStateRoleArn,
      oidcProviderArn: this.oidcProviderArn,
    });
  }

  /** One repository's GitHub environments (with branch policies and variables) and repository variables. */
  private declareRepository(
    name: string,
    env: string,
    key: RepositoryKey,
    repo: RepositorySide,
    provider: github.Provider,
  ): void {
    const { repository, environments, variables } = repo;
    const ghOpts = { parent: this, provider };
    for (const settings of environments) {
      // The stack's own environment keeps its original resource names (no rename on update).
      const slug = settings.environment === env ? key : `${key}-${settings.environment}`;
      const environment = new github.RepositoryEnvironment(
        `${name}-${slug}-environment`,
        {
          repository,
          environment: settings.environment,
          canAdminsBypass: settings.canAdminsBypass,
          preventSelfReview: settings.preventSelfReview,
          reviewers: settings.reviewerUserIds.length ? [{ users: [...settings.reviewerUserIds] }] : undefined,
          deploymentBranchPolicy: settings.branchPattern
            ? { protectedBranches: false, customBranchPolicies: true }
            : undefined,
        },
        ghOpts,
      );
      if (settings.branchPattern) {
        new github.RepositoryEnvironmentDeploymentPolicy(
          `${name}-${slug}-branch-policy`,
          {
            repository,
            environment: environment.environment,
            branchPattern: settings.branchPattern,
          },
          ghOpts,
        );
      }
      for (const [variableName, value] of Object.entries(variables.environments[settings.environment] ?? {})) {
        new github.ActionsEnvironmentVariable(
          `${name}-${slug}-env-${variableSlug(variableName)}`,
          {
            repository,
            environment: environment.environment,
            variableName,
            value,
          },
          ghOpts,
        );
      }
    }
    for (const [variableName, value] of Object.entries(variables.repository)) {
      new github.ActionsVariable(
        `${name}-${key}-repo-${variableSlug(variableName)}`,
        { repository, variableName, value },
        ghOpts,
      );
    }
  }
}

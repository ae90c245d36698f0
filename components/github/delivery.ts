/**
 * Delivery from GitHub for one environment: the GitHub Actions OIDC provider (in the stack that
 * owns it), the roles GitHub jobs assume, each trusted only for named repositories, events and
 * environments, and the deployment environments and Actions variables of the infrastructure
 * and dbt repositories.
 *
 * Each stack declares only its own environment's GitHub environment, roles and variables, so
 * `dev` and `prod` never manage the same object. The OIDC provider exists once per AWS account:
 * the stack with `createOidcProvider` creates it, the others refer to it by its ARN (which is
 * fixed by the account id), so that stack must be deployed first.
 */
import * as aws from "@pulumi/aws";
import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { PipelineConfig } from "../../config";
import { awsName, defaultTags } from "../lib/naming";
import { AwsScope, PolicyStatement, dbtCiStatements, dbtStateStatements, deployPolicies, policyDocumentOf, previewStatements, viewOnlyAccessArn } from "./permissions";
import { DeliveryValues, MAX_REVIEWERS, RepositoryKey, RepositoryVariables, dbtVariables, environmentSettings, infraVariables, variableSlug } from "./repositories";
import { GITHUB_OIDC_URL, RepositoryIds, STS_AUDIENCE, githubTrustPolicy, oidcProviderArn, roleSubjects } from "./trust";

/** Arguments of {@link GithubDelivery}. */
export interface GithubDeliveryArgs {
  /** The validated stack config; reads `github.*` (must be set), `environment`, `stack` and `network.mode`. */
  readonly config: PipelineConfig;
  /** Create the account's GitHub OIDC provider here (one stack per account); otherwise refer to it by ARN. */
  readonly createOidcProvider: boolean;
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
  /**
   * Immutable ids of the repositories, when they use immutable OIDC subject claims (repositories
   * created after 2026-06-18 do). Default: none, the `repo:<owner>/<name>` form.
   */
  readonly repositoryIds?: { readonly infra?: RepositoryIds; readonly dbt?: RepositoryIds };
}

/** Roles, environments and variables that let GitHub Actions preview and deploy one environment. */
export class GithubDelivery extends pulumi.ComponentResource {
  /** Role pull requests of the infrastructure repository assume for `pulumi preview` (reads only). */
  public readonly previewRoleArn: pulumi.Output<string>;
  /** Role the infrastructure repository's deploy job in this environment assumes for `pulumi up`. */
  public readonly deployRoleArn: pulumi.Output<string>;
  /** Role the dbt repository assumes to push images and CI artifacts for this environment. */
  public readonly dbtCiRoleArn: pulumi.Output<string>;
  /** Production only: role the dbt repository's pull-request CI assumes to read the latest manifest. */
  public readonly dbtStateRoleArn?: pulumi.Output<string>;
  /** The account's GitHub Actions OIDC provider. */
  public readonly oidcProviderArn: pulumi.Output<string>;

  constructor(name: string, args: GithubDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:github:GithubDelivery", name, {}, opts);
    const { config, production } = args;
    const gh = config.github;
    const problems: string[] = [];
    if (!gh) {
      problems.push(`dbt-pipeline:github.owner: required for the GitHub side in stack ${config.stack}; set it or do not build GithubDelivery`);
    } else {
      if (gh.infraRepo === gh.dbtRepo) problems.push(`dbt-pipeline:github.dbtRepo: expected a repository other than github.infraRepo (${gh.infraRepo}) in stack ${config.stack}`);
      if (production && gh.prodReviewers.length > MAX_REVIEWERS) {
        problems.push(`dbt-pipeline:github.prodReviewers: expected at most ${MAX_REVIEWERS} user ids (GitHub's limit per environment) in stack ${config.stack} (got ${gh.prodReviewers.length})`);
      }
    }
    if (!gh || problems.length) throw new Error(`GithubDelivery ${name}:\n  - ${problems.join("\n  - ")}`);

    const env = config.environment;
    const tags = defaultTags(env);
    const parent = { parent: this };
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;

    // The provider's URL fixes its ARN, so other stacks refer to it without a lookup.
    this.oidcProviderArn = args.createOidcProvider
      ? new aws.iam.OpenIdConnectProvider(`${name}-oidc-provider`, { url: GITHUB_OIDC_URL, clientIdLists: [STS_AUDIENCE], tags }, parent).arn
      : pulumi.all([partition, accountId]).apply(([p, a]) => oidcProviderArn(p, a));

    const subjects = roleSubjects({
      owner: gh.owner, infraRepo: gh.infraRepo, dbtRepo: gh.dbtRepo, environment: env, production,
      infraRepoIds: args.repositoryIds?.infra, dbtRepoIds: args.repositoryIds?.dbt,
    });
    const scope = pulumi.all([partition, accountId, args.region]).apply(([p, a, r]): AwsScope => ({ partition: p, accountId: a, region: r, environment: env }));
    const pulumiRoleOptions = pulumi.all([scope, this.oidcProviderArn]).apply(([s, oidc]) => ({
      scope: s,
      options: { createsNetwork: config.network.mode === "create", ownedOidcProviderArn: args.createOidcProvider ? oidc : undefined },
    }));

    const role = (key: string, part: string, description: string, trusted: readonly string[]) => new aws.iam.Role(`${name}-${key}-role`, {
      name: awsName(env, part),
      description,
      assumeRolePolicy: this.oidcProviderArn.apply((arn) => JSON.stringify(githubTrustPolicy(arn, trusted))),
      tags,
    }, parent);
    const inline = (key: string, r: aws.iam.Role, policyName: string, statements: pulumi.Output<PolicyStatement[]>) => new aws.iam.RolePolicy(`${name}-${key}-policy`, {
      role: r.name,
      name: policyName,
      policy: statements.apply((s) => JSON.stringify(policyDocumentOf(s))),
    }, parent);
    const attach = (key: string, r: aws.iam.Role, policyArn: pulumi.Input<string>) =>
      new aws.iam.RolePolicyAttachment(`${name}-${key}`, { role: r.name, policyArn }, parent);

    const preview = role("preview", "github-preview", `GitHub Actions: pulumi preview of ${env} on pull requests of ${gh.owner}/${gh.infraRepo} (reads only)`, subjects.preview);
    inline("preview", preview, "read-configuration", pulumiRoleOptions.apply(({ scope: s, options }) => previewStatements(s, options)));
    attach("preview-view-only", preview, partition.apply(viewOnlyAccessArn));

    const deploy = role("deploy", "github-deploy", `GitHub Actions: pulumi up of ${env} from the ${env} environment of ${gh.owner}/${gh.infraRepo}`, subjects.deploy);
    const deployDocs = pulumiRoleOptions.apply(({ scope: s, options }) => deployPolicies(s, options));
    for (const group of ["services", "platform"] as const) {
      const policy = new aws.iam.Policy(`${name}-deploy-${group}-policy`, {
        name: awsName(env, `github-deploy-${group}`),
        description: `GitHub Actions deploy of ${env}: ${group}`,
        policy: deployDocs.apply((d) => JSON.stringify(policyDocumentOf(d[group]))),
        tags,
      }, parent);
      attach(`deploy-${group}`, deploy, policy.arn);
    }
    attach("deploy-view-only", deploy, partition.apply(viewOnlyAccessArn));

    const dbtCi = role("dbt-ci", "github-dbt-ci", `GitHub Actions: dbt image pushes and CI artifacts of ${env} from ${gh.owner}/${gh.dbtRepo}`, subjects.dbtCi);
    inline("dbt-ci", dbtCi, "push-image-and-artifacts",
      pulumi.all([args.ecrRepositoryArn, args.artifactBucketArn]).apply(([ecr, bucket]) => dbtCiStatements(ecr, bucket, env)));

    let dbtState: aws.iam.Role | undefined;
    if (subjects.dbtState) {
      dbtState = role("dbt-state", "github-dbt-state", `GitHub Actions: slim CI of ${gh.owner}/${gh.dbtRepo} pull requests reads the latest ${env} manifest`, subjects.dbtState);
      inline("dbt-state", dbtState, "read-latest-state", pulumi.output(args.artifactBucketArn).apply((bucket) => dbtStateStatements(bucket, env)));
    }

    this.previewRoleArn = preview.arn;
    this.deployRoleArn = deploy.arn;
    this.dbtCiRoleArn = dbtCi.arn;
    this.dbtStateRoleArn = dbtState?.arn;

    // GitHub: an explicit provider, so the owner comes from config. The token is read from the
    // environment at deploy time and never stored in config; wrapped as a secret so neither the
    // state nor the offline plan records it in clear.
    const token = process.env.GITHUB_TOKEN;
    const provider = new github.Provider(`${name}-github`, { owner: gh.owner, token: token ? pulumi.secret(token) : undefined }, parent);
    const ghOpts = { parent: this, provider };
    const values: DeliveryValues<pulumi.Output<string>> = {
      region: pulumi.output(args.region),
      stack: pulumi.output(config.stack),
      ecrRepositoryUrl: pulumi.output(args.ecrRepositoryUrl),
      artifactBucketName: pulumi.output(args.artifactBucketName),
      previewRoleArn: preview.arn,
      deployRoleArn: deploy.arn,
      dbtCiRoleArn: dbtCi.arn,
      dbtStateRoleArn: dbtState?.arn,
    };
    const repos: Record<RepositoryKey, { repository: string; variables: RepositoryVariables<pulumi.Output<string>> }> = {
      infra: { repository: gh.infraRepo, variables: infraVariables(env, values) },
      dbt: { repository: gh.dbtRepo, variables: dbtVariables(env, production, values) },
    };

    for (const [key, { repository, variables }] of Object.entries(repos) as [RepositoryKey, (typeof repos)[RepositoryKey]][]) {
      const settings = environmentSettings(key, env, production, gh.mainBranch, gh.prodReviewers);
      const environment = new github.RepositoryEnvironment(`${name}-${key}-environment`, {
        repository,
        environment: settings.environment,
        canAdminsBypass: settings.canAdminsBypass,
        preventSelfReview: settings.preventSelfReview,
        reviewers: settings.reviewerUserIds.length ? [{ users: [...settings.reviewerUserIds] }] : undefined,
        deploymentBranchPolicy: settings.branchPattern ? { protectedBranches: false, customBranchPolicies: true } : undefined,
      }, ghOpts);
      if (settings.branchPattern) {
        new github.RepositoryEnvironmentDeploymentPolicy(`${name}-${key}-branch-policy`, {
          repository,
          environment: environment.environment,
          branchPattern: settings.branchPattern,
        }, ghOpts);
      }
      for (const [variableName, value] of Object.entries(variables.environment)) {
        new github.ActionsEnvironmentVariable(`${name}-${key}-env-${variableSlug(variableName)}`, {
          repository, environment: environment.environment, variableName, value,
        }, ghOpts);
      }
      for (const [variableName, value] of Object.entries(variables.repository)) {
        new github.ActionsVariable(`${name}-${key}-repo-${variableSlug(variableName)}`, { repository, variableName, value }, ghOpts);
      }
    }

    this.registerOutputs({
      previewRoleArn: this.previewRoleArn,
      deployRoleArn: this.deployRoleArn,
      dbtCiRoleArn: this.dbtCiRoleArn,
      dbtStateRoleArn: this.dbtStateRoleArn,
      oidcProviderArn: this.oidcProviderArn,
    });
  }
}

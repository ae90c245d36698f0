import { expect } from "chai";
import { expectedDbtCiPolicy } from "../helpers/github";
import { Evaluation, MOCK_ACCOUNT, RecordedResource } from "../../offline/mocks";
import { WILDCARD_RESOURCE_ALLOWED } from "../../policy/iam-rules";
import { all, evaluateStack, json, one } from "../helpers/stack";

const T = {
  component: "dbt-pipeline:github:GithubDelivery",
  provider: "pulumi:providers:github",
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  policy: "aws:iam/policy:Policy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  environment: "github:index/repositoryEnvironment:RepositoryEnvironment",
  branchPolicy: "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
  envVariable: "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable",
  repoVariable: "github:index/actionsVariable:ActionsVariable",
} as const;

const PROVIDER_ARN = `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const REGION = "eu-west-1";
const trust = (subjects: string[]) => ({
  Version: "2012-10-17",
  Statement: [{
    Sid: "GitHubActions",
    Effect: "Allow",
    Principal: { Federated: PROVIDER_ARN },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: {
      StringEquals: {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": subjects,
      },
    },
  }],
});
const githubChildren = (ev: Evaluation) => ev.resources.filter((r) => r.parent === `${T.component}::github`);
/** `{ variableName: value }` of the variables of `repository` (and `environment`, for environment variables). */
const variables = (ev: Evaluation, type: string, repository: string): Record<string, string> =>
  Object.fromEntries(all(ev, type).filter((r) => r.inputs.repository === repository).map((r) => [r.inputs.variableName, r.inputs.value]));

describe("GithubDelivery", () => {
  const stacks: Record<string, Evaluation> = {};
  before(async () => {
    stacks.dev = await evaluateStack("dev");
    stacks.prod = await evaluateStack("prod");
  });

  for (const stack of ["dev", "prod"] as const) {
    describe(`${stack} stack`, () => {
      const ev = () => stacks[stack];
      const bucket = `dbt-pipeline-${stack}-artifacts-${MOCK_ACCOUNT}`;
      const bucketArn = `arn:aws:s3:::${bucket}`;
      const ecrArn = `arn:aws:ecr:${REGION}:${MOCK_ACCOUNT}:repository/dbt-pipeline-${stack}-dbt`;
      const ecrUrl = `${MOCK_ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/dbt-pipeline-${stack}-dbt`;
      const roleArn = (part: string) => `arn:aws:iam::${MOCK_ACCOUNT}:role/dbt-pipeline-${stack}-${part}`;

      it("declares every child under one component, through one GitHub provider owned by github.owner", () => {
        one(ev(), T.component, "github");
        expect(one(ev(), T.provider).inputs.owner).to.equal("acme-data");
        for (const r of ev().resources.filter((x) => x.type.startsWith("github:"))) {
          expect(r.parent, r.name).to.equal(`${T.component}::github`);
          expect(r.options.provider, r.name).to.equal(`${T.provider}::github-github`);
        }
      });

      it("creates the OIDC provider only in dev; prod refers to it by ARN", () => {
        const providers = all(ev(), T.oidc);
        if (stack === "dev") {
          expect(providers.map((p) => p.inputs)).to.deep.equal([{
            url: "https://token.actions.githubusercontent.com",
            clientIdLists: ["sts.amazonaws.com"],
            tags: { project: "dbt-pipeline", environment: "dev", "managed-by": "pulumi" },
          }]);
        } else {
          expect(providers).to.deep.equal([]);
        }
        for (const r of all(ev(), T.role).filter((x) => x.name.startsWith("github-"))) {
          expect(json(r.inputs.assumeRolePolicy).Statement[0].Principal.Federated, r.name).to.equal(PROVIDER_ARN);
        }
      });

      it("trusts each role for exactly its repository, event and environment", () => {
        const roles = Object.fromEntries(all(ev(), T.role, /^github-/).map((r) => [r.name, { name: r.inputs.name, trust: json(r.inputs.assumeRolePolicy) }]));
        const expected: Record<string, { name: string; trust: unknown }> = {
          "github-preview-role": { name: `dbt-pipeline-${stack}-github-preview`, trust: trust(["repo:acme-data/dbt-pipeline:pull_request"]) },
          "github-deploy-role": { name: `dbt-pipeline-${stack}-github-deploy`, trust: trust([`repo:acme-data/dbt-pipeline:environment:${stack}`]) },
          "github-dbt-ci-role": {
            name: `dbt-pipeline-${stack}-github-dbt-ci`,
            trust: trust(stack === "dev"
              ? ["repo:acme-data/dbt-project:environment:dev", "repo:acme-data/dbt-project:pull_request"]
              : ["repo:acme-data/dbt-project:environment:prod"]),
          },
          ...(stack === "prod"
            ? { "github-dbt-state-role": { name: "dbt-pipeline-prod-github-dbt-state", trust: trust(["repo:acme-data/dbt-project:pull_request"]) } }
            : {}),
        };
        expect(roles).to.deep.equal(expected);
      });

      it("lets dbt CI push to the runner's repository and use the bucket's <env>/ prefix, nothing else", () => {
        const policy = one(ev(), T.rolePolicy, "github-dbt-ci-policy");
        expect(policy.inputs.role).to.equal(`dbt-pipeline-${stack}-github-dbt-ci`);
        expect(json(policy.inputs.policy)).to.deep.equal(expectedDbtCiPolicy(ecrArn, bucketArn, stack));
      });

      it("gives the dbt-CI role no managed policy, and the Pulumi roles ViewOnlyAccess plus their own policies", () => {
        const attached = all(ev(), T.attachment, /^github-/).map((a) => `${a.inputs.role} ${a.inputs.policyArn}`).sort();
        expect(attached).to.deep.equal([
          `dbt-pipeline-${stack}-github-deploy arn:aws:iam::aws:policy/job-function/ViewOnlyAccess`,
          `dbt-pipeline-${stack}-github-deploy ${all(ev(), T.policy, "github-deploy-platform-policy")[0].state.arn}`,
          `dbt-pipeline-${stack}-github-deploy ${all(ev(), T.policy, "github-deploy-services-policy")[0].state.arn}`,
          `dbt-pipeline-${stack}-github-preview arn:aws:iam::aws:policy/job-function/ViewOnlyAccess`,
        ].sort());
        expect(all(ev(), T.policy, /^github-/).map((p) => p.inputs.name).sort()).to.deep.equal([
          `dbt-pipeline-${stack}-github-deploy-platform`, `dbt-pipeline-${stack}-github-deploy-services`,
        ]);
        expect(all(ev(), T.rolePolicy, /^github-/).map((p) => p.name).sort()).to.deep.equal(
          stack === "prod" ? ["github-dbt-ci-policy", "github-dbt-state-policy", "github-preview-policy"] : ["github-dbt-ci-policy", "github-preview-policy"],
        );
      });

      it("scopes the Pulumi roles to the environment: \"*\" only for actions AWS authorizes on no resource, the OIDC provider only where owned", () => {
        const docs = [
          one(ev(), T.rolePolicy, "github-preview-policy").inputs.policy,
          ...all(ev(), T.policy, /^github-deploy-/).map((p) => p.inputs.policy),
        ].map(json);
        const statements = docs.flatMap((d) => d.Statement as { Sid: string; Action: string | string[]; Resource: string | string[] }[]);
        for (const s of statements.filter((x) => [x.Resource].flat().includes("*"))) {
          for (const a of [s.Action].flat()) expect(WILDCARD_RESOURCE_ALLOWED, `${s.Sid} ${a}`).to.have.property(a);
        }
        expect(statements.filter((x) => [x.Resource].flat().includes("*")).map((x) => x.Sid)).to.deep.equal([
          "CreateEventSourceMappings", "DeregisterTaskDefinitions", "SnsSubscriptions", "ApiAccessLogDelivery", "ReadKmsAliases",
        ]);
        expect(statements.some((s) => s.Sid === "ManageGitHubOidcProvider")).to.equal(stack === "dev");
        const iam = statements.find((s) => s.Sid === "ManageIam")!;
        expect(iam.Resource).to.deep.equal([`arn:aws:iam::${MOCK_ACCOUNT}:role/dbt-pipeline-${stack}-*`, `arn:aws:iam::${MOCK_ACCOUNT}:policy/dbt-pipeline-${stack}-*`]);
      });

      if (stack === "prod") {
        it("lets slim CI read prod's latest state, nothing else", () => {
          expect(json(one(ev(), T.rolePolicy, "github-dbt-state-policy").inputs.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              { Sid: "ListLatestState", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn, Condition: { StringLike: { "s3:prefix": ["prod/latest/*"] } } },
              { Sid: "ReadLatestState", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucketArn}/prod/latest/*` },
            ],
          });
        });
      }

      it("declares only this environment on both repositories, with its protection", () => {
        const envs = all(ev(), T.environment).map((r) => r.inputs).sort((a, b) => a.repository.localeCompare(b.repository));
        const prod = stack === "prod";
        const restricted = { deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true } };
        expect(envs).to.deep.equal([
          { repository: "dbt-pipeline", environment: stack, canAdminsBypass: !prod, preventSelfReview: false, ...restricted },
          { repository: "dbt-project", environment: stack, canAdminsBypass: !prod, preventSelfReview: false, ...(prod ? restricted : {}) },
        ]);
        const policies = all(ev(), T.branchPolicy).map((r) => r.inputs).sort((a, b) => a.repository.localeCompare(b.repository));
        expect(policies).to.deep.equal([
          { repository: "dbt-pipeline", environment: stack, branchPattern: "main" },
          ...(prod ? [{ repository: "dbt-project", environment: stack, branchPattern: "main" }] : []),
        ]);
      });

      it("publishes the values workflows need as Actions variables", () => {
        const sfx = stack.toUpperCase();
        expect(variables(ev(), T.envVariable, "dbt-pipeline")).to.deep.equal({
          AWS_REGION: REGION, AWS_ROLE_ARN: roleArn("github-deploy"), PULUMI_STACK: stack, ECR_REPOSITORY_URL: ecrUrl, ARTIFACT_BUCKET: bucket,
        });
        expect(variables(ev(), T.envVariable, "dbt-project")).to.deep.equal({
          AWS_REGION: REGION, DBT_CI_ROLE_ARN: roleArn("github-dbt-ci"), ECR_REPOSITORY_URL: ecrUrl, ARTIFACT_BUCKET: bucket,
        });
        for (const v of all(ev(), T.envVariable)) expect(v.inputs.environment, v.name).to.equal(stack);
        expect(variables(ev(), T.repoVariable, "dbt-pipeline")).to.deep.equal({ [`AWS_PREVIEW_ROLE_ARN_${sfx}`]: roleArn("github-preview"), [`AWS_REGION_${sfx}`]: REGION });
        expect(variables(ev(), T.repoVariable, "dbt-project")).to.deep.equal(stack === "prod"
          ? { DBT_STATE_ROLE_ARN_PROD: roleArn("github-dbt-state"), ARTIFACT_BUCKET_PROD: bucket, AWS_REGION_PROD: REGION }
          : { DBT_CI_ROLE_ARN_DEV: roleArn("github-dbt-ci"), ARTIFACT_BUCKET_DEV: bucket, AWS_REGION_DEV: REGION });
      });

      it("exports the role ARNs", () => {
        expect(ev().outputs).to.include({
          githubPreviewRoleArn: roleArn("github-preview"),
          githubDeployRoleArn: roleArn("github-deploy"),
          githubDbtCiRoleArn: roleArn("github-dbt-ci"),
        });
      });

      it("tags every AWS resource it creates", () => {
        for (const r of githubChildren(ev()).filter((x: RecordedResource) => [T.role, T.policy, T.oidc].includes(x.type as never))) {
          expect(r.inputs.tags, r.name).to.deep.equal({ project: "dbt-pipeline", environment: stack, "managed-by": "pulumi" });
        }
      });
    });
  }

  it("requires the configured prod reviewers on both prod environments", async () => {
    const ev = await evaluateStack("prod", { "github.prodReviewers": [5011, 5012] });
    for (const r of all(ev, T.environment)) {
      expect(r.inputs.reviewers, r.name).to.deep.equal([{ users: [5011, 5012] }]);
      expect(r.inputs.preventSelfReview, r.name).to.equal(true);
    }
  });

  it("refuses more prod reviewers than GitHub allows, naming the key", async () => {
    let message = "";
    await evaluateStack("prod", { "github.prodReviewers": [1, 2, 3, 4, 5, 6, 7] }).catch((e: Error) => { message = e.message; });
    expect(message).to.include("dbt-pipeline:github.prodReviewers: expected at most 6 user ids (GitHub's limit per environment) in stack prod (got 7)");
  });

  it("refuses one repository for both the infrastructure and the dbt project", async () => {
    let message = "";
    await evaluateStack("dev", { "github.dbtRepo": "dbt-pipeline" }).catch((e: Error) => { message = e.message; });
    expect(message).to.include("dbt-pipeline:github.dbtRepo: expected a repository other than github.infraRepo (dbt-pipeline) in stack dev");
  });

  it("takes the GitHub token from the environment at deploy time, only as a secret", async () => {
    const saved = process.env.GITHUB_TOKEN;
    process.env.GITHUB_TOKEN = "ghp_offlineTestTokenNotReal0123456789abcd";
    let ev: Evaluation;
    try {
      // An override equal to the default, so this evaluation is not a cached one.
      ev = await evaluateStack("dev", { "github.mainBranch": "main" });
    } finally {
      if (saved === undefined) delete process.env.GITHUB_TOKEN;
      else process.env.GITHUB_TOKEN = saved;
    }
    expect(one(ev, T.provider).secretPaths).to.include("token");
  });

  it("is skipped entirely when github.owner is empty: no GitHub resource, no OIDC provider, no GitHub role, no output", async () => {
    const ev = await evaluateStack("dev", { "github.owner": "" });
    expect(ev.resources.filter((r) => r.type.startsWith("github:") || r.type === T.provider || r.type === T.component || r.type === T.oidc)).to.deep.equal([]);
    expect(ev.resources.filter((r) => r.name.startsWith("github-"))).to.deep.equal([]);
    expect(ev.outputs.githubPreviewRoleArn).to.equal(undefined);
    expect(ev.outputs.githubDeployRoleArn).to.equal(undefined);
    expect(ev.outputs.githubDbtCiRoleArn).to.equal(undefined);
  });
});

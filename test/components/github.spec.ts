import { expect } from "chai";
import { expectedDbtCiPolicy } from "../helpers/github";
import { Evaluation, MOCK_ACCOUNT, RecordedResource } from "../../offline/mocks";
import { WILDCARD_RESOURCE_ALLOWED } from "../../policy/iam-rules";
import { all, evaluateStack, json, one } from "../helpers/stack";
import { at, parsed, statementsOf, str } from "./recorded";

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
  Statement: [
    {
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
    },
  ],
});
const githubChildren = (ev: Evaluation) => ev.resources.filter((r) => r.parent === `${T.component}::github`);
/** `{ variableName: value }` of the variables of `repository` (and `environment`, for environment variables). */
const variables = (ev: Evaluation, type: string, repository: string, environment?: string): Record<string, string> =>
  Object.fromEntries(
    all(ev, type)
      .filter(
        (r) =>
          r.inputs.repository === repository && (environment === undefined || r.inputs.environment === environment),
      )
      .map((r) => [str(r.inputs, "variableName"), str(r.inputs, "value")]),
  );

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

      it("creates the OIDC provider where github.oidcProvider is create (dev); prod, set to existing, refers to it by ARN", () => {
        const providers = all(ev(), T.oidc);
        if (stack === "dev") {
          expect(providers.map((p) => p.inputs)).to.deep.equal([
            {
              url: "https://token.actions.githubusercontent.com",
              clientIdLists: ["sts.amazonaws.com"],
              tags: { project: "dbt-pipeline", environment: "dev", "managed-by": "pulumi" },
            },
          ]);
        } else {
          expect(providers).to.deep.equal([]);
        }
        for (const r of all(ev(), T.role).filter((x) => x.name.startsWith("github-"))) {
          expect(at(statementsOf(r.inputs.assumeRolePolicy)[0].Principal, "Federated"), r.name).to.equal(PROVIDER_ARN);
        }
      });

      it("trusts each role for exactly its repository, event and environment", () => {
        const roles = Object.fromEntries(
          all(ev(), T.role, /^github-/).map((r) => [
            r.name,
            { name: at(r.inputs, "name"), trust: parsed(r.inputs.assumeRolePolicy) },
          ]),
        );
        const expected: Record<string, { name: string; trust: unknown }> = {
          "github-deploy-role": {
            name: `dbt-pipeline-${stack}-github-deploy`,
            trust: trust([`repo:acme-data/dbt-pipeline:environment:${stack}`]),
          },
          "github-dbt-ci-role": {
            name: `dbt-pipeline-${stack}-github-dbt-ci`,
            trust: trust([`repo:acme-data/dbt-project:environment:${stack}`]),
          },
          ...(stack === "prod"
            ? {
                "github-dbt-state-role": {
                  name: "dbt-pipeline-prod-github-dbt-state",
                  trust: trust(["repo:acme-data/dbt-project:pull_request"]),
                },
              }
            : {
                "github-preview-role": {
                  name: "dbt-pipeline-dev-github-preview",
                  trust: trust(["repo:acme-data/dbt-pipeline:environment:dev-preview"]),
                },
                "github-dbt-pr-role": {
                  name: "dbt-pipeline-dev-github-dbt-pr",
                  trust: trust(["repo:acme-data/dbt-project:pull_request"]),
                },
              }),
        };
        expect(roles).to.deep.equal(expected);
      });

      it("lets the image-push role push to the runner's repository, nothing else", () => {
        const policy = one(ev(), T.rolePolicy, "github-dbt-ci-policy");
        expect(policy.inputs.role).to.equal(`dbt-pipeline-${stack}-github-dbt-ci`);
        expect(json(policy.inputs.policy)).to.deep.equal(expectedDbtCiPolicy(ecrArn));
      });

      it("grants pull requests of either repository nothing in prod but reading its latest dbt state", () => {
        const prRoles = all(ev(), T.role, /^github-/).filter((r) =>
          JSON.stringify(json(r.inputs.assumeRolePolicy)).includes(":pull_request"),
        );
        expect(prRoles.map((r) => r.name)).to.deep.equal(
          stack === "prod" ? ["github-dbt-state-role"] : ["github-dbt-pr-role"],
        );
        if (stack === "dev") {
          expect(json(one(ev(), T.rolePolicy, "github-dbt-pr-policy").inputs.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "WriteCiArtifacts",
                Effect: "Allow",
                Action: "s3:PutObject",
                Resource: `${bucketArn}/dev/runs/ci-*`,
              },
            ],
          });
        }
      });

      it("gives the dbt-CI role no managed policy, and the Pulumi roles ViewOnlyAccess plus their own policies", () => {
        const attached = all(ev(), T.attachment, /^github-/)
          .map((a) => `${str(a.inputs, "role")} ${str(a.inputs, "policyArn")}`)
          .sort();
        expect(attached).to.deep.equal(
          [
            `dbt-pipeline-${stack}-github-deploy arn:aws:iam::aws:policy/job-function/ViewOnlyAccess`,
            `dbt-pipeline-${stack}-github-deploy ${str(all(ev(), T.policy, "github-deploy-identity-policy")[0].state, "arn")}`,
            `dbt-pipeline-${stack}-github-deploy ${str(all(ev(), T.policy, "github-deploy-platform-policy")[0].state, "arn")}`,
            `dbt-pipeline-${stack}-github-deploy ${str(all(ev(), T.policy, "github-deploy-services-policy")[0].state, "arn")}`,
            ...(stack === "dev"
              ? ["dbt-pipeline-dev-github-preview arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
              : []),
          ].sort(),
        );
        expect(
          all(ev(), T.policy, /^github-/)
            .map((p) => at(p.inputs, "name"))
            .sort(),
        ).to.deep.equal([
          `dbt-pipeline-${stack}-github-deploy-identity`,
          `dbt-pipeline-${stack}-github-deploy-platform`,
          `dbt-pipeline-${stack}-github-deploy-services`,
        ]);
        expect(
          all(ev(), T.rolePolicy, /^github-/)
            .map((p) => p.name)
            .sort(),
        ).to.deep.equal(
          stack === "prod"
            ? ["github-dbt-ci-policy", "github-dbt-state-policy"]
            : ["github-dbt-ci-policy", "github-dbt-pr-policy", "github-preview-policy"],
        );
      });

      it('scopes the Pulumi roles to the environment: "*" only for actions AWS authorizes on no resource, the OIDC provider only where owned', () => {
        const docs = [
          ...all(ev(), T.rolePolicy, "github-preview-policy").map((p) => at(p.inputs, "policy")),
          ...all(ev(), T.policy, /^github-deploy-/).map((p) => at(p.inputs, "policy")),
        ].map(statementsOf);
        const statements = docs.flat();
        for (const s of statements.filter((x) => [x.Resource].flat().includes("*"))) {
          for (const a of [s.Action ?? []].flat())
            expect(WILDCARD_RESOURCE_ALLOWED, `${s.Sid} ${a}`).to.have.property(a);
        }
        expect(statements.filter((x) => [x.Resource].flat().includes("*")).map((x) => x.Sid)).to.deep.equal([
          "CreateEventSourceMappings",
          "DeregisterTaskDefinitions",
          "SnsSubscriptions",
          "ApiAccessLogDelivery",
          "ReadKmsAliases",
        ]);
        expect(statements.some((s) => s.Sid === "ManageGitHubOidcProvider")).to.equal(stack === "dev");
        const iam = statements.find((s) => s.Sid === "ManageIam")!;
        expect(iam.Resource).to.deep.equal([
          `arn:aws:iam::${MOCK_ACCOUNT}:role/dbt-pipeline-${stack}-*`,
          `arn:aws:iam::${MOCK_ACCOUNT}:policy/dbt-pipeline-${stack}-*`,
        ]);
      });

      if (stack === "prod") {
        it("lets slim CI read prod's latest state, nothing else", () => {
          expect(json(one(ev(), T.rolePolicy, "github-dbt-state-policy").inputs.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "ListLatestState",
                Effect: "Allow",
                Action: "s3:ListBucket",
                Resource: bucketArn,
                Condition: { StringLike: { "s3:prefix": ["prod/latest/*"] } },
              },
              {
                Sid: "ReadLatestState",
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: `${bucketArn}/prod/latest/*`,
              },
            ],
          });
        });
      }

      it("declares only this environment on both repositories, with its protection", () => {
        const order = (a: Record<string, unknown>, b: Record<string, unknown>) =>
          `${str(a, "repository")} ${str(a, "environment")}`.localeCompare(
            `${str(b, "repository")} ${str(b, "environment")}`,
          );
        const envs = all(ev(), T.environment)
          .map((r) => r.inputs)
          .sort(order);
        const prod = stack === "prod";
        const restricted = { deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true } };
        expect(envs).to.deep.equal([
          {
            repository: "dbt-pipeline",
            environment: stack,
            canAdminsBypass: !prod,
            preventSelfReview: false,
            ...restricted,
          },
          ...(prod
            ? []
            : [
                {
                  repository: "dbt-pipeline",
                  environment: "dev-preview",
                  canAdminsBypass: true,
                  preventSelfReview: false,
                },
              ]),
          {
            repository: "dbt-project",
            environment: stack,
            canAdminsBypass: !prod,
            preventSelfReview: false,
            ...restricted,
          },
        ]);
        const policies = all(ev(), T.branchPolicy)
          .map((r) => r.inputs)
          .sort(order);
        expect(policies).to.deep.equal([
          { repository: "dbt-pipeline", environment: stack, branchPattern: "main" },
          { repository: "dbt-project", environment: stack, branchPattern: "main" },
        ]);
      });

      it("publishes the values workflows need as Actions variables", () => {
        const sfx = stack.toUpperCase();
        expect(variables(ev(), T.envVariable, "dbt-pipeline", stack)).to.deep.equal({
          AWS_REGION: REGION,
          AWS_ROLE_ARN: roleArn("github-deploy"),
          PULUMI_STACK: stack,
          ECR_REPOSITORY_URL: ecrUrl,
          ARTIFACT_BUCKET: bucket,
        });
        expect(variables(ev(), T.envVariable, "dbt-project", stack)).to.deep.equal({
          AWS_REGION: REGION,
          DBT_CI_ROLE_ARN: roleArn("github-dbt-ci"),
          ECR_REPOSITORY_URL: ecrUrl,
          ARTIFACT_BUCKET: bucket,
        });
        const previewVars = Object.fromEntries(
          all(ev(), T.envVariable)
            .filter((r) => r.inputs.environment === "dev-preview")
            .map((r) => [str(r.inputs, "variableName"), at(r.inputs, "value")]),
        );
        expect(previewVars).to.deep.equal(
          stack === "prod" ? {} : { AWS_REGION: REGION, AWS_ROLE_ARN: roleArn("github-preview"), PULUMI_STACK: "dev" },
        );
        for (const v of all(ev(), T.envVariable))
          expect([stack, `${stack}-preview`], v.name).to.include(v.inputs.environment);
        expect(variables(ev(), T.repoVariable, "dbt-pipeline")).to.deep.equal({});
        expect(variables(ev(), T.repoVariable, "dbt-project")).to.deep.equal(
          stack === "prod"
            ? {
                DBT_STATE_ROLE_ARN_PROD: roleArn("github-dbt-state"),
                ARTIFACT_BUCKET_PROD: bucket,
                AWS_REGION_PROD: REGION,
              }
            : {
                [`DBT_CI_ROLE_ARN_${sfx}`]: roleArn("github-dbt-pr"),
                ARTIFACT_BUCKET_DEV: bucket,
                AWS_REGION_DEV: REGION,
              },
        );
      });

      it("exports the role ARNs", () => {
        expect(ev().outputs).to.include({
          githubDeployRoleArn: roleArn("github-deploy"),
          githubDbtCiRoleArn: roleArn("github-dbt-ci"),
        });
        expect(ev().outputs.githubPreviewRoleArn).to.equal(stack === "dev" ? roleArn("github-preview") : null);
      });

      it("tags every AWS resource it creates", () => {
        for (const r of githubChildren(ev()).filter((x: RecordedResource) =>
          [T.role, T.policy, T.oidc].includes(x.type as never),
        )) {
          expect(r.inputs.tags, r.name).to.deep.equal({
            project: "dbt-pipeline",
            environment: stack,
            "managed-by": "pulumi",
          });
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
    await evaluateStack("prod", { "github.prodReviewers": [1, 2, 3, 4, 5, 6, 7] }).catch((e: Error) => {
      message = e.message;
    });
    expect(message).to.include(
      "dbt-pipeline:github.prodReviewers: expected at most 6 user ids (GitHub's limit per environment) (got [1,2,3,4,5,6,7])",
    );
  });

  it("refuses one repository for both the infrastructure and the dbt project", async () => {
    let message = "";
    await evaluateStack("dev", { "github.dbtRepo": "dbt-pipeline" }).catch((e: Error) => {
      message = e.message;
    });
    expect(message).to.include(
      "dbt-pipeline:github.dbtRepo: expected a repository other than github.infraRepo (dbt-pipeline)",
    );
  });

  it("github.oidcProvider: create in any stack, or an existing provider by ARN (no provider created)", async () => {
    const created = await evaluateStack("prod", { "github.oidcProvider": "create" });
    expect(all(created, T.oidc).map((p) => at(p.inputs, "url"))).to.deep.equal([
      "https://token.actions.githubusercontent.com",
    ]);
    expect(
      statementsOf(one(created, T.policy, "github-deploy-identity-policy").inputs.policy).map((x) => x.Sid),
    ).to.include("ManageGitHubOidcProvider");
    const other = "arn:aws:iam::210987654321:oidc-provider/token.actions.githubusercontent.com";
    const given = await evaluateStack("dev", { "github.oidcProvider": other });
    expect(all(given, T.oidc)).to.deep.equal([]);
    for (const r of all(given, T.role, /^github-/))
      expect(at(statementsOf(r.inputs.assumeRolePolicy)[0].Principal, "Federated"), r.name).to.equal(other);
    expect(
      statementsOf(one(given, T.policy, "github-deploy-identity-policy").inputs.policy).map((x) => x.Sid),
    ).not.to.include("ManageGitHubOidcProvider");
  });

  it("refuses an OIDC provider setting that is neither create, existing nor a provider ARN", async () => {
    let message = "";
    await evaluateStack("dev", { "github.oidcProvider": "arn:aws:iam::123456789012:oidc-provider/gitlab.com" }).catch(
      (e: Error) => {
        message = e.message;
      },
    );
    expect(message)
      .to.include("dbt-pipeline:github.oidcProvider")
      .and.include(
        "expected create, existing or arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
      );
  });

  it("trusts immutable subject claims when the owner and repository ids are configured", async () => {
    const ev = await evaluateStack("prod", {
      "github.ownerId": 71234,
      "github.infraRepoId": 81234,
      "github.dbtRepoId": 91234,
    });
    const subjects = Object.fromEntries(
      all(ev, T.role, /^github-/).map((r) => [
        r.name,
        at(
          statementsOf(r.inputs.assumeRolePolicy)[0].Condition,
          "StringEquals",
          "token.actions.githubusercontent.com:sub",
        ),
      ]),
    );
    expect(subjects).to.deep.equal({
      "github-deploy-role": ["repo:acme-data@71234/dbt-pipeline@81234:environment:prod"],
      "github-dbt-ci-role": ["repo:acme-data@71234/dbt-project@91234:environment:prod"],
      "github-dbt-state-role": ["repo:acme-data@71234/dbt-project@91234:pull_request"],
    });
  });

  it("refuses repository ids without the owner id, naming the key", async () => {
    let message = "";
    await evaluateStack("dev", { "github.infraRepoId": 81234 }).catch((e: Error) => {
      message = e.message;
    });
    expect(message).to.include(
      "dbt-pipeline:github.ownerId: required with github.infraRepoId or github.dbtRepoId (immutable subjects name the owner's id too)",
    );
  });

  it("grants the preview and deploy roles this stack's objects of a self-managed state bucket and its secrets key", async () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const ev = await evaluateStack("dev", { "backend.stateBucket": "acme-pulumi-state", "backend.secretsKeyArn": key });
    const preview = statementsOf(one(ev, T.rolePolicy, "github-preview-policy").inputs.policy);
    const platform = statementsOf(one(ev, T.policy, "github-deploy-identity-policy").inputs.policy);
    const lock = "arn:aws:s3:::acme-pulumi-state/.pulumi/locks/*/dbt-pipeline/dev/*";
    expect(preview.find((x) => x.Sid === "LockStack")).to.deep.equal({
      Sid: "LockStack",
      Effect: "Allow",
      Action: ["s3:DeleteObject", "s3:PutObject"],
      Resource: lock,
    });
    expect(platform.find((x) => x.Sid === "WriteStackState")?.Resource).to.deep.equal([
      "arn:aws:s3:::acme-pulumi-state/.pulumi/stacks/dbt-pipeline/dev.json*",
      "arn:aws:s3:::acme-pulumi-state/.pulumi/history/dbt-pipeline/dev/*",
      "arn:aws:s3:::acme-pulumi-state/.pulumi/backups/dbt-pipeline/dev/*",
      lock,
    ]);
    for (const doc of [preview, platform])
      expect(doc.find((x) => x.Sid === "DecryptStackSecrets")).to.deep.equal({
        Sid: "DecryptStackSecrets",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: key,
      });
    const plain = await evaluateStack("dev");
    expect(JSON.stringify(all(plain, T.policy, /^github-/).map((p) => at(p.inputs, "policy")))).not.to.include(
      "StackState",
    );
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

  it("is skipped entirely when github.owner is empty: no GitHub resource, no OIDC provider, no GitHub role, null role outputs", async () => {
    const ev = await evaluateStack("dev", { "github.owner": "" });
    expect(
      ev.resources.filter(
        (r) => r.type.startsWith("github:") || r.type === T.provider || r.type === T.component || r.type === T.oidc,
      ),
    ).to.deep.equal([]);
    expect(ev.resources.filter((r) => r.name.startsWith("github-"))).to.deep.equal([]);
    expect(ev.outputs.githubPreviewRoleArn).to.equal(null);
    expect(ev.outputs.githubDeployRoleArn).to.equal(null);
    expect(ev.outputs.githubDbtCiRoleArn).to.equal(null);
  });
});

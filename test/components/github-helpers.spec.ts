import { expect } from "chai";
import { expectedDbtCiPolicy } from "../helpers/github";
import { WILDCARD_RESOURCE_ALLOWED, isWildcardResource } from "../../policy/iam-rules";
import {
  INLINE_POLICIES_MAX_CHARS,
  MANAGED_POLICY_MAX_CHARS,
  NOT_GRANTED_TO_DEPLOY,
  PolicyStatement,
  backendStatements,
  dbtCiStatements,
  dbtPullRequestStatements,
  dbtStateStatements,
  dbtVariables,
  deployPolicies,
  environmentSettings,
  githubTrustPolicy,
  infraVariables,
  oidcProviderArn,
  policyDocumentOf,
  policySize,
  previewEnvironmentSettings,
  previewStatements,
  repositorySubject,
  roleSubjects,
  variableSlug,
  variableSuffix,
  viewOnlyAccessArn,
} from "../../components/github";

const ACCOUNT = "123456789012";
const PROVIDER = `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`;
const actionsOf = (statements: readonly PolicyStatement[]) =>
  statements.flatMap((s) => (typeof s.Action === "string" ? [s.Action] : [...s.Action]));
const resourcesOf = (s: PolicyStatement) => (typeof s.Resource === "string" ? [s.Resource] : [...s.Resource]);

describe("github helpers", () => {
  describe("OIDC subjects and trust", () => {
    it("names the account's provider by the issuer host", () => {
      expect(oidcProviderArn("aws", ACCOUNT)).to.equal(PROVIDER);
      expect(oidcProviderArn("aws-cn", ACCOUNT)).to.equal(
        `arn:aws-cn:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
      );
    });

    for (const [ids, expected] of [
      [undefined, "repo:acme-data/dbt-pipeline"],
      [{ ownerId: 123456, repositoryId: 456789 }, "repo:acme-data@123456/dbt-pipeline@456789"],
    ] as const) {
      it(`repository subject ${expected}`, () =>
        expect(repositorySubject("acme-data", "dbt-pipeline", ids)).to.equal(expected));
    }

    const base = { owner: "acme-data", infraRepo: "dbt-pipeline", dbtRepo: "dbt-project" };
    it("dev: preview from the dev-preview environment, deploy and image pushes from dev, pull-request CI apart; no state role", () => {
      expect(roleSubjects({ ...base, environment: "dev", production: false })).to.deep.equal({
        preview: ["repo:acme-data/dbt-pipeline:environment:dev-preview"],
        deploy: ["repo:acme-data/dbt-pipeline:environment:dev"],
        dbtCi: ["repo:acme-data/dbt-project:environment:dev"],
        dbtPr: ["repo:acme-data/dbt-project:pull_request"],
      });
    });

    it("prod: no preview role, nothing trusts a pull request but the state reader", () => {
      expect(roleSubjects({ ...base, environment: "prod", production: true })).to.deep.equal({
        deploy: ["repo:acme-data/dbt-pipeline:environment:prod"],
        dbtCi: ["repo:acme-data/dbt-project:environment:prod"],
        dbtState: ["repo:acme-data/dbt-project:pull_request"],
      });
    });

    it("uses immutable subjects when the repository ids are given", () => {
      const s = roleSubjects({
        ...base,
        environment: "prod",
        production: true,
        infraRepoIds: { ownerId: 1, repositoryId: 2 },
        dbtRepoIds: { ownerId: 1, repositoryId: 3 },
      });
      expect(s.deploy).to.deep.equal(["repo:acme-data@1/dbt-pipeline@2:environment:prod"]);
      expect(s.dbtCi).to.deep.equal(["repo:acme-data@1/dbt-project@3:environment:prod"]);
    });

    it("trust policy: the provider, the audience and exactly the subjects, no wildcard", () => {
      expect(githubTrustPolicy(PROVIDER, ["repo:acme-data/dbt-pipeline:environment:prod"])).to.deep.equal({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "GitHubActions",
            Effect: "Allow",
            Principal: { Federated: PROVIDER },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
              StringEquals: {
                "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                "token.actions.githubusercontent.com:sub": ["repo:acme-data/dbt-pipeline:environment:prod"],
              },
            },
          },
        ],
      });
      expect(() => githubTrustPolicy(PROVIDER, [])).to.throw("a GitHub trust policy needs at least one subject");
    });
  });

  describe("dbt roles", () => {
    const ecr = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/dbt-pipeline-dev-dbt`;
    const bucket = `arn:aws:s3:::dbt-pipeline-dev-artifacts-${ACCOUNT}`;

    it("dbt image pushes: push to one repository, nothing else (no bucket access)", () => {
      expect(policyDocumentOf(dbtCiStatements(ecr))).to.deep.equal(expectedDbtCiPolicy(ecr));
    });

    it("dbt pull-request CI: upload under <env>/runs/ci-* only (never latest/, never the registry)", () => {
      expect(dbtPullRequestStatements(bucket, "dev")).to.deep.equal([
        { Sid: "WriteCiArtifacts", Effect: "Allow", Action: "s3:PutObject", Resource: `${bucket}/dev/runs/ci-*` },
      ]);
    });

    it("dbt state: list and read <env>/latest/ only", () => {
      expect(dbtStateStatements(bucket, "prod")).to.deep.equal([
        {
          Sid: "ListLatestState",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: bucket,
          Condition: { StringLike: { "s3:prefix": ["prod/latest/*"] } },
        },
        { Sid: "ReadLatestState", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/prod/latest/*` },
      ]);
    });
  });

  describe("Pulumi roles", () => {
    const scope = { partition: "aws", accountId: ACCOUNT, region: "eu-west-1", environment: "dev" };
    const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/dbt-pipeline-dev-permissions-boundary`;
    const full = { createsNetwork: true, ownedOidcProviderArn: PROVIDER, boundaryArn: BOUNDARY };
    const backend = {
      project: "dbt-pipeline",
      stack: "dev",
      stateBucket: "acme-pulumi-state",
      secretsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`,
    };
    const allDeploy = (s = scope, o: Parameters<typeof deployPolicies>[1] = full) => {
      const d = deployPolicies(s, o);
      return [...d.services, ...d.platform, ...d.identity];
    };

    it("preview only reads, and reads no data (object contents, secret values, log events, items)", () => {
      const actions = actionsOf(previewStatements(scope, full));
      const notRead = actions.filter((a) => !/^[a-z0-9]+:(Get|List|Describe)/.test(a) && a !== "apigateway:GET");
      expect(notRead).to.deep.equal([]);
      for (const data of [
        "s3:GetObject",
        "s3:Get*",
        "secretsmanager:GetSecretValue",
        "logs:GetLogEvents",
        "logs:Get*",
        "dynamodb:GetItem",
        "dynamodb:Get*",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "kms:Decrypt",
      ]) {
        expect(actions, data).not.to.include(data);
      }
    });

    it("deploy may invoke exactly the dispatch function when the deploy queues the new image's build, and nothing when it does not", () => {
      expect(
        deployPolicies(scope, { ...full, invokesDispatch: true }).services.filter(
          (s) => s.Sid === "InvokeDispatchOnDeploy",
        ),
      ).to.deep.equal([
        {
          Sid: "InvokeDispatchOnDeploy",
          Effect: "Allow",
          Action: "lambda:InvokeFunction",
          Resource: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:dbt-pipeline-dev-dispatch`,
        },
      ]);
      expect(actionsOf(allDeploy())).not.to.include("lambda:InvokeFunction");
    });

    it("deploy can do everything preview can, on the same resources", () => {
      const deploy = allDeploy();
      for (const p of previewStatements(scope, full)) {
        const d = deploy.find((s) => s.Sid === p.Sid.replace(/^Read/, "Manage"));
        expect(d, p.Sid).to.not.equal(undefined);
        expect(actionsOf([d!])).to.include.members(actionsOf([p]));
        expect(d!.Resource).to.deep.equal(p.Resource);
        expect(d!.Condition).to.deep.equal(p.Condition);
      }
    });

    it("names a wildcard resource only for allowlisted actions, with the condition each names; never a whole service; the rest are listed as not granted", () => {
      for (const s of [...previewStatements(scope, full), ...allDeploy()]) {
        if (!resourcesOf(s).some(isWildcardResource)) continue;
        for (const a of actionsOf([s])) {
          expect(WILDCARD_RESOURCE_ALLOWED, `${s.Sid} ${a}`).to.have.property(a);
          const key = WILDCARD_RESOURCE_ALLOWED[a].condition;
          if (key)
            expect(
              Object.values(s.Condition ?? {}).some((c) => key in c),
              `${s.Sid} ${a} carries ${key}`,
            ).to.equal(true);
        }
      }
      for (const s of [...previewStatements(scope, full), ...allDeploy()]) {
        for (const a of actionsOf([s])) expect(a === "*" || a.endsWith(":*"), `${s.Sid} ${a}`).to.equal(false);
      }
      expect(actionsOf(allDeploy())).not.to.include.members(Object.keys(NOT_GRANTED_TO_DEPLOY));
    });

    it("names every resource by the environment's prefix where the ARN carries a name", () => {
      const unnamed = new Set([
        "ManageApiGateway",
        "ManageKmsKeys",
        "ManageLambdaEventSourceMappings",
        "ChangeEventSourceMappings",
        "ManageEc2Network",
        "ManageGitHubOidcProvider",
        "EcsServiceLinkedRole",
        "CreateEventSourceMappings",
        "TagEventSourceMappings",
        "DeregisterTaskDefinitions",
        "SnsSubscriptions",
        "ApiAccessLogDelivery",
        "ReadKmsAliases",
      ]);
      for (const s of allDeploy().filter((x) => !unnamed.has(x.Sid))) {
        for (const r of resourcesOf(s)) expect(r, s.Sid).to.match(/dbt-pipeline-dev-\*/);
      }
      const kms = allDeploy().find((s) => s.Sid === "ManageKmsKeys")!;
      expect(kms.Condition).to.deep.equal({
        StringEquals: { "aws:ResourceTag/project": "dbt-pipeline", "aws:ResourceTag/environment": "dev" },
      });
      const mappings = allDeploy().find((s) => s.Sid === "ChangeEventSourceMappings")!;
      expect(mappings.Condition).to.deep.equal({
        ArnLike: { "lambda:FunctionArn": `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:dbt-pipeline-dev-*` },
      });
    });

    it("passes only the environment's roles, only to the services that use them", () => {
      expect(allDeploy().find((s) => s.Sid === "PassOwnRoles")).to.deep.equal({
        Sid: "PassOwnRoles",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: `arn:aws:iam::${ACCOUNT}:role/dbt-pipeline-dev-*`,
        Condition: {
          StringEquals: {
            "iam:PassedToService": [
              "ecs-tasks.amazonaws.com",
              "events.amazonaws.com",
              "lambda.amazonaws.com",
              "scheduler.amazonaws.com",
            ],
          },
        },
      });
    });

    it("manages the OIDC provider only where the stack owns it, and EC2 only where it creates the network", () => {
      const sids = (o: Parameters<typeof deployPolicies>[1]) => allDeploy(scope, o).map((s) => s.Sid);
      expect(sids(full)).to.include.members(["ManageGitHubOidcProvider", "ManageEc2Network"]);
      expect(sids({ createsNetwork: false, boundaryArn: BOUNDARY })).not.to.include.members([
        "ManageGitHubOidcProvider",
      ]);
      expect(sids({ createsNetwork: false, boundaryArn: BOUNDARY })).not.to.include.members(["ManageEc2Network"]);
      expect(allDeploy(scope, full).find((s) => s.Sid === "ManageGitHubOidcProvider")!.Resource).to.equal(PROVIDER);
    });

    it("fits IAM's size limits even with the longest partition and region names", () => {
      const long = {
        partition: "aws-iso-b",
        accountId: ACCOUNT,
        region: "ap-southeast-5",
        environment: "production-eu",
      };
      const d = deployPolicies(long, { ...full, backend: { ...backend, stack: "production-eu-west" } });
      expect(policySize(policyDocumentOf(d.services))).to.be.below(MANAGED_POLICY_MAX_CHARS);
      expect(policySize(policyDocumentOf(d.platform))).to.be.below(MANAGED_POLICY_MAX_CHARS);
      expect(policySize(policyDocumentOf(d.identity))).to.be.below(MANAGED_POLICY_MAX_CHARS);
      expect(policySize(policyDocumentOf(previewStatements(long, full)))).to.be.below(INLINE_POLICIES_MAX_CHARS);
    });

    it("creates roles and changes their permissions only with the boundary; no other grant of those actions", () => {
      const withBoundary = [
        "iam:AttachRolePolicy",
        "iam:CreateRole",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
      ];
      expect(allDeploy().find((s) => s.Sid === "RolesWithBoundaryOnly")).to.deep.equal({
        Sid: "RolesWithBoundaryOnly",
        Effect: "Allow",
        Action: withBoundary,
        Resource: `arn:aws:iam::${ACCOUNT}:role/dbt-pipeline-dev-*`,
        Condition: { StringEquals: { "iam:PermissionsBoundary": BOUNDARY } },
      });
      const elsewhere = allDeploy()
        .filter((s) => s.Sid !== "RolesWithBoundaryOnly")
        .flatMap((s) => actionsOf([s]));
      expect(
        elsewhere.filter((a) => withBoundary.includes(a) || a === "iam:DeleteRolePermissionsBoundary"),
      ).to.deep.equal([]);
    });

    it("self-managed backend: this stack's state objects and lock, decrypt with the secrets key; previews only lock", () => {
      const bucket = "arn:aws:s3:::acme-pulumi-state";
      const state = [
        `${bucket}/.pulumi/stacks/dbt-pipeline/dev.json*`,
        `${bucket}/.pulumi/history/dbt-pipeline/dev/*`,
        `${bucket}/.pulumi/backups/dbt-pipeline/dev/*`,
      ];
      const lock = `${bucket}/.pulumi/locks/*/dbt-pipeline/dev/*`;
      const common = [
        {
          Sid: "ListStateBucket",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: bucket,
          Condition: { StringLike: { "s3:prefix": [".pulumi/*"] } },
        },
        {
          Sid: "ReadStackState",
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: [`${bucket}/.pulumi/meta.yaml`, ...state, lock],
        },
      ];
      const decrypt = {
        Sid: "DecryptStackSecrets",
        Effect: "Allow",
        Action: "kms:Decrypt",
        Resource: backend.secretsKeyArn,
      };
      expect(backendStatements(scope, backend, false)).to.deep.equal([
        ...common,
        { Sid: "LockStack", Effect: "Allow", Action: ["s3:DeleteObject", "s3:PutObject"], Resource: lock },
        decrypt,
      ]);
      expect(backendStatements(scope, backend, true)).to.deep.equal([
        ...common,
        {
          Sid: "WriteStackState",
          Effect: "Allow",
          Action: ["s3:DeleteObject", "s3:PutObject"],
          Resource: [...state, lock],
        },
        decrypt,
      ]);
      const withBackend = { ...full, backend };
      expect(previewStatements(scope, withBackend).map((s) => s.Sid)).to.include.members([
        "ListStateBucket",
        "ReadStackState",
        "LockStack",
        "DecryptStackSecrets",
      ]);
      expect(deployPolicies(scope, withBackend).identity.map((s) => s.Sid)).to.include.members([
        "ListStateBucket",
        "ReadStackState",
        "WriteStackState",
        "DecryptStackSecrets",
      ]);
      expect(backendStatements(scope, undefined, true)).to.deep.equal([]);
      expect(backendStatements(scope, { ...backend, stateBucket: "" }, true)).to.deep.equal([decrypt]);
    });

    it("attaches AWS's ViewOnlyAccess for account-wide metadata reads", () => {
      expect(viewOnlyAccessArn("aws")).to.equal("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess");
    });
  });

  describe("repository settings", () => {
    const table: [Parameters<typeof environmentSettings>, ReturnType<typeof environmentSettings>][] = [
      [
        ["dev", false, "main", [1]],
        {
          environment: "dev",
          reviewerUserIds: [],
          canAdminsBypass: true,
          preventSelfReview: false,
          branchPattern: "main",
        },
      ],
      [
        ["prod", true, "main", []],
        {
          environment: "prod",
          reviewerUserIds: [],
          canAdminsBypass: false,
          preventSelfReview: false,
          branchPattern: "main",
        },
      ],
      [
        ["prod", true, "trunk", [11]],
        {
          environment: "prod",
          reviewerUserIds: [11],
          canAdminsBypass: false,
          preventSelfReview: false,
          branchPattern: "trunk",
        },
      ],
      [
        ["prod", true, "main", [11, 12]],
        {
          environment: "prod",
          reviewerUserIds: [11, 12],
          canAdminsBypass: false,
          preventSelfReview: true,
          branchPattern: "main",
        },
      ],
    ];
    for (const [args, expected] of table) {
      it(`${args[0]} (reviewers ${JSON.stringify(args[3])}, branch ${args[2]})`, () =>
        expect(environmentSettings(...args)).to.deep.equal(expected));
    }
    it("the preview environment admits any branch (pull requests preview from theirs)", () => {
      expect(previewEnvironmentSettings("dev-preview")).to.deep.equal({
        environment: "dev-preview",
        reviewerUserIds: [],
        canAdminsBypass: true,
        preventSelfReview: false,
      });
    });

    const values = {
      region: "eu-west-1",
      stack: "prod",
      ecrRepositoryUrl: "ecr-url",
      artifactBucketName: "bucket",
      deployRoleArn: "deploy",
      dbtCiRoleArn: "dbt-ci",
      dbtStateRoleArn: "dbt-state",
    };
    it("infrastructure repository, prod: the deploy job's environment variables only", () => {
      expect(infraVariables("prod", "prod-preview", values)).to.deep.equal({
        environments: {
          prod: {
            AWS_REGION: "eu-west-1",
            AWS_ROLE_ARN: "deploy",
            PULUMI_STACK: "prod",
            ECR_REPOSITORY_URL: "ecr-url",
            ARTIFACT_BUCKET: "bucket",
          },
        },
        repository: {},
      });
    });
    it("infrastructure repository, dev: the preview environment gets the preview role", () => {
      expect(
        infraVariables("dev", "dev-preview", { ...values, stack: "dev", previewRoleArn: "preview" }).environments[
          "dev-preview"
        ],
      ).to.deep.equal({
        AWS_REGION: "eu-west-1",
        AWS_ROLE_ARN: "preview",
        PULUMI_STACK: "dev",
      });
    });
    it("dbt repository, production: the push job's variables and the state role for pull-request CI", () => {
      expect(dbtVariables("prod", true, values)).to.deep.equal({
        environments: {
          prod: {
            AWS_REGION: "eu-west-1",
            DBT_CI_ROLE_ARN: "dbt-ci",
            ECR_REPOSITORY_URL: "ecr-url",
            ARTIFACT_BUCKET: "bucket",
          },
        },
        repository: {
          DBT_STATE_ROLE_ARN_PROD: "dbt-state",
          ARTIFACT_BUCKET_PROD: "bucket",
          AWS_REGION_PROD: "eu-west-1",
        },
      });
    });
    it("dbt repository, dev: pull-request CI gets the pull-request role (not the image-push role) and the bucket", () => {
      expect(
        dbtVariables("dev", false, { ...values, dbtStateRoleArn: undefined, dbtPrRoleArn: "dbt-pr" }).repository,
      ).to.deep.equal({
        DBT_CI_ROLE_ARN_DEV: "dbt-pr",
        ARTIFACT_BUCKET_DEV: "bucket",
        AWS_REGION_DEV: "eu-west-1",
      });
      expect(() => dbtVariables("prod", true, { ...values, dbtStateRoleArn: undefined })).to.throw(
        "dbtVariables: production needs dbtStateRoleArn",
      );
      expect(() => dbtVariables("dev", false, values)).to.throw(
        "dbtVariables: a non-production environment needs dbtPrRoleArn",
      );
    });
    for (const [env, suffix] of [
      ["dev", "DEV"],
      ["prod", "PROD"],
      ["eu-prod", "EU_PROD"],
    ]) {
      it(`suffix of ${env} is ${suffix}`, () => expect(variableSuffix(env)).to.equal(suffix));
    }
    it("resource names of variables", () =>
      expect(variableSlug("AWS_PREVIEW_ROLE_ARN_DEV")).to.equal("aws-preview-role-arn-dev"));
  });
});

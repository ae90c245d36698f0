/**
 * GithubDelivery built alone from its own arguments (no stack config): the GitHub settings reach
 * the trust policies, the deployment branch policies and the published variables.
 */
import { expect } from "chai";
import { GithubDelivery, GithubDeliveryArgs } from "../../components/github";
import { Evaluation, MOCK_ACCOUNT } from "../../offline/mocks";
import { all, one } from "../helpers/stack";
import { evaluateAlone } from "./alone";
import { at, inputsOf, statementsOf, str } from "./recorded";

const T = {
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  role: "aws:iam/role:Role",
  branchPolicy: "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
  repoVariable: "github:index/actionsVariable:ActionsVariable",
} as const;

const ARGS: GithubDeliveryArgs = {
  github: {
    owner: "acme",
    infraRepo: "infra",
    dbtRepo: "analytics",
    mainBranch: "trunk",
    prodReviewers: [],
    oidcProvider: "existing",
    ownerId: 0,
    infraRepoId: 0,
    dbtRepoId: 0,
  },
  environment: "qa",
  project: "dbt-pipeline",
  stack: "qa",
  backend: { stateBucket: "", secretsKeyArn: "" },
  createsNetwork: false,
  production: false,
  ecrRepositoryArn: `arn:aws:ecr:eu-west-1:${MOCK_ACCOUNT}:repository/qa-dbt`,
  ecrRepositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/qa-dbt`,
  artifactBucketName: "qa-artifacts",
  artifactBucketArn: "arn:aws:s3:::qa-artifacts",
  region: "eu-west-1",
  permissionsBoundaryArn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/qa-boundary`,
};

const subjects = (ev: Evaluation, role: string) =>
  at(
    statementsOf(inputsOf(one(ev, T.role, role)).assumeRolePolicy)[0].Condition,
    "StringEquals",
    "token.actions.githubusercontent.com:sub",
  );

describe("GithubDelivery alone", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateAlone(() => {
      new GithubDelivery("github", ARGS);
    });
  });

  it("an existing OIDC provider: none created, every role trusts the account's provider", () => {
    expect(all(ev, T.oidc)).to.deep.equal([]);
    for (const r of all(ev, T.role))
      expect(at(statementsOf(inputsOf(r).assumeRolePolicy)[0].Principal, "Federated"), r.name).to.equal(
        `arn:aws:iam::${MOCK_ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
      );
  });

  it("trusts the given owner's repositories, by name, in the given environment", () => {
    expect(subjects(ev, "github-deploy-role")).to.deep.equal(["repo:acme/infra:environment:qa"]);
    expect(subjects(ev, "github-preview-role")).to.deep.equal(["repo:acme/infra:environment:qa-preview"]);
    expect(subjects(ev, "github-dbt-ci-role")).to.deep.equal(["repo:acme/analytics:environment:qa"]);
  });

  it("deploys only from the given main branch, on both repositories", () => {
    expect(
      all(ev, T.branchPolicy).map((p) => [str(p.inputs, "repository"), str(p.inputs, "branchPattern")]),
    ).to.deep.equal([
      ["infra", "trunk"],
      ["analytics", "trunk"],
    ]);
  });

  it("the deploy role creates and changes roles only with the boundary it is given", () => {
    const statement = statementsOf(
      inputsOf(one(ev, "aws:iam/policy:Policy", "github-deploy-identity-policy")).policy,
    ).find((x) => x.Sid === "RolesWithBoundaryOnly");
    expect(statement?.Condition).to.deep.equal({
      StringEquals: { "iam:PermissionsBoundary": `arn:aws:iam::${MOCK_ACCOUNT}:policy/qa-boundary` },
    });
  });
});

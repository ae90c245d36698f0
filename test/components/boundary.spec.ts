/**
 * The permissions boundary: its exact document, that every role of both stacks carries it, and
 * that its ceiling covers every action the package grants (or a role would silently lose it).
 */
import { expect } from "chai";
import { BOUNDARY_SERVICES, boundaryStatements } from "../../components/lib/boundary";
import { Evaluation, MOCK_ACCOUNT } from "../../offline/mocks";
import { all, evaluateStack, one } from "../helpers/stack";
import { at, statementsOf } from "./recorded";

const ARN = (env: string) => `arn:aws:iam::${MOCK_ACCOUNT}:policy/dbt-pipeline-${env}-permissions-boundary`;

describe("permissions boundary", () => {
  it("document: the package's services as the ceiling; no role without it, no boundary removed or changed, the deploy role and its policies fixed, no users or keys", () => {
    const role = [
      "iam:AttachRolePolicy",
      "iam:DeleteRole",
      "iam:DeleteRolePermissionsBoundary",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePermissionsBoundary",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ];
    const policy = [
      "iam:CreatePolicyVersion",
      "iam:DeletePolicy",
      "iam:DeletePolicyVersion",
      "iam:SetDefaultPolicyVersion",
      "iam:TagPolicy",
      "iam:UntagPolicy",
    ];
    expect(boundaryStatements({ partition: "aws", accountId: "123456789012", environment: "prod" })).to.deep.equal([
      {
        Sid: "Ceiling",
        Effect: "Allow",
        Resource: "*",
        Action: [
          "apigateway:*",
          "cloudwatch:*",
          "dynamodb:*",
          "ec2:*",
          "ecr:*",
          "ecs:*",
          "events:*",
          "iam:*",
          "kms:*",
          "lambda:*",
          "logs:*",
          "s3:*",
          "scheduler:*",
          "secretsmanager:*",
          "sns:*",
          "sqs:*",
          "xray:*",
        ],
      },
      {
        Sid: "RolesOnlyWithThisBoundary",
        Effect: "Deny",
        Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
        Resource: "*",
        Condition: {
          StringNotEquals: {
            "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/dbt-pipeline-prod-permissions-boundary",
          },
        },
      },
      { Sid: "KeepBoundaries", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
      {
        Sid: "BoundaryIsFixed",
        Effect: "Deny",
        Action: policy,
        Resource: "arn:aws:iam::123456789012:policy/dbt-pipeline-prod-permissions-boundary",
      },
      {
        Sid: "DeployRoleIsFixed",
        Effect: "Deny",
        Action: role,
        Resource: "arn:aws:iam::123456789012:role/dbt-pipeline-prod-github-deploy",
      },
      {
        Sid: "DeployPoliciesAreFixed",
        Effect: "Deny",
        Action: policy,
        Resource: "arn:aws:iam::123456789012:policy/dbt-pipeline-prod-github-deploy-*",
      },
      {
        Sid: "NoUsersOrKeys",
        Effect: "Deny",
        Resource: "*",
        Action: [
          "iam:AddUserToGroup",
          "iam:AttachUserPolicy",
          "iam:CreateAccessKey",
          "iam:CreateLoginProfile",
          "iam:CreateUser",
          "iam:PutUserPolicy",
          "iam:UpdateLoginProfile",
        ],
      },
    ]);
  });

  for (const stack of ["dev", "prod"] as const) {
    describe(`${stack} stack`, () => {
      let ev: Evaluation;
      before(async () => {
        ev = await evaluateStack(stack);
      });

      it("declares the boundary policy once, tagged as the boundary, and exports its ARN", () => {
        const p = one(ev, "aws:iam/policy:Policy", "permissions-boundary-policy");
        expect(p.inputs.name).to.equal(`dbt-pipeline-${stack}-permissions-boundary`);
        expect(p.inputs.tags).to.deep.equal({
          project: "dbt-pipeline",
          environment: stack,
          "managed-by": "pulumi",
          purpose: "permissions-boundary",
        });
        expect(statementsOf(p.inputs.policy).map((s) => s.Sid)).to.deep.equal([
          "Ceiling",
          "RolesOnlyWithThisBoundary",
          "KeepBoundaries",
          "BoundaryIsFixed",
          "DeployRoleIsFixed",
          "DeployPoliciesAreFixed",
          "NoUsersOrKeys",
        ]);
        expect(ev.outputs.permissionsBoundaryArn).to.equal(ARN(stack));
      });

      it("puts the boundary on every IAM role of every component", () => {
        const roles = all(ev, "aws:iam/role:Role");
        expect(roles.length).to.be.greaterThan(8);
        expect(roles.filter((r) => r.inputs.permissionsBoundary !== ARN(stack)).map((r) => r.name)).to.deep.equal([]);
      });

      it("never attaches the boundary as a permissions policy", () => {
        const attached = all(ev, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").map((a) =>
          at(a.inputs, "policyArn"),
        );
        expect(attached).not.to.include(ARN(stack));
      });

      it("its ceiling admits every action any role of the package is granted", () => {
        const docs = [
          ...all(ev, "aws:iam/rolePolicy:RolePolicy"),
          ...all(ev, "aws:iam/policy:Policy").filter((p) => p.name !== "permissions-boundary-policy"),
        ].map((p) => statementsOf(p.inputs.policy));
        const services = new Set(
          docs
            .flat()
            .filter((s) => s.Effect === "Allow")
            .flatMap((s) => [s.Action ?? []].flat())
            .map((a) => a.split(":")[0]),
        );
        expect([...services].filter((s) => !(BOUNDARY_SERVICES as readonly string[]).includes(s))).to.deep.equal([]);
      });
    });
  }
});

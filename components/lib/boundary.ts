/**
 * The permissions boundary of every IAM role the package creates, and the transformation that
 * puts it there.
 *
 * A boundary caps what a role's own policies can grant: a role may do only what both allow
 * (IAM User Guide, "Permissions boundaries for IAM entities",
 * docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html). This one:
 * - allows only the services the package uses (the ceiling), so no role of the package, however
 *   its policies are edited, reaches another service;
 * - denies creating a role, or setting a role's boundary, unless the boundary is this policy
 *   (`iam:PermissionsBoundary` condition), so a role cannot mint an unbounded one;
 * - denies removing a boundary and changing this policy;
 * - denies changes to the GitHub deploy role and its policies, so the role `pulumi up` runs as
 *   cannot raise its own ceiling, directly or through another role it writes.
 *
 * The boundary applies to every `aws:iam/role:Role` registered after {@link applyPermissionsBoundary};
 * index.ts registers it before any component, so no component has to remember it.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsName, defaultTags } from "./naming";

/** Services whose actions the package's roles use (the ceiling of the boundary). */
export const BOUNDARY_SERVICES = [
  "apigateway",
  "cloudwatch",
  "dynamodb",
  "ec2",
  "ecr",
  "ecs",
  "events",
  "iam",
  "kms",
  "lambda",
  "logs",
  "s3",
  "scheduler",
  "secretsmanager",
  "sns",
  "sqs",
  "xray",
] as const;

/** Tag that marks the boundary policy; the policy pack allows its ceiling (`service:*` on `*`) and nothing else that way. */
export const BOUNDARY_TAG = { purpose: "permissions-boundary" } as const;

/** Resource type the boundary applies to. */
export const ROLE_TYPE = "aws:iam/role:Role";

/** IAM writes on a role or a policy: what the boundary denies on the deploy role and its policies. */
export const ROLE_WRITES = [
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
] as const;
/** Writes on a managed policy. */
export const POLICY_WRITES = [
  "iam:CreatePolicyVersion",
  "iam:DeletePolicy",
  "iam:DeletePolicyVersion",
  "iam:SetDefaultPolicyVersion",
  "iam:TagPolicy",
  "iam:UntagPolicy",
] as const;

/** Names the boundary protects, all derived from the environment. */
export interface BoundaryNames {
  readonly partition: string;
  readonly accountId: string;
  readonly environment: string;
}

/** Physical name of the boundary policy: `dbt-pipeline-<env>-permissions-boundary`. */
export function boundaryPolicyName(environment: string): string {
  return awsName(environment, "permissions-boundary");
}

/** ARN of the boundary policy (fixed by its name, so trust and deny statements can name it before it exists). */
export function boundaryPolicyArn(n: BoundaryNames): string {
  return `arn:${n.partition}:iam::${n.accountId}:policy/${boundaryPolicyName(n.environment)}`;
}

/** The boundary document's statements. */
export function boundaryStatements(n: BoundaryNames): Record<string, unknown>[] {
  const iam = (resource: string) => `arn:${n.partition}:iam::${n.accountId}:${resource}`;
  const self = boundaryPolicyArn(n);
  const deployRole = awsName(n.environment, "github-deploy");
  return [
    { Sid: "Ceiling", Effect: "Allow", Action: BOUNDARY_SERVICES.map((s) => `${s}:*`), Resource: "*" },
    {
      Sid: "RolesOnlyWithThisBoundary",
      Effect: "Deny",
      Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
      Resource: "*",
      Condition: { StringNotEquals: { "iam:PermissionsBoundary": self } },
    },
    { Sid: "KeepBoundaries", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
    { Sid: "BoundaryIsFixed", Effect: "Deny", Action: [...POLICY_WRITES], Resource: self },
    { Sid: "DeployRoleIsFixed", Effect: "Deny", Action: [...ROLE_WRITES], Resource: iam(`role/${deployRole}`) },
    {
      Sid: "DeployPoliciesAreFixed",
      Effect: "Deny",
      Action: [...POLICY_WRITES],
      Resource: iam(`policy/${deployRole}-*`),
    },
    {
      Sid: "NoUsersOrKeys",
      Effect: "Deny",
      Action: [
        "iam:AddUserToGroup",
        "iam:AttachUserPolicy",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "iam:CreateUser",
        "iam:PutUserPolicy",
        "iam:UpdateLoginProfile",
      ],
      Resource: "*",
    },
  ];
}

/** Arguments of {@link PermissionsBoundary}. */
export interface PermissionsBoundaryArgs {
  /** Environment name (dev, prod): part of the policy name and of the names it protects. */
  readonly environment: string;
}

/** The managed policy every role of the package carries as its permissions boundary. */
export class PermissionsBoundary extends pulumi.ComponentResource {
  /** ARN of the boundary policy. */
  public readonly arn: pulumi.Output<string>;

  constructor(name: string, args: PermissionsBoundaryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:lib:PermissionsBoundary", name, {}, opts);
    const parent = { parent: this };
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const partition = aws.getPartitionOutput({}, parent).partition;
    const policy = new aws.iam.Policy(
      `${name}-policy`,
      {
        name: boundaryPolicyName(args.environment),
        description: `Permissions boundary of every role of dbt-pipeline ${args.environment}`,
        policy: pulumi.all([partition, accountId]).apply(([p, a]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: boundaryStatements({ partition: p, accountId: a, environment: args.environment }),
          }),
        ),
        tags: { ...defaultTags(args.environment), ...BOUNDARY_TAG },
      },
      parent,
    );
    this.arn = policy.arn;
    this.registerOutputs({ arn: this.arn });
  }
}

/**
 * Sets `permissionsBoundary` on every IAM role registered from now on (a role that names one
 * keeps it). Uses the in-process stack transformation, which the SDK applies before a resource
 * is registered, so the mock-based tests exercise exactly what `pulumi up` sends; it does not
 * reach roles inside remote (multi-language) components, and the package creates none there.
 */
export function applyPermissionsBoundary(boundaryArn: pulumi.Input<string>): void {
  pulumi.runtime.registerStackTransformation((args) => {
    if (args.type !== ROLE_TYPE) return undefined;
    // The SDK types props as Record<string, any>; the value is only passed back through.
    const existing: unknown = args.props.permissionsBoundary;
    return {
      props: { ...args.props, permissionsBoundary: existing ?? boundaryArn },
      opts: args.opts,
    };
  });
}

/**
 * IAM rules: no wildcard actions, wildcard resources only where AWS requires them (with the
 * condition that narrows them), and `iam:PassRole` always conditioned on `iam:PassedToService`.
 * The permissions boundary is a ceiling, not a grant: its `service:*` statement is checked by
 * the boundary rule (boundary-rules.ts) instead.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { grantStatements, list } from "./util";

/** Why an action may run on every resource, and the condition key that must then narrow it, if any. */
export interface WildcardAllowance {
  readonly reason: string;
  /** Condition key the statement must carry (under any operator); absent when none exists for the action. */
  readonly condition?: string;
}

const byId = (actions: readonly string[], reason: string): Record<string, WildcardAllowance> =>
  Object.fromEntries(actions.map((a) => [a, { reason }]));
const noResourceType = (what: string): WildcardAllowance => ({ reason: `${what} has no resource type` });

/**
 * The allowlist of actions that may run on a wildcard resource (`*`, or an ARN whose resource
 * name is only a wildcard such as `task-definition/*` or `event-source-mapping:*`), each with
 * its reason; where the reason names a condition key, the statement must carry it. A statement
 * may use such a resource only when every action is listed here.
 */
export const WILDCARD_RESOURCE_ALLOWED: Readonly<Record<string, WildcardAllowance>> = {
  "ecr:GetAuthorizationToken": noResourceType("the registry token is account-wide; the action"),
  "ecs:ListTasks": {
    reason: "ListTasks authorizes on container instances only; scoped by the ecs:cluster condition",
    condition: "ecs:cluster",
  },
  "ecs:DeregisterTaskDefinition": noResourceType("deregistering a task definition revision (deploy role)"),
  "lambda:CreateEventSourceMapping": {
    reason: "the action has no resource type; scoped by the lambda:FunctionArn condition",
    condition: "lambda:FunctionArn",
  },
  "lambda:DeleteEventSourceMapping": {
    reason: "mappings are named by UUID; scoped by the lambda:FunctionArn condition",
    condition: "lambda:FunctionArn",
  },
  "lambda:UpdateEventSourceMapping": {
    reason: "mappings are named by UUID; scoped by the lambda:FunctionArn condition",
    condition: "lambda:FunctionArn",
  },
  "sns:GetSubscriptionAttributes": noResourceType("the subscription actions"),
  "sns:SetSubscriptionAttributes": noResourceType("the subscription actions"),
  "sns:Unsubscribe": noResourceType("the subscription actions"),
  "logs:CreateLogDelivery": noResourceType("log delivery (HTTP API access logs)"),
  "logs:DeleteLogDelivery": noResourceType("log delivery (HTTP API access logs)"),
  "logs:GetLogDelivery": noResourceType("log delivery (HTTP API access logs)"),
  "logs:ListLogDeliveries": noResourceType("log delivery (HTTP API access logs)"),
  "logs:UpdateLogDelivery": noResourceType("log delivery (HTTP API access logs)"),
  "logs:PutResourcePolicy": noResourceType("a CloudWatch Logs resource policy (HTTP API access logs)"),
  "logs:DescribeResourcePolicies": noResourceType("a CloudWatch Logs resource policy (HTTP API access logs)"),
  "kms:ListAliases": noResourceType("listing aliases (the provider reads an alias back through it)"),
  "cloudwatch:PutMetricData": {
    reason: "the action has no resource type; scoped by the cloudwatch:namespace condition",
    condition: "cloudwatch:namespace",
  },
  "xray:PutTraceSegments": noResourceType("sending trace segments"),
  "xray:PutTelemetryRecords": noResourceType("sending X-Ray telemetry"),
  // Resources named by generated ids, which no name prefix can scope (the Pulumi roles only).
  ...byId(
    ["lambda:GetEventSourceMapping", "lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"],
    "event source mappings are named by UUID; their configuration and tags only",
  ),
  ...byId(
    ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
    "HTTP APIs are named by generated ids; the ARN scopes the region",
  ),
  ...byId(
    [
      "ec2:AssociateRouteTable",
      "ec2:AttachInternetGateway",
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
      "ec2:CreateInternetGateway",
      "ec2:CreateRoute",
      "ec2:CreateRouteTable",
      "ec2:CreateSecurityGroup",
      "ec2:CreateSubnet",
      "ec2:CreateTags",
      "ec2:CreateVpc",
      "ec2:DeleteInternetGateway",
      "ec2:DeleteRoute",
      "ec2:DeleteRouteTable",
      "ec2:DeleteSecurityGroup",
      "ec2:DeleteSubnet",
      "ec2:DeleteTags",
      "ec2:DeleteVpc",
      "ec2:DetachInternetGateway",
      "ec2:DisassociateRouteTable",
      "ec2:ModifySubnetAttribute",
      "ec2:ModifyVpcAttribute",
      "ec2:ReplaceRoute",
      "ec2:RevokeSecurityGroupEgress",
      "ec2:RevokeSecurityGroupIngress",
    ],
    "VPC networking is named by generated ids (network.mode create); the ARN scopes the region and account",
  ),
  // KMS keys have random ids: a key is the environment's by its tag.
  ...Object.fromEntries(
    [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ].map((a) => [
      a,
      {
        reason: "KMS key ids are random; scoped by the aws:ResourceTag/environment condition",
        condition: "aws:ResourceTag/environment",
      },
    ]),
  ),
};

/** Allow statements must not use `*` or `service:*` actions (Deny statements may). */
export const iamNoWildcardActions: ResourceValidationPolicy = {
  name: "iam-no-wildcard-actions",
  description: "IAM Allow statements name their actions; no `*` or `service:*`.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { label, statement } of grantStatements(args.type, args.props)) {
      if ((statement.Effect ?? "Allow") !== "Allow") continue;
      if (statement.NotAction !== undefined)
        report(`${args.name}: ${label} uses NotAction; list the allowed actions instead.`);
      for (const action of list(statement.Action)) {
        if (action === "*" || action.endsWith(":*"))
          report(`${args.name}: ${label} allows the wildcard action "${action}"; name the actions it needs.`);
      }
    }
  },
};

/** Services whose ARNs carry no resource type: the name starts the resource part (`arn:aws:s3:::bucket/key`, `arn:aws:sqs:r:a:queue`). */
const UNTYPED_SERVICES = new Set(["s3", "sqs", "sns"]);

/**
 * Whether `resource` addresses every resource of its kind: `*`, a wildcard account or region,
 * or an ARN whose resource name (after the resource type) has no literal character
 * (`task-definition/*`, `event-source-mapping:*`, `key/*`, `/apis/*`). A name with a literal
 * part (`dbt-pipeline-dev-*`, `log-group:/aws/lambda/fn:*`) is scoped by it.
 */
export function isWildcardResource(resource: string): boolean {
  if (resource === "*") return true;
  const m = /^arn:([^:]*):([^:]*):([^:]*):([^:]*):(.*)$/.exec(resource);
  if (!m) return /^[*?]+$/.test(resource);
  const [, , service, region, account, rest] = m;
  if (region === "*" || account === "*") return true;
  const tokens = rest.split(/[/:]/).filter((t, i) => !(i === 0 && t === ""));
  const name = UNTYPED_SERVICES.has(service) ? tokens : tokens.slice(1);
  if (name.length === 0) return tokens.length === 0 || /^[*?]*$/.test(tokens[0]);
  return name.join("/").replace(/[*?/]/g, "") === "";
}

/** Allow statements may use a wildcard resource only for allowlisted actions, with the condition their reason names. */
export const iamNoWildcardResources: ResourceValidationPolicy = {
  name: "iam-no-wildcard-resources",
  description:
    "IAM Allow statements are scoped to exact ARNs; `*` or an all-wildcard resource name only for allowlisted actions, carrying the condition each names.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { label, statement } of grantStatements(args.type, args.props)) {
      if ((statement.Effect ?? "Allow") !== "Allow") continue;
      const wild = list(statement.Resource).filter(isWildcardResource);
      if (!wild.length) continue;
      const on = wild.map((r) => `"${r}"`).join(", ");
      const unjustified = list(statement.Action).filter((a) => !(a in WILDCARD_RESOURCE_ALLOWED));
      if (unjustified.length)
        report(`${args.name}: ${label} allows ${unjustified.join(", ")} on every resource (${on}); scope it to ARNs.`);
      const keys = new Set(Object.values(statement.Condition ?? {}).flatMap((c) => Object.keys(c ?? {})));
      for (const a of list(statement.Action)) {
        const needed = WILDCARD_RESOURCE_ALLOWED[a]?.condition;
        if (needed && !keys.has(needed))
          report(`${args.name}: ${label} allows ${a} on every resource (${on}) without the ${needed} condition.`);
      }
    }
  },
};

/** `iam:PassRole` must be conditioned on the service the role is passed to. */
export const iamPassRoleConditioned: ResourceValidationPolicy = {
  name: "iam-passrole-conditioned",
  description: "iam:PassRole always carries an iam:PassedToService condition.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { label, statement } of grantStatements(args.type, args.props)) {
      if ((statement.Effect ?? "Allow") !== "Allow") continue;
      const passes = list(statement.Action).some((a) => a === "iam:PassRole" || a === "iam:*" || a === "*");
      const conditioned = Object.values(statement.Condition ?? {}).some((c) => c && "iam:PassedToService" in c);
      if (passes && !conditioned)
        report(`${args.name}: ${label} allows iam:PassRole without an iam:PassedToService condition.`);
    }
  },
};

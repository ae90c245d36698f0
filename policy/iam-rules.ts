/**
 * IAM rules: no wildcard actions, wildcard resources only where AWS requires them, and
 * `iam:PassRole` always conditioned on `iam:PassedToService`.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { list, permissionStatements } from "./util";

/**
 * Actions AWS only authorizes on `Resource: "*"`, each with the reason. A statement may use `*`
 * only when all its actions are listed here.
 */
export const WILDCARD_RESOURCE_ALLOWED: Readonly<Record<string, string>> = {
  "ecr:GetAuthorizationToken": "the registry token is account-wide; the action has no resource type",
  "ecs:ListTasks": "ListTasks authorizes on container instances only; scope it with the ecs:cluster condition",
  "ecs:DeregisterTaskDefinition": "the action has no resource type (deploy role: replacing a task definition deregisters the old revision)",
  "lambda:CreateEventSourceMapping": "the action has no resource type; scope it with the lambda:FunctionArn condition",
  "sns:GetSubscriptionAttributes": "the subscription actions have no resource type",
  "sns:SetSubscriptionAttributes": "the subscription actions have no resource type",
  "sns:Unsubscribe": "the subscription actions have no resource type",
  "logs:CreateLogDelivery": "log delivery (HTTP API access logs) has no resource type",
  "logs:DeleteLogDelivery": "log delivery (HTTP API access logs) has no resource type",
  "logs:GetLogDelivery": "log delivery (HTTP API access logs) has no resource type",
  "logs:ListLogDeliveries": "log delivery (HTTP API access logs) has no resource type",
  "logs:UpdateLogDelivery": "log delivery (HTTP API access logs) has no resource type",
  "logs:PutResourcePolicy": "CloudWatch Logs resource policies have no resource type (HTTP API access logs)",
  "logs:DescribeResourcePolicies": "CloudWatch Logs resource policies have no resource type (HTTP API access logs)",
  "kms:ListAliases": "the action has no resource type; the provider reads an alias back through it",
  "cloudwatch:PutMetricData": "the action has no resource type; scope it with the cloudwatch:namespace condition",
  "xray:PutTraceSegments": "the action has no resource type",
  "xray:PutTelemetryRecords": "the action has no resource type",
};

/** Allow statements must not use `*` or `service:*` actions (Deny statements may). */
export const iamNoWildcardActions: ResourceValidationPolicy = {
  name: "iam-no-wildcard-actions",
  description: "IAM Allow statements name their actions; no `*` or `service:*`.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { label, statement } of permissionStatements(args.type, args.props)) {
      if ((statement.Effect ?? "Allow") !== "Allow") continue;
      if (statement.NotAction !== undefined) report(`${args.name}: ${label} uses NotAction; list the allowed actions instead.`);
      for (const action of list(statement.Action)) {
        if (action === "*" || action.endsWith(":*")) report(`${args.name}: ${label} allows the wildcard action "${action}"; name the actions it needs.`);
      }
    }
  },
};

/** Allow statements may use `Resource: "*"` only for actions that require it. */
export const iamNoWildcardResources: ResourceValidationPolicy = {
  name: "iam-no-wildcard-resources",
  description: "IAM Allow statements are scoped to exact ARNs; `*` only for actions AWS authorizes on no resource.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { label, statement } of permissionStatements(args.type, args.props)) {
      if ((statement.Effect ?? "Allow") !== "Allow" || !list(statement.Resource).includes("*")) continue;
      const unjustified = list(statement.Action).filter((a) => !(a in WILDCARD_RESOURCE_ALLOWED));
      if (unjustified.length) report(`${args.name}: ${label} allows ${unjustified.join(", ")} on every resource ("*"); scope it to ARNs.`);
    }
  },
};

/** `iam:PassRole` must be conditioned on the service the role is passed to. */
export const iamPassRoleConditioned: ResourceValidationPolicy = {
  name: "iam-passrole-conditioned",
  description: "iam:PassRole always carries an iam:PassedToService condition.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { label, statement } of permissionStatements(args.type, args.props)) {
      if ((statement.Effect ?? "Allow") !== "Allow") continue;
      const passes = list(statement.Action).some((a) => a === "iam:PassRole" || a === "iam:*" || a === "*");
      const conditioned = Object.values(statement.Condition ?? {}).some((c) => c && "iam:PassedToService" in c);
      if (passes && !conditioned) report(`${args.name}: ${label} allows iam:PassRole without an iam:PassedToService condition.`);
    }
  },
};

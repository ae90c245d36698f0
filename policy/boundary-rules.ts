/**
 * The permissions boundary rule: every IAM role carries the stack's boundary policy, and that
 * policy is a real boundary (used only as one, and holding the denies that stop a role from
 * creating an unbounded role or removing a boundary).
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { IamStatement, isBoundaryPolicy, list, parseDocument } from "./util";

const ROLE = "aws:iam/role:Role";

/** Whether `doc` denies `action` on every resource (optionally only under `conditionKey`). */
function denies(statements: IamStatement[], action: string, conditionKey?: string): boolean {
  return statements.some(
    (s) =>
      s.Effect === "Deny" &&
      list(s.Action).includes(action) &&
      list(s.Resource).includes("*") &&
      (!conditionKey || Object.values(s.Condition ?? {}).some((c) => c && conditionKey in c)),
  );
}

/** Every role has the boundary; the boundary is only a boundary and denies its own circumvention. */
export const iamPermissionsBoundary: StackValidationPolicy = {
  name: "iam-permissions-boundary",
  description:
    "Every IAM role carries the stack's permissions boundary policy; that policy is attached to no role as a permission and denies creating roles without it and removing it.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const boundaries = args.resources.filter((r) => isBoundaryPolicy(r.type, r.props));
    const arns = new Set(boundaries.map((b): unknown => b.props.arn).filter((a): a is string => typeof a === "string"));
    for (const b of boundaries) {
      const statements = list(parseDocument(b.props.policy)?.Statement);
      if (!denies(statements, "iam:CreateRole", "iam:PermissionsBoundary"))
        report(`boundary ${b.name} does not deny iam:CreateRole without an iam:PermissionsBoundary condition.`, b.urn);
      if (!denies(statements, "iam:DeleteRolePermissionsBoundary"))
        report(`boundary ${b.name} does not deny iam:DeleteRolePermissionsBoundary.`, b.urn);
    }
    const attachedAsGrant = (r: PolicyResource): string[] =>
      (r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
        ? [r.props.policyArn as unknown]
        : r.type === ROLE
          ? list<unknown>(r.props.managedPolicyArns)
          : []
      ).filter((a): a is string => typeof a === "string");
    for (const r of args.resources) {
      for (const arn of attachedAsGrant(r))
        if (arns.has(arn))
          report(`${r.type} ${r.name} attaches the permissions boundary ${arn} as a permissions policy.`, r.urn);
      if (r.type !== ROLE) continue;
      const boundary: unknown = r.props.permissionsBoundary;
      if (typeof boundary !== "string" || !arns.has(boundary))
        report(
          `role ${r.props.name ?? r.name} has no permissions boundary of this stack (got ${JSON.stringify(boundary ?? null)}).`,
          r.urn,
        );
    }
  },
};

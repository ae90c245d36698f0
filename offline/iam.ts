/**
 * Renders `aws.iam.getPolicyDocument` inputs as the IAM JSON the real provider returns, so that
 * tests and the offline plan see real policy documents rather than placeholders.
 */
import { z } from "zod";

const Principals = z.array(z.object({ type: z.string(), identifiers: z.array(z.string()) }));

/** The `aws.iam.getPolicyDocument` arguments the program passes, as the mock monitor hands them over. */
export const PolicyDocumentArgs = z.object({
  statements: z
    .array(
      z.object({
        sid: z.string().optional(),
        effect: z.string().optional(),
        actions: z.array(z.string()).optional(),
        notActions: z.array(z.string()).optional(),
        resources: z.array(z.string()).optional(),
        notResources: z.array(z.string()).optional(),
        principals: Principals.optional(),
        notPrincipals: Principals.optional(),
        conditions: z
          .array(z.object({ test: z.string(), variable: z.string(), values: z.array(z.string()) }))
          .optional(),
      }),
    )
    .optional(),
  version: z.string().optional(),
  policyId: z.string().optional(),
});

const one = (values: string[]) => (values.length === 1 ? values[0] : [...values].sort());

function principals(list: { type: string; identifiers: string[] }[]): unknown {
  if (list.length === 1 && list[0].type === "*") return "*";
  const out: Record<string, unknown> = {};
  for (const p of list) out[p.type] = one([...((out[p.type] as string[] | undefined) ?? []), ...p.identifiers].flat());
  return out;
}

/** The policy JSON for `getPolicyDocument({ statements, version })`. */
export function renderPolicyDocument(args: z.infer<typeof PolicyDocumentArgs>): string {
  const statements = (args.statements ?? []).map((s) => {
    const out: Record<string, unknown> = {};
    if (s.sid) out.Sid = s.sid;
    out.Effect = s.effect ?? "Allow";
    if (s.actions?.length) out.Action = one(s.actions);
    if (s.notActions?.length) out.NotAction = one(s.notActions);
    if (s.resources?.length) out.Resource = one(s.resources);
    if (s.notResources?.length) out.NotResource = one(s.notResources);
    if (s.principals?.length) out.Principal = principals(s.principals);
    if (s.notPrincipals?.length) out.NotPrincipal = principals(s.notPrincipals);
    if (s.conditions?.length) {
      const cond: Record<string, Record<string, unknown>> = {};
      for (const c of s.conditions) (cond[c.test] ??= {})[c.variable] = one(c.values);
      out.Condition = cond;
    }
    return out;
  });
  const doc: Record<string, unknown> = { Version: args.version ?? "2012-10-17" };
  if (args.policyId) doc.Id = args.policyId;
  doc.Statement = statements;
  return JSON.stringify(doc, null, 2);
}

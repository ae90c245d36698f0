/**
 * Helpers shared by the rules: reading IAM documents out of resource properties, walking
 * property trees, and the stack name from a URN.
 */

/** One IAM statement as found in a document (either casing of the single/array forms). */
export interface IamStatement {
  Sid?: string;
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Resource properties as the policy host hands them over (`any` in @pulumi/policy), read as unknown values. */
export type Props = Readonly<Record<string, unknown>>;

/** The value at `path` below `value`; undefined where a step is not an object. */
export function dig(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) at = at !== null && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined;
  return at;
}

/** A property value as a message shows it: a string as it is, anything else as JSON. */
export const shown = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** `x` as an array. */
export const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** Property names that hold IAM policy JSON, by resource type. Trust policies are checked separately. */
export const POLICY_PROPS: Record<string, string[]> = {
  "aws:iam/rolePolicy:RolePolicy": ["policy"],
  "aws:iam/policy:Policy": ["policy"],
  "aws:iam/userPolicy:UserPolicy": ["policy"],
  "aws:iam/groupPolicy:GroupPolicy": ["policy"],
  "aws:s3/bucketPolicy:BucketPolicy": ["policy"],
  "aws:sqs/queuePolicy:QueuePolicy": ["policy"],
  "aws:sns/topicPolicy:TopicPolicy": ["policy"],
};

/** Parses a policy document (JSON string or object); undefined when absent or not yet known. */
export function parseDocument(value: unknown): { Statement?: IamStatement | IamStatement[] } | undefined {
  let doc = value;
  if (typeof value === "string") {
    try {
      doc = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return doc && typeof doc === "object" ? doc : undefined;
}

/** Every permission statement in a resource's properties, labelled for messages. */
export function permissionStatements(type: string, props: Props): { label: string; statement: IamStatement }[] {
  const docs: { prop: string; doc: unknown }[] = (POLICY_PROPS[type] ?? []).map((p) => ({ prop: p, doc: props[p] }));
  if (type === "aws:iam/role:Role") {
    for (const [i, p] of list(props.inlinePolicies as { policy?: unknown }[] | undefined).entries())
      docs.push({ prop: `inlinePolicies[${i}]`, doc: p.policy });
  }
  return docs.flatMap(({ prop, doc }) =>
    list(parseDocument(doc)?.Statement).map((statement, i) => ({
      label: `${prop} statement ${statement.Sid ?? i}`,
      statement,
    })),
  );
}

/** Tag value that marks the permissions boundary policy (components/lib/boundary.ts). */
export const BOUNDARY_PURPOSE = "permissions-boundary";

/** A customer managed policy tagged as the permissions boundary. */
export function isBoundaryPolicy(type: string, props: Props): boolean {
  return type === "aws:iam/policy:Policy" && dig(props, "tags", "purpose") === BOUNDARY_PURPOSE;
}

/** The statements that grant permissions: every permission statement except the boundary's (a ceiling). */
export function grantStatements(type: string, props: Props): { label: string; statement: IamStatement }[] {
  return isBoundaryPolicy(type, props) ? [] : permissionStatements(type, props);
}

/** Visits every string in a property tree with its dotted path. */
export function walkStrings(value: unknown, visit: (path: string, s: string) => void, at = ""): void {
  if (typeof value === "string") visit(at, value);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, visit, `${at}[${i}]`));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) walkStrings(v, visit, at ? `${at}.${k}` : k);
  }
}

/** The stack name in a URN (`urn:pulumi:<stack>::<project>::...`). */
export function stackOf(urn: string): string {
  return /^urn:pulumi:([^:]+)::/.exec(urn)?.[1] ?? "";
}

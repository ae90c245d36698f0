/**
 * Typed reads of what the offline mocks recorded. Resource inputs arrive as plain JSON-like data
 * of unknown shape; these accessors narrow them (throwing with what they found) so specs index
 * them without `any`.
 */
import { z } from "zod";

/** `value` as an object; throws when it is not one. */
export function obj(value: unknown, what = "value"): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

/** `value` as a list; throws when it is not one. */
export function arr(value: unknown, what = "value"): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value as unknown[];
}

/** `value` as a list of objects. */
export function objs(value: unknown, what = "value"): Record<string, unknown>[] {
  return arr(value, what).map((v, i) => obj(v, `${what}[${i}]`));
}

/** A JSON string input (a policy, container definitions), parsed. */
export function parsed(value: unknown): unknown {
  if (typeof value !== "string") throw new Error(`expected a JSON string, got ${typeof value}`);
  return JSON.parse(value) as unknown;
}

/** One IAM policy statement, as policy documents spell it. */
export const StatementSchema = z
  .object({
    Sid: z.string().optional(),
    Effect: z.enum(["Allow", "Deny"]),
    Principal: z.unknown().optional(),
    Action: z.union([z.string(), z.array(z.string())]).optional(),
    NotAction: z.union([z.string(), z.array(z.string())]).optional(),
    Resource: z.union([z.string(), z.array(z.string())]).optional(),
    NotResource: z.union([z.string(), z.array(z.string())]).optional(),
    Condition: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  })
  .strict();
/** One statement of a policy document. */
export type Statement = z.infer<typeof StatementSchema>;

/** The statements of a policy document given as its JSON text. */
export function statementsOf(policy: unknown): Statement[] {
  return z.object({ Version: z.string(), Statement: z.array(StatementSchema) }).parse(parsed(policy)).Statement;
}

/** A recorded resource's inputs, typed as what they are: values of unknown shape. */
export function inputsOf(resource: { readonly inputs: object }): Record<string, unknown> {
  return obj(resource.inputs, "inputs");
}

/** A recorded resource's state (its inputs plus the attributes the mock computed). */
export function stateOf(resource: { readonly state: object }): Record<string, unknown> {
  return obj(resource.state, "state");
}

/** The value at `path` inside `value` (object keys and list indexes), or undefined when absent. */
export function at(value: unknown, ...path: readonly (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The string at `path`; throws when it is not one. */
export function str(value: unknown, ...path: readonly (string | number)[]): string {
  const found = at(value, ...path);
  if (typeof found !== "string") throw new Error(`${path.join(".")}: expected a string, got ${JSON.stringify(found)}`);
  return found;
}

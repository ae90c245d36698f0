/**
 * Runs the policy pack's rules over resources recorded by the mock engine (or over hand-made
 * fixtures), the way the policy host would: resource rules see each resource's inputs and
 * options, stack rules see every resource's outputs.
 */
import { Policy, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { POLICIES } from "../../policy/rules";
import { Evaluation, RecordedResource, unwrapSecrets } from "../../offline/mocks";

/** A violation: which rule, where, and the message. */
export interface Violation {
  readonly policy: string;
  readonly name: string;
  readonly message: string;
}

/** The minimal shape of a resource the harness needs. */
export interface FixtureResource {
  readonly type: string;
  readonly name: string;
  readonly props: Record<string, unknown>;
  readonly protect?: boolean;
}

const urnOf = (stack: string, r: FixtureResource) => `urn:pulumi:${stack}::dbt-pipeline::${r.type}::${r.name}`;

function defaultsOf(p: Policy): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(p.configSchema?.properties ?? {}).map(([k, v]) => [k, (v as { default?: unknown }).default]),
  );
}

/** Thrown by `notApplicable`, as the policy host's own error is; the harness skips such a rule for that resource. */
class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
  throw new NotApplicable(reason ?? "not applicable");
}

/**
 * `isType` as the policy host implements it (@pulumi/policy server.js `isTypeOf`): the class's
 * `__pulumiType` token, else its `isInstance` on `{ __pulumiType: type }`. Without it a rule
 * written with `validateResourceOfType(aws.lambda.Function, …)` would never fire in a test.
 */
export function isTypeOf(type: string, resourceClass: unknown): boolean {
  // policy.js getPulumiType: a non-empty string `__pulumiType` on the class.
  const token: unknown = (resourceClass as { __pulumiType?: unknown })?.__pulumiType;
  if (typeof token === "string" && token !== "") return token === type;
  const isInstance = (resourceClass as { isInstance?: (obj: unknown) => unknown })?.isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

/** `isType`/`asType` of one resource. */
function typeChecks(type: string, props: Record<string, unknown>) {
  return {
    isType: (resourceClass: unknown) => isTypeOf(type, resourceClass),
    asType: (resourceClass: unknown) => (isTypeOf(type, resourceClass) ? props : undefined),
  };
}

/** Runs one validation; a NotApplicable (e.g. `validateResourceOfType` on another type) is no violation. */
async function guarded(run: () => unknown): Promise<void> {
  try {
    await run();
  } catch (e) {
    if (!(e instanceof NotApplicable)) throw e;
  }
}

/** Runs `policies` (default: the whole pack) over `resources` of `stack`. */
export async function runPolicies(
  stack: string,
  resources: readonly FixtureResource[],
  policies = POLICIES,
  config: Record<string, Record<string, unknown>> = {},
): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const policy of policies) {
    const cfg = { ...defaultsOf(policy), ...(config[policy.name] ?? {}) };
    if ("validateResource" in policy && policy.validateResource) {
      const validators = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
      for (const r of resources) {
        const args = {
          type: r.type,
          props: r.props,
          urn: urnOf(stack, r),
          name: r.name,
          opts: {
            protect: !!r.protect,
            ignoreChanges: [],
            aliases: [],
            customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
            additionalSecretOutputs: [],
          },
          stackTags: new Map(),
          getConfig: () => cfg,
          notApplicable,
          ...typeChecks(r.type, r.props),
        } as unknown as ResourceValidationArgs;
        for (const v of validators)
          await guarded(() => v(args, (message) => out.push({ policy: policy.name, name: r.name, message })));
      }
    }
    if ("validateStack" in policy) {
      const all = resources.map((r) => ({
        type: r.type,
        props: r.props,
        urn: urnOf(stack, r),
        name: r.name,
        opts: {
          protect: !!r.protect,
          ignoreChanges: [],
          aliases: [],
          customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
          additionalSecretOutputs: [],
        },
        dependencies: [],
        propertyDependencies: {},
        ...typeChecks(r.type, r.props),
      })) as unknown as PolicyResource[];
      await guarded(() =>
        policy.validateStack(
          { resources: all, stackTags: new Map(), getConfig: <T>() => cfg as T, notApplicable },
          (message, urn) =>
            out.push({ policy: policy.name, name: all.find((r) => r.urn === urn)?.name ?? "(stack)", message }),
        ),
      );
    }
  }
  return out;
}

/** Runs the pack over a stack evaluated by the mock engine: inputs for resource rules, outputs for stack rules. */
export function runPoliciesOnStack(ev: Evaluation, policies = POLICIES): Promise<Violation[]> {
  const asFixture = (r: RecordedResource, outputs: boolean): FixtureResource => ({
    type: r.type,
    name: r.name,
    props: outputs ? { ...r.inputs, ...(unwrapSecrets(r.state) as Record<string, unknown>) } : r.inputs,
    protect: r.options.protect,
  });
  const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
  const stackPolicies = policies.filter((p) => "validateStack" in p);
  return Promise.all([
    runPolicies(
      ev.stack,
      ev.resources.filter((r) => r.custom).map((r) => asFixture(r, false)),
      resourcePolicies,
    ),
    runPolicies(
      ev.stack,
      ev.resources.filter((r) => r.custom).map((r) => asFixture(r, true)),
      stackPolicies,
    ),
  ]).then(([a, b]) => [...a, ...b]);
}

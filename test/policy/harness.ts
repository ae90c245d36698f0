/**
 * Runs the policy pack's rules over resources recorded by the mock engine (or over hand-made
 * fixtures), the way the policy host would: resource rules see each resource's inputs and
 * options, stack rules see every resource's outputs.
 */
import { Policy, PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
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
  readonly props: Record<string, any>;
  readonly protect?: boolean;
}

const urnOf = (stack: string, r: FixtureResource) => `urn:pulumi:${stack}::dbt-pipeline::${r.type}::${r.name}`;

function defaultsOf(p: Policy): Record<string, unknown> {
  return Object.fromEntries(Object.entries(p.configSchema?.properties ?? {}).map(([k, v]) => [k, (v as { default?: unknown }).default]));
}

function notApplicable(): never {
  throw new Error("notApplicable");
}

/** Runs `policies` (default: the whole pack) over `resources` of `stack`. */
export async function runPolicies(stack: string, resources: readonly FixtureResource[], policies = POLICIES, config: Record<string, Record<string, unknown>> = {}): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const policy of policies) {
    const cfg = { ...defaultsOf(policy), ...(config[policy.name] ?? {}) };
    if ("validateResource" in policy && policy.validateResource) {
      const validators = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
      for (const r of resources) {
        const args = {
          type: r.type, props: r.props, urn: urnOf(stack, r), name: r.name,
          opts: { protect: !!r.protect, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
          stackTags: new Map(), getConfig: () => cfg, notApplicable,
          isType: () => false, asType: () => undefined,
        } as unknown as ResourceValidationArgs;
        for (const v of validators) await v(args, (message) => out.push({ policy: policy.name, name: r.name, message }));
      }
    }
    if ("validateStack" in policy) {
      const all = resources.map((r) => ({
        type: r.type, props: r.props, urn: urnOf(stack, r), name: r.name,
        opts: { protect: !!r.protect, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined,
      })) as unknown as PolicyResource[];
      await (policy as StackValidationPolicy).validateStack(
        { resources: all, stackTags: new Map(), getConfig: <T>() => cfg as T, notApplicable },
        (message, urn) => out.push({ policy: policy.name, name: all.find((r) => r.urn === urn)?.name ?? "(stack)", message }),
      );
    }
  }
  return out;
}

/** Runs the pack over a stack evaluated by the mock engine: inputs for resource rules, outputs for stack rules. */
export function runPoliciesOnStack(ev: Evaluation, policies = POLICIES): Promise<Violation[]> {
  const asFixture = (r: RecordedResource, outputs: boolean): FixtureResource => ({ type: r.type, name: r.name, props: outputs ? { ...r.inputs, ...(unwrapSecrets(r.state) as Record<string, any>) } : r.inputs, protect: r.options.protect });
  const resourcePolicies = policies.filter((p): p is ResourceValidationPolicy => "validateResource" in p);
  const stackPolicies = policies.filter((p) => "validateStack" in p);
  return Promise.all([
    runPolicies(ev.stack, ev.resources.filter((r) => r.custom).map((r) => asFixture(r, false)), resourcePolicies),
    runPolicies(ev.stack, ev.resources.filter((r) => r.custom).map((r) => asFixture(r, true)), stackPolicies),
  ]).then(([a, b]) => [...a, ...b]);
}

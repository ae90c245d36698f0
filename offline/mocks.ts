/**
 * The mock engine behind the tests and the offline plan: it runs the real program under
 * `pulumi.runtime.setMocks`, records every resource (type, name, parent, resolved inputs,
 * which inputs are secret, and the options a reviewer cares about), answers the invokes the
 * program uses and throws on any other.
 */
import { trimStackCapture } from "./fast-start";
import { createRequire } from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { computedState } from "./computed";

/** A fake account and the region used when the stack sets none. */
export const MOCK_ACCOUNT = "123456789012";
export const DEFAULT_REGION = "eu-west-1";

/**
 * Resolved values as the Pulumi mock monitor hands them over (`MockResourceArgs.inputs` is `any` in
 * @pulumi/pulumi): unknown here, so whoever reads a value narrows it first.
 */
export type MockValues = Record<string, unknown>;

/** Options of a resource as the program declared them. */
export interface RecordedOptions {
  readonly protect?: boolean;
  readonly retainOnDelete?: boolean;
  readonly deleteBeforeReplace?: boolean;
  readonly ignoreChanges?: readonly string[];
  readonly replaceOnChanges?: readonly string[];
  readonly aliases?: readonly string[];
  readonly dependsOn?: readonly string[];
  readonly provider?: string;
  readonly additionalSecretOutputs?: readonly string[];
}

/** One registered resource. `inputs` are resolved; secret inputs are listed in `secretPaths`. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** `type::name` of the parent, or undefined for children of the stack. */
  readonly parent?: string;
  readonly custom: boolean;
  readonly inputs: MockValues;
  /** Dotted paths (e.g. `secretString`, `environment.variables.TOKEN`) of inputs that are Pulumi secrets. */
  readonly secretPaths: readonly string[];
  readonly options: RecordedOptions;
  /** Outputs returned by the mock (inputs plus computed attributes). */
  readonly state: MockValues;
}

/** An invoke the program made. */
export interface RecordedCall {
  readonly token: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** The result of one evaluation of the program. */
export interface Evaluation {
  readonly stack: string;
  readonly resources: readonly RecordedResource[];
  readonly calls: readonly RecordedCall[];
  /** Stack outputs, resolved. */
  readonly outputs: MockValues;
  /** Paths of stack outputs that are secrets. */
  readonly secretOutputs: readonly string[];
}

/** Folders of the evaluation harness, never re-evaluated with the program. */
const HARNESS = ["offline", "test", "bench"].map((dir) => path.join(__dirname, "..", dir) + path.sep);

/**
 * Loads the program through the CommonJS cache, so that deleting its modules from `load.cache` gives each
 * evaluation a fresh program (an `import` would hand back the module already evaluated).
 */
const load = createRequire(__filename);

/** The key a resource is known by in the records: `type::name`. */
export const keyOf = (type: string, name: string) => `${type}::${name}`;

interface Pending {
  type: string;
  name: string;
  parent?: string;
  options: RecordedOptions;
  secretPaths: Promise<string[]>;
}

async function findSecrets(value: unknown, at: string, out: string[], seen = new Set<unknown>()): Promise<void> {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  if (pulumi.Output.isInstance(value)) {
    if (await pulumi.isSecret(value)) {
      out.push(at);
      return;
    }
    const inner = await new Promise<unknown>((resolve) =>
      value.apply((v) => {
        resolve(v);
        return v;
      }),
    );
    await findSecrets(inner, at, out, seen);
    return;
  }
  if (value instanceof Promise) {
    await findSecrets(await value, at, out, seen);
    return;
  }
  if (
    pulumi.Resource.isInstance(value) ||
    pulumi.asset.Asset.isInstance(value) ||
    pulumi.asset.Archive.isInstance(value)
  )
    return;
  for (const [k, v] of Object.entries(value)) {
    await findSecrets(v, at ? `${at}.${k}` : k, out, seen);
  }
}

function resourceKey(
  res: pulumi.Resource | undefined,
  byResource: WeakMap<pulumi.Resource, string>,
): string | undefined {
  return res ? byResource.get(res) : undefined;
}

/**
 * Evaluates `programPath` (default: the repository's index.ts) for `stack` with `config`
 * (full `project:key` → string, as the CLI passes it; `secretKeys` are marked secret).
 */
export async function evaluate(opts: {
  stack: string;
  config: Record<string, string>;
  secretKeys?: string[];
  programPath?: string;
  project?: string;
}): Promise<Evaluation> {
  const project = opts.project ?? "dbt-pipeline";
  const region = opts.config["aws:region"] ?? DEFAULT_REGION;
  const pending = new Map<string, Pending>();
  const byResource = new WeakMap<pulumi.Resource, string>();
  const registered = new Map<string, { custom: boolean; inputs: unknown; state: MockValues }>();
  const calls: RecordedCall[] = [];
  const duplicates: string[] = [];
  trimStackCapture(pulumi);

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const key = keyOf(args.type, args.name);
        if (registered.has(key)) duplicates.push(key);
        const inputs = plainObject(args.inputs);
        const { id, state } = computedState(args.type, args.name, inputs, { account: MOCK_ACCOUNT, region });
        registered.set(key, { custom: args.custom ?? true, inputs, state });
        return { id, state };
      },
      call(args) {
        calls.push({ token: args.token, inputs: plainObject(args.inputs) });
        switch (args.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return {
              accountId: MOCK_ACCOUNT,
              arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/offline-plan`,
              userId: "AIDAOFFLINEPLAN",
              id: MOCK_ACCOUNT,
            };
          case "aws:index/getRegion:getRegion":
            return { name: region, region, id: region, description: region, endpoint: `ec2.${region}.amazonaws.com` };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
          default:
            throw new Error(`offline mocks: unexpected invoke ${args.token}; answer it in offline/mocks.ts`);
        }
      },
    },
    project,
    opts.stack,
    false,
  );
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys ?? []);

  const programPath = path.resolve(opts.programPath ?? path.join(__dirname, "..", "index.ts"));
  let exported: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(() => {
    pulumi.runtime.registerStackTransformation((args) => {
      const key = keyOf(args.type, args.name);
      byResource.set(args.resource, key);
      const o = args.opts;
      const names = (deps: unknown): string[] =>
        (Array.isArray(deps) ? deps : deps ? [deps] : [])
          .map((d) => (pulumi.Resource.isInstance(d) ? resourceKey(d, byResource) : undefined))
          .filter((d): d is string => d !== undefined);
      const secretPaths: string[] = [];
      pending.set(key, {
        type: args.type,
        name: args.name,
        parent: resourceKey(o.parent, byResource),
        options: {
          protect: o.protect,
          retainOnDelete: o.retainOnDelete,
          deleteBeforeReplace: (o as pulumi.CustomResourceOptions).deleteBeforeReplace,
          ignoreChanges: o.ignoreChanges,
          replaceOnChanges: o.replaceOnChanges,
          aliases: o.aliases?.map((a) =>
            typeof a === "string"
              ? a
              : JSON.stringify(a, (k: string, v: unknown) =>
                  k === "parent" && pulumi.Resource.isInstance(v) ? resourceKey(v, byResource) : v,
                ),
          ),
          dependsOn: names(o.dependsOn),
          provider: o.provider ? resourceKey(o.provider, byResource) : undefined,
          additionalSecretOutputs: (o as pulumi.CustomResourceOptions).additionalSecretOutputs,
        },
        secretPaths: findSecrets(args.props, "", secretPaths).then(() => secretPaths),
      });
      return undefined;
    });
    // Re-evaluate the program on every call: each evaluation is a fresh stack. The harness
    // (offline/, test/, bench/) stays loaded, so a test helper's cache of evaluations survives
    // into the next spec file a mocha worker runs.
    for (const id of Object.keys(load.cache)) {
      if (
        id === programPath ||
        (!id.includes(`${path.sep}node_modules${path.sep}`) && !HARNESS.some((dir) => id.startsWith(dir)))
      )
        delete load.cache[id];
    }
    exported = load(programPath) as Record<string, unknown>;
    return Promise.resolve(exported);
  });
  // Pulumi's runtime exports waitForRPCs (runtime/settings.js) without declaring it in settings.d.ts.
  await (load("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();
  if (duplicates.length) throw new Error(`offline mocks: resource names registered twice: ${duplicates.join(", ")}`);

  const resources: RecordedResource[] = [];
  for (const [key, p] of pending) {
    const reg = registered.get(key);
    if (!reg) continue; // The stack itself, or a resource whose registration failed.
    resources.push({
      type: p.type,
      name: p.name,
      parent: p.parent,
      custom: reg.custom,
      inputs: unwrapSecrets(reg.inputs) as MockValues,
      secretPaths: await p.secretPaths,
      options: Object.fromEntries(
        Object.entries(p.options).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)),
      ),
      state: reg.state,
    });
  }
  const outputs: MockValues = {};
  const secretOutputs: string[] = [];
  for (const [k, v] of Object.entries(exported)) {
    const found: string[] = [];
    await findSecrets(v, k, found);
    secretOutputs.push(...found);
    outputs[k] = await resolveDeep(v);
  }
  return { stack: opts.stack, resources, calls, outputs, secretOutputs };
}

/** The monitor's inputs for one resource or invoke: always an object, though Pulumi types them `any`. */
function plainObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`offline mocks: expected an object of inputs, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** The engine's wire form of a secret: `{ <sig>: <secret sig>, value }`. */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Replaces wire-form secrets with their values (secretness is kept in `secretPaths`). */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[SECRET_SIG_KEY] === SECRET_SIG) return unwrapSecrets(obj.value);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

async function resolveDeep(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    return resolveDeep(
      await new Promise((resolve) =>
        value.apply((v) => {
          resolve(v);
          return v;
        }),
      ),
    );
  }
  if (value instanceof Promise) return resolveDeep(await value);
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await resolveDeep(v);
    return out;
  }
  return value;
}

/**
 * Test helpers over the offline mock engine: evaluate a stack from its settings file (with
 * optional config overrides), cache the result, and find recorded resources.
 */
import * as path from "node:path";
import { Evaluation, RecordedResource, evaluate } from "../../offline/mocks";
import { readStackConfig } from "../../offline/stack-config";

/** Repository root. */
export const ROOT = path.join(__dirname, "..", "..");

const cache = new Map<string, Promise<Evaluation>>();

/**
 * Evaluates the program for `stack` with its `Pulumi.<stack>.yaml`, plus `overrides`
 * (keys without the `dbt-pipeline:` prefix; objects and lists are JSON-encoded; `undefined` removes a key).
 * Results are cached per stack and overrides.
 */
export function evaluateStack(stack: "dev" | "prod", overrides: Record<string, unknown> = {}): Promise<Evaluation> {
  const cacheKey = `${stack}:${JSON.stringify(overrides)}`;
  let ev = cache.get(cacheKey);
  if (!ev) {
    const { config, secretKeys } = readStackConfig(stack, ROOT);
    const merged = { ...config };
    for (const [k, v] of Object.entries(overrides)) {
      const key = k.includes(":") ? k : `dbt-pipeline:${k}`;
      if (v === undefined) delete merged[key];
      else merged[key] = typeof v === "string" ? v : JSON.stringify(v);
    }
    // Evaluations share the Pulumi runtime, so they must run one at a time.
    const run = queue.catch(() => undefined).then(() => evaluate({ stack, config: merged, secretKeys }));
    queue = run;
    cache.set(cacheKey, run);
    ev = run;
  }
  return ev;
}
let queue: Promise<unknown> = Promise.resolve();

/** All resources of `type` (optionally whose name matches). */
export function all(ev: Evaluation, type: string, name?: string | RegExp): RecordedResource[] {
  return ev.resources.filter(
    (r) => r.type === type && (name === undefined || (typeof name === "string" ? r.name === name : name.test(r.name))),
  );
}

/** The one resource of `type` named `name`; throws with the names that exist when absent. */
export function one(ev: Evaluation, type: string, name?: string | RegExp): RecordedResource {
  const found = all(ev, type, name);
  if (found.length !== 1) {
    throw new Error(
      `expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${
        all(ev, type)
          .map((r) => r.name)
          .join(", ") || "none of that type"
      }`,
    );
  }
  return found[0];
}

/** Parses a JSON string input (policies, container definitions); the caller narrows what it reads. */
export function json(value: unknown): unknown {
  if (typeof value !== "string") throw new Error(`expected a JSON string, got ${typeof value}`);
  return JSON.parse(value);
}

/** The evaluation restricted to the descendants of the component `parentKey` (`type::name`), for tests of one component. */
export function within(ev: Evaluation, parentKey: string): Evaluation {
  const byKey = new Map(ev.resources.map((r) => [`${r.type}::${r.name}`, r]));
  const inside = (r: RecordedResource): boolean => {
    for (let p = r.parent; p; p = byKey.get(p)?.parent) if (p === parentKey) return true;
    return false;
  };
  return { ...ev, resources: ev.resources.filter(inside) };
}

/**
 * Realistic (fake) values for the stacks' secure config, so secret scans have something to find.
 * Specs that pass these as overrides share one cached evaluation per stack.
 */
export const FAKE_SECRETS = {
  "snowflake.adminPrivateKey":
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7FAKEFAKEFAKE\n-----END PRIVATE KEY-----\n",
  "fivetran.webhookSecret": "fivetran-signing-secret-7f3a9c2e",
  "airbyte.webhookToken": "AirbyteToken_0123456789abcdef0123456789abcdef",
  "notify.slackWebhookUrl": "https://hooks.slack.com/services/T0FAKE000/B0FAKE000/fakefakefakefakefake1234",
} as const;

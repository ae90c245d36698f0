import { expect } from "chai";
import { EventBridgeSchema as PowertoolsEventBridge } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import { SnsSchema as PowertoolsSns } from "@aws-lambda-powertools/parser/schemas/sns";
import { EventBridgeSchema, SnsEventSchema } from "../../functions/lib/envelopes";
import { fixtureText } from "./support";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { safeParse(input: unknown): { success: boolean; data?: unknown; error?: { issues: Issue[] } } };
type Issue = { code: string; path: PropertyKey[] };

/** Every input one edit away from `base`: each field removed, nulled, made a number, a bad URL or time, or an extra key. */
function variants(base: Json): Json[] {
  const out: Json[] = [base];
  const edit = (
    path: (string | number)[],
    make: (parent: { [k: string]: Json } | Json[], key: string | number) => void,
  ) => {
    const copy = JSON.parse(JSON.stringify(base)) as Json;
    let parent = copy as { [k: string]: Json } | Json[];
    for (const step of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[step] as typeof parent;
    make(parent, path[path.length - 1]);
    out.push(copy);
  };
  const walk = (value: Json, path: (string | number)[]) => {
    if (path.length) {
      const set = (v: Json) => (p: Record<string | number, Json>, k: string | number) => void (p[k] = v);
      edit(path, (p, k) => (Array.isArray(p) ? p.splice(Number(k), 1) : delete p[k]));
      for (const v of [null, 42, "not a url or a time", "", [], {}]) edit(path, set(v) as never);
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (value && typeof value === "object") {
      edit([...path, "extraKey"], (p, k) => void ((p as Record<string, Json>)[k] = "x"));
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    }
  };
  walk(base, []);
  return out;
}

/** What a caller can see of a parse: success, the data, or where and why it failed. */
const outcome = (schema: Schema, input: unknown) => {
  const r = schema.safeParse(input);
  return r.success
    ? { success: true, data: r.data }
    : { success: false, issues: r.error!.issues.map((i) => `${i.code} at ${i.path.map(String).join(".")}`).sort() };
};

// The handlers read SNS and EventBridge envelopes through copies of the Powertools parser's schemas
// on zod/mini (functions/lib/envelopes.ts; the parser's are classic zod, ~105 KB per bundle). These
// parse every input both ways, so a Powertools upgrade that changes a check fails here.
describe("AWS envelopes: the zod/mini copies accept and reject what the Powertools parser does", () => {
  const cases: [string, Schema, Schema, Json][] = [
    ["SNS event", SnsEventSchema, PowertoolsSns, JSON.parse(fixtureText("sns/lambda-event.json")) as Json],
    [
      "EventBridge envelope",
      EventBridgeSchema,
      PowertoolsEventBridge,
      JSON.parse(fixtureText("ecs/task-stopped-success.json")) as Json,
    ],
  ];
  for (const [name, ours, powertools, base] of cases) {
    it(`${name}: the fixture and each one-edit variant of it`, () => {
      const inputs = variants(base);
      const differ = inputs.filter(
        (input) => JSON.stringify(outcome(ours, input)) !== JSON.stringify(outcome(powertools, input)),
      );
      expect(differ).to.deep.equal([]);
      // The variants do exercise both answers.
      expect(inputs.filter((i) => ours.safeParse(i).success).length).to.be.within(2, inputs.length - 2);
    });
  }
});

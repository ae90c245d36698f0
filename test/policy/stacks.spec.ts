/**
 * The rules this pipeline lives by, checked over every resource of both stacks: the policy pack
 * finds nothing, no secret is in plain text anywhere, prod's state survives a mistaken destroy.
 */
import { expect } from "chai";
import { z } from "zod";
import { Evaluation } from "../../offline/mocks";
import { SECRET_PATTERNS } from "../../policy/secret-rules";
import { evaluateStack, FAKE_SECRETS } from "../helpers/stack";
import { runPoliciesOnStack } from "./harness";

const SECRETS = FAKE_SECRETS;

/** Strings not under a secret path, with where they were found. */
function plainStrings(ev: Evaluation): { where: string; value: string }[] {
  const out: { where: string; value: string }[] = [];
  const walk = (value: unknown, at: string, secret: readonly string[], where: string) => {
    if (secret.some((s) => at === s || at.startsWith(`${s}.`))) return;
    if (typeof value === "string") out.push({ where: `${where} ${at}`, value });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, at ? `${at}.${i}` : String(i), secret, where));
    else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, at ? `${at}.${k}` : k, secret, where);
  };
  for (const r of ev.resources) walk(r.inputs, "", r.secretPaths, `${r.type} ${r.name}:`);
  walk(ev.outputs, "", ev.secretOutputs, "stack output");
  return out;
}

for (const stack of ["dev", "prod"] as const) {
  describe(`${stack} stack rules`, () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateStack(stack, SECRETS);
    });

    it("the policy pack finds no violation", async () => {
      expect(await runPoliciesOnStack(ev)).to.deep.equal([]);
    });

    it("no private key, webhook URL or token is in a non-secret input or output", () => {
      const leaks = plainStrings(ev).flatMap(({ where, value }) => [
        ...SECRET_PATTERNS.filter((p) => p.re.test(value)).map((p) => `${where} holds ${p.name}`),
        ...Object.entries(SECRETS)
          .filter(([, s]) => value.includes(s.trim().split("\n")[1] ?? s) || value.includes(s))
          .map(([k]) => `${where} holds the value of ${k}`),
      ]);
      expect(leaks).to.deep.equal([]);
    });

    it("every secret config value reaches a resource, and only as a Pulumi secret", () => {
      const valueAt = (v: unknown, path: string) =>
        path
          .split(".")
          .reduce<unknown>((x, k) => (x && typeof x === "object" ? (x as Record<string, unknown>)[k] : undefined), v);
      const secretStrings = ev.resources.flatMap((r) =>
        r.secretPaths.map((p) => JSON.stringify(valueAt(r.inputs, p)) ?? ""),
      );
      for (const [key, value] of Object.entries(SECRETS)) {
        expect(
          secretStrings.some((s) => s.includes(JSON.stringify(value).slice(1, -1))),
          key,
        ).to.equal(true);
      }
    });
  });
}

describe("stateful resources survive a mistaken destroy", () => {
  const stateful = (ev: Evaluation) =>
    ev.resources.filter(
      (r) =>
        r.type === "snowflake:index/database:Database" ||
        (r.type === "snowflake:index/schema:Schema" && r.inputs.name === "RAW") ||
        (r.type === "aws:s3/bucket:Bucket" && String(r.inputs.bucket).includes("-artifacts")),
    );

  it("prod: the database, the RAW schema and the artifact bucket are protected and retained", async () => {
    const found = stateful(await evaluateStack("prod"));
    expect(found.map((r) => r.type).sort()).to.deep.equal([
      "aws:s3/bucket:Bucket",
      "snowflake:index/database:Database",
      "snowflake:index/schema:Schema",
    ]);
    for (const r of found) expect(r.options, `${r.type} ${r.name}`).to.include({ protect: true, retainOnDelete: true });
  });

  it("dev: nothing is protected, so a dev stack can be torn down", async () => {
    const ev = await evaluateStack("dev");
    expect(stateful(ev)).to.have.length(3);
    expect(ev.resources.filter((r) => r.options.protect || r.options.retainOnDelete).map((r) => r.name)).to.deep.equal(
      [],
    );
  });

  it("no resource carries a rename alias (the package has renamed nothing yet)", async () => {
    // @pulumi/aws adds type-only aliases itself (e.g. s3.Bucket ← s3.BucketV2); those are not renames.
    const renames = (aliases: readonly string[] = []) =>
      aliases.filter((a) =>
        Object.keys(z.record(z.string(), z.unknown()).parse(JSON.parse(a))).some((k) => k !== "type"),
      );
    const ev = await evaluateStack("prod");
    expect(
      ev.resources.filter((r) => renames(r.options.aliases).length).map((r) => `${r.type}::${r.name}`),
    ).to.deep.equal([]);
  });
});

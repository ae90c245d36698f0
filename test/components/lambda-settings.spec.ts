/**
 * Stack-wide Lambda switches applied to every NodeFunction: X-Ray active tracing with its
 * permission (lambda.tracing), and reservations only where lambda.reservedConcurrency opts in.
 */
import { expect } from "chai";
import { all, evaluateStack } from "../helpers/stack";
import { at, statementsOf, str } from "./recorded";

const FUNCTIONS = ["dispatch", "launch", "notify", "freshness"];
const fnOf = (name: string) => `dbt-pipeline-dev-${name}`;
const XRAY = {
  Sid: "SendTraces",
  Effect: "Allow",
  Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
  Resource: "*",
};

describe("Lambda settings", () => {
  it("by default: every function traces actively and may send segments; no function reserves concurrency", async () => {
    const ev = await evaluateStack("dev");
    const fns = all(ev, "aws:lambda/function:Function");
    expect(fns.map((f) => at(f.inputs, "name")).sort()).to.deep.equal(FUNCTIONS.map(fnOf).sort());
    for (const f of fns) {
      expect(f.inputs.tracingConfig, f.name).to.deep.equal({ mode: "Active" });
      expect(f.inputs.reservedConcurrentExecutions, f.name).to.equal(undefined);
    }
    const policies = all(ev, "aws:iam/rolePolicy:RolePolicy").filter((p) =>
      FUNCTIONS.map(fnOf).includes(str(p.inputs, "role")),
    );
    expect(policies).to.have.length(4);
    for (const p of policies) expect(statementsOf(p.inputs.policy), p.name).to.deep.include(XRAY);
  });

  it("lambda.tracing false: pass-through tracing and no X-Ray permission on any function role", async () => {
    const ev = await evaluateStack("dev", { "lambda.tracing": false });
    for (const f of all(ev, "aws:lambda/function:Function"))
      expect(f.inputs.tracingConfig, f.name).to.deep.equal({ mode: "PassThrough" });
    const text = JSON.stringify(all(ev, "aws:iam/rolePolicy:RolePolicy").map((p) => at(p.inputs, "policy")));
    expect(text).not.to.include("xray:");
  });

  it("lambda.reservedConcurrency reserves exactly for the functions it names", async () => {
    const ev = await evaluateStack("dev", { "lambda.reservedConcurrency": { launch: 2, notify: 5 } });
    const reserved = Object.fromEntries(
      all(ev, "aws:lambda/function:Function").map((f) => [
        str(f.inputs, "name"),
        at(f.inputs, "reservedConcurrentExecutions"),
      ]),
    );
    expect(reserved).to.deep.equal({
      [fnOf("dispatch")]: undefined,
      [fnOf("launch")]: 2,
      [fnOf("notify")]: 5,
      [fnOf("freshness")]: undefined,
    });
  });

  it("refuses a reservation for a function the package does not have", async () => {
    let message = "";
    await evaluateStack("dev", { "lambda.reservedConcurrency": { lauch: 2 } }).catch((e: Error) => {
      message = e.message;
    });
    expect(message)
      .to.include("dbt-pipeline:lambda.reservedConcurrency")
      .and.include("expected a function name: dispatch, launch, notify, freshness");
  });
});

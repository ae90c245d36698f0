/** The cost of the change-detection tasks under both compute models (offline/cost.ts). */
import { expect } from "chai";
import { buildConfig, parseConfig } from "../../config";
import { DEFAULT_WORKLOAD, estimateMonthlyCost, streamTaskCredits } from "../../offline/cost";
import { readStackConfig } from "../../offline/stack-config";
import { ROOT } from "../helpers/stack";

const configOf = (over: Record<string, string> = {}) => {
  const raw = {
    ...readStackConfig("dev", ROOT).config,
    // The default interval (dev's stack file sets 1440 for its idle cost).
    "dbt-pipeline:snowflake.reconcileScheduleMinutes": "10",
    ...Object.fromEntries(Object.entries(over).map(([k, v]) => [`dbt-pipeline:${k}`, v])),
  };
  return buildConfig(parseConfig(raw, "dev").values!, "dbt-pipeline", "dev");
};

describe("change-detection task cost", () => {
  // dev: 3 watched tables × 24 loads × 30 days = 2160 task runs; a reconciler run every 10 minutes = 4320 runs.
  it("serverless: seconds of work only, at the serverless multiplier", () => {
    const c = streamTaskCredits(configOf());
    expect(c.runs).to.equal(2160);
    expect(c.reconcileRuns).to.equal(4320);
    // (2160 × 10 s + 4320 × 5 s) / 3600 × 1 credit/h × 0.9 = 10.8 credits
    expect(c.serverless).to.be.closeTo(10.8, 1e-9);
  });

  it("warehouse: every run pays the 60 s minimum plus the auto-suspend tail", () => {
    // (2160 × 70 s + 4320 × 65 s) / 3600 × 1 credit/h = 120 credits
    expect(streamTaskCredits(configOf({ "snowflake.taskCompute": "warehouse" })).warehouse).to.be.closeTo(120, 1e-9);
  });

  it("the estimate shows both models and counts only the configured one", () => {
    const serverless = estimateMonthlyCost(configOf(), DEFAULT_WORKLOAD);
    const lines = serverless.filter((l) => l.item.includes("change-detection tasks"));
    expect(lines).to.deep.equal([
      {
        item: "Snowflake serverless change-detection tasks",
        usd: 32.4,
        basis: "10.8 credits: 2160 task runs + 4320 reconciler runs, per second, no minimum, × 0.9",
      },
      {
        item: "Snowflake XSMALL loading warehouse (change-detection tasks)",
        usd: 0,
        basis:
          "120.0 credits: 2160 task runs + 4320 reconciler runs, each resumes the warehouse: 60 s minimum + 60 s auto-suspend tail (alternative: $360.00, not in the total)",
      },
    ]);
    const warehouse = estimateMonthlyCost(configOf({ "snowflake.taskCompute": "warehouse" })).filter((l) =>
      l.item.includes("change-detection tasks"),
    );
    expect(warehouse.map((l) => l.usd)).to.deep.equal([0, 360]);
    expect(warehouse[0].basis).to.equal(
      "10.8 credits: 2160 task runs + 4320 reconciler runs, per second, no minimum, × 0.9 (alternative: $32.40, not in the total)",
    );
  });
});

import { expect } from "chai";
import { buildConfig, parseConfig } from "../../config";
import {
  CREDITS_PER_HOUR,
  DEFAULT_WORKLOAD,
  LIST_PRICES,
  billedWarehouseSeconds,
  estimateMonthlyCost,
  renderCost,
} from "../../offline/cost";
import { readStackConfig } from "../../offline/stack-config";
import { ROOT } from "../helpers/stack";

const configOf = (stack: "dev" | "prod", over: Record<string, string> = {}) => {
  const raw = {
    ...readStackConfig(stack, ROOT).config,
    ...Object.fromEntries(Object.entries(over).map(([k, v]) => [`dbt-pipeline:${k}`, v])),
  };
  return buildConfig(parseConfig(raw, stack).values!, "dbt-pipeline", stack);
};
const line = (lines: ReturnType<typeof estimateMonthlyCost>, prefix: string) =>
  lines.find((l) => l.item.startsWith(prefix))!;

describe("monthly cost model", () => {
  const billed: [number, number, number][] = [
    [10, 60, 70],
    [0, 60, 60],
    [30, 0, 60],
    [180, 60, 240],
    [900, 300, 1200],
  ];
  for (const [busy, suspend, expected] of billed) {
    it(`bills ${expected} s for ${busy} s of work with a ${suspend} s auto-suspend (60 s minimum)`, () =>
      expect(billedWarehouseSeconds(busy, suspend)).to.equal(expected));
  }

  it("credits per hour double with each warehouse size", () => {
    const sizes = Object.values(CREDITS_PER_HOUR);
    sizes.slice(1).forEach((c, i) => expect(c).to.equal(sizes[i] * 2));
  });

  it("prices the dev transforming warehouse from runs, auto-suspend and the credit price", () => {
    const lines = estimateMonthlyCost(configOf("dev"));
    // 720 runs × (180 + 60) s + 30 refreshes × (900 + 60) s = 201,600 s = 56 h of XSMALL (1 credit/h).
    expect(line(lines, "Snowflake XSMALL transforming")).to.deep.include({ usd: 56 * LIST_PRICES.snowflakeCredit });
  });

  it("a larger warehouse or a longer auto-suspend costs more, in proportion", () => {
    const base = line(estimateMonthlyCost(configOf("dev")), "Snowflake XSMALL transforming").usd;
    expect(
      line(
        estimateMonthlyCost(configOf("dev", { "snowflake.transformingWarehouseSize": "MEDIUM" })),
        "Snowflake MEDIUM transforming",
      ).usd,
    ).to.equal(base * 4);
    expect(
      line(
        estimateMonthlyCost(configOf("dev", { "snowflake.autoSuspendSeconds": "300" })),
        "Snowflake XSMALL transforming",
      ).usd,
    ).to.be.greaterThan(base);
  });

  it("prices Fargate by task-hours, CPU, memory and architecture", () => {
    const arm = line(estimateMonthlyCost(configOf("dev")), "Fargate").usd;
    const x86 = line(estimateMonthlyCost(configOf("dev", { "dbt.arm64": "false" })), "Fargate").usd;
    // (720 × 4.5 + 30 × 16.5) min = 62.25 h × (0.5 vCPU × 0.03238 + 1 GB × 0.00356).
    expect(arm).to.equal(Math.round(62.25 * (0.5 * 0.03238 + 1 * 0.00356) * 100) / 100);
    expect(x86).to.be.greaterThan(arm);
  });

  it("has no NAT cost in the created network", () => {
    expect(line(estimateMonthlyCost(configOf("prod")), "NAT gateway")).to.deep.equal({
      item: "NAT gateway",
      usd: 0,
      basis: "none: public subnets, no NAT",
    });
  });

  it("renders every line and the total", () => {
    const lines = estimateMonthlyCost(configOf("prod"));
    const text = renderCost(lines, DEFAULT_WORKLOAD);
    const total = lines.reduce((s, l) => s + l.usd, 0);
    expect(text.split("\n")).to.have.length(lines.length + 2);
    expect(text).to.match(new RegExp(`Total +\\$ +${total.toFixed(2).replace(".", "\\.")}$`));
  });
});

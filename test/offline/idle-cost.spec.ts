import { expect } from "chai";
import { buildConfig, parseConfig } from "../../config";
import { DEFAULT_IDLE, estimateIdleMonth, renderIdle, runsPerMonth } from "../../offline/idle-cost";
import { readStackConfig } from "../../offline/stack-config";
import { ROOT } from "../helpers/stack";

const configOf = (stack: "dev" | "prod", over: Record<string, string> = {}) => {
  const raw = {
    ...readStackConfig(stack, ROOT).config,
    ...Object.fromEntries(Object.entries(over).map(([k, v]) => [`dbt-pipeline:${k}`, v])),
  };
  return buildConfig(parseConfig(raw, stack).values!, "dbt-pipeline", stack);
};
const usd = (lines: ReturnType<typeof estimateIdleMonth>, item: string) => {
  const found = lines.find((l) => l.item === item);
  if (!found) throw new Error(`no line ${item}: ${lines.map((l) => l.item).join(", ")}`);
  return found.usd;
};
const total = (lines: ReturnType<typeof estimateIdleMonth>) =>
  Math.round(lines.reduce((s, l) => s + l.usd, 0) * 100) / 100;

describe("idle month cost model", () => {
  const schedules: [string, number][] = [
    ["cron(5 * * * ? *)", 720],
    ["cron(0 2 * * ? *)", 30],
    ["cron(0 2,14 * * ? *)", 60],
    ["cron(*/15 * * * ? *)", 2880],
    ["cron(0 2 ? * MON-FRI *)", (5 * 30) / 7],
    ["cron(0 2 ? * SUN *)", 30 / 7],
    ["rate(1 hour)", 720],
    ["rate(5 minutes)", 8640],
    ["rate(1 day)", 30],
  ];
  for (const [expression, runs] of schedules) {
    it(`counts ${runs.toFixed(2)} runs a month for ${expression}`, () =>
      expect(runsPerMonth(expression)).to.be.closeTo(runs, 1e-9));
  }

  it("refuses a schedule it cannot count instead of guessing", () => {
    expect(() => runsPerMonth("cron(0 2 1 JAN ? *)")).to.throw("cannot count the runs of cron(0 2 1 JAN ? *)");
  });

  it("dev as configured: 720 hourly runs that each resume the XSMALL warehouse for 75 s dominate", () => {
    const lines = estimateIdleMonth(configOf("dev"));
    // 720 × (15 s + 60 s auto-suspend) = 15 h of XSMALL at 1 credit/h × $3.
    expect(usd(lines, "Hourly runs: transforming warehouse")).to.equal(45);
    // 30 × (180 s + 60 s) = 2 h × $3.
    expect(usd(lines, "Full refreshes: transforming warehouse")).to.equal(6);
    // 720 × 2.5 min = 30 task-hours × (0.5 × 0.03238 + 1 × 0.00356 + 0.005 public IPv4).
    expect(usd(lines, "Hourly runs: Fargate and public IPv4")).to.equal(0.74);
    expect(usd(lines, "Stream tasks: loading warehouse")).to.equal(0);
    // 3 sources + SourcesSnapshotAgeMinutes + 7 run metrics at $0.30.
    expect(usd(lines, "CloudWatch custom metrics")).to.equal(3.3);
    expect(usd(lines, "Secrets Manager")).to.equal(2);
    // 30 × 24 × 6 = 4320 reconciler runs × 5 s = 6 h of serverless XSMALL × 0.9 = 5.4 credits × $3.
    expect(usd(lines, "Change-detection reconciler (Snowflake)")).to.equal(16.2);
    // (8640 freshness checks + 8640 sweeps + 750 runs × 4) × 0.3 s × 0.25 GB × $0.0000133334 + requests.
    expect(usd(lines, "Lambda (arm64)")).to.equal(0.02);
    expect(total(lines)).to.equal(78.6);
  });

  it("skipping the hourly dbt task when nothing loaded removes the hourly lines and their logs", () => {
    const lines = estimateIdleMonth(configOf("dev"), { ...DEFAULT_IDLE, skipHourlyWhenNothingLoaded: true });
    expect(usd(lines, "Hourly runs: transforming warehouse")).to.equal(0);
    expect(usd(lines, "Hourly runs: Fargate and public IPv4")).to.equal(0);
    expect(lines.find((l) => l.item === "Hourly runs: transforming warehouse")!.basis).to.match(
      /^720 scheduled, none starts dbt/,
    );
    expect(total(lines)).to.equal(32.79);
  });

  it("dev with the hourly run and the daily full refresh off idles at $24.63: the reconciler and the fixed items", () => {
    const lines = estimateIdleMonth(
      configOf("dev", { "triggers.hourlyEnabled": "false", "triggers.fullRefreshEnabled": "false" }),
    );
    expect(lines.filter((l) => l.usd > 0).map((l) => [l.item, l.usd])).to.deep.equal([
      ["Change-detection reconciler (Snowflake)", 16.2],
      ["Lambda (arm64)", 0.02],
      ["CloudWatch Logs", 0.01],
      ["CloudWatch custom metrics", 1.2],
      ["CloudWatch alarms", 1.1],
      ["CloudWatch dashboard", 3],
      ["KMS customer-managed key", 1],
      ["Secrets Manager", 2],
      ["ECR image storage", 0.1],
    ]);
    expect(total(lines)).to.equal(24.63);
  });

  it("scheduled stream tasks run twice a day per table against staleness even with no data", () => {
    const lines = estimateIdleMonth(configOf("dev", { "snowflake.taskMode": "scheduled" }));
    // 3 RAW tables × 2 a day × 30 days = 180 runs × 70 s billed = 3.5 h of XSMALL × $3.
    expect(usd(lines, "Stream tasks: loading warehouse")).to.equal(10.5);
  });

  it("prod idles on a SMALL warehouse: the hourly line doubles", () => {
    const lines = estimateIdleMonth(configOf("prod"));
    expect(usd(lines, "Hourly runs: transforming warehouse")).to.equal(90);
    expect(renderIdle("prod", lines).split("\n")[0]).to.equal(
      "Idle month of prod (no loads, no webhooks; model, not a bill):",
    );
    expect(renderIdle("prod", lines).split("\n").at(-1)).to.match(/^ {2}Total +\$ +130\.49$/);
  });
});

import { expect } from "chai";
import { buildConfig, parseConfig } from "../../config";
import {
  DEFAULT_IDLE,
  Inventory,
  estimateIdleMonth,
  inventoryOf,
  renderIdle,
  runsPerMonth,
} from "../../offline/idle-cost";
import { readStackConfig } from "../../offline/stack-config";
import { ROOT, evaluateStack } from "../helpers/stack";

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
/** What both shipped stacks create (asserted against the program below). */
const SHIPPED: Inventory = {
  alarms: 15,
  dashboards: 1,
  kmsKeys: 1,
  secrets: 5,
  interfaceEndpointAzs: 0,
  natGateways: 0,
};

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

  for (const stack of ["dev", "prod"] as const) {
    it(`counts the billed fixed resources ${stack} creates from the evaluated program`, async () => {
      // 3 staleness alarms (one per source) + 3 on launch's metrics + the others of components/observability; 3 webhook
      // and Slack secrets + 2 Snowflake service-user keys; the alert topic's key; one dashboard.
      expect(inventoryOf((await evaluateStack(stack)).resources)).to.deep.equal(SHIPPED);
    });
  }

  it("counts interface endpoints per subnet and NAT gateways, and leaves gateway endpoints out", () => {
    expect(
      inventoryOf([
        { type: "aws:ec2/vpcEndpoint:VpcEndpoint", inputs: { vpcEndpointType: "Interface", subnetIds: ["a", "b"] } },
        { type: "aws:ec2/vpcEndpoint:VpcEndpoint", inputs: { vpcEndpointType: "Gateway" } },
        { type: "aws:ec2/natGateway:NatGateway", inputs: {} },
        { type: "aws:cloudwatch/compositeAlarm:CompositeAlarm", inputs: {} },
      ]),
    ).to.deep.equal({ alarms: 1, dashboards: 0, kmsKeys: 0, secrets: 0, interfaceEndpointAzs: 2, natGateways: 1 });
  });

  it("dev as shipped idles under $10: no dbt task for idle hours, no scheduled full refresh, a daily reconciler", () => {
    const lines = estimateIdleMonth(configOf("dev"), SHIPPED);
    expect(lines.map((l) => [l.item, l.usd])).to.deep.equal([
      ["Hourly runs: transforming warehouse", 0],
      ["Hourly runs: Fargate and public IPv4", 0],
      ["Full refreshes: transforming warehouse", 0],
      ["Full refreshes: Fargate and public IPv4", 0],
      ["Stream tasks: loading warehouse", 0],
      // 30 runs × 5 s = 150 s of serverless XSMALL × 0.9 = 0.0375 credits × $3.
      ["Change-detection reconciler (Snowflake)", 0.11],
      // (8640 freshness checks + 8640 sweeps + 720 skipped hourly runs × 2) × 0.3 s × 0.25 GB.
      ["Lambda (arm64)", 0.02],
      // 8640 checks × 2 KB.
      ["CloudWatch Logs", 0.01],
      // 3 sources + SourcesSnapshotAgeMinutes + RunsQueued and launch's skip metric, $0.30 each.
      ["CloudWatch custom metrics", 1.8],
      ["CloudWatch alarms", 1.5],
      ["CloudWatch dashboard", 3],
      ["KMS customer-managed key", 1],
      ["Secrets Manager", 2],
      ["VPC: interface endpoints and NAT gateways", 0],
      ["ECR image storage", 0.1],
      ["SQS, DynamoDB, API Gateway, Scheduler, S3", 0],
    ]);
    expect(total(lines)).to.equal(9.54);
    expect(lines[0].basis).to.match(
      /^720 scheduled, none starts dbt: nothing loaded since the last run \(triggers\.hourlySkipWhenIdle \[config\]\)/,
    );
  });

  it("dev without the hourly skip: 720 hourly runs that each resume the XSMALL warehouse for 75 s", () => {
    const lines = estimateIdleMonth(configOf("dev"), SHIPPED, { ...DEFAULT_IDLE, hourlySkipWhenIdle: false });
    // 720 × (15 s + 60 s auto-suspend) = 15 h of XSMALL at 1 credit/h × $3.
    expect(usd(lines, "Hourly runs: transforming warehouse")).to.equal(45);
    // 720 × 2.5 min = 30 task-hours × (0.5 × 0.03238 + 1 × 0.00356 + 0.005 public IPv4).
    expect(usd(lines, "Hourly runs: Fargate and public IPv4")).to.equal(0.74);
    // 3 sources + SourcesSnapshotAgeMinutes + 7 run metrics.
    expect(usd(lines, "CloudWatch custom metrics")).to.equal(3.3);
    expect(total(lines)).to.equal(56.85);
  });

  it("prices the daily full refresh and the 10-minute reconciler where a stack keeps the defaults", () => {
    const lines = estimateIdleMonth(
      configOf("dev", { "triggers.fullRefreshEnabled": "true", "snowflake.reconcileScheduleMinutes": "10" }),
      SHIPPED,
    );
    // 30 × (180 s + 60 s) = 2 h × $3.
    expect(usd(lines, "Full refreshes: transforming warehouse")).to.equal(6);
    // 30 × 24 × 6 = 4320 reconciler runs × 5 s = 6 h of serverless XSMALL × 0.9 = 5.4 credits × $3.
    expect(usd(lines, "Change-detection reconciler (Snowflake)")).to.equal(16.2);
  });

  it("scheduled stream tasks run twice a day per table against staleness even with no data", () => {
    const lines = estimateIdleMonth(configOf("dev", { "snowflake.taskMode": "scheduled" }), SHIPPED);
    // 3 RAW tables × 2 a day × 30 days = 180 runs × 70 s billed = 3.5 h of XSMALL × $3.
    expect(usd(lines, "Stream tasks: loading warehouse")).to.equal(10.5);
  });

  it("prices interface endpoints per AZ-hour and NAT gateways per hour", () => {
    const lines = estimateIdleMonth(configOf("dev"), { ...SHIPPED, interfaceEndpointAzs: 2, natGateways: 1 });
    // 720 h × (2 × $0.01 + $0.045).
    expect(usd(lines, "VPC: interface endpoints and NAT gateways")).to.equal(46.8);
  });

  it("prod idles on a SMALL warehouse with the hourly run, the daily full refresh and the 10-minute reconciler", () => {
    const lines = estimateIdleMonth(configOf("prod"), SHIPPED);
    expect(usd(lines, "Hourly runs: transforming warehouse")).to.equal(90);
    expect(usd(lines, "Full refreshes: transforming warehouse")).to.equal(12);
    expect(usd(lines, "Change-detection reconciler (Snowflake)")).to.equal(16.2);
    expect(renderIdle("prod", lines).split("\n")[0]).to.equal(
      "Idle month of prod (no loads, no webhooks; model, not a bill):",
    );
    expect(renderIdle("prod", lines).split("\n").at(-1)).to.match(/^ {2}Total +\$ +130\.89$/);
    const skipped = estimateIdleMonth(configOf("prod"), SHIPPED, { ...DEFAULT_IDLE, hourlySkipWhenIdle: true });
    expect(total(skipped)).to.equal(39.55);
  });
});

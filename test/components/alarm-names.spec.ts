/** Alarm names: CloudWatch allows 255 characters, so every valid source name fits whole. */
import { expect } from "chai";
import { ALARM_NAME_MAX, alarmName, staleSourceAlarm } from "../../components/observability/alarms";
import { all, evaluateStack } from "../helpers/stack";
import { at } from "./recorded";

/** The longest source name config accepts (lower_snake_case, 63 characters). */
const LONGEST = `s${"_long".repeat(12)}_x`.padEnd(63, "y");

describe("alarm names", () => {
  it("the longest valid source name gives a whole, readable alarm name (no 64-character check)", () => {
    expect(LONGEST).to.have.length(63);
    const name = `dbt-pipeline-production-stale-${LONGEST.replace(/_/g, "-")}`;
    expect(staleSourceAlarm("production", LONGEST, 60).name).to.equal(name);
    expect(name.length).to.be.above(64).and.below(ALARM_NAME_MAX);
  });

  it("only a name past 255 characters is cut, with a stable hash of the full name", () => {
    const part = "x".repeat(300);
    const a = alarmName("dev", part);
    expect(a).to.have.length(255);
    expect(a).to.match(/^dbt-pipeline-dev-x+-[0-9a-f]{8}$/);
    expect(alarmName("dev", part)).to.equal(a);
    expect(alarmName("dev", `${part}y`)).not.to.equal(a);
    expect(alarmName("dev", "errors-launch")).to.equal("dbt-pipeline-dev-errors-launch");
  });

  it("a stack with a 63-character source name evaluates, with its stale alarm", async () => {
    const ev = await evaluateStack("dev", {
      sources: { [LONGEST]: { fivetranConnectors: ["long_connector"], staleAfterMinutes: 60 } },
    });
    expect(all(ev, "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => at(a.inputs, "name"))).to.include(
      `dbt-pipeline-dev-stale-${LONGEST.replace(/_/g, "-")}`,
    );
  });
});

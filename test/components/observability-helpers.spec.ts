import { expect } from "chai";
import { queueNameFromArn, taskStoppedPattern } from "../../components/observability";
import {
  consecutiveFailuresAlarm,
  deadLetterAlarm,
  errorRateAlarm,
  staleSourceAlarm,
} from "../../components/observability/alarms";
import { dashboardBody } from "../../components/observability/dashboard";

describe("observability helpers", () => {
  describe("queue names from ARNs", () => {
    const table: [string, string][] = [
      ["arn:aws:sqs:eu-west-1:123456789012:dbt-pipeline-dev-runs-dlq.fifo", "dbt-pipeline-dev-runs-dlq.fifo"],
      ["arn:aws:sqs:eu-west-1:123456789012:dbt-pipeline-dev-dispatch-dlq", "dbt-pipeline-dev-dispatch-dlq"],
    ];
    for (const [input, name] of table) it(input, () => expect(queueNameFromArn(input)).to.equal(name));
    it("rejects anything else", () => {
      expect(() => queueNameFromArn("arn:aws:sns:eu-west-1:123456789012:topic")).to.throw(
        "not an SQS queue ARN: arn:aws:sns:eu-west-1:123456789012:topic",
      );
      expect(() => queueNameFromArn("dbt-pipeline-dev-dispatch-dlq")).to.throw(
        "not an SQS queue ARN: dbt-pipeline-dev-dispatch-dlq",
      );
    });
  });

  it("builds the task-stopped pattern", () => {
    expect(taskStoppedPattern("arn:aws:ecs:eu-west-1:1:cluster/c", "fam")).to.deep.equal({
      source: ["aws.ecs"],
      "detail-type": ["ECS Task State Change"],
      detail: { clusterArn: ["arn:aws:ecs:eu-west-1:1:cluster/c"], lastStatus: ["STOPPED"], group: ["family:fam"] },
    });
  });

  describe("alarm names stay valid for any label", () => {
    const table: [string, string, string][] = [
      ["source with underscores", staleSourceAlarm("dev", "web_events", 60).name, "dbt-pipeline-dev-stale-web-events"],
      ["queue label with dots", deadLetterAlarm("dev", "Runs.FIFO", "q").name, "dbt-pipeline-dev-dlq-runs-fifo"],
      ["function label", errorRateAlarm("prod", "dispatch", "f", 5).name, "dbt-pipeline-prod-errors-dispatch"],
      ["failures in a row", consecutiveFailuresAlarm("prod", 1).name, "dbt-pipeline-prod-consecutive-failures"],
    ];
    for (const [what, actual, expected] of table) it(what, () => expect(actual).to.equal(expected));
  });

  it("documents the Snowflake credit monitor on the dashboard instead of faking an alarm", () => {
    const body = dashboardBody({
      region: "eu-west-1",
      environment: "dev",
      consecutiveFailures: 2,
      sources: [],
      deadLetterQueues: [],
      functions: [],
      alarmArns: [],
    });
    const text = (body.widgets as { type: string; properties: { markdown?: string } }[]).find((w) => w.type === "text");
    expect(text?.properties.markdown).to.match(/resource monitor notifies at 75 % and 90 %/);
  });
});

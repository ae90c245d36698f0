import { expect } from "chai";
import { launchAlarms } from "../../components/observability/launch-alarms";

describe("launch's alarms", () => {
  const metric = (metricName: string) => ({
    namespace: "DbtPipeline",
    metricName,
    dimensions: { service: "launch" },
    statistic: "Sum",
    period: 300,
  });

  it("alarm on failed pumps, dead-lettered requests and RunTask failing for 15 minutes, on launch's service dimension", () => {
    expect(launchAlarms("prod")).to.deep.equal([
      {
        key: "launch-pump-errors",
        name: "dbt-pipeline-prod-launch-pump-errors",
        description:
          "launch could not start a target's next run (DynamoDB or ECS errors); the requests stay pending for the next trigger, STOPPED event or sweep.",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: "notBreaching",
        metric: metric("PumpErrors"),
      },
      {
        key: "launch-failed",
        name: "dbt-pipeline-prod-launch-failed",
        description:
          "launch sent requests to the runs dead-letter queue: ECS rejected their run for good, or the joined request broke the run contract.",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: "notBreaching",
        metric: metric("LaunchFailed"),
      },
      {
        key: "launch-deferred",
        name: "dbt-pipeline-prod-launch-deferred",
        description:
          "RunTask kept failing (throttling or no Fargate capacity) for 15 minutes: runs are late; the requests wait in launch's table.",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: 1,
        evaluationPeriods: 3,
        treatMissingData: "notBreaching",
        metric: metric("LaunchDeferred"),
      },
    ]);
  });
});

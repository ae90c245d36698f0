/**
 * Observability built alone from its own arguments (no stack config): thresholds, sources, the
 * Slack URL and protection reach the inputs they decide.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { Observability, ObservabilityArgs } from "../../components/observability";
import { Evaluation } from "../../offline/mocks";
import { FAKE_SECRETS, all, one } from "../helpers/stack";
import { evaluateAlone } from "./alone";
import { inputsOf, obj } from "./recorded";

const T = {
  fn: "aws:lambda/function:Function",
  secret: "aws:secretsmanager/secret:Secret",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  schedule: "aws:scheduler/schedule:Schedule",
} as const;

const ARGS: ObservabilityArgs = {
  environment: "qa",
  protect: false,
  logRetentionDays: 7,
  thresholds: { consecutiveFailures: 3, lambdaErrorRatePercent: 12 },
  alerts: { topicArn: "arn:aws:sns:eu-west-1:123456789012:qa-alerts" },
  runner: {
    clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/qa",
    taskDefinitionFamily: "qa-dbt",
    artifactBucketName: "qa-artifacts",
    artifactBucketArn: "arn:aws:s3:::qa-artifacts",
    logGroupName: "/ecs/qa-dbt",
    logStreamPrefix: "run",
  },
};

const variables = (ev: Evaluation, fn: string) =>
  obj(obj(inputsOf(one(ev, T.fn, `observability-${fn}-function`)).environment).variables);
const alarmNames = (ev: Evaluation) => all(ev, T.alarm).map((a) => a.name);

describe("Observability alone", () => {
  describe("two sources, a Slack URL, protected", () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateAlone(() => {
        new Observability("observability", {
          ...ARGS,
          protect: true,
          sources: [
            { name: "stripe", staleAfterMinutes: 90 },
            { name: "hubspot", staleAfterMinutes: 1440 },
          ],
          slackWebhookUrl: pulumi.secret(FAKE_SECRETS["notify.slackWebhookUrl"]),
        });
      });
    });

    it("freshness checks the sources it is given, every 5 minutes; each has its staleness alarm", () => {
      expect(variables(ev, "freshness")).to.deep.include({ SOURCES: "stripe,hubspot" });
      expect(inputsOf(one(ev, T.schedule, "observability-freshness-schedule")).scheduleExpression).to.equal(
        "rate(5 minutes)",
      );
      expect(inputsOf(one(ev, T.alarm, "observability-stale-stripe")).threshold).to.equal(90);
      expect(inputsOf(one(ev, T.alarm, "observability-stale-hubspot")).threshold).to.equal(1440);
    });

    it("the thresholds it is given: failures in a row, and every function's error rate", () => {
      expect(inputsOf(one(ev, T.alarm, "observability-consecutive-failures")).threshold).to.equal(3);
      for (const label of ["notify", "freshness"])
        expect(inputsOf(one(ev, T.alarm, `observability-errors-${label}`)).threshold, label).to.equal(12);
    });

    it("the Slack URL only in a secret restorable for 30 days, whose ARN notify gets", () => {
      const secret = one(ev, T.secret, "observability-slack-secret");
      expect(inputsOf(secret)).to.deep.include({ name: "dbt-pipeline-qa-slack-webhook", recoveryWindowInDays: 30 });
      expect(variables(ev, "notify")).to.deep.include({
        SLACK_SECRET_ARN: obj(secret.state).arn,
        ALERT_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:qa-alerts",
        ARTIFACT_BUCKET: "qa-artifacts",
        LOG_GROUP_NAME: "/ecs/qa-dbt",
        LOG_STREAM_PREFIX: "run",
      });
    });

    it("keeps the functions' logs for the days it is given", () => {
      for (const fn of ["notify", "freshness"])
        expect(
          inputsOf(one(ev, "aws:cloudwatch/logGroup:LogGroup", `observability-${fn}-logs`)).retentionInDays,
          fn,
        ).to.equal(7);
    });
  });

  describe("no sources, no Slack, unprotected", () => {
    let ev: Evaluation;
    before(async () => {
      ev = await evaluateAlone(() => {
        new Observability("observability", ARGS);
      });
    });

    it("no freshness function, schedule or staleness alarm; no Slack secret", () => {
      expect(all(ev, T.fn).map((f) => f.name)).to.deep.equal(["observability-notify-function"]);
      expect(all(ev, T.schedule)).to.deep.equal([]);
      expect(alarmNames(ev).sort()).to.deep.equal([
        "observability-consecutive-failures",
        "observability-dlq-notify",
        "observability-errors-notify",
      ]);
      expect(all(ev, T.secret)).to.deep.equal([]);
      expect(variables(ev, "notify")).to.not.have.any.keys("SLACK_SECRET_ARN");
    });
  });
});

/**
 * Triggers built alone from its own arguments (no stack config): each setting reaches the
 * resource input it decides, and a vendor without credentials gets no route.
 */
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { Triggers, TriggersArgs } from "../../components/triggers";
import { Evaluation } from "../../offline/mocks";
import { all, one } from "../helpers/stack";
import { evaluateAlone } from "./alone";
import { inputsOf, obj, stateOf } from "./recorded";

const T = {
  fn: "aws:lambda/function:Function",
  queue: "aws:sqs/queue:Queue",
  secret: "aws:secretsmanager/secret:Secret",
  route: "aws:apigatewayv2/route:Route",
  stage: "aws:apigatewayv2/stage:Stage",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  schedule: "aws:scheduler/schedule:Schedule",
  table: "aws:dynamodb/table:Table",
} as const;

const ARGS: Omit<TriggersArgs, "webhooks"> = {
  environment: "qa",
  protect: true,
  settings: {
    hourlyEnabled: false,
    hourlySchedule: "rate(2 hours)",
    hourlySelect: "tag:hourly",
    fullRefreshEnabled: true,
    fullRefreshSchedule: "cron(0 3 * * ? *)",
    fullRefreshSelect: "tag:daily",
    fullRefreshExclude: "tag:heavy",
    timezone: "Europe/Berlin",
    burstWindowSeconds: 30,
    minRunIntervalSeconds: 600,
    hourlySkipWhenIdle: true,
    unknownConnector: "reject",
    rateLimit: 5,
    burstLimit: 7,
    dedupeHours: 2,
    maxLaunchAttempts: 3,
  },
  sources: [],
  dbtTarget: "ci",
  logRetentionDays: 30,
  runner: {
    clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/qa",
    clusterName: "qa",
    taskDefinitionFamily: "qa-dbt",
    subnetIds: ["subnet-a", "subnet-b"],
    securityGroupIds: ["sg-1"],
    assignPublicIp: false,
    taskRoleArn: "arn:aws:iam::123456789012:role/qa-task",
    executionRoleArn: "arn:aws:iam::123456789012:role/qa-execution",
  },
};

const variables = (ev: Evaluation, fn: string) =>
  obj(obj(inputsOf(one(ev, T.fn, `triggers-${fn}-function`)).environment).variables);

describe("Triggers alone", () => {
  let ev: Evaluation;
  before(async () => {
    ev = await evaluateAlone(() => {
      new Triggers("triggers", {
        ...ARGS,
        webhooks: { fivetranSecret: pulumi.secret("fivetran-signing-secret-0123") },
      });
    });
  });

  it("dispatch: dedupe window, unknown-connector answer, selections, the Fivetran secret only, no alert topic", () => {
    expect(variables(ev, "dispatch")).to.deep.equal({
      POWERTOOLS_SERVICE_NAME: "dispatch",
      POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
      ENVIRONMENT: "qa",
      QUEUE_URL: stateOf(one(ev, T.queue, "triggers-runs")).url,
      IDEMPOTENCY_TABLE: "dbt-pipeline-qa-idempotency",
      DEDUPE_SECONDS: "7200",
      UNKNOWN_CONNECTOR: "reject",
      HOURLY_SELECT: "tag:hourly",
      FULL_REFRESH_SELECT: "tag:daily",
      FULL_REFRESH_EXCLUDE: "tag:heavy",
      FIVETRAN_SECRET_ARN: stateOf(one(ev, T.secret, "triggers-fivetran-secret")).arn,
    });
    expect(all(ev, T.secret).map((s) => s.name)).to.deep.equal(["triggers-fivetran-secret"]);
    expect(one(ev, T.secret, "triggers-fivetran-secret").inputs).to.deep.include({
      name: "dbt-pipeline-qa-fivetran-webhook-secret",
      recoveryWindowInDays: 30,
    });
  });

  it("launch: the runner it is given, its burst window and attempts", () => {
    expect(variables(ev, "launch")).to.deep.include({
      CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/qa",
      TASK_DEFINITION: "qa-dbt",
      SUBNET_IDS: "subnet-a,subnet-b",
      SECURITY_GROUP_IDS: "sg-1",
      ASSIGN_PUBLIC_IP: "DISABLED",
      BURST_WINDOW_SECONDS: "30",
      MIN_RUN_INTERVAL_SECONDS: "600",
      HOURLY_SKIP_WHEN_IDLE: "true",
      MAX_LAUNCH_ATTEMPTS: "3",
    });
  });

  it("webhook API: a route for Fivetran only, throttled as given, logs kept 30 days", () => {
    expect(all(ev, T.route).map((r) => inputsOf(r).routeKey)).to.deep.equal(["POST /webhooks/fivetran"]);
    expect(one(ev, T.stage, "triggers-stage").inputs.defaultRouteSettings).to.deep.equal({
      throttlingRateLimit: 5,
      throttlingBurstLimit: 7,
    });
    expect(one(ev, T.logGroup, "triggers-api-logs").inputs.retentionInDays).to.equal(30);
  });

  it("schedules: their expressions, time zone and states, and the full refresh's selection in its description", () => {
    expect(one(ev, T.schedule, "triggers-hourly").inputs).to.deep.include({
      scheduleExpression: "rate(2 hours)",
      scheduleExpressionTimezone: "Europe/Berlin",
      state: "DISABLED",
      description: "Hourly dbt run of tag:hourly (triggers.hourlySchedule).",
    });
    expect(one(ev, T.schedule, "triggers-full-refresh").inputs).to.deep.include({
      scheduleExpression: "cron(0 3 * * ? *)",
      scheduleExpressionTimezone: "Europe/Berlin",
      state: "ENABLED",
      description: "Daily dbt full refresh of tag:daily except tag:heavy (triggers.fullRefreshSchedule).",
    });
  });

  it("protected: both tables keep point-in-time recovery and deletion protection; the launch state is protected", () => {
    for (const name of ["triggers-idempotency", "triggers-launch-state"])
      expect(one(ev, T.table, name).inputs, name).to.deep.include({
        pointInTimeRecovery: { enabled: true },
        deletionProtectionEnabled: true,
      });
    expect(one(ev, T.table, "triggers-launch-state").options.protect).to.equal(true);
  });

  it("without credentials: no secret and no webhook route", async () => {
    const bare = await evaluateAlone(() => {
      new Triggers("triggers", ARGS);
    });
    expect(all(bare, T.secret)).to.deep.equal([]);
    expect(all(bare, T.route)).to.deep.equal([]);
    expect(variables(bare, "dispatch")).to.not.have.any.keys("FIVETRAN_SECRET_ARN", "AIRBYTE_TOKEN_SECRET_ARN");
  });
});

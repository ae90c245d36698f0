import { expect } from "chai";
import { buildConfig, parseConfig } from "../../config";
import {
  dispatchStatements,
  launchStatements,
  schedulerStatements,
  schedulerTrustCondition,
  taskArnPattern,
  taskDefinitionArnPattern,
} from "../../components/triggers/policies";
import {
  LAUNCH_TIMEOUT_SECONDS,
  RUNS_MAX_RECEIVE_COUNT,
  RUNS_VISIBILITY_TIMEOUT_SECONDS,
  WEBHOOK_ROUTES,
  accessLogFormat,
  redriveAllowPolicy,
  taskStoppedPattern,
  redrivePolicy,
  routeSourceArn,
  scheduleInput,
  scheduleSpecs,
} from "../../components/triggers/settings";
import { sourcesJson } from "../../components/triggers/sources";
import { obj, objs, parsed } from "./recorded";
import { readStackConfig } from "../../offline/stack-config";
import { ROOT } from "../helpers/stack";

const ACCOUNT = "123456789012";
const CLUSTER = `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/dbt`;
const RUNS = `arn:aws:sqs:eu-west-1:${ACCOUNT}:dbt-pipeline-dev-runs.fifo`;
const RUNS_DLQ = `arn:aws:sqs:eu-west-1:${ACCOUNT}:dbt-pipeline-dev-runs-dlq.fifo`;
const ASYNC_DLQ = `arn:aws:sqs:eu-west-1:${ACCOUNT}:dbt-pipeline-dev-dispatch-dlq`;
const TABLE = `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/dbt-pipeline-dev-idempotency`;
const FIVETRAN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:dbt-pipeline-dev-fivetran-webhook-secret-AbCdEf`;
const AIRBYTE = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:dbt-pipeline-dev-airbyte-webhook-token-AbCdEf`;
const TOPIC = `arn:aws:sns:eu-west-1:${ACCOUNT}:dbt-pipeline-dev-alerts`;
const DISPATCH = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:dbt-pipeline-dev-dispatch`;

const config = (stack: "dev" | "prod", overrides: Record<string, string> = {}) => {
  const raw = { ...readStackConfig(stack, ROOT).config };
  for (const [k, v] of Object.entries(overrides)) raw[`dbt-pipeline:${k}`] = v;
  const parsed = parseConfig(raw, stack);
  expect(parsed.problems).to.deep.equal([]);
  return buildConfig(parsed.values!, "dbt-pipeline", stack);
};

describe("triggers pure helpers", () => {
  describe("dispatch statements", () => {
    const base = { runsQueueArn: RUNS, idempotencyTableArn: TABLE, asyncDeadLetterQueueArn: ASYNC_DLQ };
    const always = [
      { Sid: "EnqueueRuns", Effect: "Allow", Action: "sqs:SendMessage", Resource: RUNS },
      {
        Sid: "IdempotencyRecords",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        Resource: TABLE,
      },
      { Sid: "AsyncDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: ASYNC_DLQ },
    ];
    const cases: [string, Parameters<typeof dispatchStatements>[0], object[]][] = [
      ["no secrets, no alert topic", { ...base, secretArns: [] }, always],
      [
        "both secrets",
        { ...base, secretArns: [FIVETRAN, AIRBYTE] },
        [
          ...always,
          {
            Sid: "ReadWebhookSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [FIVETRAN, AIRBYTE],
          },
        ],
      ],
      [
        "one secret and an alert topic",
        { ...base, secretArns: [FIVETRAN], alertTopicArn: TOPIC },
        [
          ...always,
          { Sid: "ReadWebhookSecrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: [FIVETRAN] },
          { Sid: "PublishAlerts", Effect: "Allow", Action: "sns:Publish", Resource: TOPIC },
        ],
      ],
    ];
    for (const [what, refs, expected] of cases) {
      it(what, () => expect(JSON.parse(JSON.stringify(dispatchStatements(refs)))).to.deep.equal(expected));
    }
  });

  it("launch statements: RunTask on the family in the cluster, ListTasks on * only with the cluster condition, DescribeTasks on the cluster's tasks, PassRole to ECS only, its state table by ARN", () => {
    const statements = launchStatements({
      clusterArn: CLUSTER,
      taskDefinitionArnPattern: taskDefinitionArnPattern("eu-west-1", ACCOUNT, "dbt-run"),
      taskArnPattern: taskArnPattern("eu-west-1", ACCOUNT, "dbt"),
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/task`,
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/exec`,
      runsQueueArn: RUNS,
      deadLetterQueueArn: RUNS_DLQ,
      launchStateTableArn: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/dbt-pipeline-dev-launch-state`,
    });
    const inCluster = { ArnEquals: { "ecs:cluster": CLUSTER } };
    expect(JSON.parse(JSON.stringify(statements))).to.deep.equal([
      {
        Sid: "RunDbtTask",
        Effect: "Allow",
        Action: "ecs:RunTask",
        Resource: `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/dbt-run:*`,
        Condition: inCluster,
      },
      {
        Sid: "ListTasksNeedsStarScopedToCluster",
        Effect: "Allow",
        Action: "ecs:ListTasks",
        Resource: "*",
        Condition: inCluster,
      },
      {
        Sid: "DescribeDbtTasks",
        Effect: "Allow",
        Action: "ecs:DescribeTasks",
        Resource: `arn:aws:ecs:eu-west-1:${ACCOUNT}:task/dbt/*`,
        Condition: inCluster,
      },
      {
        Sid: "PassTaskRolesToEcsOnly",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: [`arn:aws:iam::${ACCOUNT}:role/task`, `arn:aws:iam::${ACCOUNT}:role/exec`],
        Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
      },
      {
        Sid: "TagTasksOnRunTaskOnly",
        Effect: "Allow",
        Action: "ecs:TagResource",
        Resource: `arn:aws:ecs:eu-west-1:${ACCOUNT}:task/dbt/*`,
        Condition: { StringEquals: { "ecs:CreateAction": "RunTask" } },
      },
      {
        Sid: "ConsumeRuns",
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: RUNS,
      },
      { Sid: "ForwardToDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: RUNS_DLQ },
      {
        Sid: "LaunchState",
        Effect: "Allow",
        Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"],
        Resource: `arn:aws:dynamodb:eu-west-1:${ACCOUNT}:table/dbt-pipeline-dev-launch-state`,
      },
    ]);
  });

  it("scheduler statements and trust condition", () => {
    const LAUNCH = `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:dbt-pipeline-dev-launch`;
    expect(
      schedulerStatements({
        dispatchFunctionArn: DISPATCH,
        launchFunctionArn: LAUNCH,
        asyncDeadLetterQueueArn: ASYNC_DLQ,
      }),
    ).to.deep.equal([
      { Sid: "InvokeDispatch", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: DISPATCH },
      { Sid: "InvokeLaunchSweep", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: LAUNCH },
      { Sid: "ScheduleDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: ASYNC_DLQ },
    ]);
    expect(schedulerTrustCondition(ACCOUNT)).to.deep.equal({ StringEquals: { "aws:SourceAccount": ACCOUNT } });
  });

  describe("ARN patterns", () => {
    const cases: [string, string, string][] = [
      [
        taskDefinitionArnPattern("eu-west-1", ACCOUNT, "dbt-pipeline-dev-dbt"),
        `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/dbt-pipeline-dev-dbt:*`,
        "task definition, any revision",
      ],
      [
        taskArnPattern("us-east-2", ACCOUNT, "dbt-pipeline-prod"),
        `arn:aws:ecs:us-east-2:${ACCOUNT}:task/dbt-pipeline-prod/*`,
        "tasks of one cluster",
      ],
      [
        routeSourceArn(`arn:aws:execute-api:eu-west-1:${ACCOUNT}:abc123`, WEBHOOK_ROUTES.fivetran),
        `arn:aws:execute-api:eu-west-1:${ACCOUNT}:abc123/*/POST/webhooks/fivetran`,
        "fivetran route",
      ],
      [
        routeSourceArn(`arn:aws:execute-api:eu-west-1:${ACCOUNT}:abc123`, WEBHOOK_ROUTES.airbyte),
        `arn:aws:execute-api:eu-west-1:${ACCOUNT}:abc123/*/POST/webhooks/airbyte/*`,
        "airbyte route, token as *",
      ],
    ];
    for (const [actual, expected, what] of cases) it(what, () => expect(actual).to.equal(expected));
  });

  describe("queues", () => {
    it("visibility is six launch timeouts", () =>
      expect(RUNS_VISIBILITY_TIMEOUT_SECONDS)
        .to.equal(6 * LAUNCH_TIMEOUT_SECONDS)
        .and.equal(720));
    it("redrive: 20 receives (a message comes back only when its DynamoDB write failed)", () => {
      expect(redrivePolicy(RUNS_DLQ)).to.deep.equal({ deadLetterTargetArn: RUNS_DLQ, maxReceiveCount: 20 });
      expect(RUNS_MAX_RECEIVE_COUNT).to.equal(20);
    });
    it("the task-state pattern matches only running and stopped tasks launch started in the cluster", () => {
      expect(JSON.parse(taskStoppedPattern(CLUSTER))).to.deep.equal({
        source: ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        detail: {
          clusterArn: [CLUSTER],
          lastStatus: ["RUNNING", "STOPPED"],
          startedBy: [{ prefix: "dbt-pipeline/" }],
        },
      });
    });
    it("redrive-allow: only the runs queue", () => {
      expect(redriveAllowPolicy([RUNS])).to.deep.equal({ redrivePermission: "byQueue", sourceQueueArns: [RUNS] });
    });
  });

  describe("schedules", () => {
    it("inputs are the exact events dispatch parses", () => {
      expect(scheduleInput("hourly")).to.equal(
        '{"kind":"schedule","schedule":"hourly","scheduledTime":"<aws.scheduler.scheduled-time>"}',
      );
      expect(scheduleInput("full-refresh")).to.equal(
        '{"kind":"schedule","schedule":"full-refresh","scheduledTime":"<aws.scheduler.scheduled-time>"}',
      );
    });

    const table: [string, Record<string, string>, { hourly: string; fullRefresh: string }][] = [
      ["both on", { "triggers.fullRefreshEnabled": "true" }, { hourly: "ENABLED", fullRefresh: "ENABLED" }],
      [
        "hourly off",
        { "triggers.hourlyEnabled": "false", "triggers.fullRefreshEnabled": "true" },
        { hourly: "DISABLED", fullRefresh: "ENABLED" },
      ],
      ["full refresh off", { "triggers.fullRefreshEnabled": "false" }, { hourly: "ENABLED", fullRefresh: "DISABLED" }],
    ];
    for (const [what, overrides, states] of table) {
      it(`${what}: both declared, state follows config`, () => {
        const specs = scheduleSpecs(config("dev", overrides).triggers);
        expect(specs.map((s) => [s.key, s.state])).to.deep.equal([
          ["hourly", states.hourly],
          ["full-refresh", states.fullRefresh],
        ]);
      });
    }

    it("the full refresh's description names its configured selection", () => {
      const described = (overrides: Record<string, string>) =>
        scheduleSpecs(config("dev", overrides).triggers).find((x) => x.key === "full-refresh")!.description;
      expect(described({})).to.equal("Daily dbt full refresh of every node (triggers.fullRefreshSchedule).");
      expect(
        described({
          "triggers.fullRefreshSelect": "tag:nightly path:models/marts",
          "triggers.fullRefreshExclude": "tag:pruned_raw",
        }),
      ).to.equal(
        "Daily dbt full refresh of tag:nightly path:models/marts except tag:pruned_raw (triggers.fullRefreshSchedule).",
      );
    });

    it("expressions and time zone come from config", () => {
      const specs = scheduleSpecs(
        config("prod", {
          "triggers.hourlySchedule": "cron(15 * * * ? *)",
          "triggers.fullRefreshSchedule": "cron(30 3 ? * SUN *)",
          "triggers.timezone": "Europe/Berlin",
        }).triggers,
      );
      expect(specs.map((s) => [s.expression, s.timezone])).to.deep.equal([
        ["cron(15 * * * ? *)", "Europe/Berlin"],
        ["cron(30 3 ? * SUN *)", "Europe/Berlin"],
      ]);
    });
  });

  it("access log format never logs the path (the Airbyte token is in it)", () => {
    const format = accessLogFormat();
    const fields = obj(parsed(format));
    expect(fields.routeKey).to.equal("$context.routeKey");
    expect(format).to.not.match(/\$context\.(path|resourcePath|rawPath)|requestOverride\.path|\$request\.path/);
    for (const value of Object.values(fields)) expect(value).to.match(/^\$context\.[A-Za-z.]+$/);
  });

  describe("sources.json", () => {
    it("dev: target and every source as config declares it, defaults applied", () => {
      expect(JSON.parse(sourcesJson(config("dev")))).to.deep.equal({
        target: "dev",
        sources: [
          {
            name: "hubspot",
            fivetranConnectors: [],
            airbyteConnections: ["9b6e7d7c-1a52-4e0a-9a4e-3f0c6b1d2e11"],
            rawTables: [],
            select: ["source:hubspot+"],
            exclude: ["tag:heavy"],
            fastLaneTags: [],
            fullRefresh: false,
            staleAfterMinutes: 180,
          },
          {
            name: "stripe",
            fivetranConnectors: ["warranty_bullish"],
            airbyteConnections: [],
            rawTables: ["STRIPE_CHARGES", "STRIPE_CUSTOMERS"],
            select: ["source:stripe+"],
            exclude: [],
            fastLaneTags: ["dashboard"],
            fullRefresh: false,
            staleAfterMinutes: 120,
          },
          {
            name: "web_events",
            fivetranConnectors: [],
            airbyteConnections: [],
            rawTables: ["WEB_EVENTS"],
            select: ["source:web_events+"],
            exclude: [],
            fastLaneTags: [],
            fullRefresh: false,
            staleAfterMinutes: 60,
          },
        ],
      });
    });

    it("prod: its own target and connection ids", () => {
      const doc = obj(parsed(sourcesJson(config("prod"))));
      expect(doc.target).to.equal("prod");
      expect(objs(doc.sources).map((s) => [s.name, s.airbyteConnections])).to.deep.equal([
        ["hubspot", ["5c1f0a2e-8d3b-4c6a-b7e9-0a1b2c3d4e5f"]],
        ["stripe", []],
        ["web_events", []],
      ]);
    });

    it("holds no secret", () => {
      const c = config("dev", {
        "fivetran.webhookSecret": "fivetran-signing-secret-7f3a9c2e",
        "airbyte.webhookToken": "AirbyteToken_0123456789abcdef0123456789abcdef",
      });
      const text = sourcesJson(c);
      expect(text).to.not.include("fivetran-signing-secret-7f3a9c2e");
      expect(text).to.not.include("AirbyteToken_0123456789abcdef0123456789abcdef");
    });
  });
});

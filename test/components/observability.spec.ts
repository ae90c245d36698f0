import { expect } from "chai";
import { Evaluation, MOCK_ACCOUNT, RecordedResource } from "../../offline/mocks";
import { all, evaluateStack, json, one, FAKE_SECRETS } from "../helpers/stack";
import { z } from "zod";
import { at, parsed, statementsOf, str } from "./recorded";

/** The dashboard body fields these specs read (CloudWatch dashboard body structure). */
const DashboardSchema = z.object({
  widgets: z.array(
    z.object({
      type: z.string(),
      properties: z.object({
        region: z.string().optional(),
        metrics: z.array(z.array(z.unknown())).optional(),
        alarms: z.array(z.string()).optional(),
      }),
    }),
  ),
});

const T = {
  topic: "aws:sns/topic:Topic",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  key: "aws:kms/key:Key",
  alias: "aws:kms/alias:Alias",
  bus: "aws:cloudwatch/eventBus:EventBus",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  permission: "aws:lambda/permission:Permission",
  fn: "aws:lambda/function:Function",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  table: "aws:dynamodb/table:Table",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  schedule: "aws:scheduler/schedule:Schedule",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  dashboard: "aws:cloudwatch/dashboard:Dashboard",
  cluster: "aws:ecs/cluster:Cluster",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
} as const;

const STACKS = ["dev", "prod"] as const;
const REGION = "eu-west-1";
const TAGS = (env: string) => ({ project: "dbt-pipeline", environment: env, "managed-by": "pulumi" });

const SECRETS = FAKE_SECRETS;

const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${MOCK_ACCOUNT}:${resource}`;
const topicArn = (env: string) => arn("sns", `dbt-pipeline-${env}-alerts`);
const notifyArn = (env: string) => arn("lambda", `function:dbt-pipeline-${env}-notify`);
const dlqArn = (env: string) => arn("sqs", `dbt-pipeline-${env}-notify-dlq`);
const named = (ev: Evaluation, type: string, name: string): RecordedResource => one(ev, type, name);

/** The runner's values, read from the runner's own resources. */
function runnerOf(ev: Evaluation) {
  return {
    clusterArn: str(one(ev, T.cluster).state, "arn"),
    family: one(ev, T.taskDefinition).inputs.family as string,
    bucketArn: `arn:aws:s3:::dbt-pipeline-${ev.stack}-artifacts-${MOCK_ACCOUNT}`,
    bucket: ev.outputs.artifactBucket as string,
    logGroup: ev.outputs.dbtLogGroup as string,
  };
}

/** The expected per-source staleness thresholds of both stack files. */
const STALE = { hubspot: 180, stripe: 120, web_events: 60 } as const;

describe("observability component", () => {
  for (const stack of STACKS) {
    describe(`${stack} stack`, () => {
      let ev: Evaluation;
      before(async () => {
        ev = await evaluateStack(stack, SECRETS);
      });

      describe("alert topic", () => {
        it("is encrypted with its own key whose policy lets the account (through SNS) and CloudWatch alarms use it", () => {
          const key = named(ev, T.key, "alerts-key");
          expect(key.inputs).to.deep.include({ enableKeyRotation: true, deletionWindowInDays: 30, tags: TAGS(stack) });
          expect(json(key.inputs.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "AccountAdministers",
                Effect: "Allow",
                Principal: { AWS: `arn:aws:iam::${MOCK_ACCOUNT}:root` },
                Action: "kms:*",
                Resource: "*",
              },
              {
                Sid: "AccountPublishesThroughSns",
                Effect: "Allow",
                Principal: { AWS: "*" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
                Condition: {
                  StringEquals: { "kms:CallerAccount": MOCK_ACCOUNT, "kms:ViaService": `sns.${REGION}.amazonaws.com` },
                },
              },
              {
                Sid: "CloudWatchAlarmsPublish",
                Effect: "Allow",
                Principal: { Service: "cloudwatch.amazonaws.com" },
                Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
                Resource: "*",
              },
            ],
          });
          expect(named(ev, T.alias, "alerts-key-alias").inputs).to.deep.equal({
            name: `alias/dbt-pipeline-${stack}-alerts`,
            targetKeyId: str(key.state, "keyId"),
          });
          const topic = named(ev, T.topic, "alerts-topic");
          expect(topic.inputs).to.deep.equal({
            name: `dbt-pipeline-${stack}-alerts`,
            displayName: `dbt-pipeline ${stack}`,
            kmsMasterKeyId: str(key.state, "arn"),
            tags: TAGS(stack),
          });
          expect(ev.outputs.alertTopicArn).to.equal(topicArn(stack));
        });

        it("e-mails notify.emails", () => {
          const emails = all(ev, T.subscription, /^alerts-email-/).map((s) => s.inputs);
          expect(emails).to.deep.equal(
            stack === "prod"
              ? [{ topic: topicArn(stack), protocol: "email", endpoint: "data-oncall@example.com" }]
              : [],
          );
        });
      });

      describe("run reports", () => {
        it("listens for STOPPED dbt tasks of this cluster and family only", () => {
          const runner = runnerOf(ev);
          const rule = named(ev, T.rule, "observability-task-stopped");
          expect(rule.inputs.name).to.equal(`dbt-pipeline-${stack}-dbt-task-stopped`);
          expect(rule.inputs.eventBusName).to.equal(undefined);
          expect(json(rule.inputs.eventPattern)).to.deep.equal({
            source: ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            detail: { clusterArn: [runner.clusterArn], lastStatus: ["STOPPED"], group: [`family:${runner.family}`] },
          });
          expect(runner.clusterArn).to.equal(arn("ecs", `cluster/dbt-pipeline-${stack}-dbt`));
          expect(runner.family).to.equal(`dbt-pipeline-${stack}-dbt`);
        });

        it("targets notify with retries and a dead-letter queue, and lets only that rule invoke it", () => {
          const rule = named(ev, T.rule, "observability-task-stopped");
          expect(named(ev, T.target, "observability-notify-target").inputs).to.deep.equal({
            rule: str(rule.inputs, "name"),
            arn: notifyArn(stack),
            retryPolicy: { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 20 },
            deadLetterConfig: { arn: dlqArn(stack) },
          });
          expect(named(ev, T.permission, "observability-notify-rule-invoke").inputs).to.deep.equal({
            action: "lambda:InvokeFunction",
            function: `dbt-pipeline-${stack}-notify`,
            principal: "events.amazonaws.com",
            sourceArn: str(rule.state, "arn"),
          });
        });

        it("subscribes notify to the alert topic, with the same DLQ", () => {
          expect(named(ev, T.subscription, "observability-notify-subscription").inputs).to.deep.equal({
            topic: topicArn(stack),
            protocol: "lambda",
            endpoint: notifyArn(stack),
            redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn(stack) }),
          });
          expect(named(ev, T.permission, "observability-notify-topic-invoke").inputs).to.deep.equal({
            action: "lambda:InvokeFunction",
            function: `dbt-pipeline-${stack}-notify`,
            principal: "sns.amazonaws.com",
            sourceArn: topicArn(stack),
          });
        });

        it("keeps failed deliveries 14 days in an encrypted DLQ only the rule and the topic may write to", () => {
          const queue = named(ev, T.queue, "observability-notify-dlq");
          expect(queue.inputs).to.deep.equal({
            name: `dbt-pipeline-${stack}-notify-dlq`,
            messageRetentionSeconds: 1209600,
            sqsManagedSseEnabled: true,
            tags: TAGS(stack),
          });
          const rule = named(ev, T.rule, "observability-task-stopped");
          const policy = named(ev, T.queuePolicy, "observability-notify-dlq-policy");
          expect(policy.inputs.queueUrl).to.equal(str(queue.state, "url"));
          expect(json(policy.inputs.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "EventBridgeRule",
                Effect: "Allow",
                Principal: { Service: "events.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: dlqArn(stack),
                Condition: { ArnEquals: { "aws:SourceArn": str(rule.state, "arn") } },
              },
              {
                Sid: "AlertTopicSubscription",
                Effect: "Allow",
                Principal: { Service: "sns.amazonaws.com" },
                Action: "sqs:SendMessage",
                Resource: dlqArn(stack),
                Condition: { ArnEquals: { "aws:SourceArn": topicArn(stack) } },
              },
            ],
          });
        });

        it("gives notify exactly the settings and permissions it uses", () => {
          const runner = runnerOf(ev);
          const secret = named(ev, T.secret, "observability-slack-secret");
          expect(secret.inputs).to.deep.include({
            name: `dbt-pipeline-${stack}-slack-webhook`,
            recoveryWindowInDays: stack === "prod" ? 30 : 0,
          });
          const version = named(ev, T.secretVersion, "observability-slack-secret-version");
          expect(version.inputs.secretString).to.equal(SECRETS["notify.slackWebhookUrl"]);
          expect(version.secretPaths).to.include("secretString");
          const fn = named(ev, T.fn, "observability-notify-function");
          expect(at(fn.inputs, "environment", "variables")).to.deep.equal({
            POWERTOOLS_SERVICE_NAME: "notify",
            POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
            ENVIRONMENT: stack,
            ARTIFACT_BUCKET: runner.bucket,
            EVENT_BUS_NAME: `dbt-pipeline-${stack}-runs`,
            ALERT_TOPIC_ARN: topicArn(stack),
            STATE_TABLE: `dbt-pipeline-${stack}-notify`,
            LOG_GROUP_NAME: runner.logGroup,
            LOG_STREAM_PREFIX: "run",
            SLACK_SECRET_ARN: str(secret.state, "arn"),
          });
          expect(fn.inputs).to.deep.include({ timeout: 60, deadLetterConfig: { targetArn: dlqArn(stack) } });
          expect(json(named(ev, T.rolePolicy, "observability-notify-policy").inputs.policy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "WriteOwnLogs",
                Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: arn("logs", `log-group:/aws/lambda/dbt-pipeline-${stack}-notify:*`),
              },
              {
                Sid: "SendTraces",
                Effect: "Allow",
                Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                Resource: "*",
              },
              {
                Sid: "ReadRunArtifacts",
                Effect: "Allow",
                Action: "s3:GetObject",
                Resource: `${runner.bucketArn}/${stack}/runs/*`,
              },
              {
                Sid: "PublishRunEvents",
                Effect: "Allow",
                Action: "events:PutEvents",
                Resource: arn("events", `event-bus/dbt-pipeline-${stack}-runs`),
              },
              { Sid: "PageAlertTopic", Effect: "Allow", Action: "sns:Publish", Resource: topicArn(stack) },
              {
                Sid: "ReadSlackWebhook",
                Effect: "Allow",
                Action: "secretsmanager:GetSecretValue",
                Resource: str(secret.state, "arn"),
              },
              {
                Sid: "NotifyState",
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                Resource: arn("dynamodb", `table/dbt-pipeline-${stack}-notify`),
              },
              { Sid: "DeadLetter", Effect: "Allow", Action: "sqs:SendMessage", Resource: dlqArn(stack) },
            ],
          });
        });

        it("keeps idempotency records and the run state in one table with a TTL", () => {
          expect(named(ev, T.table, "observability-notify-table").inputs).to.deep.equal({
            name: `dbt-pipeline-${stack}-notify`,
            billingMode: "PAY_PER_REQUEST",
            hashKey: "id",
            attributes: [{ name: "id", type: "S" }],
            ttl: { attributeName: "expiration", enabled: true },
            serverSideEncryption: { enabled: true },
            tags: TAGS(stack),
          });
        });

        it("publishes run events to its own bus", () => {
          expect(named(ev, T.bus, "observability-runs-bus").inputs).to.deep.include({
            name: `dbt-pipeline-${stack}-runs`,
            tags: TAGS(stack),
          });
          expect(ev.outputs).to.deep.include({
            runEventBusName: `dbt-pipeline-${stack}-runs`,
            runEventBusArn: arn("events", `event-bus/dbt-pipeline-${stack}-runs`),
            notifyFunction: `dbt-pipeline-${stack}-notify`,
            dashboardName: `dbt-pipeline-${stack}-overview`,
          });
        });
      });

      describe("freshness", () => {
        it("runs every 5 minutes and reads only the latest sources.json", () => {
          const runner = runnerOf(ev);
          const fn = named(ev, T.fn, "observability-freshness-function");
          expect(at(fn.inputs, "environment", "variables")).to.deep.equal({
            POWERTOOLS_SERVICE_NAME: "freshness",
            POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
            ENVIRONMENT: stack,
            ARTIFACT_BUCKET: runner.bucket,
            SOURCES: "hubspot,stripe,web_events",
          });
          expect(fn.inputs.reservedConcurrentExecutions).to.equal(undefined);
          expect(
            at(parsed(named(ev, T.rolePolicy, "observability-freshness-policy").inputs.policy), "Statement"),
          ).to.deep.equal([
            {
              Sid: "WriteOwnLogs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: arn("logs", `log-group:/aws/lambda/dbt-pipeline-${stack}-freshness:*`),
            },
            {
              Sid: "SendTraces",
              Effect: "Allow",
              Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
              Resource: "*",
            },
            {
              Sid: "ReadLatestSources",
              Effect: "Allow",
              Action: "s3:GetObject",
              Resource: [
                `${runner.bucketArn}/${stack}/observed/sources.json`,
                `${runner.bucketArn}/${stack}/latest/sources.json`,
              ],
            },
          ]);
          const role = named(ev, T.role, "observability-freshness-scheduler-role");
          expect(json(role.inputs.assumeRolePolicy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "scheduler.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } },
              },
            ],
          });
          expect(json(named(ev, T.rolePolicy, "observability-freshness-scheduler-policy").inputs.policy)).to.deep.equal(
            {
              Version: "2012-10-17",
              Statement: [
                {
                  Sid: "InvokeFreshness",
                  Effect: "Allow",
                  Action: "lambda:InvokeFunction",
                  Resource: arn("lambda", `function:dbt-pipeline-${stack}-freshness`),
                },
                {
                  Sid: "ScheduleDeadLetters",
                  Effect: "Allow",
                  Action: "sqs:SendMessage",
                  Resource: arn("sqs", `dbt-pipeline-${stack}-freshness-dlq`),
                },
              ],
            },
          );
          expect(named(ev, T.queue, "observability-freshness-dlq").inputs).to.deep.equal({
            name: `dbt-pipeline-${stack}-freshness-dlq`,
            messageRetentionSeconds: 1209600,
            sqsManagedSseEnabled: true,
            tags: TAGS(stack),
          });
          expect(named(ev, T.schedule, "observability-freshness-schedule").inputs).to.deep.include({
            name: `dbt-pipeline-${stack}-freshness`,
            scheduleExpression: "rate(5 minutes)",
            flexibleTimeWindow: { mode: "OFF" },
            state: "ENABLED",
            target: {
              arn: arn("lambda", `function:dbt-pipeline-${stack}-freshness`),
              roleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/dbt-pipeline-${stack}-freshness-scheduler`,
              retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 },
              deadLetterConfig: { arn: arn("sqs", `dbt-pipeline-${stack}-freshness-dlq`) },
            },
          });
        });
      });

      describe("alarms", () => {
        const alarms = () =>
          all(ev, T.alarm).filter((a) => a.parent === "dbt-pipeline:observability:Observability::observability");

        it("are exactly these, each notifying the alert topic when it fires and when it clears", () => {
          expect(
            alarms()
              .map((a) => str(a.inputs, "name"))
              .sort(),
          ).to.deep.equal(
            [
              "consecutive-failures",
              "dlq-dispatch",
              "dlq-freshness",
              "dlq-notify",
              "dlq-runs",
              "errors-dispatch",
              "errors-freshness",
              "errors-launch",
              "errors-notify",
              "launch-deferred",
              "launch-failed",
              "launch-pump-errors",
              "stale-hubspot",
              "stale-stripe",
              "stale-web-events",
            ].map((n) => `dbt-pipeline-${stack}-${n}`),
          );
          for (const a of alarms()) {
            expect(a.inputs.alarmActions, a.name).to.deep.equal([topicArn(stack)]);
            expect(a.inputs.okActions, a.name).to.deep.equal([topicArn(stack)]);
            expect(a.inputs.tags, a.name).to.deep.equal(TAGS(stack));
          }
        });

        for (const [source, minutes] of Object.entries(STALE)) {
          it(`${source} is stale after ${minutes} minutes without a load, or without data`, () => {
            const a = named(ev, T.alarm, `observability-stale-${source.replace("_", "-")}`);
            expect(a.inputs).to.deep.include({
              namespace: "DbtPipeline",
              metricName: "MinutesSinceLastLoad",
              dimensions: { environment: stack, source },
              statistic: "Maximum",
              period: 600,
              evaluationPeriods: 1,
              comparisonOperator: "GreaterThanThreshold",
              threshold: minutes,
              treatMissingData: "breaching",
            });
          });
        }

        it(`raises at notify.consecutiveFailures (${stack === "prod" ? 1 : 2}) failed runs in a row`, () => {
          expect(named(ev, T.alarm, "observability-consecutive-failures").inputs).to.deep.include({
            namespace: "DbtPipeline",
            metricName: "ConsecutiveFailures",
            dimensions: { environment: stack },
            statistic: "Maximum",
            period: 300,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: stack === "prod" ? 1 : 2,
            treatMissingData: "ignore",
          });
        });

        it("watches every dead-letter queue", () => {
          const queues = {
            runs: `dbt-pipeline-${stack}-runs-dlq.fifo`,
            dispatch: `dbt-pipeline-${stack}-dispatch-dlq`,
            notify: `dbt-pipeline-${stack}-notify-dlq`,
            freshness: `dbt-pipeline-${stack}-freshness-dlq`,
          };
          for (const [label, queueName] of Object.entries(queues)) {
            expect(named(ev, T.alarm, `observability-dlq-${label}`).inputs, label).to.deep.include({
              namespace: "AWS/SQS",
              metricName: "ApproximateNumberOfMessagesVisible",
              dimensions: { QueueName: queueName },
              statistic: "Maximum",
              period: 300,
              evaluationPeriods: 1,
              comparisonOperator: "GreaterThanThreshold",
              threshold: 0,
              treatMissingData: "notBreaching",
            });
            expect(all(ev, T.queue).map((q) => str(q.inputs, "name"))).to.include(queueName);
          }
        });

        it("watches the error rate of every function", () => {
          for (const label of ["dispatch", "launch", "notify", "freshness"]) {
            const metric = (metricName: string) => ({
              namespace: "AWS/Lambda",
              metricName,
              dimensions: { FunctionName: `dbt-pipeline-${stack}-${label}` },
              stat: "Sum",
              period: 300,
            });
            expect(named(ev, T.alarm, `observability-errors-${label}`).inputs, label).to.deep.include({
              comparisonOperator: "GreaterThanOrEqualToThreshold",
              threshold: 5,
              evaluationPeriods: 1,
              treatMissingData: "notBreaching",
              metricQueries: [
                { id: "errors", metric: metric("Errors"), returnData: false },
                { id: "invocations", metric: metric("Invocations"), returnData: false },
                {
                  id: "rate",
                  expression: "IF(invocations > 0, 100 * errors / invocations, 0)",
                  label: "error rate (%)",
                  returnData: true,
                },
              ],
            });
            expect(all(ev, T.fn).map((f) => str(f.inputs, "name"))).to.include(`dbt-pipeline-${stack}-${label}`);
          }
        });
      });

      describe("dashboard", () => {
        it("shows every metric the alarms watch, and every alarm", () => {
          const dashboard = named(ev, T.dashboard, "observability-dashboard");
          expect(dashboard.inputs.dashboardName).to.equal(`dbt-pipeline-${stack}-overview`);
          const body = DashboardSchema.parse(parsed(dashboard.inputs.dashboardBody));
          const metricWidgets = body.widgets.filter((w) => w.type === "metric");
          const metrics = metricWidgets.flatMap((w) =>
            (w.properties.metrics ?? []).map((m) => m.filter((x) => typeof x === "string").join(" ")),
          );
          expect(metrics).to.include.members([
            `DbtPipeline RunSucceeded environment ${stack}`,
            `DbtPipeline RunFailed environment ${stack}`,
            `DbtPipeline RunDurationSeconds environment ${stack}`,
            `DbtPipeline TriggerToStartSeconds environment ${stack}`,
            `DbtPipeline ConsecutiveFailures environment ${stack}`,
            ...Object.keys(STALE).map((s) => `DbtPipeline MinutesSinceLastLoad environment ${stack} source ${s}`),
            ...[
              `dbt-pipeline-${stack}-runs-dlq.fifo`,
              `dbt-pipeline-${stack}-dispatch-dlq`,
              `dbt-pipeline-${stack}-notify-dlq`,
            ].map((q) => `AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${q}`),
            ...["dispatch", "launch", "notify", "freshness"].flatMap((f) =>
              ["Errors", "Invocations"].map((m) => `AWS/Lambda ${m} FunctionName dbt-pipeline-${stack}-${f}`),
            ),
          ]);
          for (const w of metricWidgets) expect(w.properties.region).to.equal(REGION);
          const alarmWidget = body.widgets.find((w) => w.type === "alarm");
          const mine = all(ev, T.alarm).filter(
            (a) => a.parent === "dbt-pipeline:observability:Observability::observability",
          );
          expect([...(alarmWidget?.properties.alarms ?? [])].sort()).to.deep.equal(
            mine.map((a) => str(a.state, "arn")).sort(),
          );
        });
      });
    });
  }

  describe("options", () => {
    it("without a Slack webhook: no secret, no SLACK_SECRET_ARN, no secretsmanager permission", async () => {
      const ev = await evaluateStack("dev", { ...SECRETS, "notify.slackWebhookUrl": undefined });
      expect(all(ev, T.secret, /^observability-/)).to.deep.equal([]);
      const fn = named(ev, T.fn, "observability-notify-function");
      expect(at(fn.inputs, "environment", "variables")).not.to.have.property("SLACK_SECRET_ARN");
      expect(
        statementsOf(named(ev, T.rolePolicy, "observability-notify-policy").inputs.policy).map((s) => s.Sid),
      ).to.deep.equal([
        "WriteOwnLogs",
        "SendTraces",
        "ReadRunArtifacts",
        "PublishRunEvents",
        "PageAlertTopic",
        "NotifyState",
        "DeadLetter",
      ]);
    });

    it("rejects the same e-mail address listed twice", async () => {
      let error: unknown;
      try {
        await evaluateStack("dev", { ...SECRETS, "notify.emails": ["oncall@example.com", "OnCall@example.com"] });
      } catch (err) {
        error = err;
      }
      expect(String((error as Error)?.message)).to.contain(
        'dbt-pipeline:notify.emails: "oncall@example.com" and "OnCall@example.com" are the same address or differ only in punctuation; list each once',
      );
    });

    it("without sources: no freshness check and no staleness alarms", async () => {
      const ev = await evaluateStack("dev", {
        ...SECRETS,
        sources: {},
        "fivetran.webhookSecret": undefined,
        "airbyte.webhookToken": undefined,
      });
      expect(all(ev, T.fn).map((f) => f.name)).not.to.include("observability-freshness-function");
      expect(all(ev, T.schedule, /^observability-/)).to.deep.equal([]);
      expect(all(ev, T.alarm, /^observability-stale-/)).to.deep.equal([]);
    });
  });
});

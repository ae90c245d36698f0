import { expect } from "chai";
import { parseConfig } from "../../config";
import { Evaluation, MOCK_ACCOUNT, RecordedResource } from "../../offline/mocks";
import { SECRET_PLACEHOLDER, readStackConfig } from "../../offline/stack-config";
import { ROOT, all, evaluateStack, json, one, FAKE_SECRETS } from "../helpers/stack";
import { at, obj, parsed, statementsOf as statementsIn, str } from "./recorded";

const T = {
  api: "aws:apigatewayv2/api:Api",
  integration: "aws:apigatewayv2/integration:Integration",
  route: "aws:apigatewayv2/route:Route",
  stage: "aws:apigatewayv2/stage:Stage",
  permission: "aws:lambda/permission:Permission",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  scheduleGroup: "aws:scheduler/scheduleGroup:ScheduleGroup",
  schedule: "aws:scheduler/schedule:Schedule",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  queue: "aws:sqs/queue:Queue",
  redriveAllow: "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
  mapping: "aws:lambda/eventSourceMapping:EventSourceMapping",
  fn: "aws:lambda/function:Function",
  table: "aws:dynamodb/table:Table",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
  subscription: "aws:sns/topicSubscription:TopicSubscription",
  topic: "aws:sns/topic:Topic",
  cluster: "aws:ecs/cluster:Cluster",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  rule: "aws:cloudwatch/eventRule:EventRule",
  eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
} as const;

const STACKS = ["dev", "prod"] as const;
const REGION = "eu-west-1";
const COMPONENT = "dbt-pipeline:triggers:Triggers::triggers";
const TAGS = (env: string) => ({ project: "dbt-pipeline", environment: env, "managed-by": "pulumi" });

const SECRETS = FAKE_SECRETS;

/** The stack's validated config values (what the component was given). */
const settings = (stack: string) => obj(parseConfig(readStackConfig(stack, ROOT).config, stack).values);

/** Resources of the Triggers component, its children and grandchildren. */
const mine = (ev: Evaluation) => ev.resources.filter((r) => r.name === "triggers" || r.name.startsWith("triggers-"));

/** The runner's values, read from the runner's own resources. */
function runnerOf(ev: Evaluation) {
  const cluster = one(ev, T.cluster);
  const task = one(ev, T.taskDefinition);
  return {
    clusterArn: str(cluster.state, "arn"),
    clusterName: str(cluster.state, "name"),
    family: task.inputs.family as string,
    taskRoleArn: task.inputs.taskRoleArn as string,
    executionRoleArn: task.inputs.executionRoleArn as string,
  };
}

/** The alert topic (the alerts component's), which index.ts hands to Triggers. */
const alertTopicOf = (ev: Evaluation) => str(one(ev, T.topic, "alerts-topic").state, "arn");

const queues = (ev: Evaluation) => ({
  runs: one(ev, T.queue, "triggers-runs"),
  dlq: one(ev, T.queue, "triggers-runs-dlq"),
  async: one(ev, T.queue, "triggers-dispatch-dlq"),
});
const fns = (ev: Evaluation) => ({
  dispatch: one(ev, T.fn, "triggers-dispatch-function"),
  launch: one(ev, T.fn, "triggers-launch-function"),
});
const statementsOf = (policy: RecordedResource) => statementsIn(policy.inputs.policy);
const list = (x: unknown): unknown[] => (Array.isArray(x) ? (x as unknown[]) : [x]);

/** Every string leaf with its dotted path. */
function leaves(value: unknown, at = ""): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => leaves(v, at ? `${at}.${k}` : k));
  return [];
}
const under = (path: string, roots: readonly string[]) => roots.some((r) => path === r || path.startsWith(`${r}.`));

describe("triggers", () => {
  for (const stack of STACKS) {
    const env = stack;
    const cfg = settings(stack);
    const name = (part: string) => `dbt-pipeline-${env}-${part}`;

    describe(stack, () => {
      it("webhook routes: one per configured vendor, each proxied to dispatch with payload format 2.0", async () => {
        const ev = await evaluateStack(stack);
        const api = one(ev, T.api, "triggers-api");
        expect(api.inputs).to.deep.equal({
          name: name("webhooks"),
          protocolType: "HTTP",
          description: "Fivetran and Airbyte webhooks that trigger dbt runs.",
          tags: TAGS(env),
        });
        const apiId = /^https:\/\/([^.]+)\.execute-api\./.exec(str(api.state, "apiEndpoint"))![1];
        const integration = one(ev, T.integration, "triggers-dispatch-integration");
        expect(integration.inputs).to.deep.equal({
          apiId,
          integrationType: "AWS_PROXY",
          integrationMethod: "POST",
          integrationUri: str(fns(ev).dispatch.state, "invokeArn"),
          payloadFormatVersion: "2.0",
          timeoutMilliseconds: 10000,
        });
        const routes = all(ev, T.route).filter((r) => r.parent === COMPONENT);
        expect(
          routes.map((r) => r.inputs).sort((a, b) => str(a, "routeKey").localeCompare(str(b, "routeKey"))),
        ).to.deep.equal([
          // The mock gives a resource the id `<name>-id`.
          {
            apiId,
            routeKey: "POST /webhooks/airbyte/{token}",
            target: "integrations/triggers-dispatch-integration-id",
          },
          { apiId, routeKey: "POST /webhooks/fivetran", target: "integrations/triggers-dispatch-integration-id" },
        ]);
        const invokes = all(ev, T.permission).filter(
          (p) => p.parent === COMPONENT && p.inputs.principal === "apigateway.amazonaws.com",
        );
        expect(
          invokes.map((p) => p.inputs).sort((a, b) => str(a, "sourceArn").localeCompare(str(b, "sourceArn"))),
        ).to.deep.equal(
          ["airbyte/*", "fivetran"].map((path) => ({
            action: "lambda:InvokeFunction",
            function: name("dispatch"),
            principal: "apigateway.amazonaws.com",
            sourceArn: `${str(api.state, "executionArn")}/*/POST/webhooks/${path}`,
          })),
        );
      });

      it("$default stage: auto-deployed, throttled from config, access logs with retention and without the path", async () => {
        const ev = await evaluateStack(stack);
        const logs = one(ev, T.logGroup, "triggers-api-logs");
        expect(logs.inputs).to.deep.equal({
          name: `/aws/apigateway/${name("webhooks")}`,
          retentionInDays: cfg["dbt.logRetentionDays"],
          tags: TAGS(env),
        });
        const stage = one(ev, T.stage, "triggers-stage");
        expect(stage.inputs).to.deep.include({
          name: "$default",
          autoDeploy: true,
          defaultRouteSettings: {
            throttlingRateLimit: cfg["triggers.rateLimit"],
            throttlingBurstLimit: cfg["triggers.burstLimit"],
          },
        });
        expect(stage.inputs.defaultRouteSettings).to.deep.equal({ throttlingRateLimit: 10, throttlingBurstLimit: 20 });
        expect(at(stage.inputs, "accessLogSettings", "destinationArn")).to.equal(str(logs.state, "arn"));
        const format = str(stage.inputs, "accessLogSettings", "format");
        expect(at(parsed(format), "routeKey")).to.equal("$context.routeKey");
        expect(format).to.not.match(/\$context\.(path|resourcePath|rawPath)|requestOverride\.path|\$request\.path/);
      });

      it("schedules: both declared in a tagged group, invoking dispatch with the exact event, retries and a DLQ", async () => {
        const ev = await evaluateStack(stack);
        const group = one(ev, T.scheduleGroup, "triggers-schedules");
        expect(group.inputs).to.deep.equal({ name: name("triggers"), tags: TAGS(env) });
        const role = one(ev, T.role, "triggers-scheduler-role");
        const target = (schedule: string) => ({
          arn: str(fns(ev).dispatch.state, "arn"),
          roleArn: str(role.state, "arn"),
          input: `{"kind":"schedule","schedule":"${schedule}","scheduledTime":"<aws.scheduler.scheduled-time>"}`,
          retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 5 },
          deadLetterConfig: { arn: str(queues(ev).async.state, "arn") },
        });
        expect(one(ev, T.schedule, "triggers-hourly").inputs).to.deep.equal({
          name: name("hourly"),
          groupName: name("triggers"),
          description: "Hourly dbt run of source_status:fresher+ (triggers.hourlySchedule).",
          scheduleExpression: "cron(5 * * * ? *)",
          scheduleExpressionTimezone: "UTC",
          state: "ENABLED",
          flexibleTimeWindow: { mode: "OFF" },
          target: target("hourly"),
        });
        expect(one(ev, T.schedule, "triggers-full-refresh").inputs).to.deep.equal({
          name: name("full-refresh"),
          groupName: name("triggers"),
          description: "Daily dbt full refresh of every node (triggers.fullRefreshSchedule).",
          scheduleExpression: "cron(0 2 * * ? *)",
          scheduleExpressionTimezone: "UTC",
          // Dev's stack file sets triggers.fullRefreshEnabled: false (idle cost).
          state: stack === "dev" ? "DISABLED" : "ENABLED",
          flexibleTimeWindow: { mode: "OFF" },
          target: target("full-refresh"),
        });
        expect([
          cfg["triggers.hourlySchedule"],
          cfg["triggers.fullRefreshSchedule"],
          cfg["triggers.timezone"],
        ]).to.deep.equal(["cron(5 * * * ? *)", "cron(0 2 * * ? *)", "UTC"]);
      });

      it('launch sweep: every 5 minutes in the group, invoking launch with {"kind":"sweep"}, short retries, the DLQ', async () => {
        const ev = await evaluateStack(stack);
        expect(one(ev, T.schedule, "triggers-launch-sweep").inputs).to.deep.equal({
          name: name("launch-sweep"),
          groupName: name("triggers"),
          description: "Renews the leases of running dbt tasks and recovers lost STOPPED events and expired leases.",
          scheduleExpression: "rate(5 minutes)",
          scheduleExpressionTimezone: "UTC",
          state: "ENABLED",
          flexibleTimeWindow: { mode: "OFF" },
          target: {
            arn: str(fns(ev).launch.state, "arn"),
            roleArn: str(one(ev, T.role, "triggers-scheduler-role").state, "arn"),
            input: '{"kind":"sweep"}',
            retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 },
            deadLetterConfig: { arn: str(queues(ev).async.state, "arn") },
          },
        });
      });

      it("hand-over: a rule on the STOPPED events of launch's tasks in this cluster invokes launch, with a permission for that rule only", async () => {
        const ev = await evaluateStack(stack);
        const runner = runnerOf(ev);
        const rule = one(ev, T.rule, "triggers-launch-task-stopped");
        expect(rule.inputs).to.deep.equal({
          name: name("launch-task-stopped"),
          description:
            "A dbt task launch started is running (renew its lease) or has stopped (release it and start the next run).",
          eventPattern: JSON.stringify({
            source: ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            detail: {
              clusterArn: [runner.clusterArn],
              lastStatus: ["RUNNING", "STOPPED"],
              startedBy: [{ prefix: "dbt-pipeline/" }],
            },
          }),
          tags: TAGS(env),
        });
        expect(one(ev, T.eventTarget, "triggers-launch-task-stopped-target").inputs).to.deep.equal({
          rule: name("launch-task-stopped"),
          arn: str(fns(ev).launch.state, "arn"),
          retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
        });
        expect(one(ev, T.permission, "triggers-launch-task-stopped-invoke").inputs).to.deep.equal({
          action: "lambda:InvokeFunction",
          function: name("launch"),
          principal: "events.amazonaws.com",
          sourceArn: str(rule.state, "arn"),
        });
      });

      it("launch state table: on demand, keys target and key, TTL on expiration, encrypted; point-in-time recovery, deletion protection and Pulumi protect in prod", async () => {
        const ev = await evaluateStack(stack);
        const prod = stack === "prod";
        expect(one(ev, T.table, "triggers-launch-state").inputs).to.deep.equal({
          name: name("launch-state"),
          billingMode: "PAY_PER_REQUEST",
          hashKey: "target",
          rangeKey: "key",
          attributes: [
            { name: "target", type: "S" },
            { name: "key", type: "S" },
          ],
          ttl: { attributeName: "expiration", enabled: true },
          pointInTimeRecovery: { enabled: prod },
          deletionProtectionEnabled: prod,
          serverSideEncryption: { enabled: true },
          tags: TAGS(env),
        });
        expect(one(ev, T.table, "triggers-launch-state").options.protect).to.equal(prod ? true : undefined);
      });

      it("scheduler role: trusted by scheduler.amazonaws.com of this account, invokes dispatch and launch (sweep) and writes its DLQ only", async () => {
        const ev = await evaluateStack(stack);
        const role = one(ev, T.role, "triggers-scheduler-role");
        expect(role.inputs.name).to.equal(name("scheduler"));
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
        const policy = one(ev, T.rolePolicy, "triggers-scheduler-policy");
        expect(policy.inputs.role).to.equal(name("scheduler"));
        expect(json(policy.inputs.policy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "InvokeDispatch",
              Effect: "Allow",
              Action: "lambda:InvokeFunction",
              Resource: str(fns(ev).dispatch.state, "arn"),
            },
            {
              Sid: "InvokeLaunchSweep",
              Effect: "Allow",
              Action: "lambda:InvokeFunction",
              Resource: str(fns(ev).launch.state, "arn"),
            },
            {
              Sid: "ScheduleDeadLetters",
              Effect: "Allow",
              Action: "sqs:SendMessage",
              Resource: str(queues(ev).async.state, "arn"),
            },
          ],
        });
      });

      it("queues: FIFO runs queue and FIFO DLQ with a redrive-allow policy, a standard DLQ for async failures, all encrypted", async () => {
        const ev = await evaluateStack(stack);
        const q = queues(ev);
        expect(q.runs.inputs).to.deep.equal({
          name: `${name("runs")}.fifo`,
          fifoQueue: true,
          contentBasedDeduplication: false,
          deduplicationScope: "messageGroup",
          fifoThroughputLimit: "perMessageGroupId",
          visibilityTimeoutSeconds: 720,
          messageRetentionSeconds: 345600,
          redrivePolicy: JSON.stringify({
            deadLetterTargetArn: `arn:aws:sqs:${REGION}:${MOCK_ACCOUNT}:${name("runs-dlq")}.fifo`,
            maxReceiveCount: 20,
          }),
          sqsManagedSseEnabled: true,
          tags: TAGS(env),
        });
        expect(q.runs.inputs.visibilityTimeoutSeconds).to.be.at.least(6 * Number(at(fns(ev).launch.inputs, "timeout")));
        expect(q.dlq.inputs).to.deep.equal({
          name: `${name("runs-dlq")}.fifo`,
          fifoQueue: true,
          contentBasedDeduplication: true,
          messageRetentionSeconds: 1209600,
          sqsManagedSseEnabled: true,
          tags: TAGS(env),
        });
        expect(one(ev, T.redriveAllow, "triggers-runs-dlq-redrive-allow").inputs).to.deep.equal({
          queueUrl: str(q.dlq.state, "url"),
          redriveAllowPolicy: JSON.stringify({
            redrivePermission: "byQueue",
            sourceQueueArns: [str(q.runs.state, "arn")],
          }),
        });
        expect(q.async.inputs).to.deep.equal({
          name: name("dispatch-dlq"),
          messageRetentionSeconds: 1209600,
          sqsManagedSseEnabled: true,
          redriveAllowPolicy: '{"redrivePermission":"denyAll"}',
          tags: TAGS(env),
        });
        expect(all(ev, T.queue).filter((r) => r.parent === COMPONENT)).to.have.length(3);
      });

      it("launch reads the runs queue: batches of 10, partial batch failures, at most 2 concurrent", async () => {
        const ev = await evaluateStack(stack);
        expect(one(ev, T.mapping, "triggers-launch-runs").inputs).to.deep.equal({
          functionName: str(fns(ev).launch.state, "arn"),
          eventSourceArn: str(queues(ev).runs.state, "arn"),
          batchSize: 10,
          functionResponseTypes: ["ReportBatchItemFailures"],
          scalingConfig: { maximumConcurrency: 2 },
          enabled: true,
          tags: TAGS(env),
        });
        // No reservation by default (single flight comes from maximumConcurrency and the lease); X-Ray on.
        expect(fns(ev).launch.inputs).to.deep.include({ timeout: 120, tracingConfig: { mode: "Active" } });
        expect(fns(ev).dispatch.inputs).to.deep.include({ timeout: 10, tracingConfig: { mode: "Active" } });
        expect(fns(ev).launch.inputs.reservedConcurrentExecutions).to.equal(undefined);
        expect(fns(ev).dispatch.inputs.reservedConcurrentExecutions).to.equal(undefined);
      });

      it("dispatch role: exact policy (queue, idempotency table, the two secrets, its async DLQ, the alert topic)", async () => {
        const ev = await evaluateStack(stack);
        const secrets = [one(ev, T.secret, "triggers-fivetran-secret"), one(ev, T.secret, "triggers-airbyte-secret")];
        expect(json(one(ev, T.rolePolicy, "triggers-dispatch-policy").inputs.policy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "WriteOwnLogs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:/aws/lambda/${name("dispatch")}:*`,
            },
            {
              Sid: "SendTraces",
              Effect: "Allow",
              Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
              Resource: "*",
            },
            {
              Sid: "EnqueueRuns",
              Effect: "Allow",
              Action: "sqs:SendMessage",
              Resource: str(queues(ev).runs.state, "arn"),
            },
            {
              Sid: "IdempotencyRecords",
              Effect: "Allow",
              Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
              Resource: `arn:aws:dynamodb:${REGION}:${MOCK_ACCOUNT}:table/${name("idempotency")}`,
            },
            {
              Sid: "AsyncDeadLetters",
              Effect: "Allow",
              Action: "sqs:SendMessage",
              Resource: str(queues(ev).async.state, "arn"),
            },
            {
              Sid: "ReadWebhookSecrets",
              Effect: "Allow",
              Action: "secretsmanager:GetSecretValue",
              Resource: secrets.map((s) => str(s.state, "arn")),
            },
            { Sid: "PublishAlerts", Effect: "Allow", Action: "sns:Publish", Resource: alertTopicOf(ev) },
          ],
        });
      });

      it("launch role: exact policy (RunTask in the cluster, ListTasks scoped by condition, DescribeTasks, PassRole to ECS, tag on RunTask only, queue, DLQ, its state table)", async () => {
        const ev = await evaluateStack(stack);
        const runner = runnerOf(ev);
        const inCluster = { ArnEquals: { "ecs:cluster": runner.clusterArn } };
        expect(json(one(ev, T.rolePolicy, "triggers-launch-policy").inputs.policy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "WriteOwnLogs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:/aws/lambda/${name("launch")}:*`,
            },
            {
              Sid: "SendTraces",
              Effect: "Allow",
              Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
              Resource: "*",
            },
            {
              Sid: "RunDbtTask",
              Effect: "Allow",
              Action: "ecs:RunTask",
              Resource: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task-definition/${runner.family}:*`,
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
              Resource: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task/${runner.clusterName}/*`,
              Condition: inCluster,
            },
            {
              Sid: "PassTaskRolesToEcsOnly",
              Effect: "Allow",
              Action: "iam:PassRole",
              Resource: [runner.taskRoleArn, runner.executionRoleArn],
              Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
            },
            {
              Sid: "TagTasksOnRunTaskOnly",
              Effect: "Allow",
              Action: "ecs:TagResource",
              Resource: `arn:aws:ecs:${REGION}:${MOCK_ACCOUNT}:task/${runner.clusterName}/*`,
              Condition: { StringEquals: { "ecs:CreateAction": "RunTask" } },
            },
            {
              Sid: "ConsumeRuns",
              Effect: "Allow",
              Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
              Resource: str(queues(ev).runs.state, "arn"),
            },
            {
              Sid: "ForwardToDeadLetters",
              Effect: "Allow",
              Action: "sqs:SendMessage",
              Resource: str(queues(ev).dlq.state, "arn"),
            },
            {
              Sid: "LaunchState",
              Effect: "Allow",
              Action: [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:Scan",
              ],
              Resource: `arn:aws:dynamodb:${REGION}:${MOCK_ACCOUNT}:table/${name("launch-state")}`,
            },
          ],
        });
      });

      it("IAM of the component: no wildcard action, `*` resource only for ecs:ListTasks with the cluster condition, PassRole conditioned", async () => {
        const ev = await evaluateStack(stack);
        const policies = mine(ev).filter((r) => r.type === T.rolePolicy);
        expect(policies.map((p) => p.name).sort()).to.deep.equal([
          "triggers-dispatch-policy",
          "triggers-launch-policy",
          "triggers-scheduler-policy",
        ]);
        for (const statement of policies.flatMap(statementsOf)) {
          for (const action of list(statement.Action)) expect(action, statement.Sid).to.not.match(/(^\*$|:\*$)/);
          // X-Ray segments (NodeFunction's SendTraces) have no resource type.
          if (list(statement.Resource).includes("*") && statement.Sid !== "SendTraces") {
            expect(statement.Action, statement.Sid).to.equal("ecs:ListTasks");
            expect(statement.Condition, statement.Sid)
              .to.have.nested.property("ArnEquals.ecs:cluster")
              .that.matches(/^arn:aws:ecs:/);
          }
          if (list(statement.Action).includes("iam:PassRole")) {
            expect(statement.Condition, statement.Sid).to.deep.equal({
              StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
            });
          }
        }
      });

      it("function environments: names, ARNs and numbers only", async () => {
        const ev = await evaluateStack(stack);
        const { dispatch, launch } = fns(ev);
        const base = (fn: string) => ({
          POWERTOOLS_SERVICE_NAME: fn,
          POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
          ENVIRONMENT: env,
        });
        expect(at(dispatch.inputs, "environment", "variables")).to.deep.equal({
          ...base("dispatch"),
          QUEUE_URL: str(queues(ev).runs.state, "url"),
          IDEMPOTENCY_TABLE: name("idempotency"),
          DEDUPE_SECONDS: String(25 * 3600),
          UNKNOWN_CONNECTOR: "ignore",
          HOURLY_SELECT: "source_status:fresher+",
          FIVETRAN_SECRET_ARN: str(one(ev, T.secret, "triggers-fivetran-secret").state, "arn"),
          AIRBYTE_TOKEN_SECRET_ARN: str(one(ev, T.secret, "triggers-airbyte-secret").state, "arn"),
          ALERT_TOPIC_ARN: alertTopicOf(ev),
        });
        expect(cfg["triggers.dedupeHours"]).to.equal(25);
        expect(dispatch.inputs.deadLetterConfig).to.deep.equal({ targetArn: str(queues(ev).async.state, "arn") });
        const runner = runnerOf(ev);
        const variables = obj(at(launch.inputs, "environment", "variables"));
        expect(variables).to.deep.include({
          ...base("launch"),
          CLUSTER_ARN: runner.clusterArn,
          TASK_DEFINITION: runner.family,
          BURST_WINDOW_SECONDS: "10",
          MIN_RUN_INTERVAL_SECONDS: "900",
          HOURLY_SKIP_WHEN_IDLE: stack === "dev" ? "true" : "false",
          MAX_LAUNCH_ATTEMPTS: "5",
          DLQ_URL: str(queues(ev).dlq.state, "url"),
          TABLE_NAME: name("launch-state"),
        });
        expect(Object.keys(variables).sort()).to.deep.equal([
          "ASSIGN_PUBLIC_IP",
          "BURST_WINDOW_SECONDS",
          "CLUSTER_ARN",
          "DLQ_URL",
          "ENVIRONMENT",
          "HOURLY_SKIP_WHEN_IDLE",
          "MAX_LAUNCH_ATTEMPTS",
          "MIN_RUN_INTERVAL_SECONDS",
          "POWERTOOLS_METRICS_NAMESPACE",
          "POWERTOOLS_SERVICE_NAME",
          "SECURITY_GROUP_IDS",
          "SUBNET_IDS",
          "TABLE_NAME",
          "TASK_DEFINITION",
        ]);
        expect(variables.SUBNET_IDS).to.match(/^subnet-[\w-]+(,subnet-[\w-]+)*$/);
        expect(variables.SECURITY_GROUP_IDS).to.match(/^sg-[\w-]+(,sg-[\w-]+)*$/);
        expect(variables.ASSIGN_PUBLIC_IP).to.equal(cfg["network.assignPublicIp"] ? "ENABLED" : "DISABLED");
        expect(launch.inputs.deadLetterConfig).to.equal(undefined);
      });

      it("secrets: explicit names, values only in secret SecretVersion inputs, never in any non-secret input", async () => {
        const ev = await evaluateStack(stack);
        for (const [key, part, description] of [
          ["fivetran", "fivetran-webhook-secret", "Fivetran webhook signing secret (HMAC-SHA256 of the body)."],
          ["airbyte", "airbyte-webhook-token", "Token in the Airbyte webhook URL path."],
        ]) {
          const secret = one(ev, T.secret, `triggers-${key}-secret`);
          expect(secret.inputs).to.deep.equal({
            name: name(part),
            description,
            recoveryWindowInDays: stack === "prod" ? 30 : 0,
            tags: TAGS(env),
          });
          const version = one(ev, T.secretVersion, `triggers-${key}-secret-version`);
          expect(version.inputs).to.deep.equal({
            secretId: str(secret.state, "arn"),
            secretString: SECRET_PLACEHOLDER,
          });
          expect(version.secretPaths).to.deep.equal(["secretString"]);
        }
        // The stack file's secure values reach the program as this placeholder.
        const leaks = ev.resources.flatMap((r) =>
          leaves(r.inputs)
            .filter(([path, value]) => !under(path, r.secretPaths) && value.includes(SECRET_PLACEHOLDER))
            .map(([path]) => `${r.type} ${r.name} ${path}`),
        );
        expect(leaks).to.deep.equal([]);
      });

      it("secrets with real-looking values: neither appears outside secret inputs and outputs", async () => {
        const ev = await evaluateStack(stack, SECRETS);
        const values = [SECRETS["fivetran.webhookSecret"], SECRETS["airbyte.webhookToken"]];
        const leaks = ev.resources.flatMap((r) =>
          leaves(r.inputs)
            .filter(([path, value]) => !under(path, r.secretPaths) && values.some((s) => value.includes(s)))
            .map(([path]) => `${r.type} ${r.name} ${path}`),
        );
        expect(leaks).to.deep.equal([]);
        expect(ev.outputs.webhookUrlAirbyte).to.match(
          new RegExp(`^https://.+/webhooks/airbyte/${SECRETS["airbyte.webhookToken"]}$`),
        );
        expect(ev.secretOutputs).to.include("webhookUrlAirbyte");
        for (const fn of Object.values(fns(ev))) {
          for (const [k, v] of Object.entries(obj(at(fn.inputs, "environment", "variables")))) {
            for (const s of values) expect(v, `${fn.name} ${k}`).to.not.include(s);
          }
        }
      });

      it("idempotency table: on demand, key id, TTL on expiration, encrypted; point-in-time recovery and deletion protection in prod", async () => {
        const ev = await evaluateStack(stack);
        const prod = stack === "prod";
        expect(one(ev, T.table, "triggers-idempotency").inputs).to.deep.equal({
          name: name("idempotency"),
          billingMode: "PAY_PER_REQUEST",
          hashKey: "id",
          attributes: [{ name: "id", type: "S" }],
          ttl: { attributeName: "expiration", enabled: true },
          pointInTimeRecovery: { enabled: prod },
          deletionProtectionEnabled: prod,
          serverSideEncryption: { enabled: true },
          tags: TAGS(env),
        });
      });

      it("stack outputs: webhook URLs (Airbyte's secret), queues and function names", async () => {
        const ev = await evaluateStack(stack);
        const api = one(ev, T.api, "triggers-api");
        expect(ev.outputs).to.deep.include({
          webhookUrlFivetran: `${str(api.state, "apiEndpoint")}/webhooks/fivetran`,
          webhookUrlAirbyte: `${str(api.state, "apiEndpoint")}/webhooks/airbyte/${SECRET_PLACEHOLDER}`,
          runsQueueArn: str(queues(ev).runs.state, "arn"),
          deadLetterQueueArn: str(queues(ev).dlq.state, "arn"),
          dispatchFunction: name("dispatch"),
          launchFunction: name("launch"),
        });
        expect(ev.secretOutputs).to.include("webhookUrlAirbyte");
        expect(ev.secretOutputs).to.not.include("webhookUrlFivetran");
      });

      it("no Snowflake subscription of its own (change detection subscribes dispatch to its topic)", async () => {
        const ev = await evaluateStack(stack);
        expect(mine(ev).filter((r) => r.type === T.subscription)).to.deep.equal([]);
      });
    });
  }

  describe("config switches", () => {
    it("hourly off: the hourly schedule stays declared, DISABLED; the full refresh is untouched; throttling follows config", async () => {
      const ev = await evaluateStack("dev", {
        "triggers.hourlyEnabled": false,
        "triggers.rateLimit": 3,
        "triggers.burstLimit": 7,
      });
      expect(one(ev, T.schedule, "triggers-hourly").inputs.state).to.equal("DISABLED");
      // Dev's own setting (triggers.fullRefreshEnabled: false), not changed by the hourly switch.
      expect(one(ev, T.schedule, "triggers-full-refresh").inputs.state).to.equal("DISABLED");
      expect(one(ev, T.stage, "triggers-stage").inputs.defaultRouteSettings).to.deep.equal({
        throttlingRateLimit: 3,
        throttlingBurstLimit: 7,
      });
    });

    it("an hourly selection of several tokens reaches dispatch as one space-separated value", async () => {
      const ev = await evaluateStack("dev", { "triggers.hourlySelect": "source_status:fresher+ tag:hourly" });
      expect(at(fns(ev).dispatch.inputs, "environment", "variables", "HOURLY_SELECT")).to.equal(
        "source_status:fresher+ tag:hourly",
      );
    });

    it("no Airbyte token: no Airbyte route, permission, secret, env var or URL", async () => {
      const ev = await evaluateStack("dev", {
        "airbyte.webhookToken": undefined,
        sources: {
          stripe: {
            fivetranConnectors: ["warranty_bullish"],
            rawTables: ["STRIPE_CHARGES", "STRIPE_CUSTOMERS"],
            fastLaneTags: ["dashboard"],
            staleAfterMinutes: 120,
          },
          hubspot: { exclude: ["tag:heavy"] },
          web_events: { rawTables: ["WEB_EVENTS"], staleAfterMinutes: 60 },
        },
      });
      expect(
        all(ev, T.route)
          .filter((r) => r.parent === COMPONENT)
          .map((r) => str(r.inputs, "routeKey")),
      ).to.deep.equal(["POST /webhooks/fivetran"]);
      expect(
        all(ev, T.permission)
          .filter((p) => p.parent === COMPONENT && p.inputs.principal === "apigateway.amazonaws.com")
          .map((p) => p.name),
      ).to.deep.equal(["triggers-fivetran-invoke"]);
      expect(
        mine(ev)
          .filter((r) => r.type === T.secret || r.type === T.secretVersion)
          .map((r) => r.name)
          .sort(),
      ).to.deep.equal(["triggers-fivetran-secret", "triggers-fivetran-secret-version"]);
      const dispatch = fns(ev).dispatch;
      expect(at(dispatch.inputs, "environment", "variables")).to.not.have.property("AIRBYTE_TOKEN_SECRET_ARN");
      const read = statementsOf(one(ev, T.rolePolicy, "triggers-dispatch-policy")).find(
        (s) => s.Sid === "ReadWebhookSecrets",
      );
      expect(read?.Resource).to.deep.equal([str(one(ev, T.secret, "triggers-fivetran-secret").state, "arn")]);
      expect(ev.outputs.webhookUrlAirbyte).to.equal(undefined);
      expect(ev.secretOutputs).to.not.include("webhookUrlAirbyte");
    });
  });
});

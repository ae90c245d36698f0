/**
 * Knowing what happened:
 *
 *   ECS task STOPPED (default bus) ─rule─▶ notify ─▶ Slack, alert topic (pages), run bus (dbt.run.completed), metrics
 *   alert topic (failed syncs, Snowflake task errors, alarms) ─▶ notify ─▶ Slack only
 *   every 5 minutes ─scheduler─▶ freshness ─▶ MinutesSinceLastLoad per source
 *   alarms (staleness, failed runs in a row, DLQs, Lambda error rates) ─▶ alert topic
 *
 * Snowflake credit use has no CloudWatch metric: the resource monitor of the Snowflake
 * foundation notifies at 75 % and 90 % of the quota inside Snowflake, so no alarm is faked here.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, servicePrincipalTrust } from "../lib/iam";
import { awsName, defaultTags } from "../lib/naming";
import { NodeFunction } from "../lib/node-function";
import { AlarmSpec, consecutiveFailuresAlarm, deadLetterAlarm, errorRateAlarm, staleSourceAlarm } from "./alarms";
import { LAUNCH_SERVICE, launchAlarms } from "./launch-alarms";
import { dashboardBody } from "./dashboard";
import {
  deadLetterQueuePolicy,
  freshnessStatements,
  notifyStatements,
  schedulerStatements,
  schedulerTrustCondition,
} from "./policies";
import { taskStoppedPattern } from "./rule";

/** The dbt runner's values observability needs (outputs of the runner component). */
export interface ObservabilityRunner {
  /** Cluster the dbt tasks run in. */
  readonly clusterArn: pulumi.Input<string>;
  /** Task definition family of the dbt task (events carry `group: family:<family>`). */
  readonly taskDefinitionFamily: pulumi.Input<string>;
  /** Artifact bucket name (runs under `<env>/runs/<runId>/`, latest under `<env>/latest/`). */
  readonly artifactBucketName: pulumi.Input<string>;
  /** Artifact bucket ARN. */
  readonly artifactBucketArn: pulumi.Input<string>;
  /** Log group of the dbt containers. */
  readonly logGroupName: pulumi.Input<string>;
  /** awslogs stream prefix of the dbt containers (the runner's `LOG_STREAM_PREFIX`); streams are `<prefix>/<container>/<task id>`. */
  readonly logStreamPrefix: pulumi.Input<string>;
}

/** A dead-letter queue to alarm on. */
export interface WatchedQueue {
  /** Short label, part of the alarm name (e.g. `runs`). */
  readonly label: string;
  readonly queueName: pulumi.Input<string>;
}

/** A Lambda function to alarm on. */
export interface WatchedFunction {
  /** Short label, part of the alarm name (e.g. `dispatch`). */
  readonly label: string;
  readonly functionName: pulumi.Input<string>;
}

/** A source whose freshness is checked and alarmed on (`sources`). */
export interface WatchedSource {
  /** dbt source name; the metric's `Source` dimension and part of the alarm name. */
  readonly name: string;
  /** Minutes without a load before its alarm fires. */
  readonly staleAfterMinutes: number;
}

/** When the alarms fire (`notify.*`). */
export interface AlarmThresholds {
  /** Failed dbt runs in a row that raise the alarm (`notify.consecutiveFailures`). No default. */
  readonly consecutiveFailures: number;
  /** Error rate, in percent of invocations, that raises a function's alarm (`notify.lambdaErrorRatePercent`). No default. */
  readonly lambdaErrorRatePercent: number;
}

/**
 * Arguments of {@link Observability}. Settings have no default here: the stack's defaults live in
 * config-keys.ts.
 */
export interface ObservabilityArgs {
  /** Environment name: resource names `dbt-pipeline-<env>-…` and tags. No default. */
  readonly environment: string;
  /** Keep a deleted Slack secret restorable for 30 days (`protect`). No default. */
  readonly protect: boolean;
  /** Days the functions' logs are kept (`dbt.logRetentionDays`). No default. */
  readonly logRetentionDays: number;
  /** When the alarms fire. No default. */
  readonly thresholds: AlarmThresholds;
  /** Sources to check for freshness every 5 minutes. Default none: no freshness function, schedule or alarms. */
  readonly sources?: readonly WatchedSource[];
  /** Slack incoming webhook URL, a secret output (`notify.slackWebhookUrl`). Default none: no Slack secret, notify posts nothing. */
  readonly slackWebhookUrl?: pulumi.Output<string>;
  /** The alert topic (the {@link Alerts} component). */
  readonly alerts: { readonly topicArn: pulumi.Input<string> };
  /** Where dbt runs. */
  readonly runner: ObservabilityRunner;
  /** Other components' dead-letter queues; each gets a "messages visible" alarm. Default none. */
  readonly deadLetterQueues?: readonly WatchedQueue[];
  /** Other components' functions; each gets an error-rate alarm. Default none. */
  readonly functions?: readonly WatchedFunction[];
}

/** Reported runs, source freshness, alarms and the dashboard of one environment. */
export class Observability extends pulumi.ComponentResource {
  /** Name of the bus `dbt.run.completed` events are published to. */
  public readonly runEventBusName: pulumi.Output<string>;
  /** ARN of that bus (subscribers' rules live on it). */
  public readonly runEventBusArn: pulumi.Output<string>;
  /** Physical name of the notify function. */
  public readonly notifyFunctionName: pulumi.Output<string>;
  /** Physical name of the freshness function; undefined when the stack has no sources. */
  public readonly freshnessFunctionName?: pulumi.Output<string>;
  /** Name of the CloudWatch dashboard. */
  public readonly dashboardName: pulumi.Output<string>;
  /** ARNs of every alarm, by spec key. */
  public readonly alarmArns: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:observability:Observability", name, {}, opts);
    const { runner, thresholds } = args;
    const env = args.environment;
    const sources = args.sources ?? [];
    const tags = defaultTags(env);
    const parent = { parent: this };
    const topicArn = args.alerts.topicArn;
    const labels = [
      ...(args.deadLetterQueues ?? []).map((q) => `queue ${q.label}`),
      ...(args.functions ?? []).map((f) => `function ${f.label}`),
    ];
    const duplicate = labels.find((l, i) => labels.indexOf(l) !== i);
    if (duplicate) throw new Error(`${name}: ${duplicate} is listed twice; labels name the alarms and must be unique`);
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const region = aws.getRegionOutput({}, parent).region;

    const bus = new aws.cloudwatch.EventBus(
      `${name}-runs-bus`,
      {
        name: awsName(env, "runs"),
        description: `dbt-pipeline ${env}: dbt.run.completed events, one per finished dbt task (docs/run-events.md).`,
        tags,
      },
      parent,
    );

    const deadLetterQueue = new aws.sqs.Queue(
      `${name}-notify-dlq`,
      {
        name: awsName(env, "notify-dlq"),
        messageRetentionSeconds: 14 * 24 * 3600,
        sqsManagedSseEnabled: true,
        tags,
      },
      parent,
    );

    // Powertools idempotency records (id, expiration TTL) and the one run-state item share it.
    const table = new aws.dynamodb.Table(
      `${name}-notify-table`,
      {
        name: awsName(env, "notify"),
        billingMode: "PAY_PER_REQUEST",
        hashKey: "id",
        attributes: [{ name: "id", type: "S" }],
        ttl: { attributeName: "expiration", enabled: true },
        serverSideEncryption: { enabled: true },
        tags,
      },
      parent,
    );

    const slackUrl = args.slackWebhookUrl;
    const slackSecret =
      slackUrl &&
      new aws.secretsmanager.Secret(
        `${name}-slack-secret`,
        {
          name: awsName(env, "slack-webhook"),
          description: "Slack incoming webhook URL notify posts to (set from notify.slackWebhookUrl).",
          // Prod keeps a deleted secret restorable; dev deletes at once so the name is free again.
          recoveryWindowInDays: args.protect ? 30 : 0,
          tags,
        },
        parent,
      );
    if (slackSecret && slackUrl) {
      new aws.secretsmanager.SecretVersion(
        `${name}-slack-secret-version`,
        { secretId: slackSecret.id, secretString: pulumi.secret(slackUrl) },
        parent,
      );
    }

    const notify = new NodeFunction(
      `${name}-notify`,
      {
        environment: env,
        functionName: "notify",
        description:
          "Reports finished dbt tasks and alert-topic messages to Slack, pages the alert topic, publishes dbt.run.completed.",
        logRetentionDays: args.logRetentionDays,
        timeout: 60,
        statements: notifyStatements({
          artifactBucketArn: runner.artifactBucketArn,
          environment: env,
          eventBusArn: bus.arn,
          alertTopicArn: topicArn,
          slackSecretArn: slackSecret ? slackSecret.arn : undefined,
          tableArn: table.arn,
          deadLetterQueueArn: deadLetterQueue.arn,
        }),
        variables: {
          ARTIFACT_BUCKET: runner.artifactBucketName,
          EVENT_BUS_NAME: bus.name,
          ALERT_TOPIC_ARN: topicArn,
          STATE_TABLE: table.name,
          LOG_GROUP_NAME: runner.logGroupName,
          LOG_STREAM_PREFIX: runner.logStreamPrefix,
          ...(slackSecret ? { SLACK_SECRET_ARN: slackSecret.arn } : {}),
        },
        deadLetterTargetArn: deadLetterQueue.arn,
      },
      parent,
    );

    const rule = new aws.cloudwatch.EventRule(
      `${name}-task-stopped`,
      {
        name: awsName(env, "dbt-task-stopped"),
        description: "A dbt task of this environment stopped: notify reports it.",
        eventPattern: pulumi
          .all([runner.clusterArn, runner.taskDefinitionFamily])
          .apply(([cluster, family]) => JSON.stringify(taskStoppedPattern(cluster, family))),
        tags,
      },
      parent,
    );
    const ruleInvoke = new aws.lambda.Permission(
      `${name}-notify-rule-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: notify.function.name,
        principal: "events.amazonaws.com",
        sourceArn: rule.arn,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-notify-target`,
      {
        rule: rule.name,
        arn: notify.function.arn,
        // Retry delivery for up to a day; what still fails lands in the DLQ (alarmed below).
        retryPolicy: { maximumEventAgeInSeconds: 24 * 3600, maximumRetryAttempts: 20 },
        deadLetterConfig: { arn: deadLetterQueue.arn },
      },
      { parent: this, dependsOn: [ruleInvoke] },
    );

    const topicInvoke = new aws.lambda.Permission(
      `${name}-notify-topic-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: notify.function.name,
        principal: "sns.amazonaws.com",
        sourceArn: topicArn,
      },
      parent,
    );
    // No filter policy: `exists: false` never matches messages without attributes (alarms,
    // Snowflake), so notify skips its own pages by their `origin` attribute in code.
    const subscription = new aws.sns.TopicSubscription(
      `${name}-notify-subscription`,
      {
        topic: topicArn,
        protocol: "lambda",
        endpoint: notify.function.arn,
        redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: deadLetterQueue.arn }),
      },
      { parent: this, dependsOn: [topicInvoke] },
    );
    new aws.sqs.QueuePolicy(
      `${name}-notify-dlq-policy`,
      {
        queueUrl: deadLetterQueue.url,
        policy: pulumi
          .all([deadLetterQueue.arn, rule.arn, topicArn])
          .apply(([q, r, t]) => JSON.stringify(deadLetterQueuePolicy(q, r, t))),
      },
      { parent: this, dependsOn: [subscription] },
    );

    const freshness = sources.length
      ? this.freshnessCheck(
          name,
          { environment: env, logRetentionDays: args.logRetentionDays, sources },
          runner,
          account,
        )
      : undefined;

    const queues: WatchedQueue[] = [
      ...(args.deadLetterQueues ?? []),
      { label: "notify", queueName: deadLetterQueue.name },
      ...(this.freshnessDeadLetterQueue ? [{ label: "freshness", queueName: this.freshnessDeadLetterQueue.name }] : []),
    ];
    const functions: WatchedFunction[] = [
      ...(args.functions ?? []),
      { label: "notify", functionName: notify.function.name },
      ...(freshness ? [{ label: "freshness", functionName: freshness.function.name }] : []),
    ];
    const specs: AlarmSpec[] = [
      ...(freshness ? sources.map((s) => staleSourceAlarm(env, s.name, s.staleAfterMinutes)) : []),
      consecutiveFailuresAlarm(env, thresholds.consecutiveFailures),
      ...queues.map((q) => deadLetterAlarm(env, q.label, q.queueName)),
      ...functions.map((f) => errorRateAlarm(env, f.label, f.functionName, thresholds.lambdaErrorRatePercent)),
      ...(functions.some((f) => f.label === LAUNCH_SERVICE) ? launchAlarms(env) : []),
    ];
    const alarmArns: Record<string, pulumi.Output<string>> = {};
    for (const spec of specs) {
      const alarm = new aws.cloudwatch.MetricAlarm(
        `${name}-${spec.key}`,
        {
          name: spec.name,
          alarmDescription: spec.description,
          comparisonOperator: spec.comparisonOperator,
          threshold: spec.threshold,
          evaluationPeriods: spec.evaluationPeriods,
          treatMissingData: spec.treatMissingData,
          ...(spec.metric ? { ...spec.metric } : {}),
          ...(spec.metricQueries ? { metricQueries: spec.metricQueries.map((q) => ({ ...q })) } : {}),
          alarmActions: [topicArn],
          okActions: [topicArn],
          tags,
        },
        parent,
      );
      alarmArns[spec.key] = alarm.arn;
    }

    const dashboardName = awsName(env, "overview");
    const dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName,
        dashboardBody: pulumi
          .all([
            region,
            pulumi.all(queues.map((q) => pulumi.output(q.queueName))),
            pulumi.all(functions.map((f) => pulumi.output(f.functionName))),
            pulumi.all(Object.values(alarmArns)),
          ])
          .apply(([r, queueNames, functionNames, arns]) =>
            JSON.stringify(
              dashboardBody({
                region: r,
                environment: env,
                consecutiveFailures: thresholds.consecutiveFailures,
                sources: freshness
                  ? sources.map((s) => ({ name: s.name, staleAfterMinutes: s.staleAfterMinutes }))
                  : [],
                deadLetterQueues: queues.map((q, i) => ({ label: q.label, queueName: queueNames[i] })),
                functions: functions.map((f, i) => ({ label: f.label, functionName: functionNames[i] })),
                alarmArns: arns,
              }),
            ),
          ),
      },
      parent,
    );

    this.runEventBusName = bus.name;
    this.runEventBusArn = bus.arn;
    this.notifyFunctionName = notify.function.name;
    this.freshnessFunctionName = freshness?.function.name;
    this.dashboardName = dashboard.dashboardName;
    this.alarmArns = alarmArns;
    this.registerOutputs({
      runEventBusName: this.runEventBusName,
      runEventBusArn: this.runEventBusArn,
      notifyFunctionName: this.notifyFunctionName,
      freshnessFunctionName: this.freshnessFunctionName,
      dashboardName: this.dashboardName,
    });
  }

  /** Dead-letter queue of the freshness schedule (set by freshnessCheck when the stack has sources). */
  private freshnessDeadLetterQueue?: aws.sqs.Queue;

  /** The freshness function and the schedule that runs it every 5 minutes. */
  private freshnessCheck(
    name: string,
    settings: { environment: string; logRetentionDays: number; sources: readonly WatchedSource[] },
    runner: ObservabilityRunner,
    account: pulumi.Output<string>,
  ): NodeFunction {
    const env = settings.environment;
    const parent = { parent: this };
    const fn = new NodeFunction(
      `${name}-freshness`,
      {
        environment: env,
        functionName: "freshness",
        description: "Records minutes since each source's last load from the latest dbt sources.json.",
        logRetentionDays: settings.logRetentionDays,
        timeout: 30,
        statements: freshnessStatements(runner.artifactBucketArn, env),
        variables: {
          ARTIFACT_BUCKET: runner.artifactBucketName,
          SOURCES: settings.sources.map((s) => s.name).join(","),
        },
      },
      parent,
    );
    // Invocations the scheduler gives up on (retries spent, event too old) land here; the
    // scheduler sends them with its execution role (EventBridge Scheduler User Guide,
    // "Configuring a dead-letter queue"), so the role may send to this queue only.
    const deadLetters = new aws.sqs.Queue(
      `${name}-freshness-dlq`,
      {
        name: awsName(env, "freshness-dlq"),
        messageRetentionSeconds: 14 * 24 * 3600,
        sqsManagedSseEnabled: true,
        tags: defaultTags(env),
      },
      parent,
    );
    this.freshnessDeadLetterQueue = deadLetters;
    const role = new aws.iam.Role(
      `${name}-freshness-scheduler-role`,
      {
        name: awsName(env, "freshness-scheduler"),
        assumeRolePolicy: servicePrincipalTrust("scheduler.amazonaws.com", schedulerTrustCondition(account)),
        tags: defaultTags(env),
      },
      parent,
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-freshness-scheduler-policy`,
      {
        role: role.name,
        policy: policyDocument([
          ...schedulerStatements(fn.function.arn),
          { Sid: "ScheduleDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: deadLetters.arn },
        ]),
      },
      parent,
    );
    new aws.scheduler.Schedule(
      `${name}-freshness-schedule`,
      {
        name: awsName(env, "freshness"),
        description: "Checks source freshness every 5 minutes.",
        scheduleExpression: "rate(5 minutes)",
        flexibleTimeWindow: { mode: "OFF" },
        state: "ENABLED",
        target: {
          arn: fn.function.arn,
          roleArn: role.arn,
          // A check older than one period is worthless: the next one is on its way.
          retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 },
          deadLetterConfig: { arn: deadLetters.arn },
        },
      },
      { parent: this, dependsOn: [policy] },
    );
    return fn;
  }
}

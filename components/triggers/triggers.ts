/**
 * Every way a dbt run is asked for, and the one path all of them take:
 *
 *   Fivetran / Airbyte webhook ─▶ HTTP API ─┐
 *   hourly / full-refresh schedule ─────────┼─▶ dispatch ─▶ runs.fifo ─▶ launch ─▶ ECS RunTask
 *   Snowflake task ─▶ SNS topic ────────────┘      │             │      ▲   │
 *                                      async failures   poison / │      │   ▼ pending set + lease
 *                                         ▼          rejected ▼  │      │   (DynamoDB, launch-state)
 *                                    dispatch-dlq    runs-dlq.fifo      │
 *                          ECS task STOPPED event (EventBridge) ────────┤
 *                          sweep schedule (every 5 min) ────────────────┘
 *
 * dispatch validates (HMAC, token), dedupes (DynamoDB, Powertools idempotency) and enqueues;
 * launch moves each request into its target's pending set, and whoever takes the target's lease
 * starts one run of every waiting request; the run's STOPPED event releases the lease and starts
 * the next; the sweep renews leases of running tasks and recovers lost events.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { SourceConfig } from "../../config";
import { policyDocument, servicePrincipalTrust } from "../lib/iam";
import { awsName, defaultTags } from "../lib/naming";
import { NodeFunction } from "../lib/node-function";
import {
  dispatchStatements,
  launchStatements,
  schedulerStatements,
  schedulerTrustCondition,
  taskArnPattern,
  taskDefinitionArnPattern,
} from "./policies";
import {
  DEAD_LETTER_RETENTION_SECONDS,
  DENY_ALL_REDRIVE,
  DISPATCH_TIMEOUT_SECONDS,
  LAUNCH_EVENT_SOURCE,
  LAUNCH_SWEEP_INPUT,
  LAUNCH_SWEEP_SCHEDULE,
  LAUNCH_TIMEOUT_SECONDS,
  RUNS_RETENTION_SECONDS,
  RUNS_VISIBILITY_TIMEOUT_SECONDS,
  SCHEDULE_RETRY_POLICY,
  WEBHOOK_ROUTES,
  WebhookKey,
  accessLogFormat,
  redriveAllowPolicy,
  redrivePolicy,
  routeSourceArn,
  TriggerSettings,
  scheduleSpecs,
  taskStoppedPattern,
} from "./settings";
import { sourcesJson } from "./sources";

/** The dbt runner's values launch needs (outputs of the runner component). */
export interface TriggersRunner {
  /** Cluster the dbt tasks run in. */
  readonly clusterArn: pulumi.Input<string>;
  /** Its name (for the task ARN pattern). */
  readonly clusterName: pulumi.Input<string>;
  /** Task definition family; launch runs its latest ACTIVE revision. */
  readonly taskDefinitionFamily: pulumi.Input<string>;
  /** Subnets of the tasks. */
  readonly subnetIds: pulumi.Input<readonly pulumi.Input<string>[]>;
  /** Security groups of the tasks. */
  readonly securityGroupIds: pulumi.Input<readonly pulumi.Input<string>[]>;
  /** Whether tasks get a public IP (public subnets without NAT). */
  readonly assignPublicIp: pulumi.Input<boolean>;
  /** Role the dbt containers run as; launch may pass it to ECS only. */
  readonly taskRoleArn: pulumi.Input<string>;
  /** Task execution role; launch may pass it to ECS only. */
  readonly executionRoleArn: pulumi.Input<string>;
}

/** The vendors' webhook credentials, as secret outputs; a vendor without one gets no route. */
export interface WebhookCredentials {
  /** Fivetran's signing secret (`fivetran.webhookSecret`). Default none: no Fivetran route. */
  readonly fivetranSecret?: pulumi.Output<string>;
  /** The token in Airbyte's webhook URL (`airbyte.webhookToken`). Default none: no Airbyte route. */
  readonly airbyteToken?: pulumi.Output<string>;
}

/**
 * Arguments of {@link Triggers}. Settings have no default here: the stack's defaults live in
 * config-keys.ts.
 */
export interface TriggersArgs {
  /** Environment name: resource names `dbt-pipeline-<env>-…` and tags. No default. */
  readonly environment: string;
  /** Protect the idempotency and launch-state tables, keep deleted secrets restorable (`protect`). No default. */
  readonly protect: boolean;
  /** Schedules, dispatch, launch and webhook API settings (`triggers.*`). No default. */
  readonly settings: TriggerSettings;
  /** Sources dispatch maps webhooks and Snowflake messages to (`sources`, sorted, defaults applied). No default. */
  readonly sources: readonly SourceConfig[];
  /** dbt target every run uses, written to sources.json (`dbt.target`, resolved). No default. */
  readonly dbtTarget: string;
  /** Days the functions' and the API's logs are kept (`dbt.logRetentionDays`). No default. */
  readonly logRetentionDays: number;
  /** The vendors' webhook credentials. Default none: no webhook route. */
  readonly webhooks?: WebhookCredentials;
  /** Where launch starts dbt. */
  readonly runner: TriggersRunner;
  /** SNS topic dispatch alerts on. Default none: no ALERT_TOPIC_ARN, no sns:Publish. */
  readonly alertTopicArn?: pulumi.Input<string>;
}

/** Webhooks, schedules and the Snowflake topic, all funnelled through dispatch → runs queue → launch. */
export class Triggers extends pulumi.ComponentResource {
  /** Base URL of the webhook API (`$default` stage). */
  public readonly apiEndpoint: pulumi.Output<string>;
  /** URL to register in Fivetran; undefined when `fivetran.webhookSecret` is not set. */
  public readonly fivetranWebhookUrl?: pulumi.Output<string>;
  /** URL to register in Airbyte, token included: a secret. Undefined when `airbyte.webhookToken` is not set. */
  public readonly airbyteWebhookUrl?: pulumi.Output<string>;
  /** The runs FIFO queue. */
  public readonly runsQueueArn: pulumi.Output<string>;
  /** URL of the runs FIFO queue. */
  public readonly runsQueueUrl: pulumi.Output<string>;
  /** FIFO dead-letter queue of run requests that could not be launched. */
  public readonly deadLetterQueueArn: pulumi.Output<string>;
  /** Standard dead-letter queue of failed asynchronous dispatch invocations and undeliverable schedules. */
  public readonly asyncDeadLetterQueueArn: pulumi.Output<string>;
  /** Physical name of the dispatch function. */
  public readonly dispatchFunctionName: pulumi.Output<string>;
  /** Physical name of the launch function. */
  public readonly launchFunctionName: pulumi.Output<string>;
  /** ARN of the dispatch function. */
  public readonly dispatchFunctionArn: pulumi.Output<string>;
  /** Name of the idempotency table. */
  public readonly idempotencyTableName: pulumi.Output<string>;
  /** The two functions, for alarms. */
  public readonly functions: { readonly dispatch: NodeFunction; readonly launch: NodeFunction };

  constructor(name: string, args: TriggersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:triggers:Triggers", name, {}, opts);
    const { runner, protect } = args;
    const env = args.environment;
    const t = args.settings;
    const webhooks = args.webhooks ?? {};
    const tags = defaultTags(env);
    const parent = { parent: this };
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const region = aws.getRegionOutput({}, parent).region;

    // Vendor credentials: values live in Secrets Manager only; dispatch gets the ARNs.
    const vendorSecret = (key: WebhookKey, part: string, value: pulumi.Output<string>, description: string) => {
      const secret = new aws.secretsmanager.Secret(
        `${name}-${key}-secret`,
        {
          name: awsName(env, part),
          description,
          // Prod keeps a deleted secret restorable; dev deletes at once so the name is free again.
          recoveryWindowInDays: protect ? 30 : 0,
          tags,
        },
        parent,
      );
      new aws.secretsmanager.SecretVersion(
        `${name}-${key}-secret-version`,
        { secretId: secret.id, secretString: pulumi.secret(value) },
        parent,
      );
      return secret;
    };
    const fivetranSecret =
      webhooks.fivetranSecret &&
      vendorSecret(
        "fivetran",
        "fivetran-webhook-secret",
        webhooks.fivetranSecret,
        "Fivetran webhook signing secret (HMAC-SHA256 of the body).",
      );
    const airbyteToken =
      webhooks.airbyteToken &&
      vendorSecret("airbyte", "airbyte-webhook-token", webhooks.airbyteToken, "Token in the Airbyte webhook URL path.");

    const table = new aws.dynamodb.Table(
      `${name}-idempotency`,
      {
        name: awsName(env, "idempotency"),
        billingMode: "PAY_PER_REQUEST",
        hashKey: "id",
        attributes: [{ name: "id", type: "S" }],
        ttl: { attributeName: "expiration", enabled: true },
        pointInTimeRecovery: { enabled: protect },
        deletionProtectionEnabled: protect,
        serverSideEncryption: { enabled: true },
        tags,
      },
      parent,
    );

    // Launch's pending requests and leases, one partition per dbt target. TTL removes served
    // requests only (launch never sets it on a pending request or a lease). Protected in prod:
    // once launch has acknowledged a message, its request lives only here.
    const launchState = new aws.dynamodb.Table(
      `${name}-launch-state`,
      {
        name: awsName(env, "launch-state"),
        billingMode: "PAY_PER_REQUEST",
        hashKey: "target",
        rangeKey: "key",
        attributes: [
          { name: "target", type: "S" },
          { name: "key", type: "S" },
        ],
        ttl: { attributeName: "expiration", enabled: true },
        pointInTimeRecovery: { enabled: protect },
        deletionProtectionEnabled: protect,
        serverSideEncryption: { enabled: true },
        tags,
      },
      protect ? { ...parent, protect: true } : parent,
    );

    // Queues. The DLQs keep messages 14 days; every queue is encrypted (SSE-SQS).
    const deadLetterQueue = new aws.sqs.Queue(
      `${name}-runs-dlq`,
      {
        name: `${awsName(env, "runs-dlq")}.fifo`,
        fifoQueue: true,
        // Launch forwards poison messages itself; content dedupe spares it a deduplication id.
        contentBasedDeduplication: true,
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
        tags,
      },
      parent,
    );
    const runsQueue = new aws.sqs.Queue(
      `${name}-runs`,
      {
        name: `${awsName(env, "runs")}.fifo`,
        fifoQueue: true,
        // Dispatch sets the deduplication id (the delivery's idempotency key).
        contentBasedDeduplication: false,
        deduplicationScope: "messageGroup",
        fifoThroughputLimit: "perMessageGroupId",
        visibilityTimeoutSeconds: RUNS_VISIBILITY_TIMEOUT_SECONDS,
        messageRetentionSeconds: RUNS_RETENTION_SECONDS,
        redrivePolicy: pulumi.jsonStringify(redrivePolicy(deadLetterQueue.arn)),
        sqsManagedSseEnabled: true,
        tags,
      },
      parent,
    );
    // A separate resource: the DLQ cannot name the runs queue's ARN before the runs queue exists.
    new aws.sqs.RedriveAllowPolicy(
      `${name}-runs-dlq-redrive-allow`,
      {
        queueUrl: deadLetterQueue.url,
        redriveAllowPolicy: pulumi.jsonStringify(redriveAllowPolicy([runsQueue.arn])),
      },
      parent,
    );
    const asyncDeadLetterQueue = new aws.sqs.Queue(
      `${name}-dispatch-dlq`,
      {
        name: awsName(env, "dispatch-dlq"),
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        sqsManagedSseEnabled: true,
        redriveAllowPolicy: JSON.stringify(DENY_ALL_REDRIVE),
        tags,
      },
      parent,
    );

    const secretArns = [fivetranSecret, airbyteToken]
      .filter((s): s is aws.secretsmanager.Secret => !!s)
      .map((s) => s.arn);
    const dispatch = new NodeFunction(
      `${name}-dispatch`,
      {
        environment: env,
        functionName: "dispatch",
        description: "Validates webhook, schedule and Snowflake triggers, dedupes them and enqueues dbt run requests.",
        logRetentionDays: args.logRetentionDays,
        timeout: DISPATCH_TIMEOUT_SECONDS,
        statements: dispatchStatements({
          runsQueueArn: runsQueue.arn,
          idempotencyTableArn: table.arn,
          asyncDeadLetterQueueArn: asyncDeadLetterQueue.arn,
          secretArns,
          alertTopicArn: args.alertTopicArn,
        }),
        variables: {
          QUEUE_URL: runsQueue.url,
          IDEMPOTENCY_TABLE: table.name,
          DEDUPE_SECONDS: String(t.dedupeHours * 3600),
          UNKNOWN_CONNECTOR: t.unknownConnector,
          HOURLY_SELECT: t.hourlySelect,
          ...(t.fullRefreshSelect ? { FULL_REFRESH_SELECT: t.fullRefreshSelect } : {}),
          ...(t.fullRefreshExclude ? { FULL_REFRESH_EXCLUDE: t.fullRefreshExclude } : {}),
          ...(fivetranSecret ? { FIVETRAN_SECRET_ARN: fivetranSecret.arn } : {}),
          ...(airbyteToken ? { AIRBYTE_TOKEN_SECRET_ARN: airbyteToken.arn } : {}),
          ...(args.alertTopicArn !== undefined ? { ALERT_TOPIC_ARN: args.alertTopicArn } : {}),
        },
        files: { "sources.json": sourcesJson({ dbt: { target: args.dbtTarget }, sources: args.sources }) },
        deadLetterTargetArn: asyncDeadLetterQueue.arn,
      },
      parent,
    );

    const joined = (ids: pulumi.Input<readonly pulumi.Input<string>[]>) => pulumi.output(ids).apply((v) => v.join(","));
    const launch = new NodeFunction(
      `${name}-launch`,
      {
        environment: env,
        functionName: "launch",
        description:
          "Keeps each target's waiting dbt run requests and starts one ECS task per target at a time, every waiting request in it.",
        logRetentionDays: args.logRetentionDays,
        timeout: LAUNCH_TIMEOUT_SECONDS,
        statements: launchStatements({
          clusterArn: runner.clusterArn,
          taskDefinitionArnPattern: pulumi
            .all([region, account, runner.taskDefinitionFamily])
            .apply(([r, a, f]) => taskDefinitionArnPattern(r, a, f)),
          taskArnPattern: pulumi
            .all([region, account, runner.clusterName])
            .apply(([r, a, c]) => taskArnPattern(r, a, c)),
          taskRoleArn: runner.taskRoleArn,
          executionRoleArn: runner.executionRoleArn,
          runsQueueArn: runsQueue.arn,
          deadLetterQueueArn: deadLetterQueue.arn,
          launchStateTableArn: launchState.arn,
        }),
        variables: {
          CLUSTER_ARN: runner.clusterArn,
          TASK_DEFINITION: runner.taskDefinitionFamily,
          SUBNET_IDS: joined(runner.subnetIds),
          SECURITY_GROUP_IDS: joined(runner.securityGroupIds),
          ASSIGN_PUBLIC_IP: pulumi.output(runner.assignPublicIp).apply((on) => (on ? "ENABLED" : "DISABLED")),
          BURST_WINDOW_SECONDS: String(t.burstWindowSeconds),
          MIN_RUN_INTERVAL_SECONDS: String(t.minRunIntervalSeconds),
          HOURLY_SKIP_WHEN_IDLE: String(t.hourlySkipWhenIdle),
          MAX_LAUNCH_ATTEMPTS: String(t.maxLaunchAttempts),
          DLQ_URL: deadLetterQueue.url,
          TABLE_NAME: launchState.name,
        },
      },
      parent,
    );
    new aws.lambda.EventSourceMapping(
      `${name}-launch-runs`,
      {
        functionName: launch.function.arn,
        eventSourceArn: runsQueue.arn,
        batchSize: LAUNCH_EVENT_SOURCE.batchSize,
        functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: LAUNCH_EVENT_SOURCE.maximumConcurrency },
        enabled: true,
        tags,
      },
      parent,
    );

    // Webhooks: one HTTP API, a route per configured vendor, both proxied to dispatch.
    const apiName = awsName(env, "webhooks");
    const api = new aws.apigatewayv2.Api(
      `${name}-api`,
      {
        name: apiName,
        protocolType: "HTTP",
        description: "Fivetran and Airbyte webhooks that trigger dbt runs.",
        tags,
      },
      parent,
    );
    const accessLogs = new aws.cloudwatch.LogGroup(
      `${name}-api-logs`,
      {
        name: `/aws/apigateway/${apiName}`,
        retentionInDays: args.logRetentionDays,
        tags,
      },
      parent,
    );
    const integration = new aws.apigatewayv2.Integration(
      `${name}-dispatch-integration`,
      {
        apiId: api.id,
        integrationType: "AWS_PROXY",
        integrationMethod: "POST",
        integrationUri: dispatch.function.invokeArn,
        payloadFormatVersion: "2.0",
        timeoutMilliseconds: DISPATCH_TIMEOUT_SECONDS * 1000,
      },
      parent,
    );
    const route = (key: WebhookKey) => {
      const routeKey = WEBHOOK_ROUTES[key];
      new aws.apigatewayv2.Route(
        `${name}-${key}-route`,
        {
          apiId: api.id,
          routeKey,
          target: pulumi.interpolate`integrations/${integration.id}`,
        },
        parent,
      );
      // One permission per route: the API may invoke dispatch through these routes only.
      new aws.lambda.Permission(
        `${name}-${key}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: dispatch.function.name,
          principal: "apigateway.amazonaws.com",
          sourceArn: api.executionArn.apply((arn) => routeSourceArn(arn, routeKey)),
        },
        parent,
      );
    };
    if (fivetranSecret) route("fivetran");
    if (airbyteToken) route("airbyte");
    new aws.apigatewayv2.Stage(
      `${name}-stage`,
      {
        apiId: api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingRateLimit: t.rateLimit, throttlingBurstLimit: t.burstLimit },
        accessLogSettings: { destinationArn: accessLogs.arn, format: accessLogFormat() },
        tags,
      },
      parent,
    );

    // Schedules: declared even when switched off (state DISABLED), so switching is a one-field update.
    const group = new aws.scheduler.ScheduleGroup(
      `${name}-schedules`,
      { name: awsName(env, "triggers"), tags },
      parent,
    );
    const schedulerRole = new aws.iam.Role(
      `${name}-scheduler-role`,
      {
        name: awsName(env, "scheduler"),
        assumeRolePolicy: servicePrincipalTrust("scheduler.amazonaws.com", schedulerTrustCondition(account)),
        tags,
      },
      parent,
    );
    const schedulerPolicy = new aws.iam.RolePolicy(
      `${name}-scheduler-policy`,
      {
        role: schedulerRole.name,
        policy: policyDocument(
          schedulerStatements({
            dispatchFunctionArn: dispatch.function.arn,
            launchFunctionArn: launch.function.arn,
            asyncDeadLetterQueueArn: asyncDeadLetterQueue.arn,
          }),
        ),
      },
      parent,
    );
    for (const spec of scheduleSpecs(t)) {
      new aws.scheduler.Schedule(
        `${name}-${spec.key}`,
        {
          name: awsName(env, spec.key),
          groupName: group.name,
          description: spec.description,
          scheduleExpression: spec.expression,
          scheduleExpressionTimezone: spec.timezone,
          state: spec.state,
          flexibleTimeWindow: { mode: "OFF" },
          target: {
            arn: dispatch.function.arn,
            roleArn: schedulerRole.arn,
            input: spec.input,
            retryPolicy: { ...SCHEDULE_RETRY_POLICY },
            deadLetterConfig: { arn: asyncDeadLetterQueue.arn },
          },
        },
        { parent: this, dependsOn: [schedulerPolicy] },
      );
    }

    // Hand-over: the STOPPED event of a task launch started invokes launch at once.
    const stoppedRule = new aws.cloudwatch.EventRule(
      `${name}-launch-task-stopped`,
      {
        name: awsName(env, "launch-task-stopped"),
        description:
          "A dbt task launch started is running (renew its lease) or has stopped (release it and start the next run).",
        eventPattern: pulumi.output(runner.clusterArn).apply(taskStoppedPattern),
        tags,
      },
      parent,
    );
    const stoppedPermission = new aws.lambda.Permission(
      `${name}-launch-task-stopped-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: launch.function.name,
        principal: "events.amazonaws.com",
        sourceArn: stoppedRule.arn,
      },
      parent,
    );
    new aws.cloudwatch.EventTarget(
      `${name}-launch-task-stopped-target`,
      {
        rule: stoppedRule.name,
        arn: launch.function.arn,
        // EventBridge retries a failed delivery; a delivery it gives up on is recovered by the sweep.
        retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
      },
      { parent: this, dependsOn: [stoppedPermission] },
    );
    new aws.scheduler.Schedule(
      `${name}-launch-sweep`,
      {
        name: awsName(env, "launch-sweep"),
        groupName: group.name,
        description: "Renews the leases of running dbt tasks and recovers lost STOPPED events and expired leases.",
        scheduleExpression: LAUNCH_SWEEP_SCHEDULE,
        scheduleExpressionTimezone: "UTC",
        state: "ENABLED",
        flexibleTimeWindow: { mode: "OFF" },
        target: {
          arn: launch.function.arn,
          roleArn: schedulerRole.arn,
          input: LAUNCH_SWEEP_INPUT,
          // The next sweep comes in five minutes: no point retrying one for longer.
          retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 },
          deadLetterConfig: { arn: asyncDeadLetterQueue.arn },
        },
      },
      { parent: this, dependsOn: [schedulerPolicy] },
    );

    this.functions = { dispatch, launch };

    this.apiEndpoint = api.apiEndpoint;
    this.fivetranWebhookUrl = fivetranSecret
      ? pulumi.interpolate`${api.apiEndpoint}${WEBHOOK_ROUTES.fivetran.split(" ")[1]}`
      : undefined;
    this.airbyteWebhookUrl =
      airbyteToken && webhooks.airbyteToken
        ? pulumi.secret(pulumi.interpolate`${api.apiEndpoint}/webhooks/airbyte/${webhooks.airbyteToken}`)
        : undefined;
    this.runsQueueArn = runsQueue.arn;
    this.runsQueueUrl = runsQueue.url;
    this.deadLetterQueueArn = deadLetterQueue.arn;
    this.asyncDeadLetterQueueArn = asyncDeadLetterQueue.arn;
    this.dispatchFunctionName = dispatch.function.name;
    this.dispatchFunctionArn = dispatch.function.arn;
    this.launchFunctionName = launch.function.name;
    this.idempotencyTableName = table.name;
    this.registerOutputs({
      apiEndpoint: this.apiEndpoint,
      fivetranWebhookUrl: this.fivetranWebhookUrl,
      airbyteWebhookUrl: this.airbyteWebhookUrl,
      runsQueueArn: this.runsQueueArn,
      runsQueueUrl: this.runsQueueUrl,
      deadLetterQueueArn: this.deadLetterQueueArn,
      asyncDeadLetterQueueArn: this.asyncDeadLetterQueueArn,
      dispatchFunctionName: this.dispatchFunctionName,
      dispatchFunctionArn: this.dispatchFunctionArn,
      launchFunctionName: this.launchFunctionName,
      idempotencyTableName: this.idempotencyTableName,
    });
  }
}

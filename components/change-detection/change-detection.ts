/**
 * Snowflake change detection: for every RAW table a source lists, a stream and a task that
 * records new rows in MONITORING.LOAD_EVENTS and notifies SNS, which feeds the same dispatch
 * Lambda as the webhooks. Loaders that cannot call a webhook (COPY INTO, Snowpipe) still start
 * dbt within a minute of landing data.
 *
 * Offsets: each table's stream and task are named after the table only, so adding, removing or
 * editing one table never touches another's stream. Renaming a table in config creates a new
 * stream whose offset starts at creation (rows loaded in between are not seen by it; the hourly
 * run still covers them). Changing `appendOnly`/`showInitialRows` or the table also recreates it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as sf from "@pulumi/snowflake";
import { PipelineConfig } from "../../config";
import { SnowflakeProviders } from "../snowflake";
import { awsName, defaultTags, snowflakeName } from "../lib/naming";
import { policyDocument } from "../lib/iam";
import {
  DBT_RUNS_COLUMNS, DBT_RUNS_TABLE, LOAD_EVENTS_COLUMNS, LOAD_EVENTS_TABLE, enableChangeTracking, loadTaskBody, objectNames,
  pipelineStatusView, streamHasData,
} from "./sql";
import { snowflakeSnsTrust } from "./trust";

/** Arguments of {@link ChangeDetection}. */
export interface ChangeDetectionArgs {
  /** The validated stack config: reads `sources[].rawTables`, `snowflake.task*`, `environment`, `protect`. */
  readonly config: PipelineConfig;
  /** The Snowflake foundation's providers and names. */
  readonly snowflake: {
    readonly providers: SnowflakeProviders;
    readonly databaseName: pulumi.Input<string>;
    /** Warehouse the tasks run on (the loading warehouse: they are tiny). */
    readonly warehouse: pulumi.Input<string>;
    /** Grants the tables must follow, so future grants cover them. */
    readonly accessGrants: readonly pulumi.Resource[];
  };
  /** The dispatch Lambda the SNS topic invokes. */
  readonly dispatch: { readonly functionArn: pulumi.Input<string>; readonly functionName: pulumi.Input<string> };
}

/** Streams, tasks, load events and the Snowflake → SNS → dispatch path. */
export class ChangeDetection extends pulumi.ComponentResource {
  /** SNS topic Snowflake publishes load notifications and task errors to. */
  public readonly topicArn: pulumi.Output<string>;
  /** Outbound notification integration name. */
  public readonly integrationName: pulumi.Output<string>;
  /** Fully qualified names of the streams, by RAW table. */
  public readonly streams: Record<string, pulumi.Output<string>>;
  /** Fully qualified names of the tasks, by RAW table. */
  public readonly tasks: Record<string, pulumi.Output<string>>;
  /** `"DB"."MONITORING"."LOAD_EVENTS"`. */
  public readonly loadEventsTable: pulumi.Output<string>;

  constructor(name: string, args: ChangeDetectionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:snowflake:ChangeDetection", name, {}, opts);
    const { config } = args;
    const env = config.environment;
    const db = config.snowflake.databaseName;
    const monitoring = config.snowflake.schemas.monitoring;
    const raw = config.snowflake.schemas.raw;
    const tags = defaultTags(env);
    const { sysadmin, securityadmin, accountadmin } = args.snowflake.providers;
    const sys = { parent: this, provider: sysadmin, dependsOn: [...args.snowflake.accessGrants] };
    const comment = (what: string) => `dbt-pipeline ${env}: ${what}. Managed by Pulumi.`;

    // SNS topic, and the role Snowflake assumes to publish to it (trust from the integration's own outputs).
    const topic = new aws.sns.Topic(`${name}-topic`, { name: awsName(env, "snowflake-loads"), kmsMasterKeyId: "alias/aws/sns", tags }, { parent: this });
    const roleName = awsName(env, "snowflake-sns");
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const integrationName = snowflakeName(config.envSuffix, "DBT_PIPELINE_SNS");
    const integration = new sf.NotificationIntegration(`${name}-integration`, {
      name: integrationName,
      notificationProvider: "AWS_SNS",
      awsSnsTopicArn: topic.arn,
      // The role ARN is known before the role exists: Snowflake only assumes it at publish time.
      awsSnsRoleArn: pulumi.interpolate`arn:aws:iam::${account}:role/${roleName}`,
      enabled: true,
      comment: comment("load notifications and task errors to SNS"),
    }, { parent: this, provider: accountadmin });
    const role = new aws.iam.Role(`${name}-sns-role`, {
      name: roleName,
      assumeRolePolicy: snowflakeSnsTrust(integration.awsSnsIamUserArn, integration.awsSnsExternalId),
      tags,
    }, { parent: this });
    new aws.iam.RolePolicy(`${name}-sns-publish`, {
      role: role.name,
      policy: policyDocument([{ Sid: "PublishLoadNotifications", Effect: "Allow", Action: "sns:Publish", Resource: topic.arn }]),
    }, { parent: this });

    // SNS → dispatch.
    new aws.lambda.Permission(`${name}-invoke-dispatch`, {
      action: "lambda:InvokeFunction",
      function: args.dispatch.functionName,
      principal: "sns.amazonaws.com",
      sourceArn: topic.arn,
    }, { parent: this });
    new aws.sns.TopicSubscription(`${name}-dispatch`, { topic: topic.arn, protocol: "lambda", endpoint: args.dispatch.functionArn }, { parent: this });

    // The task owner (SYSADMIN) needs EXECUTE TASK and USAGE on the integration. They come from a
    // per-environment role granted to SYSADMIN, so destroying dev never revokes prod's privileges.
    const runnerRole = new sf.AccountRole(`${name}-task-runner`, { name: snowflakeName(config.envSuffix, "TASK_RUNNER"), comment: comment("privileges of the change-detection tasks") }, { parent: this, provider: securityadmin });
    const grants = [
      new sf.GrantAccountRole(`${name}-task-runner-to-sysadmin`, { roleName: runnerRole.name, parentRoleName: "SYSADMIN" }, { parent: this, provider: securityadmin, deleteBeforeReplace: true }),
      new sf.GrantPrivilegesToAccountRole(`${name}-task-runner-execute`, { accountRoleName: runnerRole.name, onAccount: true, privileges: ["EXECUTE TASK"] }, { parent: this, provider: accountadmin, deleteBeforeReplace: true }),
      new sf.GrantPrivilegesToAccountRole(`${name}-task-runner-integration`, {
        accountRoleName: runnerRole.name,
        onAccountObject: { objectType: "INTEGRATION", objectName: integration.name },
        privileges: ["USAGE"],
      }, { parent: this, provider: accountadmin, deleteBeforeReplace: true }),
    ];

    const loadEvents = new sf.Table(`${name}-load-events`, {
      database: db, schema: monitoring, name: LOAD_EVENTS_TABLE,
      columns: LOAD_EVENTS_COLUMNS.map((c) => ({ ...c })),
      comment: comment("one row per load a stream task consumed"),
    }, { ...sys, protect: config.protect, retainOnDelete: config.protect });
    const dbtRuns = new sf.Table(`${name}-dbt-runs`, {
      database: db, schema: monitoring, name: DBT_RUNS_TABLE,
      columns: DBT_RUNS_COLUMNS.map((c) => ({ ...c })),
      comment: comment("one row per dbt run, written by the dbt project's on-run-end hook"),
    }, { ...sys, protect: config.protect, retainOnDelete: config.protect });
    const view = pipelineStatusView(db, monitoring);
    new sf.Execute(`${name}-pipeline-status`, { execute: view.execute, revert: view.revert }, { ...sys, dependsOn: [...sys.dependsOn, loadEvents, dbtRuns], deleteBeforeReplace: true });

    this.streams = {};
    this.tasks = {};
    for (const source of config.sources) {
      for (const table of source.rawTables) {
        const slug = `${name}-${table.toLowerCase().replace(/_/g, "-")}`;
        const names = objectNames(table);
        const tracking = new sf.Execute(`${slug}-change-tracking`, {
          execute: enableChangeTracking(db, raw, table),
          // Change tracking stays on after a destroy: turning it off would break other streams.
          revert: "SELECT 1",
        }, { ...sys, deleteBeforeReplace: true });
        const stream = new sf.StreamOnTable(`${slug}-stream`, {
          database: db, schema: monitoring, name: names.stream,
          table: `"${db}"."${raw}"."${table}"`,
          appendOnly: "true",
          showInitialRows: "false",
          copyGrants: true,
          comment: comment(`new rows of ${raw}.${table} (source ${source.name})`),
        }, { ...sys, dependsOn: [...sys.dependsOn, tracking], protect: config.protect });
        const task = new sf.Task(`${slug}-task`, {
          database: db, schema: monitoring, name: names.task,
          warehouse: args.snowflake.warehouse,
          when: streamHasData(db, monitoring, names.stream),
          schedule: config.snowflake.taskMode === "scheduled" ? { minutes: config.snowflake.taskScheduleMinutes } : undefined,
          sqlStatement: loadTaskBody({ database: db, monitoringSchema: monitoring, source: source.name, table, loadedAtColumn: source.loadedAtColumn, integration: integrationName }),
          started: true,
          allowOverlappingExecution: "false",
          suspendTaskAfterNumFailures: config.snowflake.taskSuspendAfterFailures,
          errorIntegration: integration.name,
          userTaskTimeoutMs: 600_000,
          comment: comment(`records loads of ${raw}.${table} and notifies dispatch`),
        }, { ...sys, dependsOn: [...sys.dependsOn, stream, loadEvents, ...grants] });
        this.streams[table] = stream.fullyQualifiedName;
        this.tasks[table] = task.fullyQualifiedName;
      }
    }

    this.topicArn = topic.arn;
    this.integrationName = integration.name;
    this.loadEventsTable = loadEvents.fullyQualifiedName;
    this.registerOutputs({ topicArn: this.topicArn, integrationName: this.integrationName, streams: this.streams, tasks: this.tasks });
  }
}

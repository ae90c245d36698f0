/**
 * Snowflake change detection: for every watched RAW table, a stream and a triggered task that
 * record new rows in MONITORING.LOAD_EVENTS and notify SNS, which feeds the same dispatch Lambda
 * as the webhooks. Loaders that cannot call a webhook (COPY INTO, Snowpipe) still start dbt
 * within a minute of landing data.
 *
 * The streams and tasks are not Pulumi resources: the tables do not exist on the first deploy.
 * Pulumi declares the role that owns them, its grants, the procedures and a reconciler task
 * (procedures.ts, reconciler.ts); the reconciler creates each table's stream and task once the
 * loader has created the table. docs/snowflake-day-one.md walks through the sequence.
 *
 * Offsets: each table's stream is named after its schema and table only, and the reconciler
 * never replaces a healthy stream, so deploys never reset an offset; a stale stream is recreated
 * and reported.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as sf from "@pulumi/snowflake";
import { SnowflakeProviders } from "../snowflake";
import { awsName, defaultTags, snowflakeName } from "../lib/naming";
import { policyDocument } from "../lib/iam";
import { DriftCheck, driftProblems } from "./drift";
import {
  ChangeDetectionSpec,
  PREPARE_PROCEDURE,
  RECONCILER_TASK,
  RECONCILE_PROCEDURE,
  RECORD_PROCEDURE,
  prepareProcedure,
  recordLoadProcedure,
} from "./procedures";
import { PipelinePrivilege, pipelinePrivileges } from "./privileges";
import { reconcileProcedure, reconcilerTask, stateQuery } from "./reconciler";
import {
  DBT_RUNS_COLUMNS,
  DBT_RUNS_TABLE,
  LOAD_EVENTS_COLUMNS,
  LOAD_EVENTS_TABLE,
  PIPELINE_STATUS_VIEW,
  STATE_COLUMNS,
  STATE_TABLE,
  fqn,
  pipelineStatusView,
  watchedEntries,
} from "./sql";
import { snowflakeSnsTrust } from "./trust";

/** How the stream tasks and the reconciler run. */
export interface TaskSettings {
  /** `triggered` (when the stream has data) or `scheduled` (`snowflake.taskMode`). No default. */
  readonly mode: "triggered" | "scheduled";
  /** Minutes between runs of a scheduled task (`snowflake.taskScheduleMinutes`); unused when triggered. No default. */
  readonly scheduleMinutes: number;
  /** `serverless` or the given warehouse (`snowflake.taskCompute`). No default. */
  readonly compute: "serverless" | "warehouse";
  /** Target completion of a serverless task, in minutes (`snowflake.taskTargetCompletionMinutes`). No default. */
  readonly targetCompletionMinutes: number;
  /** Failed runs in a row after which Snowflake suspends a task (`snowflake.taskSuspendAfterFailures`). No default. */
  readonly suspendAfterFailures: number;
  /** Minutes between reconciler runs (`snowflake.reconcileScheduleMinutes`). No default. */
  readonly reconcileMinutes: number;
}

/** A source whose RAW tables are watched (`sources.<name>.rawTables`, `loadedAtColumn`). */
export interface WatchedSourceTables {
  /** dbt source name, carried by each load event. */
  readonly name: string;
  /** Entries as config lists them: `TABLE`, `SCHEMA.TABLE` or `SCHEMA.*`. */
  readonly rawTables: readonly string[];
  /** Column holding a row's load time. Default none. */
  readonly loadedAtColumn?: string;
}

/**
 * Arguments of {@link ChangeDetection}. Settings have no default here: the stack's defaults live
 * in config-keys.ts.
 */
export interface ChangeDetectionArgs {
  /** Environment name: AWS names `dbt-pipeline-<env>-…`, tags, comments. No default. */
  readonly environment: string;
  /** Upper-case suffix of account-level Snowflake names, e.g. `PIPELINE_DEV`. No default. */
  readonly envSuffix: string;
  /** Protect and retain the MONITORING tables (`protect`). No default. */
  readonly protect: boolean;
  /** Sources whose RAW tables get a stream and a task. Default none: nothing watched. */
  readonly sources?: readonly WatchedSourceTables[];
  /** How the tasks and the reconciler run. No default. */
  readonly tasks: TaskSettings;
  /** The Snowflake foundation's providers and names. */
  readonly snowflake: {
    readonly providers: SnowflakeProviders;
    readonly databaseName: pulumi.Input<string>;
    /** RAW and MONITORING schema names; they are part of SQL text, so plain strings. */
    readonly schemas: { readonly raw: string; readonly monitoring: string };
    /** Warehouse of warehouse-backed tasks (`snowflake.taskCompute: warehouse`); unused when serverless. */
    readonly warehouse: pulumi.Input<string>;
    /** The loaders' role: it owns the RAW tables, so it owns the procedure that enables change tracking. */
    readonly loaderRole: pulumi.Input<string>;
    /** The reporting role: it reads PIPELINE_STATUS. */
    readonly reporterRole: pulumi.Input<string>;
    /** Grants the tables must follow, so future grants cover them. */
    readonly accessGrants: readonly pulumi.Resource[];
  };
  /** The dispatch Lambda the SNS topic invokes. */
  readonly dispatch: { readonly functionArn: pulumi.Input<string>; readonly functionName: pulumi.Input<string> };
}

/** The PIPELINE role, its procedures and reconciler, load events and the Snowflake → SNS → dispatch path. */
export class ChangeDetection extends pulumi.ComponentResource {
  /** SNS topic Snowflake publishes load notifications and task errors to. */
  public readonly topicArn: pulumi.Output<string>;
  /** Outbound notification integration name. */
  public readonly integrationName: pulumi.Output<string>;
  /** The role that owns the streams and tasks, e.g. `PIPELINE_DEV`. */
  public readonly pipelineRole: pulumi.Output<string>;
  /** `"DB"."MONITORING"."LOAD_EVENTS"`. */
  public readonly loadEventsTable: pulumi.Output<string>;
  /** The reconciler's view of every watched entry after the last refresh: entry, source, table, status, detail, checkedAt. */
  public readonly watchedTables: pulumi.Output<Record<string, string>[]>;
  /** Execute-managed objects that were dropped, handed to another owner or suspended outside Pulumi. */
  public readonly drift: pulumi.Output<string[]>;

  constructor(name: string, args: ChangeDetectionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:snowflake:ChangeDetection", name, {}, opts);
    const { tasks } = args;
    const env = args.environment;
    const { raw, monitoring } = args.snowflake.schemas;
    // Validated now, so a bad entry fails the preview, not a Snowflake statement.
    const entries = watchedEntries(args.sources ?? [], raw);
    const { sysadmin, securityadmin, accountadmin } = args.snowflake.providers;
    const sys = { parent: this, provider: sysadmin, dependsOn: [...args.snowflake.accessGrants] };
    const comment = (what: string) => `dbt-pipeline ${env}: ${what}. Managed by Pulumi.`;
    const stateful: pulumi.CustomResourceOptions = args.protect ? { protect: true, retainOnDelete: true } : {};

    const { topic, integration, snsRole, snsPolicy } = this.snsPath(name, args, accountadmin);

    // Monitoring tables, created by SYSADMIN after the access grants so the future grants cover them.
    const table = (
      key: string,
      tableName: string,
      columns: readonly { name: string; type: string; nullable: boolean }[],
      what: string,
    ) =>
      new sf.Table(
        `${name}-${key}`,
        {
          database: args.snowflake.databaseName,
          schema: monitoring,
          name: tableName,
          columns: columns.map((c) => ({ ...c })),
          comment: comment(what),
        },
        { ...sys, ...stateful },
      );
    const loadEvents = table(
      "load-events",
      LOAD_EVENTS_TABLE,
      LOAD_EVENTS_COLUMNS,
      "one row per load a stream task consumed",
    );
    const dbtRuns = table(
      "dbt-runs",
      DBT_RUNS_TABLE,
      DBT_RUNS_COLUMNS,
      "one row per dbt run, written by the dbt project's on-run-end hook",
    );
    const stateTable = table(
      "state",
      STATE_TABLE,
      STATE_COLUMNS,
      "the change-detection reconciler's view of every watched table",
    );

    // The PIPELINE role owns the streams and tasks and has exactly what they need (privileges.ts),
    // per environment, so destroying dev never revokes prod's privileges.
    const pipelineRole = new sf.AccountRole(
      `${name}-pipeline-role`,
      {
        name: snowflakeName(args.envSuffix, "PIPELINE"),
        comment: comment("owns the change-detection streams and tasks"),
      },
      { parent: this, provider: securityadmin },
    );
    // Under SYSADMIN: the deploying role hands the procedures and the reconciler task over to it.
    const toSysadmin = new sf.GrantAccountRole(
      `${name}-pipeline-role-to-sysadmin`,
      { roleName: pipelineRole.name, parentRoleName: "SYSADMIN" },
      { parent: this, provider: securityadmin, deleteBeforeReplace: true },
    );
    const tables = { loadEvents: loadEvents.fullyQualifiedName, state: stateTable.fullyQualifiedName };
    const grants = pipelinePrivileges(tasks.compute).map((p) =>
      this.grant(
        name,
        p,
        pipelineRole.name,
        {
          database: args.snowflake.databaseName,
          rawSchema: raw,
          monitoringSchema: monitoring,
          integration: integration.name,
          warehouse: args.snowflake.warehouse,
          tables,
        },
        p.on.kind === "account" || p.on.kind === "integration" ? accountadmin : securityadmin,
      ),
    );

    const spec = pulumi
      .all([
        args.snowflake.databaseName,
        args.snowflake.loaderRole,
        args.snowflake.warehouse,
        pipelineRole.name,
        integration.name,
      ])
      .apply(([database, loaderRole, warehouse, pipeline, integrationActual]): ChangeDetectionSpec => ({
        database,
        rawSchema: raw,
        monitoringSchema: monitoring,
        environment: env,
        pipelineRole: pipeline,
        loaderRole,
        integration: integrationActual,
        compute:
          tasks.compute === "serverless"
            ? { kind: "serverless", targetCompletionMinutes: tasks.targetCompletionMinutes }
            : { kind: "warehouse", warehouse },
        ...(tasks.mode === "scheduled" ? { scheduleMinutes: tasks.scheduleMinutes } : {}),
        suspendAfterFailures: tasks.suspendAfterFailures,
        reconcileMinutes: tasks.reconcileMinutes,
        entries,
      }));
    // Every Execute is re-runnable (CREATE OR REPLACE), replaced delete-first (the old revert would
    // otherwise drop the new object, pulumi/pulumi#2877), and reports drift through its query.
    const execute = (
      key: string,
      sql: pulumi.Output<{ execute: string; revert: string; query: string }>,
      dependsOn: pulumi.Resource[],
    ) =>
      new sf.Execute(
        `${name}-${key}`,
        { execute: sql.execute, revert: sql.revert, query: sql.query },
        { ...sys, dependsOn: [...sys.dependsOn, ...dependsOn], deleteBeforeReplace: true },
      );
    const view = execute(
      "pipeline-status",
      pulumi.output(args.snowflake.databaseName).apply((db) => pipelineStatusView(db, monitoring)),
      [loadEvents, dbtRuns],
    );
    const viewFqn = pulumi.output(args.snowflake.databaseName).apply((db) => fqn(db, monitoring, PIPELINE_STATUS_VIEW));
    // The schema-level future grant in foundation covers the view at creation; this grant makes
    // REPORTER's access explicit and drift-detected by the provider on refresh.
    new sf.GrantPrivilegesToAccountRole(
      `${name}-reporter-pipeline-status`,
      {
        accountRoleName: args.snowflake.reporterRole,
        privileges: ["SELECT"],
        onSchemaObject: { objectType: "VIEW", objectName: viewFqn },
      },
      { parent: this, provider: securityadmin, dependsOn: [view], deleteBeforeReplace: true },
    );

    const prepare = execute("prepare-procedure", spec.apply(prepareProcedure), [toSysadmin, ...grants]);
    const record = execute("record-procedure", spec.apply(recordLoadProcedure), [toSysadmin, ...grants, loadEvents]);
    const reconcile = execute("reconcile-procedure", spec.apply(reconcileProcedure), [
      toSysadmin,
      ...grants,
      stateTable,
      prepare,
      record,
    ]);
    // The tasks publish through the integration, so the role and its policy must exist first.
    const reconciler = execute("reconciler-task", spec.apply(reconcilerTask), [reconcile, snsRole, snsPolicy]);
    const probe = new sf.Execute(
      `${name}-state`,
      {
        execute: "SELECT 1",
        revert: "SELECT 1",
        query: spec.apply(stateQuery),
      },
      { ...sys, dependsOn: [...sys.dependsOn, reconciler, stateTable] },
    );

    this.drift = driftOf([
      {
        object: pulumi.interpolate`view ${args.snowflake.databaseName}.${monitoring}.${PIPELINE_STATUS_VIEW}`,
        owner: "SYSADMIN",
        resource: view,
      },
      {
        object: pulumi.interpolate`procedure ${args.snowflake.databaseName}.${raw}.${PREPARE_PROCEDURE}`,
        owner: args.snowflake.loaderRole,
        resource: prepare,
      },
      {
        object: pulumi.interpolate`procedure ${args.snowflake.databaseName}.${monitoring}.${RECORD_PROCEDURE}`,
        owner: pipelineRole.name,
        resource: record,
      },
      {
        object: pulumi.interpolate`procedure ${args.snowflake.databaseName}.${monitoring}.${RECONCILE_PROCEDURE}`,
        owner: pipelineRole.name,
        resource: reconcile,
      },
      {
        object: pulumi.interpolate`task ${args.snowflake.databaseName}.${monitoring}.${RECONCILER_TASK}`,
        owner: pipelineRole.name,
        state: "started",
        resource: reconciler,
      },
    ]);

    this.topicArn = topic.arn;
    this.integrationName = integration.name;
    this.pipelineRole = pipelineRole.name;
    this.loadEventsTable = loadEvents.fullyQualifiedName;
    this.watchedTables = probe.queryResults.apply((rows) => (rows ?? []).map((r) => ({ ...r })));
    this.registerOutputs({
      topicArn: this.topicArn,
      integrationName: this.integrationName,
      pipelineRole: this.pipelineRole,
      watchedTables: this.watchedTables,
      drift: this.drift,
    });
  }

  /** The SNS topic, the outbound integration, the role Snowflake assumes to publish, and the subscription of dispatch. */
  private snsPath(name: string, args: ChangeDetectionArgs, accountadmin: sf.Provider) {
    const env = args.environment;
    const tags = defaultTags(env);
    const comment = (what: string) => `dbt-pipeline ${env}: ${what}. Managed by Pulumi.`;
    // SNS topic, and the role Snowflake assumes to publish to it (trust from the integration's own outputs).
    const topic = new aws.sns.Topic(
      `${name}-topic`,
      { name: awsName(env, "snowflake-loads"), kmsMasterKeyId: "alias/aws/sns", tags },
      { parent: this },
    );
    const roleName = awsName(env, "snowflake-sns");
    const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
    const integrationName = snowflakeName(args.envSuffix, "DBT_PIPELINE_SNS");
    const integration = new sf.NotificationIntegration(
      `${name}-integration`,
      {
        name: integrationName,
        notificationProvider: "AWS_SNS",
        awsSnsTopicArn: topic.arn,
        // The role ARN is known before the role exists: Snowflake only assumes it at publish time.
        awsSnsRoleArn: pulumi.interpolate`arn:aws:iam::${account}:role/${roleName}`,
        enabled: true,
        comment: comment("load notifications and task errors to SNS"),
      },
      { parent: this, provider: accountadmin },
    );
    const snsRole = new aws.iam.Role(
      `${name}-sns-role`,
      {
        name: roleName,
        assumeRolePolicy: snowflakeSnsTrust(integration.awsSnsIamUserArn, integration.awsSnsExternalId),
        tags,
      },
      { parent: this },
    );
    const snsPolicy = new aws.iam.RolePolicy(
      `${name}-sns-publish`,
      {
        role: snsRole.name,
        policy: policyDocument([
          { Sid: "PublishLoadNotifications", Effect: "Allow", Action: "sns:Publish", Resource: topic.arn },
        ]),
      },
      { parent: this },
    );

    // SNS → dispatch.
    new aws.lambda.Permission(
      `${name}-invoke-dispatch`,
      {
        action: "lambda:InvokeFunction",
        function: args.dispatch.functionName,
        principal: "sns.amazonaws.com",
        sourceArn: topic.arn,
      },
      { parent: this },
    );
    new aws.sns.TopicSubscription(
      `${name}-dispatch`,
      { topic: topic.arn, protocol: "lambda", endpoint: args.dispatch.functionArn },
      { parent: this },
    );

    return { topic, integration, snsRole, snsPolicy };
  }

  /** One grant of privileges.ts to the PIPELINE role, replaced delete-first (pulumi/pulumi#2877). */
  private grant(
    name: string,
    p: PipelinePrivilege,
    role: pulumi.Input<string>,
    on: GrantTargets,
    provider: sf.Provider,
  ): sf.GrantPrivilegesToAccountRole {
    return new sf.GrantPrivilegesToAccountRole(
      `${name}-pipeline-${p.slug}`,
      {
        accountRoleName: role,
        privileges: [...p.privileges],
        ...grantTarget(p, on),
      },
      { parent: this, provider, deleteBeforeReplace: true },
    );
  }
}

/** The real names a PIPELINE grant's target resolves to. */
interface GrantTargets {
  readonly database: pulumi.Input<string>;
  readonly rawSchema: string;
  readonly monitoringSchema: string;
  readonly integration: pulumi.Input<string>;
  readonly warehouse: pulumi.Input<string>;
  readonly tables: { readonly loadEvents: pulumi.Input<string>; readonly state: pulumi.Input<string> };
}

function grantTarget(
  p: PipelinePrivilege,
  t: GrantTargets,
): Pick<sf.GrantPrivilegesToAccountRoleArgs, "onAccount" | "onAccountObject" | "onSchema" | "onSchemaObject"> {
  const schema = (s: string) => pulumi.output(t.database).apply((db) => fqn(db, s));
  switch (p.on.kind) {
    case "account":
      return { onAccount: true };
    case "integration":
      return { onAccountObject: { objectType: "INTEGRATION", objectName: t.integration } };
    case "warehouse":
      return { onAccountObject: { objectType: "WAREHOUSE", objectName: t.warehouse } };
    case "database":
      return { onAccountObject: { objectType: "DATABASE", objectName: t.database } };
    case "schema":
      return { onSchema: { schemaName: schema(p.on.schema === "raw" ? t.rawSchema : t.monitoringSchema) } };
    case "futureSchemas":
      return { onSchema: { futureSchemasInDatabase: t.database } };
    case "table":
      return { onSchemaObject: { objectType: "TABLE", objectName: t.tables[p.on.table] } };
  }
}

/** The drift report of Execute-managed objects from their refreshed query results (drift.ts). */
function driftOf(
  checks: readonly {
    object: pulumi.Input<string>;
    owner: pulumi.Input<string>;
    state?: string;
    resource: sf.Execute;
  }[],
): pulumi.Output<string[]> {
  return pulumi
    .all(
      checks.map((c) =>
        pulumi
          .all([c.object, c.owner, c.resource.urn, c.resource.queryResults])
          .apply(([object, owner, urn, rows]): DriftCheck => ({
            object,
            owner,
            urn,
            rows: rows ?? undefined,
            ...(c.state ? { state: c.state } : {}),
          })),
      ),
    )
    .apply(driftProblems);
}

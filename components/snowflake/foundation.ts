/**
 * Everything the pipeline needs in Snowflake for one environment: the providers, the database
 * and its layer schemas, a warehouse per workload under one resource monitor, the functional
 * roles with the grants of access.ts, and the service users of service-users.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as snowflake from "@pulumi/snowflake";
import type { WarehouseSize } from "../../config";
import { snowflakeName } from "../lib/naming";
import {
  GrantNames,
  ROLE_KEYS,
  RoleKey,
  SCHEMA_KEYS,
  SchemaKey,
  WAREHOUSE_KEYS,
  WarehouseKey,
  accessMatrix,
  grantOn,
  matrixProblems,
  targetSlug,
} from "./access";
import { MONITOR_FREQUENCY, MONITOR_START_TIMESTAMP, monitorTriggers } from "./monitor";
import { SnowflakeAdmin, SnowflakeProviders, accountIdentifier, createSnowflakeProviders } from "./providers";
import { ServiceUsers } from "./service-users";

/** The warehouses, one per workload, all under the resource monitor. */
export interface WarehouseSettings {
  /** Size of each warehouse (`snowflake.<workload>WarehouseSize`). No default. */
  readonly sizes: Readonly<Record<WarehouseKey, WarehouseSize>>;
  /** Idle seconds before a warehouse suspends (`snowflake.autoSuspendSeconds`). No default. */
  readonly autoSuspendSeconds: number;
  /** Seconds after which a statement is cancelled (`snowflake.statementTimeoutSeconds`). No default. */
  readonly statementTimeoutSeconds: number;
}

/** The resource monitor over the warehouses. */
export interface MonitorSettings {
  /** Credits a calendar month (`snowflake.monthlyCreditQuota`). No default. */
  readonly monthlyCreditQuota: number;
  /** Suspend the warehouses at the quota, not only notify (`snowflake.suspendAtQuota`). No default. */
  readonly suspendAtQuota: boolean;
  /** Users Snowflake notifies at 75 % and 90 % (`snowflake.monitorNotifyUsers`). No default. */
  readonly notifyUsers: readonly string[];
}

/**
 * Arguments of {@link SnowflakeFoundation}. Settings have no default here: the stack's defaults
 * live in config-keys.ts.
 */
export interface SnowflakeFoundationArgs {
  /** Environment name, in object comments. No default. */
  readonly environment: string;
  /** Upper-case suffix of every account-level name, e.g. `DEV` in `LOADING_WH_DEV`. No default. */
  readonly envSuffix: string;
  /** Protect and retain the database, RAW and MONITORING; keep deleted key secrets restorable (`protect`). No default. */
  readonly protect: boolean;
  /** The admin user the providers sign in as. No default. */
  readonly admin: SnowflakeAdmin;
  /** The database's name, suffix included, e.g. `DBT_PIPELINE_DEV` (`snowflake.databaseName`, resolved). No default. */
  readonly databaseName: string;
  /** Time Travel days of the database (`snowflake.dataRetentionDays`). No default. */
  readonly dataRetentionDays: number;
  /** Layer schema names (`snowflake.<layer>Schema`). No default. */
  readonly schemas: Readonly<Record<SchemaKey, string>>;
  /** The warehouses. No default. */
  readonly warehouses: WarehouseSettings;
  /** The resource monitor. No default. */
  readonly monitor: MonitorSettings;
  /** Generation of the service users' key pairs; raising it rotates them (`snowflake.keyGeneration`). No default. */
  readonly keyGeneration: number;
}

/** The service users, by key. */
export type ServiceUserKey = "loader" | "dbt";

/** Warehouse name parts; the physical name is `<PART>_<ENV>`, e.g. `LOADING_WH_DEV`. */
const WAREHOUSE_PARTS: Readonly<Record<WarehouseKey, string>> = {
  loading: "LOADING_WH",
  transforming: "TRANSFORMING_WH",
  reporting: "REPORTING_WH",
};

/** Which role the foundation hands ownership of the warehouses to (ACCOUNTADMIN creates them). */
export const WAREHOUSE_OWNER_ROLE = "SYSADMIN";

/** The Snowflake side of one environment. */
export class SnowflakeFoundation extends pulumi.ComponentResource {
  /** Providers by admin role; later components declare Snowflake resources through these. */
  public readonly providers: SnowflakeProviders;
  /** `<organization>-<account>`, the `account` of dbt profiles and drivers. */
  public readonly accountIdentifier: string;
  /** The environment's database, e.g. `DBT_PIPELINE_DEV`. */
  public readonly databaseName: pulumi.Output<string>;
  /** Plain schema names, e.g. `RAW`. */
  public readonly schemas: Record<SchemaKey, pulumi.Output<string>>;
  /** Fully qualified schema names, e.g. `"DBT_PIPELINE_DEV"."RAW"`. */
  public readonly schemaFqns: Record<SchemaKey, pulumi.Output<string>>;
  /** Warehouse names, e.g. `LOADING_WH_DEV`. */
  public readonly warehouses: Record<WarehouseKey, pulumi.Output<string>>;
  /** Functional account roles, e.g. `TRANSFORMER_DEV`. */
  public readonly roles: Record<RoleKey, pulumi.Output<string>>;
  /** Service user names: `loader` (LOADER_SVC_<ENV>) and `dbt` (DBT_SVC_<ENV>). */
  public readonly users: Record<ServiceUserKey, pulumi.Output<string>>;
  /** Secrets Manager ARNs holding each service user's current private key as plain PKCS#8 PEM. */
  public readonly privateKeySecretArns: Record<ServiceUserKey, pulumi.Output<string>>;
  /** The environment's resource monitor, e.g. `DBT_PIPELINE_MONITOR_DEV`. */
  public readonly resourceMonitorName: pulumi.Output<string>;
  /**
   * Every grant of the access model. Components that create tables or views in these schemas
   * should `dependsOn` them: an object created before the schema's future grant exists (and
   * after its `all` grant ran) would get neither.
   */
  public readonly accessGrants: readonly pulumi.Resource[];

  constructor(name: string, args: SnowflakeFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:snowflake:SnowflakeFoundation", name, {}, opts);
    const { protect, warehouses: wh, monitor: mon } = args;
    const env = args.envSuffix;
    const matrix = accessMatrix();
    const problems = matrixProblems(matrix);
    if (problems.length) throw new Error(`Snowflake access model is unsound:\n  - ${problems.join("\n  - ")}`);
    const comment = (what: string) => `dbt-pipeline ${args.environment}: ${what}. Managed by Pulumi.`;

    this.providers = createSnowflakeProviders(name, args.admin, this);
    this.accountIdentifier = accountIdentifier(args.admin.organizationName, args.admin.accountName);
    const sys = { parent: this, provider: this.providers.sysadmin };
    const sec = { parent: this, provider: this.providers.securityadmin };
    const acc = { parent: this, provider: this.providers.accountadmin };
    // The database, RAW and MONITORING outlive a destroy in prod: RAW holds data only the sources
    // can give back and MONITORING the load history and the streams' offsets, while dbt rebuilds
    // the other layers.
    const stateful: pulumi.CustomResourceOptions = protect ? { protect: true, retainOnDelete: true } : {};

    // Storage, owned by SYSADMIN.
    const database = new snowflake.Database(
      `${name}-database`,
      {
        name: args.databaseName,
        dataRetentionTimeInDays: args.dataRetentionDays,
        comment: comment("pipeline database"),
      },
      { ...sys, ...stateful },
    );
    const schemas = record(
      SCHEMA_KEYS,
      (key) =>
        new snowflake.Schema(
          `${name}-schema-${key}`,
          {
            database: database.name,
            name: args.schemas[key],
            comment: comment(`${key} layer`),
          },
          { ...sys, ...(key === "raw" || key === "monitoring" ? stateful : {}) },
        ),
    );

    // Compute: ACCOUNTADMIN creates the monitor and the warehouses (attaching a monitor needs it),
    // then hands the warehouses to SYSADMIN so no everyday object is owned by ACCOUNTADMIN.
    const monitor = new snowflake.ResourceMonitor(
      `${name}-monitor`,
      {
        name: snowflakeName(env, "DBT_PIPELINE_MONITOR"),
        creditQuota: mon.monthlyCreditQuota,
        frequency: MONITOR_FREQUENCY,
        startTimestamp: MONITOR_START_TIMESTAMP,
        ...monitorTriggers(mon.suspendAtQuota),
        notifyUsers: [...mon.notifyUsers],
      },
      acc,
    );
    const warehouses = record(
      WAREHOUSE_KEYS,
      (key) =>
        new snowflake.Warehouse(
          `${name}-warehouse-${key}`,
          {
            name: snowflakeName(env, WAREHOUSE_PARTS[key]),
            warehouseSize: wh.sizes[key],
            autoSuspend: wh.autoSuspendSeconds,
            autoResume: "true",
            initiallySuspended: true,
            statementTimeoutInSeconds: wh.statementTimeoutSeconds,
            resourceMonitor: monitor.name,
            comment: comment(`${key} warehouse`),
          },
          acc,
        ),
    );
    const warehouseOwners = record(
      WAREHOUSE_KEYS,
      (key) =>
        new snowflake.GrantOwnership(
          `${name}-warehouse-${key}-owner`,
          {
            accountRoleName: WAREHOUSE_OWNER_ROLE,
            on: { objectType: "WAREHOUSE", objectName: warehouses[key].name },
            outboundPrivileges: "COPY",
          },
          { ...acc, deleteBeforeReplace: true },
        ),
    );

    // Access: roles, their place under SYSADMIN, and the grant matrix. Grants are recreated
    // delete-first: create-before-delete would let the old REVOKE undo the new GRANT.
    const roles = record(
      ROLE_KEYS,
      (key) =>
        new snowflake.AccountRole(
          `${name}-role-${key}`,
          {
            name: snowflakeName(env, key),
            comment: comment(`${key} role`),
          },
          sec,
        ),
    );
    for (const key of ROLE_KEYS) {
      new snowflake.GrantAccountRole(
        `${name}-role-${key}-to-sysadmin`,
        {
          roleName: roles[key].name,
          parentRoleName: "SYSADMIN",
        },
        { ...sec, deleteBeforeReplace: true },
      );
    }
    const grantNames: GrantNames = {
      database: database.name,
      schemas: record(SCHEMA_KEYS, (key) => schemas[key].fullyQualifiedName),
      warehouses: record(WAREHOUSE_KEYS, (key) => warehouses[key].name),
    };
    const accessGrants: pulumi.Resource[] = [];
    for (const role of ROLE_KEYS) {
      for (const entry of matrix[role]) {
        accessGrants.push(
          new snowflake.GrantPrivilegesToAccountRole(
            `${name}-grant-${role}-${targetSlug(entry.on)}`,
            {
              accountRoleName: roles[role].name,
              privileges: [...entry.privileges],
              ...grantOn(entry.on, grantNames),
            },
            {
              ...sec,
              deleteBeforeReplace: true,
              dependsOn: entry.on.kind === "warehouse" ? [warehouseOwners[entry.on.warehouse]] : [],
            },
          ),
        );
      }
    }

    // Service users with key-pair auth; their private keys go to Secrets Manager.
    const users = new ServiceUsers<ServiceUserKey>(
      `${name}-svc`,
      {
        environment: args.environment,
        users: {
          loader: {
            userName: snowflakeName(env, "LOADER_SVC"),
            role: roles.loader.name,
            warehouse: warehouses.loading.name,
            purpose: "loads source data into RAW",
          },
          dbt: {
            userName: snowflakeName(env, "DBT_SVC"),
            role: roles.transformer.name,
            warehouse: warehouses.transforming.name,
            purpose: "runs dbt",
          },
        },
        keyGeneration: args.keyGeneration,
        // Prod keeps a deleted secret restorable for 30 days; dev deletes at once so a destroyed
        // stack can be recreated under the same secret names straight away.
        secretRecoveryWindowInDays: protect ? 30 : 0,
        provider: this.providers.securityadmin,
      },
      { parent: this },
    );

    this.databaseName = database.name;
    this.schemas = record(SCHEMA_KEYS, (key) => schemas[key].name);
    this.schemaFqns = record(SCHEMA_KEYS, (key) => schemas[key].fullyQualifiedName);
    this.warehouses = record(WAREHOUSE_KEYS, (key) => warehouses[key].name);
    this.roles = record(ROLE_KEYS, (key) => roles[key].name);
    this.users = users.userNames;
    this.privateKeySecretArns = users.privateKeySecretArns;
    this.resourceMonitorName = monitor.name;
    this.accessGrants = accessGrants;
    this.registerOutputs({
      accountIdentifier: this.accountIdentifier,
      databaseName: this.databaseName,
      schemas: this.schemas,
      schemaFqns: this.schemaFqns,
      warehouses: this.warehouses,
      roles: this.roles,
      users: this.users,
      privateKeySecretArns: this.privateKeySecretArns,
      resourceMonitorName: this.resourceMonitorName,
    });
  }
}

/** Builds a record with one value per key. */
function record<K extends string, V>(keys: readonly K[], make: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((k) => [k, make(k)])) as Record<K, V>;
}

/**
 * Composition root: load the validated config, build the components, export the stack outputs.
 * Data flows one way: config → components → outputs.
 */
import { loadConfig } from "./config";

const config = loadConfig();

/** Environment this stack deploys. */
export const environment = config.environment;

// <snowflake>
import { SnowflakeFoundation } from "./components/snowflake";

const snowflake = new SnowflakeFoundation("snowflake", { config });

/** Database of this environment, e.g. DBT_PIPELINE_DEV. */
export const snowflakeDatabase = snowflake.databaseName;
/** Layer schema names (raw, staging, analytics, metrics, monitoring) inside snowflakeDatabase. */
export const snowflakeSchemas = snowflake.schemas;
/** Warehouse names per workload (loading, transforming, reporting). */
export const snowflakeWarehouses = snowflake.warehouses;
/** Functional account roles (loader, transformer, reporter). */
export const snowflakeRoles = snowflake.roles;
/** Service user names (loader, dbt), key-pair auth only. */
export const snowflakeUsers = snowflake.users;
/** Secrets Manager ARNs holding each service user's current private key (plain PKCS#8 PEM). */
export const snowflakePrivateKeySecretArns = snowflake.privateKeySecretArns;
/** Account identifier `<organization>-<account>` for dbt's `account`. */
export const snowflakeAccount = snowflake.accountIdentifier;
// </snowflake>

// <runner>
// </runner>

// <alerts>
// </alerts>

// <triggers>
// </triggers>

// <change-detection>
// </change-detection>

// <observability>
// </observability>

// <github>
// </github>

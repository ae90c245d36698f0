/**
 * Explicit Snowflake providers, one per administrative role, all authenticating as the admin
 * user with key-pair (JWT) auth. The role that creates an object owns it, so the provider a
 * resource is declared with decides its owner:
 * - `sysadmin`: database, schemas, tables, tasks (objects the pipeline owns);
 * - `securityadmin`: roles, users and grants (future grants need MANAGE GRANTS);
 * - `accountadmin`: the resource monitor, warehouses (only ACCOUNTADMIN may attach a monitor,
 *   upstream terraform-provider-snowflake#3019) and integrations.
 */
import * as pulumi from "@pulumi/pulumi";
import * as snowflake from "@pulumi/snowflake";

/** The three providers, exposed so later components reuse them instead of making their own. */
export interface SnowflakeProviders {
  readonly sysadmin: snowflake.Provider;
  readonly securityadmin: snowflake.Provider;
  readonly accountadmin: snowflake.Provider;
}

/** The provider roles, by provider key. */
export const PROVIDER_ROLES: Readonly<Record<keyof SnowflakeProviders, string>> = {
  sysadmin: "SYSADMIN",
  securityadmin: "SECURITYADMIN",
  accountadmin: "ACCOUNTADMIN",
};

/**
 * Preview resources enabled per provider. An explicit provider ignores the stack config
 * `snowflake:previewFeaturesEnabled` (pulumi/pulumi-snowflake#1081), so each instance lists
 * exactly the preview resources declared through it: the change-detection component declares
 * its MONITORING tables with `sysadmin` and its SNS notification integration with `accountadmin`.
 */
export const PREVIEW_FEATURES: Readonly<Record<keyof SnowflakeProviders, readonly string[]>> = {
  sysadmin: ["snowflake_table_resource"],
  securityadmin: [],
  accountadmin: ["snowflake_notification_integration_resource"],
};

/** The account identifier dbt and drivers use for `account`: `<organization>-<account>`. */
export function accountIdentifier(organizationName: string, accountName: string): string {
  return `${organizationName}-${accountName}`;
}

/** The admin user every provider signs in as, with key-pair (JWT) auth. */
export interface SnowflakeAdmin {
  /** Organization of the account (`snowflake.organizationName`). No default. */
  readonly organizationName: string;
  /** Account name within the organization (`snowflake.accountName`). No default. */
  readonly accountName: string;
  /** Admin user holding ACCOUNTADMIN, SECURITYADMIN and SYSADMIN (`snowflake.adminUser`). No default. */
  readonly user: string;
  /** Its PKCS#8 PEM private key, a secret output (`snowflake.adminPrivateKey`). No default. */
  readonly privateKey: pulumi.Output<string>;
  /** Passphrase of an encrypted private key, a secret output (`snowflake.adminPrivateKeyPassphrase`). Default none. */
  readonly privateKeyPassphrase?: pulumi.Output<string>;
}

/** Creates the three providers as children of `parent`, named `<name>-<role>`. */
export function createSnowflakeProviders(
  name: string,
  admin: SnowflakeAdmin,
  parent: pulumi.Resource,
): SnowflakeProviders {
  const make = (key: keyof SnowflakeProviders) =>
    new snowflake.Provider(
      `${name}-${key}`,
      {
        organizationName: admin.organizationName,
        accountName: admin.accountName,
        user: admin.user,
        authenticator: "SNOWFLAKE_JWT",
        privateKey: admin.privateKey,
        // Only for an `ENCRYPTED PRIVATE KEY` (PKCS#8): upstream sdk.ParsePrivateKey ignores it otherwise.
        ...(admin.privateKeyPassphrase ? { privateKeyPassphrase: admin.privateKeyPassphrase } : {}),
        role: PROVIDER_ROLES[key],
        previewFeaturesEnabled: [...PREVIEW_FEATURES[key]],
      },
      { parent },
    );
  return { sysadmin: make("sysadmin"), securityadmin: make("securityadmin"), accountadmin: make("accountadmin") };
}

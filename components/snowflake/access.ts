/**
 * The pipeline's Snowflake access model as plain data: which account role gets which
 * privileges on which object. `SnowflakeFoundation` turns every entry into one
 * `GrantPrivilegesToAccountRole`; tests compare the recorded grants with a literal table.
 *
 * - LOADER writes RAW, and gets `CREATE SCHEMA, MONITOR, USAGE` on the database: Fivetran's
 *   Snowflake setup script grants exactly that, because each connector writes into its own
 *   destination schema, which Fivetran creates (https://fivetran.com/docs/destinations/snowflake/setup-guide);
 *   Airbyte writes into each connection's namespace and needs to own what it creates (its
 *   destination doc: "Since the Airbyte user creates, drops, and alters tables, OWNERSHIP
 *   permissions are required", airbytehq/airbyte docs/integrations/destinations/snowflake.md).
 *   A role that creates a schema owns it and every table in it, so CREATE SCHEMA gives both
 *   loaders what they need without OWNERSHIP of the database. CREATE TABLE in RAW keeps the
 *   simple form (tables listed by name in RAW) working.
 * - TRANSFORMER (dbt) reads RAW and every schema a loader creates, creates and therefore owns its
 *   objects in STAGING, ANALYTICS and METRICS, and writes the tables of MONITORING.
 * - REPORTER reads ANALYTICS, METRICS and the views of MONITORING (PIPELINE_STATUS).
 * - Each role uses its own warehouse only. No role gets OWNERSHIP or ALL.
 *
 * Future grants: when a schema has schema-level future grants on an object type, Snowflake
 * ignores the database-level future grants on that type in that schema (GRANT <privileges>
 * considerations for future grants, https://docs.snowflake.com/en/sql-reference/sql/grant-privilege; upstream terraform-provider-snowflake#2302; BCR 2025_01 bcr-1870 extends it to
 * OWNERSHIP). So the schemas Pulumi creates use schema-level grants throughout, paired with `all`
 * (objects that exist) and `future` (objects created later), and the database-level future grants
 * are only for what the loaders create: their schemas never receive schema-level future grants,
 * so the database-level ones apply there. In Pulumi's schemas they are ignored wherever the same
 * object type has a schema-level grant, and elsewhere only add SELECT on objects TRANSFORMER
 * already owns.
 */
import type * as pulumi from "@pulumi/pulumi";
import type * as snowflake from "@pulumi/snowflake";

/** The layer schemas, by their key in `PipelineConfig.snowflake.schemas`. */
export const SCHEMA_KEYS = ["raw", "staging", "analytics", "metrics", "monitoring"] as const;
export type SchemaKey = (typeof SCHEMA_KEYS)[number];

/** The warehouses, one per workload. */
export const WAREHOUSE_KEYS = ["loading", "transforming", "reporting"] as const;
export type WarehouseKey = (typeof WAREHOUSE_KEYS)[number];

/** The functional account roles. */
export const ROLE_KEYS = ["loader", "transformer", "reporter"] as const;
export type RoleKey = (typeof ROLE_KEYS)[number];

/** The warehouse each role may use. */
export const ROLE_WAREHOUSE: Readonly<Record<RoleKey, WarehouseKey>> = {
  loader: "loading",
  transformer: "transforming",
  reporter: "reporting",
};

/** Schema object kinds the model grants on. */
export type ObjectTypePlural = "TABLES" | "VIEWS";

/** What a grant is on. Schema and warehouse are keys, resolved to real names by the component. */
export type GrantTarget =
  | { readonly kind: "database" }
  | { readonly kind: "schema"; readonly schema: SchemaKey }
  | { readonly kind: "all" | "future"; readonly objectTypePlural: ObjectTypePlural; readonly schema: SchemaKey }
  /** Future objects of the whole database: for the schemas and tables the loaders create. */
  | { readonly kind: "futureInDatabase"; readonly objectTypePlural: ObjectTypePlural | "SCHEMAS" }
  | { readonly kind: "warehouse"; readonly warehouse: WarehouseKey };

/** One grant: upper-case privileges (sorted) on one target. */
export interface GrantEntry {
  readonly privileges: readonly string[];
  readonly on: GrantTarget;
}

/** Privileges no entry may contain. */
export const FORBIDDEN_PRIVILEGES: readonly string[] = ["OWNERSHIP", "ALL", "ALL PRIVILEGES"];

const WRITE_TABLES = ["SELECT", "INSERT", "UPDATE", "DELETE"] as const;

const grant = (privileges: readonly string[], on: GrantTarget): GrantEntry => ({
  privileges: [...privileges].sort(),
  on,
});

/** The same privileges on existing (`all`) and future objects of each kind in `schema`. */
function onObjects(privileges: readonly string[], schema: SchemaKey, kinds: readonly ObjectTypePlural[]): GrantEntry[] {
  return kinds.flatMap((objectTypePlural) => [
    grant(privileges, { kind: "all", objectTypePlural, schema }),
    grant(privileges, { kind: "future", objectTypePlural, schema }),
  ]);
}

/** The whole access model: role → its grants, in a stable order. */
export function accessMatrix(): Readonly<Record<RoleKey, readonly GrantEntry[]>> {
  return {
    loader: [
      grant(["CREATE SCHEMA", "MONITOR", "USAGE"], { kind: "database" }),
      grant(["USAGE", "CREATE TABLE"], { kind: "schema", schema: "raw" }),
      ...onObjects([...WRITE_TABLES, "TRUNCATE"], "raw", ["TABLES"]),
      grant(["USAGE"], { kind: "warehouse", warehouse: ROLE_WAREHOUSE.loader }),
    ],
    transformer: [
      grant(["USAGE"], { kind: "database" }),
      grant(["USAGE"], { kind: "schema", schema: "raw" }),
      ...onObjects(["SELECT"], "raw", ["TABLES", "VIEWS"]),
      ...(["staging", "analytics", "metrics"] as const).map((schema) =>
        grant(["USAGE", "CREATE TABLE", "CREATE VIEW"], { kind: "schema", schema }),
      ),
      grant(["USAGE", "CREATE TABLE"], { kind: "schema", schema: "monitoring" }),
      ...onObjects(WRITE_TABLES, "monitoring", ["TABLES"]),
      // The loaders' own schemas (Fivetran destination schemas, Airbyte namespaces).
      grant(["USAGE"], { kind: "futureInDatabase", objectTypePlural: "SCHEMAS" }),
      grant(["SELECT"], { kind: "futureInDatabase", objectTypePlural: "TABLES" }),
      grant(["SELECT"], { kind: "futureInDatabase", objectTypePlural: "VIEWS" }),
      grant(["USAGE"], { kind: "warehouse", warehouse: ROLE_WAREHOUSE.transformer }),
    ],
    reporter: [
      grant(["USAGE"], { kind: "database" }),
      ...(["analytics", "metrics"] as const).flatMap((schema) => [
        grant(["USAGE"], { kind: "schema", schema }),
        ...onObjects(["SELECT"], schema, ["TABLES", "VIEWS"]),
      ]),
      // PIPELINE_STATUS and any later monitoring view; never the MONITORING tables themselves.
      grant(["USAGE"], { kind: "schema", schema: "monitoring" }),
      ...onObjects(["SELECT"], "monitoring", ["VIEWS"]),
      grant(["USAGE"], { kind: "warehouse", warehouse: ROLE_WAREHOUSE.reporter }),
    ],
  };
}

/** Names a grant target resolves against: the database, its schemas and the warehouses. */
export interface GrantNames {
  readonly database: pulumi.Input<string>;
  /** Fully qualified schema names. */
  readonly schemas: Readonly<Record<SchemaKey, pulumi.Input<string>>>;
  /** Absent for a role that uses no warehouse of the pipeline. */
  readonly warehouses?: Readonly<Record<WarehouseKey, pulumi.Input<string>>>;
}

/** The `on*` arguments of a `GrantPrivilegesToAccountRole` for one grant target. */
export function grantOn(on: GrantTarget, names: GrantNames): GrantOnArgs {
  switch (on.kind) {
    case "database":
      return { onAccountObject: { objectType: "DATABASE", objectName: names.database } };
    case "schema":
      return { onSchema: { schemaName: names.schemas[on.schema] } };
    case "all":
      return { onSchemaObject: { all: { objectTypePlural: on.objectTypePlural, inSchema: names.schemas[on.schema] } } };
    case "future":
      return {
        onSchemaObject: { future: { objectTypePlural: on.objectTypePlural, inSchema: names.schemas[on.schema] } },
      };
    case "futureInDatabase":
      return on.objectTypePlural === "SCHEMAS"
        ? { onSchema: { futureSchemasInDatabase: names.database } }
        : { onSchemaObject: { future: { objectTypePlural: on.objectTypePlural, inDatabase: names.database } } };
    case "warehouse":
      if (!names.warehouses) throw new Error(`grant on warehouse ${on.warehouse} for a role that uses no warehouse`);
      return { onAccountObject: { objectType: "WAREHOUSE", objectName: names.warehouses[on.warehouse] } };
  }
}

/** The grant-target arguments of `GrantPrivilegesToAccountRoleArgs`. */
export type GrantOnArgs = Pick<
  snowflake.GrantPrivilegesToAccountRoleArgs,
  "onAccountObject" | "onSchema" | "onSchemaObject"
>;

/** A stable, readable slug for a grant target, used in logical resource names. */
export function targetSlug(on: GrantTarget): string {
  switch (on.kind) {
    case "database":
      return "database";
    case "schema":
      return `schema-${on.schema}`;
    case "all":
    case "future":
      return `${on.kind}-${on.objectTypePlural.toLowerCase()}-${on.schema}`;
    case "futureInDatabase":
      return `future-${on.objectTypePlural.toLowerCase()}-in-database`;
    case "warehouse":
      return `warehouse-${on.warehouse}`;
  }
}

/** Every problem with a matrix (forbidden privileges, duplicate targets); empty when sound. */
export function matrixProblems(matrix: Readonly<Record<string, readonly GrantEntry[]>>): string[] {
  const problems: string[] = [];
  for (const [role, entries] of Object.entries(matrix)) {
    const seen = new Set<string>();
    for (const entry of entries) {
      const slug = targetSlug(entry.on);
      if (seen.has(slug)) problems.push(`${role}: more than one grant on ${slug}`);
      seen.add(slug);
      if (entry.privileges.length === 0) problems.push(`${role}: no privileges on ${slug}`);
      for (const p of entry.privileges) {
        if (FORBIDDEN_PRIVILEGES.includes(p)) problems.push(`${role}: ${p} on ${slug} is not allowed`);
        if (p !== p.toUpperCase()) problems.push(`${role}: privilege ${p} on ${slug} must be upper-case`);
      }
    }
  }
  return problems;
}

/**
 * What the PIPELINE role may do, as plain data: it owns the change-detection streams and tasks,
 * and a task runs with its owner's privileges, so this list is everything those tasks can do.
 * Tests compare it with a literal table. No OWNERSHIP, no ALL, nothing on RAW data: SELECT on
 * each watched table comes from the loader's PREPARE_WATCHED_TABLES, table by table.
 */

/** What one PIPELINE grant is on. */
export type PipelineTarget =
  | { readonly kind: "account" }
  | { readonly kind: "integration" }
  | { readonly kind: "warehouse" }
  | { readonly kind: "database" }
  | { readonly kind: "schema"; readonly schema: "raw" | "monitoring" }
  /** Loader-created schemas (Fivetran destination schemas, Airbyte namespaces): USAGE only. */
  | { readonly kind: "futureSchemas" }
  | { readonly kind: "table"; readonly table: "loadEvents" | "state" };

/** One grant: upper-case privileges, sorted, and a slug for the logical name. */
export interface PipelinePrivilege {
  readonly slug: string;
  readonly privileges: readonly string[];
  readonly on: PipelineTarget;
}

/**
 * The grants for `taskCompute`. Resuming or running any task needs EXECUTE TASK; a serverless task
 * needs EXECUTE MANAGED TASK instead of a warehouse (Snowflake docs, Introduction to tasks, task
 * security). Sending needs USAGE on the integration (SYSTEM$SEND_SNOWFLAKE_NOTIFICATION docs), and
 * ERROR_INTEGRATION the same.
 */
export function pipelinePrivileges(taskCompute: "serverless" | "warehouse"): PipelinePrivilege[] {
  return [
    {
      slug: "execute-task",
      privileges: taskCompute === "serverless" ? ["EXECUTE MANAGED TASK", "EXECUTE TASK"] : ["EXECUTE TASK"],
      on: { kind: "account" },
    },
    { slug: "integration", privileges: ["USAGE"], on: { kind: "integration" } },
    ...(taskCompute === "warehouse"
      ? [{ slug: "warehouse", privileges: ["USAGE"], on: { kind: "warehouse" } } as const]
      : []),
    { slug: "database", privileges: ["USAGE"], on: { kind: "database" } },
    { slug: "schema-raw", privileges: ["USAGE"], on: { kind: "schema", schema: "raw" } },
    { slug: "future-schemas", privileges: ["USAGE"], on: { kind: "futureSchemas" } },
    {
      slug: "schema-monitoring",
      privileges: ["CREATE STREAM", "CREATE TASK", "USAGE"],
      on: { kind: "schema", schema: "monitoring" },
    },
    { slug: "load-events", privileges: ["INSERT", "SELECT"], on: { kind: "table", table: "loadEvents" } },
    { slug: "state", privileges: ["DELETE", "INSERT", "SELECT"], on: { kind: "table", table: "state" } },
  ];
}

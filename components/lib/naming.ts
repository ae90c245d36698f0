/**
 * Naming and tagging shared by every component, so physical names are predictable from the
 * environment alone (other teams and IAM policies rely on that) and never auto-generated.
 */

/** AWS physical name: `dbt-pipeline-<env>-<part>` (lower-case, hyphens). */
export function awsName(environment: string, part: string): string {
  const name = `dbt-pipeline-${environment}-${part}`.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  if (name.length > 64) throw new Error(`AWS name ${name} is longer than 64 characters`);
  return name;
}

/** Snowflake identifier: `<PART>_<ENV>` in UPPER_SNAKE, e.g. `TRANSFORMER_DEV`. */
export function snowflakeName(envSuffix: string, part: string): string {
  const name = `${part}_${envSuffix}`.toUpperCase().replace(/[^A-Z0-9_]+/g, "_");
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`Snowflake name ${name} is not an UPPER_SNAKE identifier`);
  return name;
}

/** Tags put on every taggable AWS resource. */
export function defaultTags(environment: string): Record<string, string> {
  return { project: "dbt-pipeline", environment, "managed-by": "pulumi" };
}

/**
 * Drift of the objects Pulumi creates with `snowflake.Execute`. The provider runs an Execute's
 * `query` on every refresh and keeps its rows in `queryResults`, "empty if the query results in
 * an error" (upstream terraform-provider-snowflake v1.2.1 pkg/resources/execute.go); it never
 * re-runs `execute` by itself. So deploys refresh (`pulumi up --refresh`), and this turns the
 * refreshed rows into a stack output naming what to fix.
 */

/** One Execute-managed object and what its refresh query must show. */
export interface DriftCheck {
  /** What the object is, for the message, e.g. `view DB.MONITORING.PIPELINE_STATUS`. */
  readonly object: string;
  /** The role that must own it. */
  readonly owner: string;
  /** For tasks: the state it must be in (`started`). */
  readonly state?: string;
  /** The URN to replace when the object is gone. */
  readonly urn: string;
  /** The refreshed `queryResults`; undefined before the first refresh (nothing is known yet). */
  readonly rows: readonly Record<string, string>[] | undefined;
}

/** Every problem the refreshed rows show, as a sentence with the fix; empty when all is as deployed. */
export function driftProblems(checks: readonly DriftCheck[]): string[] {
  const problems: string[] = [];
  for (const c of checks) {
    if (c.rows === undefined) continue;
    const row = c.rows[0];
    if (!row) {
      problems.push(`${c.object} is missing or unreadable; recreate it with pulumi up --refresh --replace '${c.urn}'`);
      continue;
    }
    if (row.owner !== c.owner)
      problems.push(
        `${c.object} is owned by ${row.owner}, expected ${c.owner}; recreate it with pulumi up --refresh --replace '${c.urn}'`,
      );
    if (c.state !== undefined && row.state !== c.state)
      problems.push(
        `${c.object} is ${row.state}, expected ${c.state}; resume it (ALTER TASK … RESUME as ${c.owner}) or recreate it with pulumi up --refresh --replace '${c.urn}'`,
      );
  }
  return problems;
}

/**
 * A fake snowflake-sdk connection: the driver's callback API (`connect`, `execute` with
 * `complete(err, stmt, rows)`, `destroy`), answering statements by pattern with rows as the
 * driver returns them for SHOW commands (lower-case column names, every column present).
 */
import type { Connection, ConnectionOptions } from "snowflake-sdk";
import type { CreateConnection } from "../../ops/snowflake";

/** An answer: rows, or an error the driver would pass to `complete`. */
export type FakeAnswer = Record<string, unknown>[] | { error: { message: string; code?: string } };

/** Records what the code asked of the driver. */
export class FakeSnowflake {
  readonly options: ConnectionOptions[] = [];
  readonly statements: string[] = [];
  destroyed = 0;

  constructor(
    private readonly answers: [RegExp, FakeAnswer][],
    private readonly loginError?: { message: string; code?: string },
  ) {}

  readonly create: CreateConnection = (options) => {
    this.options.push(options);
    const fake = {
      connect: (cb: (err: unknown, conn: unknown) => void) => {
        setImmediate(() =>
          cb(
            this.loginError
              ? Object.assign(new Error(this.loginError.message), { code: this.loginError.code })
              : undefined,
            fake,
          ),
        );
        return fake;
      },
      execute: (o: { sqlText: string; complete?: (err: unknown, stmt: unknown, rows?: unknown[]) => void }) => {
        this.statements.push(o.sqlText);
        const answer = this.answers.find(([re]) => re.test(o.sqlText))?.[1] ?? [];
        setImmediate(() => {
          if (Array.isArray(answer)) o.complete?.(undefined, {}, answer);
          else o.complete?.(Object.assign(new Error(answer.error.message), { code: answer.error.code }), {}, undefined);
        });
        return {};
      },
      destroy: (cb: (err: unknown, conn: unknown) => void) => {
        this.destroyed++;
        setImmediate(() => cb(undefined, fake));
      },
    };
    return fake as unknown as Connection;
  };
}

/** A `SHOW GRANTS TO USER` row (docs.snowflake.com/en/sql-reference/sql/show-grants: created_on, role, granted_to, grantee_name, granted_by). */
export const grantRow = (role: string, user = "PULUMI_DEPLOYER") => ({
  created_on: new Date("2026-10-01T09:00:00Z"),
  role,
  granted_to: "USER",
  grantee_name: user,
  granted_by: "ACCOUNTADMIN",
});

/** A `SHOW GRANTS TO USER` row after behaviour change 2025_01 (bcr-1803): privileges granted to the user directly appear too. */
export const grantRow2025 = (
  privilege: string,
  grantedOn: string,
  name: string,
  role: string | null,
  user = "PULUMI_DEPLOYER",
) => ({
  created_on: new Date("2026-10-01T09:00:00Z"),
  privilege,
  granted_on: grantedOn,
  name,
  role,
  granted_to: "USER",
  grantee_name: user,
  grant_option: "false",
  granted_by: "ACCOUNTADMIN",
});

/** A `SHOW TABLES` row (the columns the command returns, most of them null here). */
export const tableRow = (database: string, schema: string, name: string) => ({
  created_on: new Date("2026-11-01T08:00:00Z"),
  name,
  database_name: database,
  schema_name: schema,
  kind: "TABLE",
  comment: "",
  cluster_by: "",
  rows: 120,
  bytes: 4096,
  owner: "LOADER",
  retention_time: "1",
  automatic_clustering: "OFF",
  change_tracking: "OFF",
  is_external: "N",
  enable_schema_evolution: "N",
  owner_role_type: "ROLE",
  is_event: "N",
  budget: null,
});

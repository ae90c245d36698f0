/**
 * The Snowflake side of preflight: a session over the official driver (snowflake-sdk) with the
 * deployer's key pair, as the Pulumi provider authenticates (components/snowflake/providers.ts:
 * `authenticator: "SNOWFLAKE_JWT"`), and the few statements preflight runs.
 */
import type { Bind, Connection, ConnectionOptions } from "snowflake-sdk";

/** What preflight needs of a connection. */
export interface SqlSession {
  /** Runs one statement; rows as objects keyed by column name. */
  query(sqlText: string, binds?: readonly Bind[]): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** `snowflake.createConnection`, injectable so tests pass a fake connection. */
export type CreateConnection = (options: ConnectionOptions) => Connection;

/** Where and as whom to connect. */
export interface DeployerLogin {
  /** `<organization>-<account>`, the account identifier the driver takes as `account`. */
  readonly account: string;
  readonly user: string;
  /** PKCS#8 PEM, unencrypted or `ENCRYPTED PRIVATE KEY` (then with {@link privateKeyPass}). */
  readonly privateKey: string;
  /** Passphrase of an encrypted `privateKey` (snowflake.adminPrivateKeyPassphrase). */
  readonly privateKeyPass?: string;
}

/**
 * Connects with key-pair (JWT) authentication: `authenticator: "SNOWFLAKE_JWT"` and `privateKey`
 * as PEM text (snowflake-sdk `ConnectionOptions`, docs.snowflake.com/en/developer-guide/node-js/
 * nodejs-driver-authenticate#using-key-pair-authentication-and-key-pair-rotation). An encrypted
 * key goes with `privateKeyPass`, which the driver hands to crypto.createPrivateKey as the
 * passphrase (snowflake-sdk dist/lib/authentication/auth_keypair.js, parsePrivateKey).
 */
export function connectSnowflake(create: CreateConnection, login: DeployerLogin): Promise<SqlSession> {
  const connection = create({
    account: login.account,
    username: login.user,
    authenticator: "SNOWFLAKE_JWT",
    privateKey: login.privateKey,
    ...(login.privateKeyPass !== undefined ? { privateKeyPass: login.privateKeyPass } : {}),
    application: "dbt-pipeline-preflight",
  });
  return new Promise((resolve, reject) => {
    connection.connect((error) => {
      if (error) {
        reject(error);
        return;
      }
      resolve({
        query: (sqlText, binds) =>
          new Promise((ok, fail) => {
            connection.execute({
              sqlText,
              ...(binds ? { binds: [...binds] } : {}),
              complete: (err, _stmt, rows) => (err ? fail(err) : ok((rows ?? []) as Record<string, unknown>[])),
            });
          }),
        close: () => new Promise((done) => connection.destroy(() => done())),
      });
    });
  });
}

/** A text cell of a result row: a string as it is, a number or boolean written out; null or absent is undefined. */
export function cellText(v: unknown): string | undefined {
  return typeof v === "string" ? v : typeof v === "number" || typeof v === "boolean" ? String(v) : undefined;
}

/** A Snowflake identifier in double quotes (embedded quotes doubled). */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * `SHOW GRANTS TO USER`: the roles granted to the user. Before behaviour change 2025_01 (ref 1803,
 * docs.snowflake.com/en/release-notes/bcr-bundles/2025_01/bcr-1803) each row is a role grant with
 * columns created_on, role, granted_to, grantee_name, granted_by; after it the rows also carry
 * privilege, granted_on, name and grant_option, and privileges granted to the user directly
 * appear beside role grants. A row is a role grant when it has no `granted_on` or it is ROLE.
 */
export async function rolesOfUser(session: SqlSession, user: string): Promise<string[]> {
  const rows = await session.query(`SHOW GRANTS TO USER ${quoteIdent(user)}`);
  const roles = rows
    .filter(
      (r) => r.granted_on === undefined || r.granted_on === null || cellText(r.granted_on)?.toUpperCase() === "ROLE",
    )
    .map((r) => cellText(r.role) || cellText(r.name) || "");
  return [...new Set(roles.filter((r) => r))].sort();
}

/** Snowflake's "does not exist or not authorized" (SQL compilation error 002003). */
export function isMissingObject(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return (
    String(e?.code) === "2003" ||
    String(e?.code) === "002003" ||
    /does not exist or not authorized/i.test(typeof e?.message === "string" ? e.message : "")
  );
}

/**
 * {@link CiReader}: the Snowflake role Slim CI uses to read this environment's dbt layers.
 *
 * Slim CI in the dbt repository builds a pull request's modified models in a schema of its own
 * and defers every unchanged parent to production (`dbt build --defer --favor-state --state
 * <prod manifest>`): the CI role must SELECT what prod's models built in STAGING, ANALYTICS and
 * METRICS. REPORTER cannot (it reads ANALYTICS and METRICS only) and TRANSFORMER can write, so
 * CI gets this read-only role, granted by you to the CI user's role (docs/dbt-repo/README.md).
 * It reads no RAW (CI's own sources come from the CI target's database) and uses no warehouse.
 *
 * Grants at schema level only, `all` (objects that exist) paired with `future` (objects dbt
 * creates later), as the foundation's access model does: Snowflake ignores database-level future
 * grants in a schema that has schema-level ones.
 */
import * as pulumi from "@pulumi/pulumi";
import * as snowflake from "@pulumi/snowflake";
import { snowflakeName } from "../lib/naming";
import { GrantEntry, GrantNames, ObjectTypePlural, SchemaKey, grantOn, matrixProblems, targetSlug } from "./access";

/** The layers a deferred model can live in: what dbt builds. */
export const CI_READ_LAYERS: readonly SchemaKey[] = ["staging", "analytics", "metrics"];

/** The role's grants as plain data: usage on the database and each layer, SELECT on its tables and views. */
export function ciReaderGrants(layers: readonly SchemaKey[] = CI_READ_LAYERS): GrantEntry[] {
  const kinds: readonly ObjectTypePlural[] = ["TABLES", "VIEWS"];
  return [
    { privileges: ["USAGE"], on: { kind: "database" } },
    ...layers.flatMap((schema): GrantEntry[] => [
      { privileges: ["USAGE"], on: { kind: "schema", schema } },
      ...kinds.flatMap((objectTypePlural): GrantEntry[] => [
        { privileges: ["SELECT"], on: { kind: "all", objectTypePlural, schema } },
        { privileges: ["SELECT"], on: { kind: "future", objectTypePlural, schema } },
      ]),
    ]),
  ];
}

/** Arguments of {@link CiReader}. */
export interface CiReaderArgs {
  /** Environment name, for the role's comment. No default. */
  readonly environment: string;
  /** Upper-case environment suffix of the role name (`DBT_CI_READER_<ENV>`). No default. */
  readonly envSuffix: string;
  /** The environment's database. No default. */
  readonly databaseName: pulumi.Input<string>;
  /** Fully qualified names (`"DB"."SCHEMA"`) of the layer schemas, by key; {@link CI_READ_LAYERS} are read. No default. */
  readonly schemaFqns: Readonly<Record<SchemaKey, pulumi.Input<string>>>;
  /** A SECURITYADMIN provider: creates the role and its grants. No default. */
  readonly provider: snowflake.Provider;
  /** Resources the grants wait for (the schemas' other grants). Default: none. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/** A read-only account role over the layers dbt builds, for Slim CI's deferral. */
export class CiReader extends pulumi.ComponentResource {
  /** The role's name, e.g. `DBT_CI_READER_PROD`: grant it to the CI user's role. */
  public readonly roleName: pulumi.Output<string>;

  constructor(name: string, args: CiReaderArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:snowflake:CiReader", name, {}, opts);
    const grants = ciReaderGrants();
    const problems = matrixProblems({ ciReader: grants });
    if (problems.length) throw new Error(`CI reader grants are unsound:\n  - ${problems.join("\n  - ")}`);
    const sec = { parent: this, provider: args.provider };

    const role = new snowflake.AccountRole(
      `${name}-role`,
      {
        name: snowflakeName(args.envSuffix, "DBT_CI_READER"),
        comment: `dbt-pipeline ${args.environment}: Slim CI reads the dbt layers to defer to them. Managed by Pulumi.`,
      },
      sec,
    );
    // Under SYSADMIN like the functional roles, so the role hierarchy stays one tree.
    new snowflake.GrantAccountRole(
      `${name}-role-to-sysadmin`,
      {
        roleName: role.name,
        parentRoleName: "SYSADMIN",
      },
      { ...sec, deleteBeforeReplace: true },
    );

    const names: GrantNames = { database: args.databaseName, schemas: args.schemaFqns };
    for (const entry of grants) {
      // Delete-first, as in the foundation: create-before-delete would let the old REVOKE undo the new GRANT.
      new snowflake.GrantPrivilegesToAccountRole(
        `${name}-grant-${targetSlug(entry.on)}`,
        {
          accountRoleName: role.name,
          privileges: [...entry.privileges],
          ...grantOn(entry.on, names),
        },
        { ...sec, deleteBeforeReplace: true, dependsOn: [...(args.dependsOn ?? [])] },
      );
    }

    this.roleName = role.name;
    this.registerOutputs({ roleName: this.roleName });
  }
}

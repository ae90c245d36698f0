import { expect } from "chai";
import { ciReaderGrants } from "../../components/snowflake/ci-reader";
import { all, evaluateStack, one, within } from "../helpers/stack";

const CI_READER = "dbt-pipeline:snowflake:CiReader::ci-reader";
const T = {
  role: "snowflake:index/accountRole:AccountRole",
  roleGrant: "snowflake:index/grantAccountRole:GrantAccountRole",
  privileges: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
} as const;

describe("Slim CI reader role", () => {
  it("grants usage on the database and each dbt layer, SELECT on their tables and views (existing and future)", () => {
    expect(ciReaderGrants()).to.deep.equal([
      { privileges: ["USAGE"], on: { kind: "database" } },
      ...["staging", "analytics", "metrics"].flatMap((schema) => [
        { privileges: ["USAGE"], on: { kind: "schema", schema } },
        { privileges: ["SELECT"], on: { kind: "all", objectTypePlural: "TABLES", schema } },
        { privileges: ["SELECT"], on: { kind: "future", objectTypePlural: "TABLES", schema } },
        { privileges: ["SELECT"], on: { kind: "all", objectTypePlural: "VIEWS", schema } },
        { privileges: ["SELECT"], on: { kind: "future", objectTypePlural: "VIEWS", schema } },
      ]),
    ]);
  });

  for (const stack of ["dev", "prod"] as const) {
    describe(stack, () => {
      const ENV = stack.toUpperCase();
      const DB = `DBT_PIPELINE_${ENV}`;
      let ev: Awaited<ReturnType<typeof evaluateStack>>;
      before(async () => {
        ev = within(await evaluateStack(stack), CI_READER);
      });

      it(`declares DBT_CI_READER_${ENV} under SYSADMIN, through the SECURITYADMIN provider`, () => {
        const role = one(ev, T.role);
        expect(role.inputs.name).to.equal(`DBT_CI_READER_${ENV}`);
        expect(role.options.provider).to.match(/securityadmin/);
        expect(one(ev, T.roleGrant).inputs).to.deep.equal({
          roleName: `DBT_CI_READER_${ENV}`,
          parentRoleName: "SYSADMIN",
        });
      });

      it("reads exactly STAGING, ANALYTICS and METRICS of its own database: no RAW, no write, no warehouse", () => {
        const grants = all(ev, T.privileges).map((g) => g.inputs);
        for (const g of grants) expect(g.accountRoleName).to.equal(`DBT_CI_READER_${ENV}`);
        const layer = (schema: string) => [
          { privileges: ["USAGE"], onSchema: { schemaName: `"${DB}"."${schema}"` } },
          {
            privileges: ["SELECT"],
            onSchemaObject: { all: { objectTypePlural: "TABLES", inSchema: `"${DB}"."${schema}"` } },
          },
          {
            privileges: ["SELECT"],
            onSchemaObject: { future: { objectTypePlural: "TABLES", inSchema: `"${DB}"."${schema}"` } },
          },
          {
            privileges: ["SELECT"],
            onSchemaObject: { all: { objectTypePlural: "VIEWS", inSchema: `"${DB}"."${schema}"` } },
          },
          {
            privileges: ["SELECT"],
            onSchemaObject: { future: { objectTypePlural: "VIEWS", inSchema: `"${DB}"."${schema}"` } },
          },
        ];
        expect(grants.map(({ accountRoleName: _, ...rest }) => rest)).to.deep.equal([
          { privileges: ["USAGE"], onAccountObject: { objectType: "DATABASE", objectName: DB } },
          ...layer("STAGING"),
          ...layer("ANALYTICS"),
          ...layer("METRICS"),
        ]);
      });

      it("recreates grants delete-first, after the foundation's grants", () => {
        for (const g of all(ev, T.privileges)) {
          expect(g.options.deleteBeforeReplace, g.name).to.equal(true);
          expect(g.options.dependsOn ?? [], g.name).to.have.length.greaterThan(0);
        }
      });
    });
  }
});

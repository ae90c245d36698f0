import { expect } from "chai";
import { Evaluation, RecordedResource } from "../../offline/mocks";
import { z } from "zod";
import { all, evaluateStack as evaluateWholeStack, one, within } from "../helpers/stack";
import { at, inputsOf, obj, parsed, str } from "./recorded";

/** This spec covers the foundation component only; other components add their own Snowflake objects. */
const FOUNDATION = "dbt-pipeline:snowflake:SnowflakeFoundation::snowflake";
const evaluateStack = async (...args: Parameters<typeof evaluateWholeStack>) =>
  within(await evaluateWholeStack(...args), FOUNDATION);

const T = {
  provider: "pulumi:providers:snowflake",
  database: "snowflake:index/database:Database",
  schema: "snowflake:index/schema:Schema",
  warehouse: "snowflake:index/warehouse:Warehouse",
  monitor: "snowflake:index/resourceMonitor:ResourceMonitor",
  role: "snowflake:index/accountRole:AccountRole",
  roleGrant: "snowflake:index/grantAccountRole:GrantAccountRole",
  privileges: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
  ownership: "snowflake:index/grantOwnership:GrantOwnership",
  user: "snowflake:index/serviceUser:ServiceUser",
  key: "tls:index/privateKey:PrivateKey",
  secret: "aws:secretsmanager/secret:Secret",
  secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
} as const;

const STACKS = ["dev", "prod"] as const;
const suffix = (stack: string) => stack.toUpperCase();

/** `"DB"."SCHEMA"` → `SCHEMA`. */
const schemaOf = (fqn: string) => {
  const m = /^"([^"]+)"\."([^"]+)"$/.exec(fqn);
  if (!m) throw new Error(`not a schema FQN: ${fqn}`);
  return m[2];
};

interface RoleAccess {
  databases: string[];
  /** Privileges on the database beyond USAGE (sorted), e.g. CREATE SCHEMA. */
  databasePrivileges: string[];
  /** Database-level future grants, as `PRIVILEGE PLURAL`, e.g. `SELECT TABLES`. */
  futureInDatabase: string[];
  usage: string[];
  read: string[];
  readViews: string[];
  write: string[];
  truncate: string[];
  create: Record<string, string[]>;
  warehouses: string[];
}

/** Objects of a type in a schema or database (`onSchemaObject.all` / `.future`). */
const ObjectsInSchema = z
  .object({ objectTypePlural: z.string(), inSchema: z.string().optional(), inDatabase: z.string().optional() })
  .strict();
/** A recorded GrantPrivilegesToAccountRole's inputs; `strict`, so a field these specs do not expect fails. */
const GrantSchema = z
  .object({
    accountRoleName: z.string(),
    privileges: z.array(z.string()),
    allPrivileges: z.boolean().optional(),
    onAccountObject: z.object({ objectType: z.string(), objectName: z.string() }).strict().optional(),
    onSchema: z
      .object({
        schemaName: z.string().optional(),
        futureSchemasInDatabase: z.string().optional(),
        allSchemasInDatabase: z.string().optional(),
      })
      .strict()
      .optional(),
    onSchemaObject: z
      .object({ all: ObjectsInSchema.optional(), future: ObjectsInSchema.optional() })
      .strict()
      .optional(),
  })
  .strict();
const grantOf = (g: RecordedResource) => GrantSchema.parse(g.inputs);

/** What each role can do, derived only from the recorded grant resources. */
function derivedAccess(ev: Evaluation): Record<string, RoleAccess> {
  const out: Record<string, RoleAccess> = {};
  const objects = new Map<string, Set<string>>(); // `${role}|${kind}|${plural}|${schema}` → privileges
  for (const g of all(ev, T.privileges)) {
    const { accountRoleName: role, privileges, allPrivileges, onAccountObject, onSchema, onSchemaObject } = grantOf(g);
    expect(allPrivileges, `${g.name} uses allPrivileges`).to.equal(undefined);
    const a = (out[role] ??= {
      databases: [],
      databasePrivileges: [],
      futureInDatabase: [],
      usage: [],
      read: [],
      readViews: [],
      write: [],
      truncate: [],
      create: {},
      warehouses: [],
    });
    if (onAccountObject) {
      expect(privileges, g.name).to.include("USAGE");
      if (onAccountObject.objectType === "DATABASE") {
        a.databases.push(onAccountObject.objectName);
        a.databasePrivileges.push(...privileges.filter((p) => p !== "USAGE"));
      } else {
        expect(privileges, g.name).to.deep.equal(["USAGE"]);
        a.warehouses.push(onAccountObject.objectName);
      }
    } else if (onSchema?.futureSchemasInDatabase) {
      a.futureInDatabase.push(...privileges.map((p) => `${p} SCHEMAS`));
    } else if (onSchemaObject?.future?.inDatabase) {
      const plural = onSchemaObject.future.objectTypePlural;
      a.futureInDatabase.push(...privileges.map((p) => `${p} ${plural}`));
    } else if (onSchema) {
      const schema = schemaOf(onSchema.schemaName ?? "");
      if (privileges.includes("USAGE")) a.usage.push(schema);
      const creates = privileges.filter((p) => p.startsWith("CREATE "));
      if (creates.length) a.create[schema] = creates.sort();
    } else {
      for (const kind of ["all", "future"] as const) {
        const spec = onSchemaObject?.[kind];
        if (spec)
          objects.set(`${role}|${kind}|${spec.objectTypePlural}|${schemaOf(spec.inSchema ?? "")}`, new Set(privileges));
      }
    }
  }
  const has = (role: string, plural: string, schema: string, ...privileges: string[]) =>
    (["all", "future"] as const).every((kind) =>
      privileges.every((p) => objects.get(`${role}|${kind}|${plural}|${schema}`)?.has(p)),
    );
  for (const [role, a] of Object.entries(out)) {
    for (const schema of a.usage) {
      if (has(role, "TABLES", schema, "SELECT")) a.read.push(schema);
      if (has(role, "VIEWS", schema, "SELECT")) a.readViews.push(schema);
      if (has(role, "TABLES", schema, "INSERT", "UPDATE", "DELETE")) a.write.push(schema);
      if (has(role, "TABLES", schema, "TRUNCATE")) a.truncate.push(schema);
    }
    for (const list of [
      a.databases,
      a.databasePrivileges,
      a.futureInDatabase,
      a.usage,
      a.read,
      a.readViews,
      a.write,
      a.truncate,
      a.warehouses,
    ])
      list.sort();
  }
  return out;
}

/** The access model (roles, schemas, privileges), written out by hand. */
function expectedAccess(env: string): Record<string, RoleAccess> {
  const db = [`DBT_PIPELINE_${env}`];
  const createBoth = ["CREATE TABLE", "CREATE VIEW"];
  return {
    [`LOADER_${env}`]: {
      // Fivetran's setup script: CREATE SCHEMA, MONITOR, USAGE on the destination database.
      databases: db,
      databasePrivileges: ["CREATE SCHEMA", "MONITOR"],
      futureInDatabase: [],
      usage: ["RAW"],
      read: ["RAW"],
      readViews: [],
      write: ["RAW"],
      truncate: ["RAW"],
      create: { RAW: ["CREATE TABLE"] },
      warehouses: [`LOADING_WH_${env}`],
    },
    [`TRANSFORMER_${env}`]: {
      // Reads whatever schemas and tables the loaders create: database-level future grants.
      databases: db,
      databasePrivileges: [],
      futureInDatabase: ["SELECT TABLES", "SELECT VIEWS", "USAGE SCHEMAS"],
      usage: ["ANALYTICS", "METRICS", "MONITORING", "RAW", "STAGING"],
      read: ["MONITORING", "RAW"],
      readViews: ["RAW"],
      write: ["MONITORING"],
      truncate: [],
      create: { STAGING: createBoth, ANALYTICS: createBoth, METRICS: createBoth, MONITORING: ["CREATE TABLE"] },
      warehouses: [`TRANSFORMING_WH_${env}`],
    },
    [`REPORTER_${env}`]: {
      databases: db,
      databasePrivileges: [],
      futureInDatabase: [],
      usage: ["ANALYTICS", "METRICS", "MONITORING"],
      read: ["ANALYTICS", "METRICS"],
      readViews: ["ANALYTICS", "METRICS", "MONITORING"],
      write: [],
      truncate: [],
      create: {},
      warehouses: [`REPORTING_WH_${env}`],
    },
  };
}

/** Every string leaf of `value` with its dotted path. */
function leaves(value: unknown, at = ""): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, at ? `${at}.${k}` : k));
  }
  return [];
}
const under = (path: string, roots: readonly string[]) => roots.some((r) => path === r || path.startsWith(`${r}.`));

describe("snowflake foundation", () => {
  for (const stack of STACKS) {
    const ENV = suffix(stack);
    describe(stack, () => {
      it("access matrix: who reads, writes and creates where, and uses which warehouse", async () => {
        expect(derivedAccess(await evaluateStack(stack))).to.deep.equal(expectedAccess(ENV));
      });

      it("schema-level grants pair existing (all) with future objects; database-level future grants serve only the loaders' schemas", async () => {
        const ev = await evaluateStack(stack);
        const objectGrants = all(ev, T.privileges)
          .map(grantOf)
          .filter((g) => g.onSchemaObject);
        const key = (g: z.infer<typeof GrantSchema>, kind: "all" | "future") => {
          const spec = g.onSchemaObject?.[kind];
          return `${g.accountRoleName} ${g.privileges.join(",")} ${spec?.objectTypePlural} ${spec?.inSchema ?? `database ${spec?.inDatabase}`}`;
        };
        const alls = objectGrants
          .filter((g) => g.onSchemaObject?.all)
          .map((g) => key(g, "all"))
          .sort();
        const futures = objectGrants
          .filter((g) => g.onSchemaObject?.future?.inSchema)
          .map((g) => key(g, "future"))
          .sort();
        expect(alls).to.have.length(9);
        expect(futures).to.deep.equal(alls);
        const databaseLevel = all(ev, T.privileges)
          .map(grantOf)
          .filter(
            (g) =>
              g.onSchemaObject?.future?.inDatabase ||
              g.onSchema?.futureSchemasInDatabase ||
              g.onSchema?.allSchemasInDatabase ||
              g.onSchemaObject?.all?.inDatabase,
          )
          .map((g) => [g.accountRoleName, g.privileges, g.onSchema ?? g.onSchemaObject]);
        expect(databaseLevel).to.deep.equal([
          [`TRANSFORMER_${ENV}`, ["USAGE"], { futureSchemasInDatabase: `DBT_PIPELINE_${ENV}` }],
          [
            `TRANSFORMER_${ENV}`,
            ["SELECT"],
            { future: { objectTypePlural: "TABLES", inDatabase: `DBT_PIPELINE_${ENV}` } },
          ],
          [
            `TRANSFORMER_${ENV}`,
            ["SELECT"],
            { future: { objectTypePlural: "VIEWS", inDatabase: `DBT_PIPELINE_${ENV}` } },
          ],
        ]);
      });

      it("no OWNERSHIP or ALL to a functional role; ownership only hands warehouses to SYSADMIN", async () => {
        const ev = await evaluateStack(stack);
        for (const g of all(ev, T.privileges)) {
          expect(g.inputs.privileges, g.name).to.not.include.members(["OWNERSHIP"]);
          expect(g.inputs.privileges, g.name).to.not.include.members(["ALL"]);
          expect(g.inputs.privileges, g.name).to.not.include.members(["ALL PRIVILEGES"]);
        }
        expect(
          all(ev, T.ownership).map((o): unknown[] => [
            o.inputs.accountRoleName,
            at(o.inputs, "on", "objectType"),
            at(o.inputs, "on", "objectName"),
            o.inputs.outboundPrivileges,
          ]),
        ).to.deep.equal(
          ["LOADING", "TRANSFORMING", "REPORTING"].map((w) => ["SYSADMIN", "WAREHOUSE", `${w}_WH_${ENV}`, "COPY"]),
        );
      });

      it("roles sit under SYSADMIN; each service user gets its role", async () => {
        const ev = await evaluateStack(stack);
        expect(
          all(ev, T.roleGrant)
            .map((g) => g.inputs)
            .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        ).to.deep.equal([
          { parentRoleName: "SYSADMIN", roleName: `LOADER_${ENV}` },
          { parentRoleName: "SYSADMIN", roleName: `REPORTER_${ENV}` },
          { parentRoleName: "SYSADMIN", roleName: `TRANSFORMER_${ENV}` },
          { roleName: `LOADER_${ENV}`, userName: `LOADER_SVC_${ENV}` },
          { roleName: `TRANSFORMER_${ENV}`, userName: `DBT_SVC_${ENV}` },
        ]);
      });

      it("every grant resource is replaced delete-first", async () => {
        const ev = await evaluateStack(stack);
        const grants = [...all(ev, T.privileges), ...all(ev, T.roleGrant), ...all(ev, T.ownership)];
        expect(grants).to.have.length(36 + 5 + 3);
        for (const g of grants) expect(g.options.deleteBeforeReplace, g.name).to.equal(true);
      });

      it("names are explicit UPPER_SNAKE; account-level objects carry the environment", async () => {
        const ev = await evaluateStack(stack);
        const accountLevel: string[] = [T.database, T.warehouse, T.monitor, T.role, T.user];
        const named = ev.resources.filter(
          (r) => r.type.startsWith("snowflake:") && accountLevel.concat(T.schema).includes(r.type),
        );
        expect(named).to.have.length(1 + 5 + 3 + 1 + 3 + 2);
        for (const r of ev.resources.filter((x) => x.type.startsWith("snowflake:") && x.inputs.name !== undefined)) {
          expect(r.inputs.name, r.name).to.match(/^[A-Z][A-Z0-9_]*$/);
        }
        for (const r of named) {
          expect(r.inputs.name, `${r.name} has no explicit name`).to.be.a("string");
          if (accountLevel.includes(r.type)) expect(r.inputs.name, r.name).to.match(new RegExp(`_${ENV}$`));
        }
        expect(all(ev, T.schema).map((s) => [at(s.inputs, "database"), at(s.inputs, "name")])).to.deep.equal(
          ["RAW", "STAGING", "ANALYTICS", "METRICS", "MONITORING"].map((s) => [`DBT_PIPELINE_${ENV}`, s]),
        );
      });

      it("each Snowflake resource goes through the provider of the role that should own it", async () => {
        const ev = await evaluateStack(stack);
        const via: Record<string, string> = {
          [T.database]: "sysadmin",
          [T.schema]: "sysadmin",
          [T.monitor]: "accountadmin",
          [T.warehouse]: "accountadmin",
          [T.ownership]: "accountadmin",
          [T.role]: "securityadmin",
          [T.roleGrant]: "securityadmin",
          [T.privileges]: "securityadmin",
          [T.user]: "securityadmin",
        };
        const snowflakeResources = ev.resources.filter((r) => r.type.startsWith("snowflake:"));
        expect(snowflakeResources.length).to.be.greaterThan(0);
        for (const r of snowflakeResources) {
          expect(via[r.type], `${r.type} is not covered by this test`).to.be.a("string");
          expect(r.options.provider, r.name).to.equal(`${T.provider}::snowflake-${via[r.type]}`);
        }
      });

      it("providers: key-pair auth as the admin user, one role each, preview features listed per instance", async () => {
        const ev = await evaluateStack(stack);
        const providers = all(ev, T.provider, /^snowflake-/);
        expect(
          providers.map((p) => [p.name, at(p.inputs, "role"), parsed(p.inputs.previewFeaturesEnabled)]),
        ).to.deep.equal([
          ["snowflake-sysadmin", "SYSADMIN", ["snowflake_table_resource"]],
          ["snowflake-securityadmin", "SECURITYADMIN", []],
          ["snowflake-accountadmin", "ACCOUNTADMIN", ["snowflake_notification_integration_resource"]],
        ]);
        for (const p of providers) {
          expect(p.inputs).to.include({
            organizationName: "ACMEORG",
            accountName: "ACME_DATA",
            user: "PULUMI_DEPLOYER",
            authenticator: "SNOWFLAKE_JWT",
          });
          expect(p.secretPaths).to.include("privateKey");
        }
      });

      it("no private key material outside secrets, in inputs or stack outputs", async () => {
        const ev = await evaluateStack(stack);
        for (const r of ev.resources) {
          for (const [path, value] of leaves(r.inputs)) {
            if (under(path, r.secretPaths)) continue;
            expect(value, `${r.type}::${r.name} input ${path}`).to.not.match(/PRIVATE KEY/);
          }
        }
        for (const [path, value] of leaves(ev.outputs)) {
          if (under(path, ev.secretOutputs)) continue;
          expect(value, `stack output ${path}`).to.not.match(/PRIVATE KEY/);
        }
        // The scan has something to find: the secret versions do hold PEM private keys, as secrets.
        for (const v of all(ev, T.secretVersion, /^snowflake-svc-/)) {
          expect(v.secretPaths).to.include("secretString");
          expect(v.inputs.secretString).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
        }
      });
    });
  }

  describe("encrypted admin key", () => {
    it("the passphrase reaches every provider as a secret, beside the encrypted key", async () => {
      const ev = await evaluateStack("dev", {
        "snowflake.adminPrivateKey":
          "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkqhkiG9w0BBQwwDgQIFAKEFAKEFAKE\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "snowflake.adminPrivateKeyPassphrase": "correct horse battery staple",
      });
      const providers = all(ev, T.provider, /^snowflake-/);
      expect(providers).to.have.length(3);
      for (const p of providers) {
        expect(p.inputs.privateKeyPassphrase, p.name).to.equal("correct horse battery staple");
        expect(p.secretPaths, p.name).to.include.members(["privateKey", "privateKeyPassphrase"]);
      }
    });

    it("without a passphrase the providers get none", async () => {
      for (const p of all(await evaluateStack("dev"), T.provider, /^snowflake-/))
        expect(p.inputs, p.name).to.not.have.property("privateKeyPassphrase");
    });
  });

  describe("storage", () => {
    it("dev: database with its retention, nothing protected", async () => {
      const ev = await evaluateStack("dev");
      const db = one(ev, T.database);
      expect(db.inputs).to.include({ name: "DBT_PIPELINE_DEV", dataRetentionTimeInDays: 1 });
      for (const r of [db, ...all(ev, T.schema)]) {
        expect(r.options.protect, r.name).to.equal(undefined);
        expect(r.options.retainOnDelete, r.name).to.equal(undefined);
      }
    });

    it("prod: database, RAW and MONITORING are protected and retained on delete; the dbt-built layers are not", async () => {
      const ev = await evaluateStack("prod");
      expect(one(ev, T.database).inputs).to.include({ name: "DBT_PIPELINE_PROD", dataRetentionTimeInDays: 7 });
      for (const r of [
        one(ev, T.database),
        one(ev, T.schema, "snowflake-schema-raw"),
        one(ev, T.schema, "snowflake-schema-monitoring"),
      ]) {
        expect(r.options, r.name).to.include({ protect: true, retainOnDelete: true });
      }
      for (const r of all(ev, T.schema).filter(
        (s) => !["snowflake-schema-raw", "snowflake-schema-monitoring"].includes(s.name),
      )) {
        expect(r.options.protect, r.name).to.equal(undefined);
      }
    });
  });

  describe("compute", () => {
    const warehouses = (ev: Evaluation): Record<string, Record<string, unknown>> =>
      Object.fromEntries(all(ev, T.warehouse).map((w) => [str(w.inputs, "name"), inputsOf(w)]));
    const common = (env: string) => ({
      autoSuspend: 60,
      autoResume: "true",
      initiallySuspended: true,
      statementTimeoutInSeconds: 3600,
      resourceMonitor: `DBT_PIPELINE_MONITOR_${env}`,
    });

    it("dev: three XSMALL warehouses under the dev monitor", async () => {
      const ws = warehouses(await evaluateStack("dev"));
      expect(Object.keys(ws).sort()).to.deep.equal(["LOADING_WH_DEV", "REPORTING_WH_DEV", "TRANSFORMING_WH_DEV"]);
      for (const [name, size] of [
        ["LOADING_WH_DEV", "XSMALL"],
        ["TRANSFORMING_WH_DEV", "XSMALL"],
        ["REPORTING_WH_DEV", "XSMALL"],
      ]) {
        expect(ws[name], name).to.deep.include({ ...common("DEV"), warehouseSize: size });
      }
    });

    it("prod: sizes from the prod stack", async () => {
      const ws = warehouses(await evaluateStack("prod"));
      for (const [name, size] of [
        ["LOADING_WH_PROD", "XSMALL"],
        ["TRANSFORMING_WH_PROD", "SMALL"],
        ["REPORTING_WH_PROD", "SMALL"],
      ]) {
        expect(ws[name], name).to.deep.include({ ...common("PROD"), warehouseSize: size });
      }
    });

    it("warehouse settings follow config", async () => {
      const ev = await evaluateStack("dev", {
        "snowflake.autoSuspendSeconds": "120",
        "snowflake.statementTimeoutSeconds": "900",
      });
      for (const w of all(ev, T.warehouse))
        expect(w.inputs, w.name).to.include({ autoSuspend: 120, statementTimeoutInSeconds: 900 });
    });

    it("dev monitor suspends the warehouses at 100 % of the quota", async () => {
      expect(one(await evaluateStack("dev"), T.monitor).inputs).to.deep.equal({
        name: "DBT_PIPELINE_MONITOR_DEV",
        creditQuota: 20,
        frequency: "MONTHLY",
        startTimestamp: "IMMEDIATELY",
        notifyTriggers: [75, 90],
        suspendTrigger: 100,
        notifyUsers: [],
      });
    });

    it("prod monitor only notifies, also at 100 %", async () => {
      expect(one(await evaluateStack("prod"), T.monitor).inputs).to.deep.equal({
        name: "DBT_PIPELINE_MONITOR_PROD",
        creditQuota: 300,
        frequency: "MONTHLY",
        startTimestamp: "IMMEDIATELY",
        notifyTriggers: [75, 90, 100],
        notifyUsers: [],
      });
    });

    it("monitor e-mails the configured users", async () => {
      const ev = await evaluateStack("dev", { "snowflake.monitorNotifyUsers": ["ALICE", "BOB"] });
      expect(one(ev, T.monitor).inputs.notifyUsers).to.deep.equal(["ALICE", "BOB"]);
    });
  });

  describe("service users and key rotation", () => {
    const oneLine = (pem: string) => pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
    const keyOf = (ev: Evaluation, user: string, g: number) => one(ev, T.key, `snowflake-svc-${user}-key-g${g}`);
    const pub = (ev: Evaluation, user: string, g: number) => oneLine(str(keyOf(ev, user, g).state, "publicKeyPem"));

    it("users: SERVICE type, default role and warehouse, key-pair only", async () => {
      const ev = await evaluateStack("dev");
      const users = Object.fromEntries(all(ev, T.user).map((u) => [str(u.inputs, "name"), inputsOf(u)]));
      expect(users.LOADER_SVC_DEV).to.include({
        defaultRole: "LOADER_DEV",
        defaultWarehouse: "LOADING_WH_DEV",
        defaultSecondaryRolesOption: "NONE",
      });
      expect(users.DBT_SVC_DEV).to.include({
        defaultRole: "TRANSFORMER_DEV",
        defaultWarehouse: "TRANSFORMING_WH_DEV",
        defaultSecondaryRolesOption: "NONE",
      });
      for (const u of Object.values(users)) expect(u).to.not.have.any.keys("password", "rsaPublicKey2");
      for (const k of all(ev, T.key)) expect(k.inputs).to.deep.equal({ algorithm: "RSA", rsaBits: 2048 });
    });

    it("secrets: one per user, named per environment; recovery 0 days in dev, 30 in prod", async () => {
      for (const [stack, days] of [
        ["dev", 0],
        ["prod", 30],
      ] as const) {
        const ev = await evaluateStack(stack);
        expect(
          all(ev, T.secret, /^snowflake-svc-/).map((s) => [at(s.inputs, "name"), at(s.inputs, "recoveryWindowInDays")]),
        ).to.deep.equal([
          [`dbt-pipeline-${stack}-snowflake-loader-key`, days],
          [`dbt-pipeline-${stack}-snowflake-dbt-key`, days],
        ]);
        for (const s of all(ev, T.secret, /^snowflake-svc-/))
          expect(s.inputs.tags).to.include({ environment: stack, project: "dbt-pipeline" });
      }
    });

    for (const user of ["dbt", "loader"]) {
      const USER = user === "dbt" ? "DBT_SVC_DEV" : "LOADER_SVC_DEV";
      const secretOf = (ev: Evaluation) => one(ev, T.secretVersion, `snowflake-svc-${user}-key-secret-version`);

      it(`${user}: generation 1 fills slot 1 only`, async () => {
        const ev = await evaluateStack("dev");
        expect(all(ev, T.key, new RegExp(`^snowflake-svc-${user}-`)).map((k) => k.name)).to.deep.equal([
          `snowflake-svc-${user}-key-g1`,
        ]);
        const u = one(ev, T.user, `snowflake-svc-${user}-user`).inputs;
        expect(u.name).to.equal(USER);
        expect(u.rsaPublicKey)
          .to.equal(pub(ev, user, 1))
          .and.to.match(/^[A-Za-z0-9+/]+=*$/);
        expect(u.rsaPublicKey2).to.equal(undefined);
        expect(secretOf(ev).inputs.secretString).to.equal(keyOf(ev, user, 1).state.privateKeyPemPkcs8);
      });

      it(`${user}: generation 2 keeps gen 1 in slot 1, adds gen 2 in slot 2, publishes gen 2`, async () => {
        const ev = await evaluateStack("dev", { "snowflake.keyGeneration": "2" });
        expect(all(ev, T.key, new RegExp(`^snowflake-svc-${user}-`)).map((k) => k.name)).to.deep.equal([
          `snowflake-svc-${user}-key-g1`,
          `snowflake-svc-${user}-key-g2`,
        ]);
        const u = one(ev, T.user, `snowflake-svc-${user}-user`).inputs;
        expect(u.rsaPublicKey).to.equal(pub(ev, user, 1));
        expect(u.rsaPublicKey2).to.equal(pub(ev, user, 2));
        expect(secretOf(ev).inputs.secretString).to.equal(keyOf(ev, user, 2).state.privateKeyPemPkcs8);
        expect(secretOf(ev).options.dependsOn).to.deep.equal([`${T.user}::snowflake-svc-${user}-user`]);
      });

      it(`${user}: generation 3 drops gen 1 and puts gen 3 in slot 1`, async () => {
        const ev = await evaluateStack("dev", { "snowflake.keyGeneration": "3" });
        expect(all(ev, T.key, new RegExp(`^snowflake-svc-${user}-`)).map((k) => k.name)).to.deep.equal([
          `snowflake-svc-${user}-key-g2`,
          `snowflake-svc-${user}-key-g3`,
        ]);
        const u = one(ev, T.user, `snowflake-svc-${user}-user`).inputs;
        expect(u.rsaPublicKey).to.equal(pub(ev, user, 3));
        expect(u.rsaPublicKey2).to.equal(pub(ev, user, 2));
        expect(secretOf(ev).inputs.secretString).to.equal(keyOf(ev, user, 3).state.privateKeyPemPkcs8);
      });
    }
  });

  describe("stack outputs", () => {
    it("dev exports the names later components and the README rely on", async () => {
      const { outputs } = await evaluateStack("dev");
      expect(outputs.snowflakeDatabase).to.equal("DBT_PIPELINE_DEV");
      expect(outputs.snowflakeAccount).to.equal("ACMEORG-ACME_DATA");
      expect(outputs.snowflakeSchemas).to.deep.equal({
        raw: "RAW",
        staging: "STAGING",
        analytics: "ANALYTICS",
        metrics: "METRICS",
        monitoring: "MONITORING",
      });
      expect(outputs.snowflakeWarehouses).to.deep.equal({
        loading: "LOADING_WH_DEV",
        transforming: "TRANSFORMING_WH_DEV",
        reporting: "REPORTING_WH_DEV",
      });
      expect(outputs.snowflakeRoles).to.deep.equal({
        loader: "LOADER_DEV",
        transformer: "TRANSFORMER_DEV",
        reporter: "REPORTER_DEV",
      });
      expect(outputs.snowflakeUsers).to.deep.equal({ loader: "LOADER_SVC_DEV", dbt: "DBT_SVC_DEV" });
      expect(Object.keys(obj(outputs.snowflakePrivateKeySecretArns))).to.deep.equal(["loader", "dbt"]);
      expect(at(outputs, "snowflakePrivateKeySecretArns", "dbt")).to.match(
        /^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:dbt-pipeline-dev-snowflake-dbt-key-/,
      );
      expect(at(outputs, "snowflakePrivateKeySecretArns", "loader")).to.match(
        /^arn:aws:secretsmanager:eu-west-1:\d{12}:secret:dbt-pipeline-dev-snowflake-loader-key-/,
      );
    });
  });
});

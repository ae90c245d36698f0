/**
 * The config rules that span keys, run by config.ts's schema after each key passed its own, so
 * their problems join the same report. A rule runs only when every key it reads is valid.
 */
import { SECRET_PLACEHOLDER, fargateMemoryOptions } from "./config-keys";
import type { ConfigKey, ConfigValues } from "./config";

/** Where a cross-key problem is reported: a key, or a key and a path inside its value. */
export type ProblemAt = ConfigKey | readonly [ConfigKey, ...string[]];
/** Reports a problem at a key (or inside its value). */
export type Report = (at: ProblemAt, message: string) => void;

/** One rule that spans keys; it runs only when every key it reads passed its own schema. */
export interface CrossCheck {
  readonly keys: readonly ConfigKey[];
  readonly check: (v: ConfigValues, problem: Report) => void;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** The lower-case slug of an e-mail address, which names its subscription (alerts.ts). */
export function emailSlug(email: string): string {
  return email.toLowerCase().replace(/[^a-z0-9]+/g, "-");
}

/**
 * The rules that span keys, in the order they are reported. Each message names what the other
 * key holds; the value of the key at fault is echoed only where it is not a secret.
 */
export const CROSS_CHECKS: readonly CrossCheck[] = [
  {
    keys: ["dbt.cpu", "dbt.memory"],
    check: (v, problem) => {
      const options = fargateMemoryOptions(v["dbt.cpu"]);
      if (!options.includes(v["dbt.memory"]))
        problem(
          "dbt.memory",
          `expected one of ${options.join(", ")} for dbt.cpu ${v["dbt.cpu"]} (got ${v["dbt.memory"]})`,
        );
    },
  },
  {
    keys: ["snowflake.autoSuspendSeconds", "snowflake.maxAutoSuspendSeconds"],
    check: (v, problem) => {
      const [auto, max] = [v["snowflake.autoSuspendSeconds"], v["snowflake.maxAutoSuspendSeconds"]];
      if (auto > max)
        problem(
          "snowflake.autoSuspendSeconds",
          `expected at most snowflake.maxAutoSuspendSeconds (${max}) (got ${auto})`,
        );
    },
  },
  {
    keys: ["network.mode", "network.subnetIds", "network.securityGroupIds", "network.assignPublicIp"],
    check: (v, problem) => {
      if (v["network.mode"] === "existing") {
        if (v["network.subnetIds"].length === 0)
          problem("network.subnetIds", "expected at least one subnet id when network.mode is existing");
        if (v["network.securityGroupIds"].length === 0)
          problem("network.securityGroupIds", "expected at least one security group id when network.mode is existing");
      } else if (!v["network.assignPublicIp"]) {
        problem(
          "network.assignPublicIp",
          "expected true when network.mode is create (the created subnets have no NAT gateway, so a task without a public IP cannot reach ECR, S3 or Snowflake) (got false)",
        );
      }
    },
  },
  {
    keys: [
      "snowflake.rawSchema",
      "snowflake.stagingSchema",
      "snowflake.analyticsSchema",
      "snowflake.metricsSchema",
      "snowflake.monitoringSchema",
    ],
    check: (v, problem) => {
      const seen = new Map<string, string>();
      for (const key of [
        "snowflake.rawSchema",
        "snowflake.stagingSchema",
        "snowflake.analyticsSchema",
        "snowflake.metricsSchema",
        "snowflake.monitoringSchema",
      ] as const) {
        const other = seen.get(v[key]);
        if (other) problem(key, `expected a schema name different from ${other} (got ${describe(v[key])})`);
        seen.set(v[key], key);
      }
    },
  },
  { keys: ["snowflake.adminPrivateKey", "snowflake.adminPrivateKeyPassphrase"], check: privateKeyCheck },
  { keys: ["sources", "snowflake.rawSchema"], check: sourceOwnershipCheck },
  {
    keys: ["sources", "fivetran.webhookSecret", "airbyte.webhookToken"],
    check: (v, problem) => {
      const sources = Object.values(v.sources);
      if (sources.some((s) => s.fivetranConnectors.length > 0) && v["fivetran.webhookSecret"] === undefined) {
        problem(
          "fivetran.webhookSecret",
          "required because a source lists Fivetran connectors; run pulumi config set --secret fivetran.webhookSecret <value>",
        );
      }
      if (sources.some((s) => s.airbyteConnections.length > 0) && v["airbyte.webhookToken"] === undefined) {
        problem(
          "airbyte.webhookToken",
          "required because a source lists Airbyte connections; run pulumi config set --secret airbyte.webhookToken <value>",
        );
      }
    },
  },
  {
    // Each address names its subscription resource by its slug, so two addresses with one slug
    // would be two resources with one name.
    keys: ["notify.emails"],
    check: (v, problem) => {
      const slugs = new Map<string, string>();
      for (const email of v["notify.emails"]) {
        const other = slugs.get(emailSlug(email));
        if (other !== undefined)
          problem(
            "notify.emails",
            `${describe(other)} and ${describe(email)} are the same address or differ only in punctuation; list each once`,
          );
        slugs.set(emailSlug(email), email);
      }
    },
  },
  {
    // Only checked when the GitHub side is built (github.owner set).
    keys: [
      "github.owner",
      "github.infraRepo",
      "github.dbtRepo",
      "github.ownerId",
      "github.infraRepoId",
      "github.dbtRepoId",
    ],
    check: (v, problem) => {
      if (!v["github.owner"]) return;
      if (v["github.infraRepo"] === v["github.dbtRepo"])
        problem("github.dbtRepo", `expected a repository other than github.infraRepo (${v["github.infraRepo"]})`);
      const [owner, infra, dbt] = [v["github.ownerId"], v["github.infraRepoId"], v["github.dbtRepoId"]];
      if (!owner && (infra || dbt))
        problem(
          "github.ownerId",
          "required with github.infraRepoId or github.dbtRepoId (immutable subjects name the owner's id too)",
        );
      if (owner && !infra && !dbt)
        problem("github.ownerId", "set github.infraRepoId and/or github.dbtRepoId with it, or leave it 0");
    },
  },
];

/**
 * A connector, connection or RAW table maps to one source. `TABLE` means `<rawSchema>.TABLE`;
 * a table may belong to one source only, whichever form names it.
 */
function sourceOwnershipCheck(v: ConfigValues, problem: Report): void {
  const owners = new Map<string, string>();
  const tables = new Map<string, { source: string; entry: string }>();
  for (const [name, s] of Object.entries(v.sources)) {
    for (const [field, ids] of [
      ["fivetranConnectors", s.fivetranConnectors],
      ["airbyteConnections", s.airbyteConnections],
      ["rawTables", s.rawTables],
    ] as const) {
      for (const id of ids) {
        const owner = owners.get(`${field}:${id}`);
        if (owner)
          problem(
            ["sources", name, field],
            `${describe(id)} is already listed by source ${owner}; each id maps to one source`,
          );
        owners.set(`${field}:${id}`, name);
      }
    }
    for (const entry of s.rawTables) {
      const [schema, table] = entry.includes(".") ? entry.split(".") : [v["snowflake.rawSchema"], entry];
      for (const [key, other] of tables) {
        const [os, ot] = key.split(".");
        const overlaps = os === schema && (ot === table || ot === "*" || table === "*");
        if (overlaps && other.source !== name)
          problem(
            ["sources", name, "rawTables"],
            `${describe(entry)} overlaps ${describe(other.entry)} of source ${other.source}; each RAW table maps to one source`,
          );
      }
      tables.set(`${schema}.${table}`, { source: name, entry });
    }
  }
}

/**
 * The admin key must be one the Snowflake provider can read. Upstream `sdk.ParsePrivateKey`
 * (terraform-provider-snowflake v1.2.1, pkg/sdk/config.go) decrypts only a PKCS#8
 * `ENCRYPTED PRIVATE KEY` with `private_key_passphrase`; any other PEM goes to
 * `ssh.ParseRawPrivateKey`, which fails on a legacy OpenSSL-encrypted key (`Proc-Type: 4,ENCRYPTED`).
 * Secret values are never echoed.
 */
function privateKeyCheck(v: ConfigValues, problem: Report): void {
  const key = v["snowflake.adminPrivateKey"];
  const passphrase = v["snowflake.adminPrivateKeyPassphrase"];
  if (key === SECRET_PLACEHOLDER) return;
  if (/Proc-Type:\s*4,ENCRYPTED/.test(key)) {
    problem(
      "snowflake.adminPrivateKey",
      "is a legacy OpenSSL-encrypted key (Proc-Type: 4,ENCRYPTED), which the Snowflake provider cannot decrypt; convert it with openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <key>.p8 and set snowflake.adminPrivateKeyPassphrase",
    );
  } else if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) {
    if (passphrase === undefined)
      problem(
        "snowflake.adminPrivateKeyPassphrase",
        "required because snowflake.adminPrivateKey is an ENCRYPTED PRIVATE KEY; run pulumi config set --secret snowflake.adminPrivateKeyPassphrase <value>",
      );
  } else if (passphrase !== undefined && passphrase !== SECRET_PLACEHOLDER) {
    problem(
      "snowflake.adminPrivateKeyPassphrase",
      "is set but snowflake.adminPrivateKey is not encrypted; remove the passphrase or set the encrypted (ENCRYPTED PRIVATE KEY) form of the key",
    );
  }
}

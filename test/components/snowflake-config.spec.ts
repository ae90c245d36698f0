/**
 * Config and `sources.json` rules of the Snowflake side: watched-table forms, overlaps between
 * sources, and the admin key the provider must be able to read.
 */
import { expect } from "chai";
import { parseConfig } from "../../config";
import { parseSourcesDocument } from "../../functions/lib/sources";
import { readStackConfig } from "../../offline/stack-config";
import { FAKE_SECRETS, ROOT } from "../helpers/stack";

const PKCS8 = FAKE_SECRETS["snowflake.adminPrivateKey"];
const ENCRYPTED =
  "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkqhkiG9w0BBQwwDgQIFAKEFAKEFAKE\n-----END ENCRYPTED PRIVATE KEY-----\n";
const LEGACY =
  "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,0123456789ABCDEF0123456789ABCDEF\n\nFAKEFAKEFAKE\n-----END RSA PRIVATE KEY-----\n";

const problems = (values: Record<string, string | undefined>) => {
  const raw = { ...readStackConfig("prod", ROOT).config };
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) delete raw[`dbt-pipeline:${k}`];
    else raw[`dbt-pipeline:${k}`] = v;
  }
  return parseConfig(raw, "prod").problems;
};

describe("snowflake config", () => {
  describe("watched RAW tables", () => {
    it("accepts TABLE, SCHEMA.TABLE and SCHEMA.*", () => {
      expect(
        problems({
          sources: JSON.stringify({
            web: { rawTables: ["WEB_EVENTS"] },
            stripe: { rawTables: ["STRIPE.CHARGES", "STRIPE.CUSTOMERS"] },
            hubspot: { rawTables: ["HUBSPOT.*"] },
          }),
        }),
      ).to.deep.equal([]);
    });

    const cases: [string, unknown, string[]][] = [
      [
        "a lower-case schema",
        { s: { rawTables: ["stripe.CHARGES"] } },
        [
          'dbt-pipeline:sources.s.rawTables[0]: expected TABLE, SCHEMA.TABLE or SCHEMA.* in UPPER_SNAKE (A-Z, 0-9, _; starting with a letter) (got "stripe.CHARGES")',
        ],
      ],
      [
        "a database-qualified table",
        { s: { rawTables: ["DB.STRIPE.CHARGES"] } },
        [
          'dbt-pipeline:sources.s.rawTables[0]: expected TABLE, SCHEMA.TABLE or SCHEMA.* in UPPER_SNAKE (A-Z, 0-9, _; starting with a letter) (got "DB.STRIPE.CHARGES")',
        ],
      ],
      [
        "a wildcard table name prefix",
        { s: { rawTables: ["STRIPE.CH*"] } },
        [
          'dbt-pipeline:sources.s.rawTables[0]: expected TABLE, SCHEMA.TABLE or SCHEMA.* in UPPER_SNAKE (A-Z, 0-9, _; starting with a letter) (got "STRIPE.CH*")',
        ],
      ],
      [
        "a schema wildcard and one of its tables in two sources",
        { a: { rawTables: ["STRIPE.*"] }, b: { rawTables: ["STRIPE.CHARGES"] } },
        [
          'dbt-pipeline:sources.b.rawTables: "STRIPE.CHARGES" overlaps "STRIPE.*" of source a; each RAW table maps to one source',
        ],
      ],
      [
        "the simple and the qualified form of one RAW table in two sources",
        { a: { rawTables: ["ORDERS"] }, b: { rawTables: ["RAW.ORDERS"] } },
        [
          'dbt-pipeline:sources.b.rawTables: "RAW.ORDERS" overlaps "ORDERS" of source a; each RAW table maps to one source',
        ],
      ],
    ];
    for (const [what, sources, expected] of cases) {
      it(`rejects ${what}`, () => expect(problems({ sources: JSON.stringify(sources) })).to.deep.equal(expected));
    }
  });

  describe("admin private key", () => {
    it("an unencrypted PKCS#8 key needs no passphrase", () => {
      expect(problems({ "snowflake.adminPrivateKey": PKCS8 })).to.deep.equal([]);
    });
    it("an ENCRYPTED PRIVATE KEY requires snowflake.adminPrivateKeyPassphrase", () => {
      expect(problems({ "snowflake.adminPrivateKey": ENCRYPTED })).to.deep.equal([
        "dbt-pipeline:snowflake.adminPrivateKeyPassphrase: required because snowflake.adminPrivateKey is an ENCRYPTED PRIVATE KEY; run pulumi config set --secret snowflake.adminPrivateKeyPassphrase <value>",
      ]);
      expect(
        problems({
          "snowflake.adminPrivateKey": ENCRYPTED,
          "snowflake.adminPrivateKeyPassphrase": "correct horse battery",
        }),
      ).to.deep.equal([]);
    });
    it("a legacy OpenSSL-encrypted key is rejected with the conversion command, without echoing it", () => {
      expect(
        problems({
          "snowflake.adminPrivateKey": LEGACY,
          "snowflake.adminPrivateKeyPassphrase": "correct horse battery",
        }),
      ).to.deep.equal([
        "dbt-pipeline:snowflake.adminPrivateKey: is a legacy OpenSSL-encrypted key (Proc-Type: 4,ENCRYPTED), which the Snowflake provider cannot decrypt; convert it with openssl pkcs8 -topk8 -v2 aes-256-cbc -in <key> -out <key>.p8 and set snowflake.adminPrivateKeyPassphrase",
      ]);
    });
    it("a passphrase beside an unencrypted key is a mistake worth naming", () => {
      expect(
        problems({
          "snowflake.adminPrivateKey": PKCS8,
          "snowflake.adminPrivateKeyPassphrase": "correct horse battery",
        }),
      ).to.deep.equal([
        "dbt-pipeline:snowflake.adminPrivateKeyPassphrase: is set but snowflake.adminPrivateKey is not encrypted; remove the passphrase or set the encrypted (ENCRYPTED PRIVATE KEY) form of the key",
      ]);
    });
  });

  describe("sources.json table lookups", () => {
    const index = parseSourcesDocument({
      target: "prod",
      sources: [
        { name: "web", rawTables: ["WEB_EVENTS"] },
        { name: "stripe", rawTables: ["STRIPE.CHARGES", "STRIPE.CUSTOMERS"] },
        { name: "hubspot", rawTables: ["HUBSPOT.*"] },
        { name: "shopify", rawTables: ["SHOPIFY.CUSTOMERS"] },
      ],
    });
    const cases: [string, string | undefined][] = [
      ["WEB_EVENTS", "web"],
      ["RAW.WEB_EVENTS", "web"],
      ["STRIPE.CHARGES", "stripe"],
      ["DBT_PIPELINE_PROD.STRIPE.CHARGES", "stripe"],
      ["CHARGES", "stripe"],
      ["HUBSPOT.CONTACTS", "hubspot"],
      ["CONTACTS", undefined],
      ["CUSTOMERS", undefined],
      ["SHOPIFY.CUSTOMERS", "shopify"],
      ["STRIPE.REFUNDS", undefined],
    ];
    for (const [table, source] of cases) {
      it(`${table} → ${source ?? "no source"}`, () => expect(index.byRawTable(table)?.name).to.equal(source));
    }
  });
});

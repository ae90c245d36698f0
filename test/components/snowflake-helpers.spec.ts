import { expect } from "chai";
import { GrantEntry, GrantTarget, accessMatrix, matrixProblems, targetSlug } from "../../components/snowflake/access";
import { keySlots, publicKeyOneLine, slotOf } from "../../components/snowflake/keys";
import { monitorTriggers } from "../../components/snowflake/monitor";
import { accountIdentifier } from "../../components/snowflake/providers";

const BODY =
  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB";
const wrap = (body: string, eol = "\n") =>
  ["-----BEGIN PUBLIC KEY-----", ...body.match(/.{1,64}/g)!, "-----END PUBLIC KEY-----", ""].join(eol);

describe("snowflake pure helpers", () => {
  describe("publicKeyOneLine", () => {
    const ok: [string, string][] = [
      ["PEM with LF line breaks and a trailing newline (tls publicKeyPem)", wrap(BODY)],
      ["PEM with CRLF line breaks", wrap(BODY, "\r\n")],
      ["PEM without a trailing newline", wrap(BODY).trimEnd()],
      [
        "PEM with indentation and blank lines",
        `  -----BEGIN PUBLIC KEY-----\n\n  ${BODY.slice(0, 100)}\n\t${BODY.slice(100)}  \n-----END PUBLIC KEY-----\n\n`,
      ],
    ];
    for (const [what, pem] of ok) {
      it(`one-lines ${what}`, () => expect(publicKeyOneLine(pem)).to.equal(BODY));
    }

    const bad: [string, string, string][] = [
      [
        "a private key",
        "-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----\n",
        "expected a PEM public key",
      ],
      [
        "an RSA PUBLIC KEY (PKCS#1) header",
        "-----BEGIN RSA PUBLIC KEY-----\nMIIB\n-----END RSA PUBLIC KEY-----\n",
        "expected a PEM public key",
      ],
      ["an already one-lined key", BODY, "expected a PEM public key"],
      ["non-base64 content", "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n", "expected base64"],
      ["an empty body", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", "expected base64"],
    ];
    for (const [what, pem, message] of bad) {
      it(`rejects ${what}`, () => expect(() => publicKeyOneLine(pem)).to.throw(message));
    }
  });

  describe("key slots per generation", () => {
    const cases: [number, { generation: number; slot: 1 | 2 }[]][] = [
      [1, [{ generation: 1, slot: 1 }]],
      [
        2,
        [
          { generation: 1, slot: 1 },
          { generation: 2, slot: 2 },
        ],
      ],
      [
        3,
        [
          { generation: 2, slot: 2 },
          { generation: 3, slot: 1 },
        ],
      ],
      [
        4,
        [
          { generation: 3, slot: 1 },
          { generation: 4, slot: 2 },
        ],
      ],
      [
        11,
        [
          { generation: 10, slot: 2 },
          { generation: 11, slot: 1 },
        ],
      ],
    ];
    for (const [generation, expected] of cases) {
      it(`generation ${generation} keeps ${expected.map((s) => `g${s.generation}→slot ${s.slot}`).join(", ")}`, () => {
        expect(keySlots(generation)).to.deep.equal(expected);
      });
    }

    it("the two live generations always use different slots", () => {
      for (let n = 2; n <= 50; n++) {
        const [older, newer] = keySlots(n);
        expect(older.slot).to.not.equal(newer.slot);
        expect(slotOf(n + 1)).to.equal(older.slot, `generation ${n + 1} reuses the slot of ${n - 1}`);
      }
    });

    for (const bad of [0, -1, 1.5, Number.NaN]) {
      it(`rejects generation ${bad}`, () => {
        expect(() => keySlots(bad)).to.throw(`key generation must be an integer of at least 1 (got ${bad})`);
        expect(() => slotOf(bad)).to.throw("key generation must be an integer");
      });
    }
  });

  describe("grant matrix", () => {
    const show = (e: GrantEntry) => `${e.privileges.join(",")} ON ${targetSlug(e.on)}`;
    const cases: [string, string[]][] = [
      [
        "loader",
        [
          "CREATE SCHEMA,MONITOR,USAGE ON database",
          "CREATE TABLE,USAGE ON schema-raw",
          "DELETE,INSERT,SELECT,TRUNCATE,UPDATE ON all-tables-raw",
          "DELETE,INSERT,SELECT,TRUNCATE,UPDATE ON future-tables-raw",
          "USAGE ON warehouse-loading",
        ],
      ],
      [
        "transformer",
        [
          "USAGE ON database",
          "USAGE ON schema-raw",
          "SELECT ON all-tables-raw",
          "SELECT ON future-tables-raw",
          "SELECT ON all-views-raw",
          "SELECT ON future-views-raw",
          "CREATE TABLE,CREATE VIEW,USAGE ON schema-staging",
          "CREATE TABLE,CREATE VIEW,USAGE ON schema-analytics",
          "CREATE TABLE,CREATE VIEW,USAGE ON schema-metrics",
          "CREATE TABLE,USAGE ON schema-monitoring",
          "DELETE,INSERT,SELECT,UPDATE ON all-tables-monitoring",
          "DELETE,INSERT,SELECT,UPDATE ON future-tables-monitoring",
          "USAGE ON future-schemas-in-database",
          "SELECT ON future-tables-in-database",
          "SELECT ON future-views-in-database",
          "USAGE ON warehouse-transforming",
        ],
      ],
      [
        "reporter",
        [
          "USAGE ON database",
          "USAGE ON schema-analytics",
          "SELECT ON all-tables-analytics",
          "SELECT ON future-tables-analytics",
          "SELECT ON all-views-analytics",
          "SELECT ON future-views-analytics",
          "USAGE ON schema-metrics",
          "SELECT ON all-tables-metrics",
          "SELECT ON future-tables-metrics",
          "SELECT ON all-views-metrics",
          "SELECT ON future-views-metrics",
          "USAGE ON schema-monitoring",
          "SELECT ON all-views-monitoring",
          "SELECT ON future-views-monitoring",
          "USAGE ON warehouse-reporting",
        ],
      ],
    ];
    for (const [role, expected] of cases) {
      it(`${role} gets exactly its grants`, () => {
        expect(accessMatrix()[role as "loader"].map(show)).to.deep.equal(expected);
      });
    }

    it("has exactly the three roles and passes its own soundness check", () => {
      expect(Object.keys(accessMatrix())).to.deep.equal(["loader", "transformer", "reporter"]);
      expect(matrixProblems(accessMatrix())).to.deep.equal([]);
    });

    const raw: GrantTarget = { kind: "schema", schema: "raw" };
    const problems: [string, Record<string, GrantEntry[]>, string[]][] = [
      [
        "OWNERSHIP",
        { reporter: [{ privileges: ["OWNERSHIP"], on: raw }] },
        ["reporter: OWNERSHIP on schema-raw is not allowed"],
      ],
      [
        "ALL",
        { reporter: [{ privileges: ["ALL"], on: { kind: "database" } }] },
        ["reporter: ALL on database is not allowed"],
      ],
      [
        "a lower-case privilege",
        { loader: [{ privileges: ["usage"], on: raw }] },
        ["loader: privilege usage on schema-raw must be upper-case"],
      ],
      [
        "two grants on one target",
        {
          loader: [
            { privileges: ["USAGE"], on: raw },
            { privileges: ["CREATE TABLE"], on: raw },
          ],
        },
        ["loader: more than one grant on schema-raw"],
      ],
      [
        "an empty privilege list",
        { loader: [{ privileges: [], on: { kind: "warehouse", warehouse: "loading" } }] },
        ["loader: no privileges on warehouse-loading"],
      ],
    ];
    for (const [what, matrix, expected] of problems) {
      it(`reports ${what}`, () => expect(matrixProblems(matrix)).to.deep.equal(expected));
    }
  });

  describe("target slugs", () => {
    const cases: [GrantTarget, string][] = [
      [{ kind: "database" }, "database"],
      [{ kind: "schema", schema: "monitoring" }, "schema-monitoring"],
      [{ kind: "all", objectTypePlural: "TABLES", schema: "raw" }, "all-tables-raw"],
      [{ kind: "future", objectTypePlural: "VIEWS", schema: "analytics" }, "future-views-analytics"],
      [{ kind: "warehouse", warehouse: "reporting" }, "warehouse-reporting"],
    ];
    for (const [target, slug] of cases)
      it(`${JSON.stringify(target)} → ${slug}`, () => expect(targetSlug(target)).to.equal(slug));
  });

  describe("monitor triggers", () => {
    const cases: [boolean, object][] = [
      [true, { notifyTriggers: [75, 90], suspendTrigger: 100 }],
      [false, { notifyTriggers: [75, 90, 100] }],
    ];
    for (const [suspendAtQuota, expected] of cases) {
      it(`suspendAtQuota ${suspendAtQuota}`, () => expect(monitorTriggers(suspendAtQuota)).to.deep.equal(expected));
    }
  });

  it("account identifier is <organization>-<account>", () => {
    expect(accountIdentifier("ACMEORG", "ACME_DATA")).to.equal("ACMEORG-ACME_DATA");
  });
});

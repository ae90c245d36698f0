import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { buildConfig, parseConfig } from "../../config";
import { sourcesJson } from "../../components/triggers/sources";
import { readStackConfig } from "../../offline/stack-config";
import { readDispatchSettings } from "../../functions/dispatch/settings";
import { constantTimeEqual, verifyHmacSha256Hex } from "../../functions/lib/crypto";
import { ConfigurationError, DownstreamError, truncate } from "../../functions/lib/errors";
import { SecretCache } from "../../functions/lib/secrets";
import { parseSnowflakeNotification } from "../../functions/lib/snowflake-notification";
import { loadSourcesFile, parseSourcesDocument, sourcesFilePath } from "../../functions/lib/sources";
import { ROOT } from "../helpers/stack";
import { fivetranSignature, fixtureText, rejection } from "./support";

const thrown = (fn: () => unknown): ConfigurationError => {
  try {
    fn();
  } catch (error) {
    return error as ConfigurationError;
  }
  throw new Error("expected a throw");
};

describe("function libraries", () => {
  describe("sources.json", () => {
    it("reads what the Triggers component writes for the dev stack", () => {
      // Prepare
      const { values } = parseConfig(readStackConfig("dev", ROOT).config, "dev");
      const text = sourcesJson(buildConfig(values!, "dbt-pipeline", "dev"));
      // Act
      const index = parseSourcesDocument(JSON.parse(text));
      // Assess
      expect(index.target).to.equal("dev");
      expect(index.sources.map((s) => s.name)).to.deep.equal(["hubspot", "stripe", "web_events"]);
      expect(index.byFivetranConnector("warranty_bullish")?.name).to.equal("stripe");
      expect(index.byRawTable("WEB_EVENTS")?.name).to.equal("web_events");
    });

    it("maps ids to sources: Fivetran exactly, Airbyte UUIDs in any case, tables by name", () => {
      // Prepare
      const index = parseSourcesDocument(JSON.parse(fixtureText("dispatch/sources.json")));
      // Assess
      expect(index.byFivetranConnector("assimilate_seem")?.name).to.equal("stripe");
      expect(index.byFivetranConnector("ASSIMILATE_SEEM")).to.equal(undefined);
      expect(index.byAirbyteConnection("64D901A1-2520-4D91-93C8-9DF438668FF0")?.name).to.equal("hubspot");
      expect(index.byRawTable("CHARGES")?.name).to.equal("stripe");
      expect(index.byRawTable("charges")).to.equal(undefined);
      expect(index.byName("hubspot")?.exclude).to.deep.equal(["tag:heavy"]);
    });

    it("defaults a source's selection to source:<name>+", () => {
      const index = parseSourcesDocument({ target: "prod", sources: [{ name: "web" }] });
      expect(index.byName("web")).to.deep.equal({
        name: "web",
        fivetranConnectors: [],
        airbyteConnections: [],
        rawTables: [],
        select: ["source:web+"],
        exclude: [],
        fastLaneTags: [],
        fullRefresh: false,
      });
    });

    it("rejects a file with every problem named", () => {
      // Act
      const error = thrown(() =>
        parseSourcesDocument({
          target: "Dev",
          sources: [
            { name: "a", fivetranConnectors: ["c1"], select: ["--full-refresh"] },
            { name: "b", fivetranConnectors: ["c1"], rawTables: ["orders"] },
          ],
        }),
      );
      // Assess
      expect(error).to.be.instanceOf(ConfigurationError);
      expect(error.problems).to.deep.equal([
        "target: is not a dbt target name",
        "sources.0.select.0: is not a dbt selector",
        "sources.1.rawTables.0: is not an UPPER_SNAKE Snowflake identifier",
        'sources.1.fivetranConnectors: "c1" is already listed by source a; each id maps to one source',
      ]);
      expect(
        thrown(() =>
          parseSourcesDocument({
            target: "dev",
            sources: [
              { name: "a", fivetranConnectors: ["c1"] },
              { name: "b", fivetranConnectors: ["c1"] },
            ],
          }),
        ).problems,
      ).to.deep.equal(['sources.1.fivetranConnectors: "c1" is already listed by source a; each id maps to one source']);
    });

    it("loads the file from the Lambda task root and says what is wrong when it cannot", () => {
      // Prepare
      const dir = mkdtempSync(path.join(tmpdir(), "sources-"));
      writeFileSync(path.join(dir, "sources.json"), fixtureText("dispatch/sources.json"));
      // Act
      const index = loadSourcesFile(sourcesFilePath({ LAMBDA_TASK_ROOT: dir }));
      // Assess
      expect(index.sources.map((s) => s.name)).to.deep.equal(["hubspot", "stripe", "finance"]);
      expect(thrown(() => loadSourcesFile(path.join(dir, "missing.json"))).message).to.equal(
        `cannot read ${path.join(dir, "missing.json")}: the deployment must place sources.json beside index.mjs`,
      );
    });
  });

  describe("Snowflake notifications", () => {
    it("parses the load notification shape", () => {
      expect(parseSnowflakeNotification(fixtureText("snowflake/load-notification.json"))).to.deep.equal({
        kind: "load",
        value: {
          kind: "snowflake_load",
          source: "stripe",
          table: "ORDERS",
          rows: 120,
          loaded_at: "2026-11-22T09:58:30.000+00:00",
          task_run_id: "1732269510123",
        },
      });
    });

    it("parses Snowflake's documented task error payload", () => {
      const parsed = parseSnowflakeNotification(fixtureText("snowflake/user-task-failed.json"));
      expect(parsed.kind).to.equal("task_failed");
    });

    const invalid: [string, string, string][] = [
      [
        "a lower-case table",
        '{"kind":"snowflake_load","source":"s","table":"orders","rows":1,"loaded_at":"2026-11-22T10:00:00Z","task_run_id":"r"}',
        "invalid load notification:\n✖ is not an upper-case Snowflake table name (TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE)\n  → at table",
      ],
      [
        "a time without offset",
        '{"kind":"snowflake_load","source":"s","table":"T","rows":1,"loaded_at":"2026-11-22 10:00","task_run_id":"r"}',
        "invalid load notification:\n✖ Invalid ISO datetime\n  → at loaded_at",
      ],
      [
        "no task run id",
        '{"kind":"snowflake_load","source":"s","table":"T","rows":1,"loaded_at":"2026-11-22T10:00:00Z"}',
        "invalid load notification:\n✖ Invalid input: expected string, received undefined\n  → at task_run_id",
      ],
      [
        "a task error without a task name",
        '{"messageType":"USER_TASK_FAILED","messageId":"m","timestamp":"t"}',
        "invalid task error notification:\n✖ Invalid input: expected string, received undefined\n  → at taskName",
      ],
      ["an array", "[]", "message is not a JSON object"],
    ];
    for (const [what, message, reason] of invalid) {
      it(`rejects ${what}`, () =>
        expect(parseSnowflakeNotification(message)).to.deep.equal({ kind: "invalid", reason }));
    }
  });

  describe("webhook authentication", () => {
    const body = Buffer.from('{"event":"sync_end"}');
    it("accepts the HMAC in lower or upper case, with surrounding spaces", () => {
      const sig = fivetranSignature("s3cret", body);
      for (const s of [sig, sig.toUpperCase(), ` ${sig} `])
        expect(verifyHmacSha256Hex("s3cret", body, s)).to.equal(true);
    });
    it("rejects anything else", () => {
      const sig = fivetranSignature("s3cret", body);
      for (const s of [
        undefined,
        "",
        sig.slice(1),
        `${sig}0`,
        `sha256=${sig}`,
        fivetranSignature("other", body),
        "z".repeat(64),
      ]) {
        expect(verifyHmacSha256Hex("s3cret", body, s)).to.equal(false);
      }
    });
    it("compares tokens of any length", () => {
      expect(constantTimeEqual("abc", "abc")).to.equal(true);
      for (const t of ["", "ab", "abcd", "ABC"]) expect(constantTimeEqual(t, "abc")).to.equal(false);
    });
  });

  describe("secrets", () => {
    const sm = mockClient(SecretsManagerClient);
    beforeEach(() => sm.reset());

    it("fetches a secret once per container", async () => {
      // Prepare
      sm.on(GetSecretValueCommand).resolves({ SecretString: "v" });
      const cache = new SecretCache(new SecretsManagerClient({ region: "eu-west-1" }));
      // Act
      const values = [await cache.get("arn:1"), await cache.get("arn:1")];
      // Assess
      expect(values).to.deep.equal(["v", "v"]);
      expect(sm.calls()).to.have.length(1);
    });

    it("does not cache a failure", async () => {
      // Prepare
      sm.on(GetSecretValueCommand).rejectsOnce(new Error("throttled")).resolves({ SecretString: "v" });
      const cache = new SecretCache(new SecretsManagerClient({ region: "eu-west-1" }));
      // Act
      const error = await rejection(cache.get("arn:1"));
      // Assess
      expect(error).to.be.instanceOf(DownstreamError);
      expect(error.message).to.equal("could not read secret arn:1 from Secrets Manager");
      expect(await cache.get("arn:1")).to.equal("v");
    });
  });

  describe("truncate", () => {
    const table: [string, number, string][] = [
      ["abcdef", 6, "abcdef"],
      ["abcdefg", 6, "abc..."],
      ["abcdefg", 4, "a..."],
      ["abcdefg", 2, "ab"],
    ];
    for (const [text, max, cut] of table)
      it(`${text} to ${max} → ${cut}`, () => expect(truncate(text, max)).to.equal(cut));
  });

  describe("dispatch environment", () => {
    it("reads every variable with its default", () => {
      expect(readDispatchSettings({ QUEUE_URL: "q", IDEMPOTENCY_TABLE: "t" })).to.deep.equal({
        queueUrl: "q",
        idempotencyTable: "t",
        dedupeSeconds: 90000,
        unknownConnector: "ignore",
        hourlySelect: ["source_status:fresher+"],
        fullRefreshSelect: [],
        fullRefreshExclude: [],
        fivetranSecretArn: undefined,
        airbyteTokenSecretArn: undefined,
        alertTopicArn: undefined,
      });
    });

    it("lists every problem at once", () => {
      const error = thrown(() =>
        readDispatchSettings({
          DEDUPE_SECONDS: "25h",
          UNKNOWN_CONNECTOR: "drop",
          HOURLY_SELECT: "tag:x --full-refresh",
        }),
      );
      expect(error).to.be.instanceOf(ConfigurationError);
      expect(error.message).to.equal(
        [
          "dispatch: invalid environment:",
          "✖ is not set; the deployment must set it",
          "  → at QUEUE_URL",
          "✖ is not set; the deployment must set it",
          "  → at IDEMPOTENCY_TABLE",
          "✖ must be an integer from 60 to 2592000",
          "  → at DEDUPE_SECONDS",
          "✖ must be one of reject, ignore",
          "  → at UNKNOWN_CONNECTOR",
          '✖ must be dbt selector tokens, space-separated ("--full-refresh" is not)',
          "  → at HOURLY_SELECT",
        ].join("\n"),
      );
      expect(error.problems).to.deep.equal([
        "QUEUE_URL is not set; the deployment must set it",
        "IDEMPOTENCY_TABLE is not set; the deployment must set it",
        "DEDUPE_SECONDS must be an integer from 60 to 2592000",
        "UNKNOWN_CONNECTOR must be one of reject, ignore",
        'HOURLY_SELECT must be dbt selector tokens, space-separated ("--full-refresh" is not)',
      ]);
    });

    it("trims values and treats an empty one as unset", () => {
      expect(
        readDispatchSettings({
          QUEUE_URL: " q ",
          IDEMPOTENCY_TABLE: "t",
          DEDUPE_SECONDS: " 120 ",
          ALERT_TOPIC_ARN: "",
          HOURLY_SELECT: " tag:a  tag:b ",
          FULL_REFRESH_SELECT: " tag:nightly ",
          FULL_REFRESH_EXCLUDE: "",
        }),
      ).to.deep.equal({
        queueUrl: "q",
        idempotencyTable: "t",
        dedupeSeconds: 120,
        unknownConnector: "ignore",
        hourlySelect: ["tag:a", "tag:b"],
        fullRefreshSelect: ["tag:nightly"],
        fullRefreshExclude: [],
        fivetranSecretArn: undefined,
        airbyteTokenSecretArn: undefined,
        alertTopicArn: undefined,
      });
    });
  });
});

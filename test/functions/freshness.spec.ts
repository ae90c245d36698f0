import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { mockClient } from "aws-sdk-client-mock";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { GetObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { z } from "zod";
import {
  SourcesJsonError,
  SourcesJsonSchema,
  createFreshnessCheck,
  newestLoads,
  parseDbtTime,
} from "../../functions/freshness/core";

const SOURCES_JSON = fs.readFileSync(path.join(__dirname, "..", "fixtures", "dbt", "sources.json"), "utf8");
const BUCKET = "dbt-pipeline-dev-artifacts-123456789012";
const NOW = new Date("2026-11-22T10:30:00.000Z");

const s3 = mockClient(S3Client);

/** Captures each EMF document Powertools prints. */
function capture(): { metrics: Metrics; documents: Record<string, unknown>[] } {
  const documents: Record<string, unknown>[] = [];
  const metrics = new Metrics({ namespace: "DbtPipeline", serviceName: "freshness" });
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ environment: "dev" });
  // Powertools prints EMF through its own console; publishStoredMetrics serializes first.
  const serialize = metrics.serializeMetrics.bind(metrics);
  metrics.serializeMetrics = () => {
    const doc = serialize();
    documents.push(z.record(z.string(), z.unknown()).parse(JSON.parse(JSON.stringify(doc))));
    return doc;
  };
  (metrics as unknown as { console: { log(): void } }).console = { log: () => undefined };
  return { metrics, documents };
}

function check(metrics: Metrics, sources = ["hubspot", "stripe", "web_events"]) {
  return createFreshnessCheck({
    settings: { environment: "dev", artifactBucket: BUCKET, sources },
    s3: new S3Client({ region: "eu-west-1" }),
    metrics,
    logger: new Logger({ logLevel: "SILENT" }),
    now: () => NOW,
  });
}

describe("freshness", () => {
  beforeEach(() => s3.reset());

  const body = (text: string) => ({ Body: { transformToString: () => Promise.resolve(text) } as never });
  const noSuchKey = () =>
    new S3ServiceException({
      name: "NoSuchKey",
      $fault: "client",
      $metadata: { httpStatusCode: 404 },
      message: "The specified key does not exist.",
    });
  const keysRead = () => s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Key);

  it("reads the last observation first: a run whose models failed still tells when sources loaded", async () => {
    // Prepare: latest/ is an older successful run's; observed/ the freshness step of a failed run
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: "dev/observed/sources.json" }).resolves(body(SOURCES_JSON));
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: "dev/latest/sources.json" }).resolves(
      body('{"metadata": {}, "results": []}'),
    );
    const { metrics } = capture();

    // Act
    const result = await check(metrics)();

    // Assess
    expect(result).to.deep.equal({
      minutesSinceLastLoad: { hubspot: 240, stripe: 42, web_events: null },
      snapshotAgeMinutes: 29,
    });
    expect(keysRead()).to.deep.equal(["dev/observed/sources.json"]);
  });

  it("records minutes since the newest load of each source, against the clock (latest/ before the first observation)", async () => {
    // Prepare
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: "dev/observed/sources.json" }).rejects(noSuchKey());
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: "dev/latest/sources.json" }).resolves(body(SOURCES_JSON));
    const { metrics, documents } = capture();

    // Act
    const result = await check(metrics)();

    // Assess: stripe's newest table loaded 09:47:12, hubspot 06:30; web_events' freshness query failed.
    expect(result).to.deep.equal({
      minutesSinceLastLoad: { hubspot: 240, stripe: 42, web_events: null },
      snapshotAgeMinutes: 29,
    });
    const strip = (d: Record<string, unknown>) => {
      const { _aws, ...rest } = d as {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: unknown[] }[] };
      };
      return {
        namespace: _aws.CloudWatchMetrics[0].Namespace,
        dimensions: _aws.CloudWatchMetrics[0].Dimensions,
        metrics: _aws.CloudWatchMetrics[0].Metrics,
        ...rest,
      };
    };
    expect(documents.map(strip)).to.deep.equal([
      {
        namespace: "DbtPipeline",
        dimensions: [["environment", "source"]],
        metrics: [{ Name: "MinutesSinceLastLoad", Unit: "None" }],
        environment: "dev",
        source: "hubspot",
        MinutesSinceLastLoad: 240,
      },
      {
        namespace: "DbtPipeline",
        dimensions: [["environment", "source"]],
        metrics: [{ Name: "MinutesSinceLastLoad", Unit: "None" }],
        environment: "dev",
        source: "stripe",
        MinutesSinceLastLoad: 42,
      },
      {
        namespace: "DbtPipeline",
        dimensions: [["environment"]],
        metrics: [{ Name: "SourcesSnapshotAgeMinutes", Unit: "None" }],
        environment: "dev",
        SourcesSnapshotAgeMinutes: 29,
      },
    ]);
  });

  it("records nothing per source when no sources.json exists yet (the alarms treat that as stale)", async () => {
    // Prepare: without s3:ListBucket a missing key is a 403
    s3.on(GetObjectCommand).rejects(
      new S3ServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: "Access Denied",
      }),
    );
    const { metrics, documents } = capture();

    // Act
    const result = await check(metrics)();

    // Assess
    expect(result).to.deep.equal({
      minutesSinceLastLoad: { hubspot: null, stripe: null, web_events: null },
      snapshotAgeMinutes: null,
    });
    expect(documents).to.deep.equal([]);
    expect(keysRead()).to.deep.equal(["dev/observed/sources.json", "dev/latest/sources.json"]);
  });

  it("fails loudly on a file that is not dbt's sources.json", async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({
      Body: { transformToString: () => Promise.resolve('{"results": "nope"}') } as never,
    });
    const { metrics } = capture();

    // Act
    let error: unknown;
    try {
      await check(metrics)();
    } catch (err) {
      error = err;
    }

    // Assess
    expect(error).to.be.instanceOf(SourcesJsonError);
    expect((error as Error).message).to.match(
      new RegExp(`^s3://${BUCKET}/dev/observed/sources.json is not a dbt sources.json: `),
    );
  });

  describe("helpers", () => {
    const table: [string, string, string][] = [
      ["UTC offset with microseconds", "2026-11-22T09:47:12.118000+00:00", "2026-11-22T09:47:12.118Z"],
      ["no zone (dbt means UTC)", "2026-11-22 09:47:12", "2026-11-22T09:47:12.000Z"],
      ["another offset", "2026-11-22T11:47:12+02:00", "2026-11-22T09:47:12.000Z"],
      ["Z", "2026-11-22T09:47:12Z", "2026-11-22T09:47:12.000Z"],
    ];
    for (const [what, input, iso] of table)
      it(`parses dbt times: ${what}`, () => expect(new Date(parseDbtTime(input)).toISOString()).to.equal(iso));

    it("takes the newest table of each source and skips failed checks", () => {
      const loads = newestLoads(SourcesJsonSchema.parse(JSON.parse(SOURCES_JSON)));
      expect(Object.fromEntries([...loads].map(([k, v]) => [k, new Date(v).toISOString()]))).to.deep.equal({
        stripe: "2026-11-22T09:47:12.118Z",
        hubspot: "2026-11-22T06:30:00.000Z",
      });
    });
  });
});

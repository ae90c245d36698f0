import { expect } from "chai";
import fc from "fast-check";
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { DispatchDeps, dispatch } from "../../functions/dispatch/core";
import { SecretCache } from "../../functions/lib/secrets";
import { parseSourcesDocument } from "../../functions/lib/sources";
import { LocalDynamo, RecordingLog, RecordingMetrics, fakeContext, fivetranSignature, fixtureText, httpEvent, startLocalDynamo } from "./support";

const SECRET = "fivetran-signing-secret-for-tests";
const TOKEN = "3f9c1a7e5b2d4c6e8f0a1b2c3d4e5f60";
const FIVETRAN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:fivetran";
const AIRBYTE_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte";
const RUNS = 2000;

const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);
const secretsManager = mockClient(SecretsManagerClient);

/** Bodies that would queue a run if authenticated, plus anything at all. */
const validBodies = [
  fixtureText("webhooks/fivetran-sync-end-successful.json"),
  fixtureText("webhooks/fivetran-sync-end-failed.json"),
  fixtureText("webhooks/fivetran-test-event.json"),
  fixtureText("webhooks/airbyte-sync-successful.json"),
  fixtureText("webhooks/airbyte-sync-failed.json"),
];
const body = fc.oneof(
  fc.constantFrom(...validBodies),
  fc.tuple(fc.constantFrom(...validBodies), fc.nat(), fc.string({ minLength: 1, maxLength: 3 }))
    .map(([b, at, s]) => b.slice(0, at % b.length) + s + b.slice(at % b.length)),
  fc.json(),
  fc.string({ unit: "binary", maxLength: 300 }),
);
const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: 0, maxLength: 80 });
const headerName = fc.oneof(
  fc.constantFrom("x-fivetran-signature-256", "X-Fivetran-Signature-256", "x-fivetran-signature", "authorization", "x-airbyte-token", "cookie"),
  fc.string({ minLength: 1, maxLength: 30 }),
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  { weight: 1, arbitrary: fc.constantFrom("application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "") },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

describe("dispatch webhook authentication (property)", () => {
  let dynamo: LocalDynamo;
  let store: BasePersistenceLayer;

  const deps = (): DispatchDeps => ({
    settings: {
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs.fifo", idempotencyTable: "t", dedupeSeconds: 90000, unknownConnector: "reject",
      hourlySelect: ["source_status:fresher+"], fivetranSecretArn: FIVETRAN_ARN, airbyteTokenSecretArn: AIRBYTE_ARN, alertTopicArn: "arn:aws:sns:eu-west-1:123456789012:alerts",
    },
    sources: parseSourcesDocument(JSON.parse(fixtureText("dispatch/sources.json"))),
    sqs: new SQSClient({ region: "eu-west-1" }),
    sns: new SNSClient({ region: "eu-west-1" }),
    secrets: new SecretCache(new SecretsManagerClient({ region: "eu-west-1" })),
    persistenceStore: store,
    logger: new RecordingLog(),
    metrics: new RecordingMetrics(),
    now: () => new Date("2026-11-22T10:00:00.000Z"),
    lambdaContext: fakeContext,
  });

  before(async () => {
    dynamo = await startLocalDynamo();
    store = await dynamo.freshStore();
    sqs.reset();
    sns.reset();
    secretsManager.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: "m" });
    secretsManager.on(GetSecretValueCommand, { SecretId: FIVETRAN_ARN }).resolves({ SecretString: SECRET });
    secretsManager.on(GetSecretValueCommand, { SecretId: AIRBYTE_ARN }).resolves({ SecretString: TOKEN });
  });
  after(async () => {
    await dynamo.close();
  });

  const nothingSent = () => {
    expect(sqs.calls(), "SQS calls").to.have.length(0);
    expect(sns.calls(), "SNS calls").to.have.length(0);
  };

  it(`never queues a Fivetran request without a valid signature (${RUNS} runs)`, async () => {
    const case_ = fc.record({
      body,
      base64: fc.boolean(),
      contentType,
      extra: fc.dictionary(headerName, fc.string({ maxLength: 100 }), { maxKeys: 4 }),
      signatureHeader: fc.constantFrom("x-fivetran-signature-256", "X-Fivetran-Signature-256", "x-fivetran-signature"),
      signature: fc.oneof(
        hex,
        fc.string({ maxLength: 100 }),
        // the right HMAC of a different body, or under a different secret
        fc.tuple(fc.string({ minLength: 1, maxLength: 5 })).map(([suffix]) => ({ otherBody: suffix })),
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s !== SECRET).map((secret) => ({ otherSecret: secret })),
        // the right HMAC with one character changed
        fc.nat({ max: 63 }).map((flip) => ({ flip })),
        fc.constant({ encodedText: true }),
      ),
      omitSignature: fc.boolean(),
    });
    await fc.assert(fc.asyncProperty(case_, async (c) => {
      // Prepare
      const real = fivetranSignature(SECRET, c.body);
      let signature: string;
      const s = c.signature;
      if (typeof s === "string") signature = s;
      else if ("otherBody" in s) signature = fivetranSignature(SECRET, c.body + s.otherBody);
      else if ("otherSecret" in s) signature = fivetranSignature(s.otherSecret, c.body);
      else if ("flip" in s) signature = real.slice(0, s.flip) + (real[s.flip] === "0" ? "1" : "0") + real.slice(s.flip + 1);
      else signature = fivetranSignature(SECRET, Buffer.from(c.body).toString("base64"));
      fc.pre(signature.trim().toLowerCase() !== real);
      const headers: Record<string, string> = { ...c.extra, "content-type": c.contentType };
      for (const k of Object.keys(headers)) if (k.toLowerCase() === "x-fivetran-signature-256") delete headers[k];
      if (!c.omitSignature) headers[c.signatureHeader] = signature;
      const event = httpEvent({
        routeKey: "POST /webhooks/fivetran", rawPath: "/webhooks/fivetran", headers,
        body: c.base64 ? Buffer.from(c.body).toString("base64") : c.body, isBase64Encoded: c.base64,
      });
      // Act
      const result = await dispatch(event, deps()) as { statusCode: number };
      // Assess
      expect([401, 413, 415]).to.include(result.statusCode);
      nothingSent();
    }), { numRuns: RUNS });
  });

  it(`never queues an Airbyte request without the token (${RUNS} runs)`, async () => {
    const token = fc.oneof(
      fc.string({ maxLength: 80 }),
      hex,
      fc.nat({ max: TOKEN.length - 1 }).map((n) => TOKEN.slice(0, n)),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => TOKEN + s),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => s + TOKEN),
      fc.nat({ max: TOKEN.length - 1 }).map((i) => TOKEN.slice(0, i) + (TOKEN[i] === "a" ? "b" : "a") + TOKEN.slice(i + 1)),
      fc.constantFrom(TOKEN.toUpperCase(), ` ${TOKEN}`, `${TOKEN} `, "{token}", ""),
    );
    const case_ = fc.record({
      body, base64: fc.boolean(), contentType, token, omitParameter: fc.boolean(),
      extra: fc.dictionary(headerName, fc.oneof(fc.string({ maxLength: 100 }), fc.constant(TOKEN)), { maxKeys: 4 }),
    });
    await fc.assert(fc.asyncProperty(case_, async (c) => {
      // Prepare: the real token may appear anywhere except the path parameter
      fc.pre(c.token !== TOKEN);
      const event = httpEvent({
        routeKey: "POST /webhooks/airbyte/{token}", rawPath: `/webhooks/airbyte/${c.token}`,
        headers: { ...c.extra, "content-type": c.contentType },
        body: c.base64 ? Buffer.from(c.body).toString("base64") : c.body, isBase64Encoded: c.base64,
        pathParameters: c.omitParameter ? undefined : { token: c.token },
      });
      // Act
      const result = await dispatch(event, deps()) as { statusCode: number };
      // Assess
      expect([401, 413, 415]).to.include(result.statusCode);
      nothingSent();
    }), { numRuns: RUNS });
  });

  it("does queue when the same generators produce a correctly signed, mapped sync_end (control)", async () => {
    // Prepare
    const good = validBodies[0];
    const event = httpEvent({
      routeKey: "POST /webhooks/fivetran", rawPath: "/webhooks/fivetran", body: good,
      headers: { "content-type": "application/json", "X-Fivetran-Signature-256": fivetranSignature(SECRET, good) },
    });
    // Act
    const result = await dispatch(event, deps()) as { statusCode: number };
    // Assess
    expect(result.statusCode).to.equal(202);
    expect(sqs.commandCalls(SendMessageCommand)).to.have.length(1);
  });
});

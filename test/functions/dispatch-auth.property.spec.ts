import { expect } from "chai";
import fc from "fast-check";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dispatch } from "../../functions/dispatch/core";
import { AIRBYTE_TOKEN as TOKEN, FIVETRAN_SECRET as SECRET, useDispatchHarness } from "./dispatch-harness";
import { fivetranSignature, fixtureText, httpEvent } from "./support";

const RUNS = 2000;

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
  fc
    .tuple(fc.constantFrom(...validBodies), fc.nat(), fc.string({ minLength: 1, maxLength: 3 }))
    .map(([b, at, s]) => b.slice(0, at % b.length) + s + b.slice(at % b.length)),
  fc.json(),
  fc.string({ unit: "binary", maxLength: 300 }),
);
const hex = fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF"), minLength: 0, maxLength: 80 });
const headerName = fc.oneof(
  fc.constantFrom(
    "x-fivetran-signature-256",
    "X-Fivetran-Signature-256",
    "x-fivetran-signature",
    "authorization",
    "x-airbyte-token",
    "cookie",
  ),
  fc.string({ minLength: 1, maxLength: 30 }),
);
const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "text/plain",
      "application/x-www-form-urlencoded",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

describe("dispatch webhook authentication (property)", () => {
  const h = useDispatchHarness();
  const deps = () => h.deps();
  const nothingSent = () => {
    expect(h.sqs.calls(), "SQS calls").to.have.length(0);
    expect(h.sns.calls(), "SNS calls").to.have.length(0);
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
        fc
          .string({ minLength: 1, maxLength: 40 })
          .filter((s) => s !== SECRET)
          .map((secret) => ({ otherSecret: secret })),
        // the right HMAC with one character changed
        fc.nat({ max: 63 }).map((flip) => ({ flip })),
        fc.constant({ encodedText: true }),
      ),
      omitSignature: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(case_, async (c) => {
        // Prepare
        const real = fivetranSignature(SECRET, c.body);
        let signature: string;
        const s = c.signature;
        if (typeof s === "string") signature = s;
        else if ("otherBody" in s) signature = fivetranSignature(SECRET, c.body + s.otherBody);
        else if ("otherSecret" in s) signature = fivetranSignature(s.otherSecret, c.body);
        else if ("flip" in s)
          signature = real.slice(0, s.flip) + (real[s.flip] === "0" ? "1" : "0") + real.slice(s.flip + 1);
        else signature = fivetranSignature(SECRET, Buffer.from(c.body).toString("base64"));
        fc.pre(signature.trim().toLowerCase() !== real);
        const headers: Record<string, string> = { ...c.extra, "content-type": c.contentType };
        for (const k of Object.keys(headers)) if (k.toLowerCase() === "x-fivetran-signature-256") delete headers[k];
        if (!c.omitSignature) headers[c.signatureHeader] = signature;
        const event = httpEvent({
          routeKey: "POST /webhooks/fivetran",
          rawPath: "/webhooks/fivetran",
          headers,
          body: c.base64 ? Buffer.from(c.body).toString("base64") : c.body,
          isBase64Encoded: c.base64,
        });
        // Act
        const result = (await dispatch(event, deps())) as { statusCode: number };
        // Assess
        expect([401, 413, 415]).to.include(result.statusCode);
        nothingSent();
      }),
      { numRuns: RUNS },
    );
  });

  it(`never queues an Airbyte request without the token (${RUNS} runs)`, async () => {
    const token = fc.oneof(
      fc.string({ maxLength: 80 }),
      hex,
      fc.nat({ max: TOKEN.length - 1 }).map((n) => TOKEN.slice(0, n)),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => TOKEN + s),
      fc.string({ minLength: 1, maxLength: 3 }).map((s) => s + TOKEN),
      fc
        .nat({ max: TOKEN.length - 1 })
        .map((i) => TOKEN.slice(0, i) + (TOKEN[i] === "a" ? "b" : "a") + TOKEN.slice(i + 1)),
      fc.constantFrom(TOKEN.toUpperCase(), ` ${TOKEN}`, `${TOKEN} `, "{token}", ""),
    );
    const case_ = fc.record({
      body,
      base64: fc.boolean(),
      contentType,
      token,
      omitParameter: fc.boolean(),
      extra: fc.dictionary(headerName, fc.oneof(fc.string({ maxLength: 100 }), fc.constant(TOKEN)), { maxKeys: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(case_, async (c) => {
        // Prepare: the real token may appear anywhere except the path parameter
        fc.pre(c.token !== TOKEN);
        const event = httpEvent({
          routeKey: "POST /webhooks/airbyte/{token}",
          rawPath: `/webhooks/airbyte/${c.token}`,
          headers: { ...c.extra, "content-type": c.contentType },
          body: c.base64 ? Buffer.from(c.body).toString("base64") : c.body,
          isBase64Encoded: c.base64,
          pathParameters: c.omitParameter ? undefined : { token: c.token },
        });
        // Act
        const result = (await dispatch(event, deps())) as { statusCode: number };
        // Assess
        expect([401, 413, 415]).to.include(result.statusCode);
        nothingSent();
      }),
      { numRuns: RUNS },
    );
  });

  it("does queue when the same generators produce a correctly signed, mapped sync_end (control)", async () => {
    // Prepare
    const good = validBodies[0];
    const event = httpEvent({
      routeKey: "POST /webhooks/fivetran",
      rawPath: "/webhooks/fivetran",
      body: good,
      headers: { "content-type": "application/json", "X-Fivetran-Signature-256": fivetranSignature(SECRET, good) },
    });
    // Act
    const result = (await dispatch(event, deps())) as { statusCode: number };
    // Assess
    expect(result.statusCode).to.equal(202);
    expect(h.sqs.commandCalls(SendMessageCommand)).to.have.length(1);
  });
});

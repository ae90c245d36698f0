import { expect } from "chai";
import { z } from "zod";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dispatch } from "../../functions/dispatch/core";
import {
  AIRBYTE_ROUTE,
  AIRBYTE_TOKEN,
  ALERT_TOPIC,
  FIVETRAN_ROUTE,
  FIVETRAN_SECRET,
  JSON_TYPE,
  NOW,
  QUEUE_URL,
  SYNC_ID,
  airbyteRequest,
  fivetranRequest,
  response,
  useDispatchHarness,
} from "./dispatch-harness";
import { fivetranSignature, fixtureJson, fixtureText, httpEvent, sha256 } from "./support";

describe("dispatch: webhooks", () => {
  const h = useDispatchHarness();

  describe("Fivetran", () => {
    const stripeRun = JSON.stringify({
      command: "build",
      select: ["source:stripe+"],
      exclude: [],
      vars: {},
      fullRefresh: false,
      target: "dev",
      defer: false,
      lane: "normal",
      triggers: [{ kind: "fivetran", id: SYNC_ID, source: "stripe", receivedAt: NOW }],
      sources: ["stripe"],
    });
    const queued = {
      status: "queued",
      message: `queued a dbt run of source stripe for Fivetran sync ${SYNC_ID}`,
      delivery: `fivetran:${SYNC_ID}`,
      source: "stripe",
      duplicate: false,
    };

    it("queues exactly one run for a successful sync_end of a mapped connector", async () => {
      // Prepare
      const event = fivetranRequest(fixtureText("webhooks/fivetran-sync-end-successful.json"));
      // Act
      const result = await dispatch(event, h.deps());
      // Assess
      expect(result).to.deep.equal(response(202, queued));
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: stripeRun,
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256(`fivetran:${SYNC_ID}`),
        },
      ]);
      expect(h.published()).to.deep.equal([]);
      expect(h.metrics.list()).to.deep.equal(["RunsQueued=1"]);
    });

    it("queues a source's fast-lane run of its tags first, then its normal run, in one batch", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json").replace(
        '"assimilate_seem"',
        '"ledger_fast"',
      );
      const trigger = { kind: "fivetran", id: SYNC_ID, source: "finance", receivedAt: NOW };
      // Act
      const result = await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "queued",
          message: `queued a dbt run of source finance for Fivetran sync ${SYNC_ID}`,
          delivery: `fivetran:${SYNC_ID}`,
          source: "finance",
          duplicate: false,
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.batches()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          Entries: [
            {
              Id: "fast",
              MessageGroupId: "dev",
              MessageDeduplicationId: sha256(`fivetran:${SYNC_ID}:fast`),
              MessageBody: JSON.stringify({
                command: "build",
                select: ["source:finance+,+tag:dashboard", "source:finance+,+tag:board_pack"],
                exclude: ["tag:heavy"],
                vars: {},
                fullRefresh: false,
                target: "dev",
                defer: false,
                lane: "fast",
                triggers: [trigger],
                sources: ["finance"],
              }),
            },
            {
              Id: "normal",
              MessageGroupId: "dev",
              MessageDeduplicationId: sha256(`fivetran:${SYNC_ID}`),
              MessageBody: JSON.stringify({
                command: "build",
                select: ["source:finance+"],
                exclude: ["tag:heavy"],
                vars: {},
                fullRefresh: false,
                target: "dev",
                defer: false,
                lane: "normal",
                triggers: [trigger],
                sources: ["finance"],
              }),
            },
          ],
        },
      ]);
      expect(h.metrics.list()).to.deep.equal(["RunsQueued=1", "RunsQueued=1"]);
    });

    it("verifies the signature over the decoded bytes of a base64 body, in either hex case", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json");
      const event = httpEvent({
        routeKey: FIVETRAN_ROUTE,
        rawPath: "/webhooks/fivetran",
        body: Buffer.from(body).toString("base64"),
        isBase64Encoded: true,
        headers: {
          "content-type": "application/json; charset=utf-8",
          "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, body).toUpperCase(),
        },
      });
      // Act
      const result = await dispatch(event, h.deps());
      // Assess
      expect(result).to.deep.equal(response(202, queued));
      expect(h.sent()).to.have.length(1);
    });

    it("acknowledges the test event with 200 and queues nothing", async () => {
      // Act
      const result = await dispatch(fivetranRequest(fixtureText("webhooks/fivetran-test-event.json")), h.deps());
      // Assess
      expect(result).to.deep.equal(response(200, { status: "ok", message: "test event acknowledged" }));
      expect(h.sent()).to.deep.equal([]);
    });

    it("ignores events other than sync_end with 202", async () => {
      // Act
      const result = await dispatch(fivetranRequest(fixtureText("webhooks/fivetran-sync-start.json")), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(202, { status: "ignored", message: "Fivetran event sync_start does not start a dbt run; ignored" }),
      );
      expect(h.sent()).to.deep.equal([]);
    });

    it("records and reports a failed sync without queuing a run", async () => {
      // Act
      const result = await dispatch(fivetranRequest(fixtureText("webhooks/fivetran-sync-end-failed.json")), h.deps());
      // Assess
      const summary = `Fivetran sync ${SYNC_ID} of source stripe ended with status FAILURE_WITH_TASK`;
      expect(result).to.deep.equal(
        response(202, {
          status: "recorded",
          message: `${summary}; recorded and reported, no dbt run queued`,
          delivery: `fivetran:${SYNC_ID}:failed`,
          source: "stripe",
          duplicate: false,
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.published()).to.deep.equal([
        {
          TopicArn: ALERT_TOPIC,
          Subject: "dbt-pipeline dev: Fivetran sync of stripe failed (FAILURE_WITH_TASK)",
          Message: JSON.stringify({
            kind: "dbt_pipeline_alert",
            alert: "sync_failed",
            target: "dev",
            summary,
            vendor: "fivetran",
            source: "stripe",
            connector: "assimilate_seem",
            connectorName: "ftar_pg",
            syncId: SYNC_ID,
            status: "FAILURE_WITH_TASK",
            reason: "Connection to the source database timed out",
            created: "2026-05-22T00:06:08.638Z",
            delivery: `fivetran:${SYNC_ID}:failed`,
          }),
          MessageAttributes: { alert: { DataType: "String", StringValue: "sync_failed" } },
        },
      ]);
      expect(h.metrics.list()).to.deep.equal(["SyncsFailed=1", "AlertsPublished=1"]);
      expect(h.logger.messages("error")).to.deep.equal(["sync failed"]);
    });

    it("only logs a failed sync when no alert topic is configured", async () => {
      // Act
      const result = await dispatch(
        fivetranRequest(fixtureText("webhooks/fivetran-sync-end-failed.json")),
        h.deps({ alertTopicArn: undefined }),
      );
      // Assess
      expect((result as { statusCode: number }).statusCode).to.equal(202);
      expect(h.published()).to.deep.equal([]);
      expect(h.logger.messages("warn")).to.deep.equal(["ALERT_TOPIC_ARN is not set; the failure is only logged"]);
    });

    it("rejects a connector no source lists with 422 naming the config key", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json").replace("assimilate_seem", "unknown_conn");
      // Act
      const result = await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(422, {
          error:
            'Fivetran connector "unknown_conn" is not mapped to any source; add it to dbt-pipeline:sources.<source>.fivetranConnectors in the stack config and deploy',
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.metrics.list()).to.deep.equal(["UnmappedDeliveries=1", "WebhooksRejected=1"]);
    });

    it("answers 202 and logs an unmapped connector when UNKNOWN_CONNECTOR=ignore", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json").replace("assimilate_seem", "unknown_conn");
      // Act
      const result = await dispatch(fivetranRequest(body), h.deps({ unknownConnector: "ignore" }));
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "ignored",
          message:
            'Fivetran connector "unknown_conn" is not mapped to any source; add it to dbt-pipeline:sources.<source>.fivetranConnectors in the stack config and deploy (ignored: UNKNOWN_CONNECTOR=ignore)',
        }),
      );
      expect(h.sent()).to.deep.equal([]);
    });

    it("accepts connection_id in place of connector_id", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json").replace(
        '"connector_id"',
        '"connection_id"',
      );
      // Act
      const result = await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect(result).to.deep.equal(response(202, queued));
      expect(h.sent()).to.have.length(1);
    });

    it("takes nothing from the payload into the run: select and exclude come from sources.json", async () => {
      // Prepare: a payload carrying dbt-looking fields
      const body = JSON.stringify({
        ...JSON.parse(fixtureText("webhooks/fivetran-sync-end-successful.json")),
        select: ["--full-refresh"],
        vars: { a: 1 },
        command: "run",
      });
      // Act
      await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect(h.sent().map((m) => m.MessageBody)).to.deep.equal([stripeRun]);
    });
  });

  describe("Airbyte", () => {
    const hubspotRun = JSON.stringify({
      command: "build",
      select: ["source:hubspot+", "tag:crm"],
      exclude: ["tag:heavy"],
      vars: {},
      fullRefresh: false,
      target: "dev",
      defer: false,
      lane: "normal",
      triggers: [{ kind: "airbyte", id: "9988", source: "hubspot", receivedAt: NOW }],
      sources: ["hubspot"],
    });
    const queued = {
      status: "queued",
      message: "queued a dbt run of source hubspot for Airbyte job 9988",
      delivery: "airbyte:9988",
      source: "hubspot",
      duplicate: false,
    };

    it("queues exactly one run for a successful sync of a mapped connection", async () => {
      // Act
      const result = await dispatch(airbyteRequest(fixtureText("webhooks/airbyte-sync-successful.json")), h.deps());
      // Assess
      expect(result).to.deep.equal(response(202, queued));
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: hubspotRun,
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256("airbyte:9988"),
        },
      ]);
    });

    it("accepts the Slack text and blocks Airbyte sends alongside data", async () => {
      // Prepare
      const payload = fixtureJson("webhooks/airbyte-sync-successful.json", z.looseObject({}));
      const body = JSON.stringify({
        text: "Sync succeeded",
        blocks: [{ type: "section", text: { type: "mrkdwn", text: "Sync succeeded" } }],
        ...payload,
      });
      // Act
      const result = await dispatch(airbyteRequest(body), h.deps());
      // Assess
      expect(result).to.deep.equal(response(202, queued));
      expect(h.sent().map((m) => m.MessageBody)).to.deep.equal([hubspotRun]);
    });

    it("records and reports a failed sync without queuing a run", async () => {
      // Act
      const result = await dispatch(airbyteRequest(fixtureText("webhooks/airbyte-sync-failed.json")), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "recorded",
          message: "Airbyte job 9988 of source hubspot failed; recorded and reported, no dbt run queued",
          delivery: "airbyte:9988:failed",
          source: "hubspot",
          duplicate: false,
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.published()).to.deep.equal([
        {
          TopicArn: ALERT_TOPIC,
          Subject: "dbt-pipeline dev: Airbyte sync of hubspot failed",
          Message: JSON.stringify({
            kind: "dbt_pipeline_alert",
            alert: "sync_failed",
            target: "dev",
            summary: "Airbyte job 9988 of source hubspot failed",
            vendor: "airbyte",
            source: "hubspot",
            connection: "64d901a1-2520-4d91-93c8-9df438668ff0",
            connectionName: "Connection",
            connectionUrl: "https://link/to/connection",
            jobId: "9988",
            errorType: "config_error",
            errorOrigin: "source",
            errorMessage: "Something failed",
            startedAt: "2024-01-01T00:00:00Z",
            finishedAt: "2024-01-01T01:00:00Z",
            delivery: "airbyte:9988:failed",
          }),
          MessageAttributes: { alert: { DataType: "String", StringValue: "sync_failed" } },
        },
      ]);
      expect(h.metrics.total("SyncsFailed")).to.equal(1);
    });

    it("ignores Slack-only notifications (no data) with 202", async () => {
      // Act
      const result = await dispatch(airbyteRequest(JSON.stringify({ text: "Connection updated" })), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "ignored",
          message: "Airbyte notification without sync data (connection update, warning or test message); ignored",
        }),
      );
      expect(h.sent()).to.deep.equal([]);
    });

    it("rejects a connection no source lists with 422", async () => {
      // Prepare
      const body = fixtureText("webhooks/airbyte-sync-successful.json").replace(
        "64d901a1-2520-4d91-93c8-9df438668ff0",
        "00000000-0000-4000-8000-000000000000",
      );
      // Act
      const result = await dispatch(airbyteRequest(body), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(422, {
          error:
            'Airbyte connection "00000000-0000-4000-8000-000000000000" is not mapped to any source; add it to dbt-pipeline:sources.<source>.airbyteConnections in the stack config and deploy',
        }),
      );
      expect(h.sent()).to.deep.equal([]);
    });
  });

  describe("bad input", () => {
    const good = fixtureText("webhooks/fivetran-sync-end-successful.json");
    const big = JSON.stringify({ event: "sync_end", padding: "x".repeat(256 * 1024) });
    const signature =
      "signature does not match; check that the secret of the Fivetran webhook equals dbt-pipeline:fivetran.webhookSecret";
    const token = "token not accepted; check the webhook URL configured in Airbyte (dbt-pipeline:airbyte.webhookToken)";
    const contentType = "unsupported content type; send the webhook body as JSON with Content-Type: application/json";
    const tooLarge = "body is larger than 262144 bytes; webhook payloads are small JSON documents";
    const fivetran = (body: string, headers: Record<string, string>, extra: Record<string, unknown> = {}) => ({
      ...httpEvent({ routeKey: FIVETRAN_ROUTE, rawPath: "/webhooks/fivetran", body, headers }),
      ...extra,
    });

    const table: [string, () => Record<string, unknown>, number, string, number][] = [
      // what, event, status, error, secret reads (a refused request reads once more past the cache)
      ["a text/plain body", () => fivetranRequest(good, { "content-type": "text/plain" }), 415, contentType, 0],
      [
        "no content type",
        () => fivetran(good, { "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, good) }),
        415,
        contentType,
        0,
      ],
      ["a body over 256 KiB", () => fivetranRequest(big), 413, tooLarge, 0],
      [
        "a base64 body over 256 KiB",
        () =>
          fivetran(
            Buffer.from(big).toString("base64"),
            { ...JSON_TYPE, "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, big) },
            { isBase64Encoded: true },
          ),
        413,
        tooLarge,
        0,
      ],
      ["no signature", () => fivetran(good, JSON_TYPE), 401, signature, 2],
      [
        "a signature of another body",
        () =>
          fivetran(good, { ...JSON_TYPE, "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, `${good} `) }),
        401,
        signature,
        2,
      ],
      [
        "a signature with another secret",
        () => fivetran(good, { ...JSON_TYPE, "x-fivetran-signature-256": fivetranSignature("other", good) }),
        401,
        signature,
        2,
      ],
      [
        "a prefixed signature",
        () =>
          fivetran(good, {
            ...JSON_TYPE,
            "x-fivetran-signature-256": `sha256=${fivetranSignature(FIVETRAN_SECRET, good)}`,
          }),
        401,
        signature,
        2,
      ],
      [
        "a truncated signature",
        () =>
          fivetran(good, {
            ...JSON_TYPE,
            "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, good).slice(0, 63),
          }),
        401,
        signature,
        2,
      ],
      ["malformed JSON", () => fivetranRequest('{"event": '), 400, "body is not valid JSON", 1],
      [
        "a JSON array",
        () => fivetranRequest("[]"),
        400,
        "invalid Fivetran webhook:\n✖ Invalid input: expected object, received array",
        1,
      ],
      [
        "no event",
        () => fivetranRequest("{}"),
        400,
        "invalid Fivetran webhook:\n✖ required: the Fivetran event name\n  → at event",
        1,
      ],
      [
        "a sync_end without ids or status",
        () => fivetranRequest('{"event":"sync_end"}'),
        400,
        "invalid Fivetran sync_end:\n✖ required: the sync's id\n  → at sync_id\n✖ required: an object with the sync's status\n  → at data\n✖ required: the connector id (connector_id or connection_id)\n  → at connector_id",
        1,
      ],
      [
        "a sync_end whose status is not a string",
        () =>
          fivetranRequest(`{"event":"sync_end","connector_id":"assimilate_seem","sync_id":"s1","data":{"status":1}}`),
        400,
        "invalid Fivetran sync_end:\n✖ required: the sync's status\n  → at data.status",
        1,
      ],
      [
        "connector_id and connection_id that differ",
        () =>
          fivetranRequest(
            `{"event":"sync_end","connector_id":"a","connection_id":"b","sync_id":"s1","data":{"status":"SUCCESSFUL"}}`,
          ),
        400,
        "invalid Fivetran sync_end:\n✖ differs from connector_id; send one id\n  → at connection_id",
        1,
      ],
      [
        "a wrong Airbyte token",
        () => airbyteRequest(fixtureText("webhooks/airbyte-sync-successful.json"), `${AIRBYTE_TOKEN}x`),
        401,
        token,
        2,
      ],
      [
        "an Airbyte token in another case",
        () => airbyteRequest(fixtureText("webhooks/airbyte-sync-successful.json"), AIRBYTE_TOKEN.toUpperCase()),
        401,
        token,
        2,
      ],
      [
        "no Airbyte token",
        () => httpEvent({ routeKey: AIRBYTE_ROUTE, rawPath: "/webhooks/airbyte/", body: "{}", headers: JSON_TYPE }),
        401,
        token,
        2,
      ],
      [
        "an Airbyte body without data",
        () => airbyteRequest("{}"),
        400,
        "invalid Airbyte webhook:\n✖ required: the sync notification's data\n  → at data",
        1,
      ],
      [
        "an Airbyte body with bad fields",
        () => airbyteRequest(JSON.stringify({ data: { connection: {}, jobId: "x" } })),
        400,
        "invalid Airbyte webhook:\n✖ required: the job id (a non-negative integer)\n  → at data.jobId\n✖ required: true or false\n  → at data.success\n✖ required: the connection id\n  → at data.connection.id",
        1,
      ],
      [
        "an Airbyte text/plain body",
        () => airbyteRequest("{}", AIRBYTE_TOKEN, { "content-type": "text/plain" }),
        415,
        contentType,
        0,
      ],
      [
        "another route",
        () =>
          httpEvent({ routeKey: "POST /webhooks/stitch", rawPath: "/webhooks/stitch", body: "{}", headers: JSON_TYPE }),
        404,
        "no webhook at POST /webhooks/stitch; the routes are POST /webhooks/fivetran and POST /webhooks/airbyte/{token}",
        0,
      ],
    ];
    for (const [what, event, status, error, secretReads] of table) {
      it(`answers ${status} to ${what} and sends nothing`, async () => {
        // Act
        const result = await dispatch(event(), h.deps());
        // Assess
        expect(result).to.deep.equal(response(status, { error }));
        expect(h.sqs.calls()).to.have.length(0);
        expect(h.sns.calls()).to.have.length(0);
        expect(h.secretsManager.calls()).to.have.length(secretReads);
      });
    }

    it("rejects every Fivetran request with 401 when no secret is configured, and says why in the log", async () => {
      // Act
      const result = await dispatch(fivetranRequest(good), h.deps({ fivetranSecretArn: undefined }));
      // Assess
      expect(result).to.deep.equal(response(401, { error: signature }));
      expect(h.logger.messages("error")).to.deep.equal([
        "FIVETRAN_SECRET_ARN is not set: every request on this route is rejected",
      ]);
      expect(h.sqs.calls()).to.have.length(0);
    });

    it("never logs the body, the signature, the token or the secrets", async () => {
      // Prepare
      const events = [
        fivetranRequest(good),
        fivetran(good, { ...JSON_TYPE, "x-fivetran-signature-256": "ab".repeat(32) }),
        airbyteRequest(fixtureText("webhooks/airbyte-sync-successful.json")),
        airbyteRequest("{}", "guessed-token"),
      ];
      // Act
      for (const event of events) await dispatch(event, h.deps());
      // Assess
      const logged = h.logger.text();
      for (const secret of [
        FIVETRAN_SECRET,
        AIRBYTE_TOKEN,
        "guessed-token",
        fivetranSignature(FIVETRAN_SECRET, good),
        "ab".repeat(32),
        "inappropriate_implode",
      ]) {
        expect(logged).not.to.include(secret);
      }
    });

    it("answers 503 and keeps no record when the queue refuses, so the vendor's retry queues the run", async () => {
      // Prepare
      h.sqs.on(SendMessageCommand).rejectsOnce(new Error("throttled")).resolves({ MessageId: "msg-2" });
      // Act
      const first = await dispatch(fivetranRequest(good), h.deps());
      const retry = await dispatch(fivetranRequest(good), h.deps());
      // Assess
      expect(first).to.deep.equal(
        response(503, {
          error: "nothing was queued: an AWS service dispatch depends on failed; retry the delivery later",
        }),
      );
      expect((retry as { statusCode: number }).statusCode).to.equal(202);
      expect(h.sent()).to.have.length(2);
      const answer = z.looseObject({ duplicate: z.unknown() }).parse(JSON.parse((retry as { body: string }).body));
      expect(answer.duplicate).to.equal(false);
    });

    it("answers 503 when the secret cannot be read, without naming it", async () => {
      // Prepare
      h.secretsManager.reset();
      h.secretsManager.on(GetSecretValueCommand).rejects(new Error("AccessDenied"));
      // Act
      const result = await dispatch(fivetranRequest(good), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(503, {
          error: "nothing was queued: an AWS service dispatch depends on failed; retry the delivery later",
        }),
      );
      expect(h.sqs.calls()).to.have.length(0);
    });
  });
});

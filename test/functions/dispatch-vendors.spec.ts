import { expect } from "chai";
import { z } from "zod";
import { dispatch } from "../../functions/dispatch/core";
import { readDispatchSettings } from "../../functions/dispatch/settings";
import {
  ALERT_TOPIC,
  NOW,
  QUEUE_URL,
  SYNC_ID,
  airbyteRequest,
  fivetranRequest,
  response,
  useDispatchHarness,
} from "./dispatch-harness";
import { fixtureJson, fixtureText, sha256 } from "./support";

const CONNECTION = "64d901a1-2520-4d91-93c8-9df438668ff0";
const CONNECTION_URL = `https://cloud.airbyte.com/workspaces/b510e39b-e9e2-4833-9a3a-963e51d35fb4/connections/${CONNECTION}`;
const HUBSPOT_FAILURE =
  "Failure in source: Request failed: 401 Unauthorized. The HubSpot private app token has expired.";
const hubspotRun = (jobId: string) =>
  JSON.stringify({
    command: "build",
    select: ["source:hubspot+", "tag:crm"],
    exclude: ["tag:heavy"],
    vars: {},
    fullRefresh: false,
    target: "dev",
    defer: false,
    lane: "normal",
    triggers: [{ kind: "airbyte", id: jobId, source: "hubspot", receivedAt: NOW }],
    sources: ["hubspot"],
  });

/** Payloads as the vendors' code sends them (see test/fixtures/README.md), through the real dispatch core. */
describe("dispatch: vendor payloads as serialised", () => {
  const h = useDispatchHarness();

  describe("Airbyte (Jackson writes null properties)", () => {
    it("queues the run of a success notification whose error fields are null", async () => {
      // Act
      const result = await dispatch(
        airbyteRequest(fixtureText("webhooks/airbyte-sync-successful-serialized.json")),
        h.deps(),
      );
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "queued",
          message: "queued a dbt run of source hubspot for Airbyte job 4821",
          delivery: "airbyte:4821",
          source: "hubspot",
          duplicate: false,
        }),
      );
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: hubspotRun("4821"),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256("airbyte:4821"),
        },
      ]);
      expect(h.published()).to.deep.equal([]);
    });

    it("queues the run when workspace, source and destination names and urls are null too", async () => {
      // Prepare
      const Ref = z.looseObject({ id: z.string() });
      const payload = fixtureJson(
        "webhooks/airbyte-sync-successful-serialized.json",
        z.looseObject({ data: z.looseObject({ workspace: Ref, source: Ref, destination: Ref }) }),
      );
      for (const ref of ["workspace", "source", "destination"] as const)
        payload.data[ref] = { id: payload.data[ref].id, name: null, url: null };
      Object.assign(payload.data, { workspace: null });
      // Act
      const result = await dispatch(airbyteRequest(JSON.stringify(payload)), h.deps());
      // Assess
      expect((result as { statusCode: number }).statusCode).to.equal(202);
      expect(h.sent().map((m) => m.MessageBody)).to.deep.equal([hubspotRun("4821")]);
    });

    it("reports a failure notification with its error type, origin and message", async () => {
      // Act
      const result = await dispatch(
        airbyteRequest(fixtureText("webhooks/airbyte-sync-failed-serialized.json")),
        h.deps(),
      );
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "recorded",
          message: "Airbyte job 4822 of source hubspot failed; recorded and reported, no dbt run queued",
          delivery: "airbyte:4822:failed",
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
            summary: "Airbyte job 4822 of source hubspot failed",
            vendor: "airbyte",
            source: "hubspot",
            connection: CONNECTION,
            connectionName: "HubSpot → Snowflake",
            connectionUrl: CONNECTION_URL,
            jobId: "4822",
            errorType: "config_error",
            errorOrigin: "source",
            errorMessage: HUBSPOT_FAILURE,
            startedAt: "2026-11-22T10:10:02Z",
            finishedAt: "2026-11-22T10:11:05Z",
            delivery: "airbyte:4822:failed",
          }),
          MessageAttributes: { alert: { DataType: "String", StringValue: "sync_failed" } },
        },
      ]);
    });

    it("reports a failure notification whose error fields are null without them", async () => {
      // Prepare: JobNotifier sends null error fields when the attempt has no failure summary
      const payload = fixtureJson(
        "webhooks/airbyte-sync-failed-serialized.json",
        z.looseObject({ data: z.looseObject({ connection: z.looseObject({}) }) }),
      );
      Object.assign(payload.data, { errorMessage: null, errorType: null, errorOrigin: null });
      payload.data.connection.name = null;
      // Act
      const result = await dispatch(airbyteRequest(JSON.stringify(payload)), h.deps());
      // Assess
      expect((result as { statusCode: number }).statusCode).to.equal(202);
      expect(JSON.parse(h.published()[0].Message!)).to.deep.equal({
        kind: "dbt_pipeline_alert",
        alert: "sync_failed",
        target: "dev",
        summary: "Airbyte job 4822 of source hubspot failed",
        vendor: "airbyte",
        source: "hubspot",
        connection: CONNECTION,
        connectionUrl: CONNECTION_URL,
        jobId: "4822",
        startedAt: "2026-11-22T10:10:02Z",
        finishedAt: "2026-11-22T10:11:05Z",
        delivery: "airbyte:4822:failed",
      });
    });

    it("neither runs nor reports a queued-sync notification (success false, finish time set)", async () => {
      // Act
      const result = await dispatch(
        airbyteRequest(fixtureText("webhooks/airbyte-sync-queued-serialized.json")),
        h.deps(),
      );
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "ignored",
          message: "Airbyte job 4823 of source hubspot is queued, not finished; nothing queued or reported",
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.published()).to.deep.equal([]);
      expect(h.metrics.list()).to.deep.equal([]);
    });

    it("neither runs nor reports success false without a finish time", async () => {
      // Prepare
      const payload = fixtureJson(
        "webhooks/airbyte-sync-failed-serialized.json",
        z.looseObject({ data: z.looseObject({}) }),
      );
      delete payload.blocks;
      delete payload.text;
      Object.assign(payload.data, { finishedAt: null, errorMessage: null, errorType: null, errorOrigin: null });
      // Act
      const result = await dispatch(airbyteRequest(JSON.stringify(payload)), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "ignored",
          message: "Airbyte job 4822 of source hubspot is queued, not finished; nothing queued or reported",
        }),
      );
      expect(h.published()).to.deep.equal([]);
    });
  });

  describe("Fivetran", () => {
    it("does not report a RESCHEDULED sync as a failure", async () => {
      // Act
      const result = await dispatch(
        fivetranRequest(fixtureText("webhooks/fivetran-sync-end-rescheduled.json")),
        h.deps(),
      );
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "ignored",
          message: `Fivetran sync ${SYNC_ID} of source stripe ended with status RESCHEDULED: not a failure and no new data; nothing queued or reported`,
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.published()).to.deep.equal([]);
      expect(h.metrics.list()).to.deep.equal([]);
    });

    it("does not report a CANCELED sync as a failure", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-rescheduled.json").replace("RESCHEDULED", "CANCELED");
      // Act
      const result = await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect((result as { statusCode: number }).statusCode).to.equal(202);
      expect(h.published()).to.deep.equal([]);
    });

    it("reports a status it does not know as a failure", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-rescheduled.json").replace("RESCHEDULED", "PARTIAL_FAILURE");
      // Act
      await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect(h.published().map((p) => p.Subject)).to.deep.equal([
        "dbt-pipeline dev: Fivetran sync of stripe failed (PARTIAL_FAILURE)",
      ]);
    });

    it("answers 202 by default to the platform connector no source lists, so Fivetran keeps the webhook", async () => {
      // Prepare: the default of UNKNOWN_CONNECTOR, as the function reads it
      const { unknownConnector } = readDispatchSettings({ QUEUE_URL, IDEMPOTENCY_TABLE: "t" });
      // Act
      const result = await dispatch(
        fivetranRequest(fixtureText("webhooks/fivetran-sync-end-platform-connector.json")),
        h.deps({ unknownConnector }),
      );
      // Assess
      expect(unknownConnector).to.equal("ignore");
      expect(result).to.deep.equal(
        response(202, {
          status: "ignored",
          message:
            'Fivetran connector "occurrence_platform" is not mapped to any source; add it to dbt-pipeline:sources.<source>.fivetranConnectors in the stack config and deploy (ignored: UNKNOWN_CONNECTOR=ignore)',
        }),
      );
      expect(h.sent()).to.deep.equal([]);
      expect(h.metrics.list()).to.deep.equal(["UnmappedDeliveries=1"]);
      expect(h.logger.messages("info")).to.deep.equal([
        "delivery from an unmapped connector ignored",
        "webhook answered",
      ]);
    });

    it("accepts null in the optional fields of a sync_end", async () => {
      // Prepare
      const payload = fixtureJson("webhooks/fivetran-sync-end-failed.json", z.looseObject({ data: z.looseObject({}) }));
      Object.assign(payload, { connector_name: null, created: null });
      payload.data.reason = null;
      // Act
      const result = await dispatch(fivetranRequest(JSON.stringify(payload)), h.deps());
      // Assess
      expect((result as { statusCode: number }).statusCode).to.equal(202);
      expect(JSON.parse(h.published()[0].Message!)).to.deep.equal({
        kind: "dbt_pipeline_alert",
        alert: "sync_failed",
        target: "dev",
        summary: `Fivetran sync ${SYNC_ID} of source stripe ended with status FAILURE_WITH_TASK`,
        vendor: "fivetran",
        source: "stripe",
        connector: "assimilate_seem",
        syncId: SYNC_ID,
        status: "FAILURE_WITH_TASK",
        delivery: `fivetran:${SYNC_ID}:failed`,
      });
    });
  });
});

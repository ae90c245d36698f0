import { expect } from "chai";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dispatch } from "../../functions/dispatch/core";
import { InvalidEventError, SnsRetryError } from "../../functions/dispatch/errors";
import { dbtArgv, parseRunRequest } from "../../functions/lib/run-contract";
import { parseSourcesDocument } from "../../functions/lib/sources";
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
import { fixtureText, rejection, sha256, snsEvent } from "./support";

describe("dispatch: deduplication, schedules, Snowflake", () => {
  const h = useDispatchHarness();

  describe("duplicates (Powertools idempotency on DynamoDB)", () => {
    it("queues one message for the same Fivetran delivery twice and answers the second as a duplicate", async () => {
      // Prepare
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json");
      // Act
      const first = await dispatch(fivetranRequest(body), h.deps());
      const second = await dispatch(fivetranRequest(body), h.deps());
      // Assess
      expect(h.sent()).to.have.length(1);
      expect(JSON.parse((first as { body: string }).body)).to.include({ status: "queued", duplicate: false });
      expect(second).to.deep.equal(response(202, { ...JSON.parse((first as { body: string }).body), duplicate: true }));
      expect(h.metrics.total("DuplicatesDropped")).to.equal(1);
    });

    it("reports a failed Airbyte sync once", async () => {
      // Act
      await dispatch(airbyteRequest(fixtureText("webhooks/airbyte-sync-failed.json")), h.deps());
      await dispatch(airbyteRequest(fixtureText("webhooks/airbyte-sync-failed.json")), h.deps());
      // Assess
      expect(h.published()).to.have.length(1);
      expect(h.metrics.total("SyncsFailed")).to.equal(1);
    });

    it("still queues the run of a successful sync that follows a failed one with the same sync_id", async () => {
      // Act
      await dispatch(fivetranRequest(fixtureText("webhooks/fivetran-sync-end-failed.json")), h.deps());
      const result = await dispatch(
        fivetranRequest(fixtureText("webhooks/fivetran-sync-end-successful.json")),
        h.deps(),
      );
      // Assess
      expect(JSON.parse((result as { body: string }).body)).to.include({ status: "queued", duplicate: false });
      expect(h.sent()).to.have.length(1);
    });

    it("answers 409 to a concurrent copy of a delivery still in progress", async () => {
      // Prepare
      let release: () => void = () => undefined;
      h.sqs.on(SendMessageCommand).callsFake(
        () =>
          new Promise((resolve) => {
            release = () => resolve({ MessageId: "msg-1" });
          }),
      );
      const body = fixtureText("webhooks/fivetran-sync-end-successful.json");
      // Act
      const first = dispatch(fivetranRequest(body), h.deps());
      await new Promise((r) => setTimeout(r, 200));
      const second = await dispatch(fivetranRequest(body), h.deps());
      release();
      // Assess
      expect(second).to.deep.equal(
        response(409, { error: `delivery fivetran:${SYNC_ID} is being processed by another request; retry later` }),
      );
      expect(((await first) as { statusCode: number }).statusCode).to.equal(202);
      expect(h.sent()).to.have.length(1);
    });
  });

  describe("schedules", () => {
    const trigger = (id: string) => ({ kind: "schedule", id, receivedAt: NOW });

    it("queues the hourly run with HOURLY_SELECT", async () => {
      // Act
      const result = await dispatch(
        { kind: "schedule", schedule: "hourly", scheduledTime: "2026-11-22T10:00:00Z" },
        h.deps(),
      );
      // Assess
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: JSON.stringify({
            command: "build",
            select: ["source_status:fresher+"],
            exclude: [],
            vars: {},
            fullRefresh: false,
            target: "dev",
            defer: false,
            lane: "normal",
            triggers: [trigger("hourly:2026-11-22T10:00:00Z")],
            sources: [],
          }),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256("schedule:hourly:2026-11-22T10:00:00Z"),
        },
      ]);
      expect(result).to.deep.equal({
        status: "queued",
        delivery: "schedule:hourly:2026-11-22T10:00:00Z",
        messageId: "msg-1",
        message: "queued the hourly dbt run scheduled for 2026-11-22T10:00:00Z",
        duplicate: false,
      });
    });

    it("queues the full refresh of everything", async () => {
      // Act
      await dispatch({ kind: "schedule", schedule: "full-refresh", scheduledTime: "2026-11-22T02:00:00Z" }, h.deps());
      // Assess
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: JSON.stringify({
            command: "build",
            select: [],
            exclude: [],
            vars: {},
            fullRefresh: true,
            target: "dev",
            defer: false,
            lane: "normal",
            triggers: [trigger("full-refresh:2026-11-22T02:00:00Z")],
            sources: [],
          }),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256("schedule:full-refresh:2026-11-22T02:00:00Z"),
        },
      ]);
    });

    it("queues the full refresh of FULL_REFRESH_SELECT minus FULL_REFRESH_EXCLUDE; dbt gets exactly that argv", async () => {
      // Act
      await dispatch(
        { kind: "schedule", schedule: "full-refresh", scheduledTime: "2026-11-22T02:00:00Z" },
        h.deps({ fullRefreshSelect: ["tag:nightly", "path:models/marts"], fullRefreshExclude: ["tag:pruned_raw"] }),
      );
      // Assess
      const body = h.sent()[0].MessageBody!;
      expect(body).to.equal(
        JSON.stringify({
          command: "build",
          select: ["tag:nightly", "path:models/marts"],
          exclude: ["tag:pruned_raw"],
          vars: {},
          fullRefresh: true,
          target: "dev",
          defer: false,
          lane: "normal",
          triggers: [trigger("full-refresh:2026-11-22T02:00:00Z")],
          sources: [],
        }),
      );
      expect(dbtArgv(parseRunRequest(JSON.parse(body)))).to.deep.equal([
        "dbt",
        "build",
        "--profile",
        "dbt_pipeline",
        "--target",
        "dev",
        "--select",
        "tag:nightly",
        "path:models/marts",
        "--exclude",
        "tag:pruned_raw",
        "--full-refresh",
      ]);
    });

    it("queues a schedule time once when Scheduler retries", async () => {
      // Act
      await dispatch({ kind: "schedule", schedule: "hourly", scheduledTime: "2026-11-22T10:00:00Z" }, h.deps());
      const again = await dispatch(
        { kind: "schedule", schedule: "hourly", scheduledTime: "2026-11-22T10:00:00Z" },
        h.deps(),
      );
      // Assess
      expect(h.sent()).to.have.length(1);
      expect(again).to.include({ duplicate: true });
    });

    it("throws on an input the schedule should not send", async () => {
      // Act
      const result = dispatch(
        { kind: "schedule", schedule: "weekly", scheduledTime: "<aws.scheduler.scheduled-time>" },
        h.deps(),
      );
      // Assess
      const error = await rejection(result);
      expect(error).to.be.instanceOf(InvalidEventError);
      expect(error.message).to.equal(
        'invalid schedule input; it must be {"kind":"schedule","schedule":"hourly"|"full-refresh","scheduledTime":"<aws.scheduler.scheduled-time>"}:\n' +
          '✖ Invalid option: expected one of "hourly"|"full-refresh"\n  → at schedule\n' +
          "✖ expected an ISO 8601 time (<aws.scheduler.scheduled-time>)\n  → at scheduledTime",
      );
      expect(h.sent()).to.deep.equal([]);
    });
  });

  describe("Snowflake notifications (SNS)", () => {
    const load = fixtureText("snowflake/load-notification.json");
    const taskFailed = fixtureText("snowflake/user-task-failed.json");

    it("queues the run of the source that lists the loaded table", async () => {
      // Act
      const result = await dispatch(snsEvent([load]), h.deps());
      // Assess
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: JSON.stringify({
            command: "build",
            select: ["source:stripe+"],
            exclude: [],
            vars: {},
            fullRefresh: false,
            target: "dev",
            defer: false,
            lane: "normal",
            triggers: [{ kind: "snowflake", id: "1732269510123:ORDERS", source: "stripe", receivedAt: NOW }],
            sources: ["stripe"],
          }),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256("snowflake:1732269510123:ORDERS"),
        },
      ]);
      expect(result).to.deep.equal({ records: 1, queued: 1, recorded: 0, duplicates: 0, dropped: 0 });
    });

    describe("tables of schema-qualified entries", () => {
      // Loaders that write into their own schema: a whole schema, and one CUSTOMERS table per
      // loader, so the bare name CUSTOMERS is ambiguous.
      const qualified = parseSourcesDocument({
        target: "dev",
        sources: [
          { name: "stripe", rawTables: ["STRIPE.*"] },
          { name: "shopify", rawTables: ["SHOPIFY.CUSTOMERS"] },
          { name: "crm", rawTables: ["CRM.CUSTOMERS"] },
        ],
      });
      // The payload as RECORD_LOAD sends it: TO_JSON(OBJECT_CONSTRUCT(...)) with `table` the task's
      // label, `SCHEMA.TABLE` for a qualified or `SCHEMA.*` entry (components/change-detection/reconciler.ts).
      const notification = (source: string, table: string) =>
        `{"kind":"snowflake_load","loaded_at":"2026-11-22T09:58:30.000+00:00","rows":42,"source":"${source}","table":"${table}","task_run_id":"01b8c4d2-0000-4a5e-9f00-000000000001"}`;

      const cases: [string, string, string][] = [
        ["a table of a SCHEMA.* entry", "stripe", "STRIPE.CHARGES"],
        ["a SCHEMA.TABLE entry whose bare name another loader also has", "shopify", "SHOPIFY.CUSTOMERS"],
        ["the other loader's table of the same name", "crm", "CRM.CUSTOMERS"],
      ];
      for (const [what, source, table] of cases) {
        it(`queues the run of the source that lists ${what}`, async () => {
          // Act
          const result = await dispatch(snsEvent([notification(source, table)]), { ...h.deps(), sources: qualified });
          // Assess
          expect(result).to.deep.equal({ records: 1, queued: 1, recorded: 0, duplicates: 0, dropped: 0 });
          expect(h.sent()).to.deep.equal([
            {
              QueueUrl: QUEUE_URL,
              MessageBody: JSON.stringify({
                command: "build",
                select: [`source:${source}+`],
                exclude: [],
                vars: {},
                fullRefresh: false,
                target: "dev",
                defer: false,
                lane: "normal",
                triggers: [
                  { kind: "snowflake", id: `01b8c4d2-0000-4a5e-9f00-000000000001:${table}`, source, receivedAt: NOW },
                ],
                sources: [source],
              }),
              MessageGroupId: "dev",
              MessageDeduplicationId: sha256(`snowflake:01b8c4d2-0000-4a5e-9f00-000000000001:${table}`),
            },
          ]);
        });
      }

      it("drops a table of a schema no entry lists", async () => {
        // Act
        const result = await dispatch(snsEvent([notification("stripe", "BILLING.CHARGES")]), {
          ...h.deps(),
          sources: qualified,
        });
        // Assess
        expect(result).to.deep.equal({ records: 1, queued: 0, recorded: 0, duplicates: 0, dropped: 1 });
        expect(
          h.logger.entries
            .filter((e) => e.message === "Snowflake notification dropped")
            .map((e) => e.attributes.reason),
        ).to.deep.equal([
          "RAW table BILLING.CHARGES is not listed by any source; add it to dbt-pipeline:sources.<source>.rawTables",
        ]);
      });
    });

    it("reports a USER_TASK_FAILED notification to the alert topic and queues nothing", async () => {
      // Act
      const result = await dispatch(snsEvent([taskFailed]), h.deps());
      // Assess
      expect(h.sent()).to.deep.equal([]);
      expect(h.published()).to.deep.equal([
        {
          TopicArn: ALERT_TOPIC,
          Subject: "dbt-pipeline dev: Snowflake task AWS_UTEN_DPO_DB.AWS_UTEN_SC.UTEN_AWS_TK1 failed (error 000630)",
          Message: JSON.stringify({
            kind: "dbt_pipeline_alert",
            alert: "snowflake_task_failed",
            target: "dev",
            summary: "Snowflake task AWS_UTEN_DPO_DB.AWS_UTEN_SC.UTEN_AWS_TK1 failed (error 000630)",
            taskName: "AWS_UTEN_DPO_DB.AWS_UTEN_SC.UTEN_AWS_TK1",
            rootTaskName: "AWS_UTEN_DPO_DB.AWS_UTEN_SC.UTEN_AWS_TK1",
            accountName: "AWS_UTEN_DPO_ACC",
            timestamp: "2021-11-11T19:46:39.648Z",
            runId: "2021-11-11T19:46:23.826Z",
            scheduledTime: "2021-11-11T19:46:23.826Z",
            queryId: "01a03962-0300-0002-0000-0000000034d8",
            errorCode: "000630",
            errorMessage: "Statement reached its statement or warehouse timeout of 10 second(s) and was canceled.",
            delivery: "snowflake-task-failed:3ff1eff0-7ad7-493c-9552-c0307087e0c6",
          }),
          MessageAttributes: { alert: { DataType: "String", StringValue: "snowflake_task_failed" } },
        },
      ]);
      expect(result).to.deep.equal({ records: 1, queued: 0, recorded: 1, duplicates: 0, dropped: 0 });
      expect(h.metrics.total("SnowflakeTasksFailed")).to.equal(1);
    });

    it("accepts the task error payload encoded as a JSON string, as Snowflake's documentation shows it", async () => {
      // Act
      await dispatch(snsEvent([JSON.stringify(taskFailed)]), h.deps());
      // Assess
      expect(h.published()).to.have.length(1);
    });

    it("drops invalid records with a metric and processes the others", async () => {
      // Prepare
      const wrongSource = load.replace('"source":"stripe"', '"source":"hubspot"');
      const unknownTable = load.replace("ORDERS", "REFUNDS");
      const badRows = load.replace('"rows":120', '"rows":-1');
      // Act
      const result = await dispatch(
        snsEvent(["not json", wrongSource, unknownTable, badRows, '{"hello":1}', load]),
        h.deps(),
      );
      // Assess
      expect(result).to.deep.equal({ records: 6, queued: 1, recorded: 0, duplicates: 0, dropped: 5 });
      expect(h.sent()).to.have.length(1);
      expect(h.metrics.total("NotificationsDropped")).to.equal(5);
      expect(
        h.logger.entries.filter((e) => e.message === "Snowflake notification dropped").map((e) => e.attributes.reason),
      ).to.deep.equal([
        "message is not JSON",
        "the notification names source hubspot, but RAW table ORDERS belongs to source stripe; fix the Snowflake task or dbt-pipeline:sources",
        "RAW table REFUNDS is not listed by any source; add it to dbt-pipeline:sources.<source>.rawTables",
        "invalid load notification:\n✖ Too small: expected number to be >=0\n  → at rows",
        'neither a load notification (kind "snowflake_load") nor a task error notification (messageType "USER_TASK_FAILED")',
      ]);
    });

    it("throws on an SNS event that is not as Lambda delivers it, naming the field", async () => {
      // Prepare
      const event = snsEvent([load]) as { Records: { Sns: Record<string, unknown> }[] };
      event.Records[0].Sns.Timestamp = "yesterday";
      // Act
      const error = await rejection(dispatch(event, h.deps()));
      // Assess
      expect(error).to.be.instanceOf(InvalidEventError);
      expect(error.message).to.equal("invalid SNS event:\n✖ Invalid ISO datetime\n  → at Records[0].Sns.Timestamp");
      expect(h.sent()).to.deep.equal([]);
    });

    it("throws so SNS retries when the queue refuses, after processing the other records", async () => {
      // Prepare
      h.sqs.on(SendMessageCommand).rejectsOnce(new Error("throttled")).resolves({ MessageId: "msg-2" });
      const charges = load.replace("ORDERS", "CHARGES");
      // Act
      const first = dispatch(snsEvent([load, charges]), h.deps());
      // Assess
      const error = await rejection(first);
      expect(error).to.be.instanceOf(SnsRetryError);
      expect(error.message).to.equal(
        "1 of 2 SNS records failed: DownstreamError: could not send the run request to the runs queue",
      );
      expect(h.sent()).to.have.length(2);
      // Act: SNS's retry queues the failed record and drops the done one as a duplicate
      const retry = await dispatch(snsEvent([load, charges]), h.deps());
      // Assess
      expect(retry).to.deep.equal({ records: 2, queued: 1, recorded: 0, duplicates: 1, dropped: 0 });
      expect(h.sent()).to.have.length(3);
    });
  });

  it("throws on an event it does not handle", async () => {
    const error = await rejection(dispatch({ detail: {} }, h.deps()));
    expect(error).to.be.instanceOf(InvalidEventError);
    expect(error.message).to.match(/^dispatch handles API Gateway HTTP API/);
  });
});

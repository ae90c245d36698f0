import { expect } from "chai";
import { CreateTableCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { ECSClient, RunTaskCommandInput } from "@aws-sdk/client-ecs";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { launch } from "../../functions/launch/core";
import { DynamoLaunchStore, Lease, LaunchStore, PendingItem } from "../../functions/launch/store";
import { RunRequest, parseRunRequest } from "../../functions/lib/run-contract";
import { MemoryLaunchStore } from "../../sim/launch-memory-store";
import { LocalDynamo, startLocalDynamo } from "./support";

const T0 = Date.parse("2026-11-22T10:00:00.000Z");

function request(source: string, receivedAt: string): RunRequest {
  return parseRunRequest({
    select: [`source:${source}+`],
    target: "prod",
    triggers: [{ kind: "fivetran", id: `sync-${source}`, source, receivedAt }],
    sources: [source],
  });
}
const item = (key: string, source = "stripe"): PendingItem => ({
  key,
  request: request(source, "2026-11-22T09:59:00.000Z"),
});
const lease = (holder: string, over: Partial<Lease> = {}): Lease => ({
  target: "prod",
  holder,
  state: "gathering",
  expiresAt: T0 + 180_000,
  ...over,
});

describe("launch store (pending set and lease)", () => {
  let dynamo: LocalDynamo;
  let tables = 0;

  /** A fresh table shaped as the Triggers component declares it (hash `target`, range `key`). */
  async function dynamoStore(): Promise<{ store: DynamoLaunchStore; tableName: string }> {
    const tableName = `launch-${++tables}`;
    await dynamo.client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: "target", AttributeType: "S" },
          { AttributeName: "key", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "target", KeyType: "HASH" },
          { AttributeName: "key", KeyType: "RANGE" },
        ],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    return { store: new DynamoLaunchStore(dynamo.client, tableName), tableName };
  }

  before(async () => {
    dynamo = await startLocalDynamo();
  });
  after(async () => {
    await dynamo.close();
  });

  const implementations: [string, () => Promise<LaunchStore>][] = [
    ["DynamoLaunchStore on dynalite (a real DynamoDB API server)", async () => (await dynamoStore()).store],
    [
      "MemoryLaunchStore (the tests' and the bench's model of it)",
      () => Promise.resolve<LaunchStore>(new MemoryLaunchStore()),
    ],
  ];

  for (const [name, make] of implementations) {
    describe(`launch store contract: ${name}`, () => {
      let store: LaunchStore;
      beforeEach(async () => {
        store = await make();
      });

      it("adds a request once: the same key again is a duplicate, pending or done", async () => {
        expect(await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa"))).to.equal(true);
        expect(await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa"))).to.equal(false);
        await store.finish("prod", ["p#2026-11-22T09:59:00.000Z#aa"], "run:r1", T0 + 3600_000);
        expect(await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa"))).to.equal(false);
        expect(await store.pending("prod", 10)).to.deep.equal([]);
      });

      it("adds a dead-lettered request again (a redrive), never one a run served", async () => {
        await store.finish("prod", ["p#2026-11-22T09:59:00.000Z#aa"], "dead-letter:launch-failed", T0 + 3600_000);
        await store.finish("prod", ["p#2026-11-22T09:59:30.000Z#bb"], "run:r1", T0 + 3600_000);
        expect(await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa"))).to.equal(true);
        expect(await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa"))).to.equal(false);
        expect(await store.addPending("prod", item("p#2026-11-22T09:59:30.000Z#bb", "hubspot"))).to.equal(false);
        expect((await store.pending("prod", 10)).map((p) => p.key)).to.deep.equal(["p#2026-11-22T09:59:00.000Z#aa"]);
      });

      it("keeps the latest load, covering success and failure beside the last start; late events never move them back", async () => {
        expect(await store.activity("prod")).to.deep.equal({});
        await store.setLastStart("prod", T0 + 100);
        await store.recordLoad("prod", T0 + 50);
        await store.recordLoad("prod", T0 + 10);
        await store.recordRunEnd("prod", T0 + 100, true, true);
        await store.recordRunEnd("prod", T0 + 40, true, true);
        await store.recordRunEnd("prod", T0 + 150, true, false);
        await store.recordRunEnd("prod", T0 + 90, false, true);
        await store.recordRunEnd("prod", T0 + 30, false, false);
        await store.setLastStart("prod", T0 + 200);
        expect(await store.activity("prod")).to.deep.equal({
          lastLoadAt: T0 + 50,
          coveredStart: T0 + 100,
          failedStart: T0 + 90,
        });
        expect(await store.lastStart("prod")).to.equal(T0 + 200);
        expect(await store.targets()).to.deep.equal([]);
      });

      it("remembers when each target's latest run started, and lists no target for it alone", async () => {
        expect(await store.lastStart("prod")).to.equal(undefined);
        await store.setLastStart("prod", T0);
        await store.setLastStart("prod", T0 + 900_000);
        await store.setLastStart("staging", T0 + 1);
        expect([await store.lastStart("prod"), await store.lastStart("staging")]).to.deep.equal([T0 + 900_000, T0 + 1]);
        expect(await store.targets()).to.deep.equal([]);
      });

      it("lists pending requests of one target, oldest key first, at most `limit`", async () => {
        await store.addPending("prod", item("p#2026-11-22T09:59:30.000Z#bb", "hubspot"));
        await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa", "stripe"));
        await store.addPending("dev", item("p#2026-11-22T09:58:00.000Z#cc", "shopify"));
        await store.addPending("prod", item("p#2026-11-22T09:59:45.000Z#dd", "zendesk"));
        await store.finish("prod", ["p#2026-11-22T09:59:45.000Z#dd"], "run:r1", T0);
        const all = await store.pending("prod", 10);
        expect(all.map((i) => i.key)).to.deep.equal(["p#2026-11-22T09:59:00.000Z#aa", "p#2026-11-22T09:59:30.000Z#bb"]);
        expect(all[0].request).to.deep.equal(request("stripe", "2026-11-22T09:59:00.000Z"));
        expect((await store.pending("prod", 1)).map((i) => i.key)).to.deep.equal(["p#2026-11-22T09:59:00.000Z#aa"]);
      });

      it("gives the lease to one of twenty concurrent takers", async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquire(lease(`h${i}`), T0)));
        expect(results.filter((r) => r.acquired)).to.have.length(1);
        const winner = results.findIndex((r) => r.acquired);
        expect((await store.getLease("prod"))?.holder).to.equal(`h${winner}`);
      });

      it("takes an expired lease and returns it; an unexpired one stays", async () => {
        const running = lease("h1", {
          state: "running",
          runId: "20261122t095900-0a1b2c3d",
          taskArn: "arn:task/1",
          claimed: ["p#a", "p#b"],
          expiresAt: T0,
        });
        expect(await store.acquire(running, T0 - 1)).to.deep.equal({ acquired: true, previous: undefined });
        expect(await store.acquire(lease("h2"), T0)).to.deep.equal({ acquired: false });
        expect(await store.acquire(lease("h2"), T0 + 1)).to.deep.equal({ acquired: true, previous: running });
        expect(await store.getLease("prod")).to.deep.equal(lease("h2"));
      });

      it("updates and releases the lease only for its holder", async () => {
        await store.acquire(lease("h1"), T0);
        expect(await store.update(lease("h2", { state: "launching" }))).to.equal(false);
        expect(await store.release("prod", "h2")).to.equal(false);
        expect(await store.update(lease("h1", { state: "launching", runId: "r1", claimed: ["p#a"] }))).to.equal(true);
        expect(await store.getLease("prod")).to.deep.equal(
          lease("h1", { state: "launching", runId: "r1", claimed: ["p#a"] }),
        );
        expect(await store.release("prod", "h1")).to.equal(true);
        expect(await store.getLease("prod")).to.equal(undefined);
        expect(await store.update(lease("h1"))).to.equal(false);
      });

      it("releases a run's lease on its task's ARN, or on its run id while it has none; a duplicate release finds nothing", async () => {
        const running = lease("h1", { state: "running", runId: "r1", taskArn: "arn:task/1", claimed: ["p#a"] });
        await store.acquire(running, T0);
        expect(await store.releaseRun("prod", "r1", "arn:task/other")).to.equal(undefined);
        expect(await store.releaseRun("prod", "r0", "arn:task/1")).to.equal(undefined);
        expect(await store.releaseRun("prod", "r1", "arn:task/1")).to.deep.equal(running);
        expect(await store.releaseRun("prod", "r1", "arn:task/1")).to.equal(undefined);
        const launching = lease("h2", { state: "launching", runId: "r2", claimed: ["p#b"] });
        await store.acquire(launching, T0);
        expect(await store.releaseRun("prod", "r2", "arn:task/2")).to.deep.equal(launching);
      });

      it("lists targets with a lease or pending requests, not those with only done ones", async () => {
        await store.addPending("a", item("p#1"));
        await store.addPending("b", item("p#1"));
        await store.finish("b", ["p#1"], "run:r1", T0);
        await store.acquire({ ...lease("h1"), target: "c" }, T0);
        expect(await store.targets()).to.deep.equal(["a", "c"]);
      });

      it("finishing is idempotent, and marks a request done even if it never was pending: adding it later is a duplicate", async () => {
        await store.addPending("prod", item("p#a"));
        await store.finish("prod", ["p#a", "p#never"], "run:r1", T0);
        await store.finish("prod", ["p#a"], "run:r1", T0);
        expect(await store.pending("prod", 10)).to.deep.equal([]);
        expect(await store.addPending("prod", item("p#never"))).to.equal(false);
        expect(await store.addPending("prod", item("p#b"))).to.equal(true);
      });

      it("reads at most `limit` pending requests however many are done", async () => {
        for (const k of ["p#1", "p#2", "p#3", "p#4", "p#5"]) await store.addPending("prod", item(k));
        await store.finish("prod", ["p#1", "p#2", "p#3"], "run:r1", T0);
        expect((await store.pending("prod", 1)).map((i) => i.key)).to.deep.equal(["p#4"]);
        expect((await store.pending("prod", 10)).map((i) => i.key)).to.deep.equal(["p#4", "p#5"]);
      });
    });
  }

  describe("launch's core on the DynamoDB store (dynalite)", () => {
    it("two batches while a run goes, then its STOPPED event: one run, then one run of both", async () => {
      // Prepare
      const { store } = await dynamoStore();
      const runTasks: RunTaskCommandInput[] = [];
      const ecs = {
        send: (c: { input: RunTaskCommandInput }) => (
          runTasks.push(c.input),
          Promise.resolve({
            tasks: [{ taskArn: `arn:aws:ecs:eu-west-1:123456789012:task/c/${runTasks.length}` }],
            failures: [],
          })
        ),
      } as unknown as ECSClient;
      const sqs = { send: () => Promise.resolve({}) } as unknown as SQSClient;
      let holders = 0;
      const deps = {
        settings: {
          clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/c",
          taskDefinition: "dbt",
          subnetIds: ["subnet-a"],
          securityGroupIds: ["sg-a"],
          assignPublicIp: "DISABLED" as const,
          burstWindowSeconds: 0,
          minRunIntervalSeconds: 0,
          hourlySkipWhenIdle: false,
          maxLaunchAttempts: 5,
          dlqUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq.fifo",
          tableName: "t",
          leaseSeconds: 3600,
          doneSeconds: 172800,
        },
        ecs,
        sqs,
        store,
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        metrics: { addMetric() {} },
        now: () => new Date(T0),
        sleep: async () => {},
        token: () => `h${++holders}`,
      };
      const batch = (id: string, source: string) => ({
        Records: [
          {
            messageId: id,
            receiptHandle: `rh-${id}`,
            body: JSON.stringify(request(source, "2026-11-22T09:59:00.000Z")),
            attributes: { MessageGroupId: "prod" },
            eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:runs.fifo",
          },
        ],
      });
      // The dbt argv after `dbt build --profile dbt_pipeline --target prod --select`.
      const dbtSelect = (i: number) =>
        (runTasks[i].overrides?.containerOverrides ?? []).find((c) => c.name === "dbt")?.command?.slice(7);
      // Act
      await launch(batch("m1", "stripe"), deps);
      await launch(batch("m2", "hubspot"), deps);
      await launch(batch("m3", "zendesk"), deps);
      const runId = (await store.getLease("prod"))?.runId ?? "";
      const result = await launch(
        {
          source: "aws.ecs",
          "detail-type": "ECS Task State Change",
          detail: {
            taskArn: "arn:aws:ecs:eu-west-1:123456789012:task/c/1",
            lastStatus: "STOPPED",
            startedBy: `dbt-pipeline/${runId}`,
            overrides: { containerOverrides: runTasks[0].overrides?.containerOverrides },
          },
        },
        deps,
      );
      // Assess
      expect(result).to.deep.equal({ handOver: "launched" });
      expect([dbtSelect(0), dbtSelect(1)]).to.deep.equal([
        ["source:stripe+", "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}'],
        ["source:hubspot+", "source:zendesk+", "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}'],
      ]);
      expect(await store.pending("prod", 10)).to.deep.equal([]);
      expect((await store.getLease("prod"))?.taskArn).to.equal("arn:aws:ecs:eu-west-1:123456789012:task/c/2");
    });
  });

  describe("DynamoLaunchStore items as DynamoDB stores them", () => {
    it("a pending item has no TTL; serving it writes a done marker that expires at epoch seconds, then deletes it", async () => {
      const { store, tableName } = await dynamoStore();
      const doc = DynamoDBDocumentClient.from(dynamo.client);
      const get = async (key: string) =>
        (await doc.send(new GetCommand({ TableName: tableName, Key: { target: "prod", key }, ConsistentRead: true })))
          .Item;
      await store.addPending("prod", item("p#2026-11-22T09:59:00.000Z#aa"));
      expect(await get("p#2026-11-22T09:59:00.000Z#aa")).to.deep.equal({
        target: "prod",
        key: "p#2026-11-22T09:59:00.000Z#aa",
        state: "pending",
        request: JSON.stringify(request("stripe", "2026-11-22T09:59:00.000Z")),
      });
      await store.finish("prod", ["p#2026-11-22T09:59:00.000Z#aa"], "run:20261122t095900-0a1b2c3d", T0 + 1500);
      expect(await get("p#2026-11-22T09:59:00.000Z#aa")).to.equal(undefined);
      expect(await get("d#2026-11-22T09:59:00.000Z#aa")).to.deep.equal({
        target: "prod",
        key: "d#2026-11-22T09:59:00.000Z#aa",
        state: "done",
        outcome: "run:20261122t095900-0a1b2c3d",
        expiration: 1795341602,
      });
    });

    it("the lease item carries no TTL attribute: only its own expiresAt, checked in the conditions", async () => {
      const { store, tableName } = await dynamoStore();
      const doc = DynamoDBDocumentClient.from(dynamo.client);
      await store.acquire(lease("h1", { state: "launching", runId: "r1", claimed: ["p#a"] }), T0);
      const raw = (await doc.send(new GetCommand({ TableName: tableName, Key: { target: "prod", key: "lease" } })))
        .Item;
      expect(raw).to.deep.equal({
        target: "prod",
        key: "lease",
        holder: "h1",
        state: "launching",
        expiresAt: T0 + 180_000,
        runId: "r1",
        claimed: ["p#a"],
      });
    });
  });
});

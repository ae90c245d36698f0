import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type * as DispatchModule from "../../functions/dispatch/index";
import type * as LaunchModule from "../../functions/launch/index";
import { fakeContext, fixtureText, httpEvent } from "./support";

/** Runs the real `handler`s: environment and sources.json read at init, Powertools logger and metrics. */
describe("handlers (wiring)", () => {
  const saved = { ...process.env };
  // Installed here, not at load time: another spec's mockClient(SQSClient) may have replaced a load-time stub.
  let sqs: AwsClientStub<SQSClient>;

  before(() => {
    sqs = mockClient(SQSClient);
    const root = mkdtempSync(path.join(tmpdir(), "task-root-"));
    writeFileSync(path.join(root, "sources.json"), fixtureText("dispatch/sources.json"));
    Object.assign(process.env, {
      LAMBDA_TASK_ROOT: root, AWS_REGION: "eu-west-1", POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true",
      POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
      QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs.fifo", IDEMPOTENCY_TABLE: "dev-idempotency",
      CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/dev-dbt", TASK_DEFINITION: "dev-dbt", SUBNET_IDS: "subnet-a", SECURITY_GROUP_IDS: "sg-1",
      DLQ_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs-dlq.fifo", TABLE_NAME: "dev-launch-state",
    });
  });
  after(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it("dispatch answers a webhook through its exported handler", async () => {
    // Prepare
    // Loaded here, after the environment is set: the module reads it at init.
    const { handler } = require("../../functions/dispatch/index") as typeof DispatchModule;
    const event = httpEvent({ routeKey: "POST /webhooks/fivetran", rawPath: "/webhooks/fivetran", body: "{}", headers: { "content-type": "text/plain" } });
    // Act
    const result = await handler(event, fakeContext);
    // Assess
    expect(result).to.deep.equal({
      statusCode: 415, headers: { "content-type": "application/json" },
      body: JSON.stringify({ error: "unsupported content type; send the webhook body as JSON with Content-Type: application/json" }),
    });
  });

  it("launch handles an SQS batch through its exported handler: TABLE_NAME's table gets the request", async () => {
    // Prepare: DynamoDB throttles, so the request is not saved and SQS must deliver it again
    const documents = mockClient(DynamoDBDocumentClient);
    documents.on(GetCommand).rejects(Object.assign(new Error("Throughput exceeds the current capacity"), { name: "ProvisionedThroughputExceededException" }));
    const { handler } = require("../../functions/launch/index") as typeof LaunchModule;
    const body = JSON.stringify({ target: "dev", triggers: [{ kind: "manual", id: "me", receivedAt: new Date().toISOString() }] });
    const event = { Records: [{ messageId: "m1", receiptHandle: "rh", body, attributes: { MessageGroupId: "dev" }, eventSource: "aws:sqs", eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:dev-runs.fifo" }] };
    // Act
    const result = await handler(event, fakeContext);
    // Assess
    expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "m1" }] });
    // Its first call: is the request's done marker there (a request already served)?
    expect(documents.commandCalls(GetCommand).map((c) => [c.args[0].input.TableName, c.args[0].input.Key?.target, String(c.args[0].input.Key?.key).slice(0, 2), c.args[0].input.ConsistentRead])).to.deep.equal([
      ["dev-launch-state", "dev", "d#", true],
    ]);
    expect(sqs.calls()).to.have.length(0);
    documents.restore();
  });
});

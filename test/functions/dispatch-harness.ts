/**
 * Shared set-up of the dispatch specs: settings, sources, AWS client mocks (installed afresh before
 * each test), a fresh idempotency table on dynalite per test, request builders.
 */
import { mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, PublishCommandInput, SNSClient } from "@aws-sdk/client-sns";
import {
  SQSClient,
  SendMessageBatchCommand,
  SendMessageBatchCommandInput,
  SendMessageCommand,
  SendMessageCommandInput,
} from "@aws-sdk/client-sqs";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { DispatchDeps } from "../../functions/dispatch/core";
import type { DispatchSettings } from "../../functions/dispatch/settings";
import { SecretCache } from "../../functions/lib/secrets";
import { parseSourcesDocument } from "../../functions/lib/sources";
import {
  LocalDynamo,
  RecordingLog,
  RecordingMetrics,
  fakeContext,
  fivetranSignature,
  fixtureText,
  httpEvent,
  startLocalDynamo,
} from "./support";

export const FIVETRAN_SECRET = "fivetran-signing-secret-for-tests";
export const AIRBYTE_TOKEN = "3f9c1a7e5b2d4c6e8f0a1b2c3d4e5f60";
export const FIVETRAN_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-fivetran-webhook-secret-AbCdEf";
export const AIRBYTE_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-airbyte-webhook-token-GhIjKl";
export const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/dev-runs.fifo";
export const ALERT_TOPIC = "arn:aws:sns:eu-west-1:123456789012:dev-alerts";
export const NOW = "2026-11-22T10:00:00.000Z";
export const SYNC_ID = "b4703f73-6315-4e22-8d7a-3bfb18b2fed2";
export const FIVETRAN_ROUTE = "POST /webhooks/fivetran";
export const AIRBYTE_ROUTE = "POST /webhooks/airbyte/{token}";
export const JSON_TYPE = { "content-type": "application/json" };

/** The settings every dispatch spec starts from. */
export const settings: DispatchSettings = {
  queueUrl: QUEUE_URL,
  idempotencyTable: "dev-idempotency",
  dedupeSeconds: 90000,
  unknownConnector: "reject",
  hourlySelect: ["source_status:fresher+"],
  fullRefreshSelect: [],
  fullRefreshExclude: [],
  fivetranSecretArn: FIVETRAN_ARN,
  airbyteTokenSecretArn: AIRBYTE_ARN,
  alertTopicArn: ALERT_TOPIC,
};

/** A signed Fivetran request for `body`. */
export function fivetranRequest(body: string, headers: Record<string, string> = {}) {
  return httpEvent({
    routeKey: FIVETRAN_ROUTE,
    rawPath: "/webhooks/fivetran",
    body,
    headers: { ...JSON_TYPE, "x-fivetran-signature-256": fivetranSignature(FIVETRAN_SECRET, body), ...headers },
  });
}

/** An Airbyte request to the URL with `token`. */
export function airbyteRequest(body: string, token = AIRBYTE_TOKEN, headers: Record<string, string> = JSON_TYPE) {
  return httpEvent({
    routeKey: AIRBYTE_ROUTE,
    rawPath: `/webhooks/airbyte/${token}`,
    body,
    headers,
    pathParameters: { token },
  });
}

/** The HTTP response dispatch returns. */
export const response = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);
const secretsManager = mockClient(SecretsManagerClient);

/** What a spec uses: fresh per test. */
export interface DispatchHarness {
  readonly sqs: typeof sqs;
  readonly sns: typeof sns;
  readonly secretsManager: typeof secretsManager;
  readonly logger: RecordingLog;
  readonly metrics: RecordingMetrics;
  /** Deps over the mocks, the fixture sources.json and a fresh idempotency table. */
  deps(over?: Partial<DispatchSettings>): DispatchDeps;
  /** Inputs of every SendMessage. */
  sent(): SendMessageCommandInput[];
  /** Inputs of every SendMessageBatch. */
  batches(): SendMessageBatchCommandInput[];
  /** Inputs of every Publish. */
  published(): PublishCommandInput[];
}

/** Registers the hooks of a dispatch spec (call inside `describe`). */
export function useDispatchHarness(): DispatchHarness {
  const sources = parseSourcesDocument(JSON.parse(fixtureText("dispatch/sources.json")));
  let dynamo: LocalDynamo;
  let store: BasePersistenceLayer;
  const h = {
    sqs,
    sns,
    secretsManager,
    logger: new RecordingLog(),
    metrics: new RecordingMetrics(),
    deps: (over: Partial<DispatchSettings> = {}): DispatchDeps => ({
      settings: { ...settings, ...over },
      sources,
      sqs: new SQSClient({ region: "eu-west-1" }),
      sns: new SNSClient({ region: "eu-west-1" }),
      secrets: new SecretCache(new SecretsManagerClient({ region: "eu-west-1" })),
      persistenceStore: store,
      logger: h.logger,
      metrics: h.metrics,
      now: () => new Date(NOW),
      lambdaContext: fakeContext,
    }),
    sent: () => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input),
    batches: () => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input),
    published: () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input),
  };
  before(async () => {
    dynamo = await startLocalDynamo();
  });
  after(async () => {
    await dynamo.close();
  });
  beforeEach(async () => {
    // reset() re-installs each stub, so another spec's mockClient() of the same class cannot shadow it.
    sqs.reset();
    sns.reset();
    secretsManager.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: "msg-1" });
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: input.Entries!.map((e) => ({ Id: e.Id, MessageId: `msg-${e.Id}`, MD5OfMessageBody: "x" })),
      Failed: [],
    }));
    sns.on(PublishCommand).resolves({ MessageId: "alert-1" });
    secretsManager.on(GetSecretValueCommand, { SecretId: FIVETRAN_ARN }).resolves({ SecretString: FIVETRAN_SECRET });
    secretsManager.on(GetSecretValueCommand, { SecretId: AIRBYTE_ARN }).resolves({ SecretString: AIRBYTE_TOKEN });
    store = await dynamo.freshStore();
    h.logger = new RecordingLog();
    h.metrics = new RecordingMetrics();
  });
  return h;
}

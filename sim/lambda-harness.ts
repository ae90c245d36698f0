/**
 * What the handler specs and the benchmarks both drive the real handlers with: a recording logger
 * and metrics sink, a Lambda context, API Gateway and SNS events as AWS sends them, Fivetran's
 * signature, and an in-process DynamoDB (dynalite) for the real Powertools idempotency layer.
 */
import type { Context } from "aws-lambda";
import { createHmac } from "node:crypto";
import type { AddressInfo } from "node:net";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { Log, MetricSink, MetricUnitName } from "../functions/lib/observability";

/** One log line. */
export interface LogEntry {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** Attributes merged left to right, as the logger merges them. */
const merged = (attributes: Record<string, unknown>[]): Record<string, unknown> =>
  Object.fromEntries(attributes.flatMap((a) => Object.entries(a)));

/** A {@link Log} that keeps every line. */
export class RecordingLog implements Log {
  readonly entries: LogEntry[] = [];
  debug(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: "debug", message, attributes: merged(attributes) });
  }
  info(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: "info", message, attributes: merged(attributes) });
  }
  warn(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: "warn", message, attributes: merged(attributes) });
  }
  error(message: string, ...attributes: Record<string, unknown>[]): void {
    this.entries.push({ level: "error", message, attributes: merged(attributes) });
  }
  /** Everything logged, as one string (to search for secrets). */
  text(): string {
    return JSON.stringify(this.entries);
  }
  /** Messages at `level`. */
  messages(level: LogEntry["level"]): string[] {
    return this.entries.filter((e) => e.level === level).map((e) => e.message);
  }
}

/** A {@link MetricSink} that keeps every data point. */
export class RecordingMetrics implements MetricSink {
  readonly entries: { name: string; unit: MetricUnitName; value: number }[] = [];
  addMetric(name: string, unit: MetricUnitName, value: number): void {
    this.entries.push({ name, unit, value });
  }
  /** Sum of the values of `name`. */
  total(name: string): number {
    return this.entries.filter((e) => e.name === name).reduce((a, e) => a + e.value, 0);
  }
  /** `name=value` for each data point, in order. */
  list(): string[] {
    return this.entries.map((e) => `${e.name}=${e.value}`);
  }
}

/** A Lambda context with plenty of time left. */
export const fakeContext = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: "dev-dispatch",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:dev-dispatch",
  memoryLimitInMB: "256",
  awsRequestId: "req-1",
  logGroupName: "/aws/lambda/dev-dispatch",
  logStreamName: "stream",
  getRemainingTimeInMillis: () => 9000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

/** Hex HMAC-SHA256 as Fivetran computes it. */
export function fivetranSignature(secret: string, body: string | Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

/** Options of {@link httpEvent}. */
export interface HttpEventOptions {
  readonly routeKey: string;
  readonly rawPath: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Record<string, string>;
}

/** An API Gateway HTTP API payload 2.0 event (the shape AWS documents for Lambda proxy integrations). */
export function httpEvent(o: HttpEventOptions): Record<string, unknown> {
  return {
    version: "2.0",
    routeKey: o.routeKey,
    rawPath: o.rawPath,
    rawQueryString: "",
    headers: o.headers ?? {},
    requestContext: {
      accountId: "123456789012",
      apiId: "abc123",
      domainName: "abc123.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "abc123",
      http: { method: "POST", path: o.rawPath, protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "test" },
      requestId: "rid-1",
      routeKey: o.routeKey,
      stage: "$default",
      time: "22/Nov/2026:10:00:00 +0000",
      timeEpoch: 1795341600000,
    },
    ...(o.pathParameters ? { pathParameters: o.pathParameters } : {}),
    ...(o.body !== undefined ? { body: o.body } : {}),
    isBase64Encoded: o.isBase64Encoded ?? false,
  };
}

/** An SNS → Lambda event with one record per message. */
export function snsEvent(
  messages: readonly string[],
  topicArn = "arn:aws:sns:eu-west-1:123456789012:dev-snowflake",
): Record<string, unknown> {
  return {
    Records: messages.map((message, i) => ({
      EventSource: "aws:sns",
      EventVersion: "1.0",
      EventSubscriptionArn: `${topicArn}:sub-1`,
      Sns: {
        Type: "Notification",
        MessageId: `sns-${i + 1}`,
        TopicArn: topicArn,
        Subject: null,
        Message: message,
        Timestamp: "2026-11-22T10:00:00.000Z",
        SignatureVersion: "1",
        Signature: "x",
        SigningCertUrl: "https://sns.eu-west-1.amazonaws.com/cert.pem",
        UnsubscribeUrl: "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        MessageAttributes: {},
      },
    })),
  };
}

/** An in-process DynamoDB for the idempotency table. */
export interface LocalDynamo {
  readonly client: DynamoDBClient;
  /** `http://127.0.0.1:<port>`, e.g. for `AWS_ENDPOINT_URL_DYNAMODB` when a handler builds its own client. */
  readonly endpoint: string;
  /** A new, empty idempotency table (partition key `id`) and a Powertools persistence layer on it. */
  freshStore(): Promise<DynamoDBPersistenceLayer>;
  close(): Promise<void>;
}

/** Starts dynalite on a random port (`createTableMs: 0`, in memory). */
export async function startLocalDynamo(): Promise<LocalDynamo> {
  // Loaded here, not at the top: most specs that import this file never start a table.
  const { default: dynalite } = await import("dynalite");
  const server = dynalite({ createTableMs: 0 });
  // An http.Server reports a failure to listen as an "error" event, not through the callback.
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  let tables = 0;
  return {
    client,
    endpoint,
    async freshStore() {
      const tableName = `idempotency-${++tables}`;
      await client.send(
        new CreateTableCommand({
          TableName: tableName,
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      return new DynamoDBPersistenceLayer({ tableName, awsSdkV3Client: client });
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

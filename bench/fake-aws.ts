/**
 * A local stand-in for the AWS APIs the Lambdas call on their first invocation, so a cold-start
 * benchmark can make realistic first calls (signed webhook → queued, SQS batch → RunTask, ECS
 * STOPPED event, freshness read) with every SDK round trip real HTTP and none leaving the machine.
 * The handlers reach it through `AWS_ENDPOINT_URL` (the SDK's global endpoint override). It
 * answers each operation with the smallest response the SDK accepts and records every request.
 */
import { createHash, randomUUID } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

/** One request the fake answered: service and operation. */
export interface FakeCall {
  readonly service: string;
  readonly operation: string;
  readonly body: string;
}

/** What the fake serves: S3 objects by key suffix and secret values by ARN (any ARN when one value is given as `*`). */
export interface FakeAwsData {
  readonly objects: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
}

/** A running fake; `url` goes into AWS_ENDPOINT_URL. */
export interface FakeAws {
  readonly url: string;
  readonly calls: FakeCall[];
  /** Empties the DynamoDB items, so the next cold start meets the state of a new deployment. */
  forget(): void;
  close(): Promise<void>;
}

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

function json(res: http.ServerResponse, body: unknown, contentType = "application/x-amz-json-1.0"): void {
  res.writeHead(200, { "content-type": contentType, "x-amzn-requestid": randomUUID() });
  res.end(JSON.stringify(body));
}

function xml(res: http.ServerResponse, body: string): void {
  res.writeHead(200, { "content-type": "text/xml", "x-amzn-requestid": randomUUID() });
  res.end(body);
}

/** A DynamoDB item in the wire format (`{ "S": "..." }` per attribute). */
type DynamoItem = Record<string, Record<string, unknown>>;

/** Attributes that are key attributes in this package's tables (idempotency `id`; launch `target` + `key`). */
const KEY_ATTRIBUTES = ["id", "target", "key"] as const;

/** The identity of an item: its table and key attributes, so a later GetItem finds what PutItem wrote. */
function itemId(table: string, item: DynamoItem): string {
  return `${table}|${JSON.stringify(KEY_ATTRIBUTES.filter((k) => k in item).map((k) => [k, item[k]]))}`;
}

/**
 * Query of the one shape launch sends (`#p = :p AND begins_with(#s, :s)`), answered from what
 * PutItem stored in this fake; conditions on writes are not evaluated (one caller at a time).
 */
function queryAnswer(
  input: {
    TableName: string;
    KeyConditionExpression: string;
    ExpressionAttributeNames: Record<string, string>;
    ExpressionAttributeValues: DynamoItem;
  },
  items: ReadonlyMap<string, DynamoItem>,
): unknown {
  const m = /^(#\w+) = (:\w+) AND begins_with\((#\w+), (:\w+)\)$/.exec(input.KeyConditionExpression);
  if (!m) throw new Error(`fake-aws: no answer for the query ${input.KeyConditionExpression}`);
  const [, pName, pValue, sName, sPrefix] = m;
  const partition = input.ExpressionAttributeNames[pName];
  const sort = input.ExpressionAttributeNames[sName];
  const prefix = String(input.ExpressionAttributeValues[sPrefix].S);
  const ofTable = [...items].filter(([id]) => id.startsWith(`${input.TableName}|`)).map(([, item]) => item);
  const found = ofTable.filter(
    (item) =>
      JSON.stringify(item[partition]) === JSON.stringify(input.ExpressionAttributeValues[pValue]) &&
      String(item[sort]?.S ?? "").startsWith(prefix),
  );
  return { Items: found, Count: found.length, ScannedCount: found.length };
}

/** The answer to one JSON-protocol operation (`X-Amz-Target: <prefix>.<Operation>`). */
function jsonAnswer(target: string, body: string, data: FakeAwsData, items: Map<string, DynamoItem>): unknown {
  const [prefix, operation] = target.split(".");
  const input = body ? JSON.parse(body) : {};
  switch (operation) {
    case "GetSecretValue": {
      const value = data.secrets[input.SecretId] ?? data.secrets["*"];
      if (value === undefined) throw new Error(`fake-aws: no secret ${input.SecretId}`);
      return {
        ARN: input.SecretId,
        Name: "bench",
        SecretString: value,
        VersionId: randomUUID(),
        VersionStages: ["AWSCURRENT"],
      };
    }
    case "SendMessage":
      // The SDK checks MD5OfMessageBody against what it sent.
      return {
        MessageId: randomUUID(),
        MD5OfMessageBody: md5(input.MessageBody),
        SequenceNumber: "18888888888888888888",
      };
    case "DeleteMessage":
    case "ChangeMessageVisibility":
      return {};
    case "PutItem":
      items.set(itemId(input.TableName, input.Item), input.Item);
      return {};
    case "UpdateItem":
      return {};
    case "DeleteItem":
      items.delete(itemId(input.TableName, input.Key));
      return {};
    case "GetItem": {
      const item = items.get(itemId(input.TableName, input.Key));
      return item ? { Item: item } : {};
    }
    case "Query":
      return queryAnswer(input, items);
    case "ListTasks":
      return { taskArns: [] };
    case "RunTask":
      return {
        tasks: [
          {
            taskArn: `${String(input.cluster).replace(":cluster/", ":task/")}/${randomUUID().replace(/-/g, "")}`,
            lastStatus: "PROVISIONING",
            startedBy: input.startedBy,
          },
        ],
        failures: [],
      };
    case "PutEvents":
      return { FailedEntryCount: 0, Entries: (input.Entries ?? []).map(() => ({ EventId: randomUUID() })) };
    default:
      throw new Error(`fake-aws: no answer for ${prefix}.${operation}`);
  }
}

/** Starts the fake on a free local port. */
export async function startFakeAws(data: FakeAwsData): Promise<FakeAws> {
  const calls: FakeCall[] = [];
  const items = new Map<string, DynamoItem>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      try {
        const target = req.headers["x-amz-target"];
        if (typeof target === "string") {
          calls.push({ service: target.split(".")[0], operation: target.split(".")[1], body });
          json(
            res,
            jsonAnswer(target, body, data, items),
            String(req.headers["content-type"] ?? "application/x-amz-json-1.0"),
          );
          return;
        }
        const action = new URLSearchParams(body).get("Action");
        if (action === "Publish") {
          calls.push({ service: "SNS", operation: "Publish", body });
          xml(
            res,
            `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
          );
          return;
        }
        if (req.method === "GET") {
          const key = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
          calls.push({ service: "S3", operation: "GetObject", body: key });
          const match = Object.entries(data.objects).find(([suffix]) => key.endsWith(suffix));
          if (!match) {
            res.writeHead(404, { "content-type": "application/xml" });
            res.end(
              `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key></Error>`,
            );
            return;
          }
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(match[1]),
            etag: `"${md5(match[1])}"`,
            "last-modified": new Date().toUTCString(),
          });
          res.end(match[1]);
          return;
        }
        throw new Error(`fake-aws: no answer for ${req.method} ${req.url} ${body.slice(0, 200)}`);
      } catch (err) {
        calls.push({ service: "fake-aws", operation: "error", body: (err as Error).message });
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
        res.end(JSON.stringify({ __type: "ValidationException", message: (err as Error).message }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    forget: () => items.clear(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

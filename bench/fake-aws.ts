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
import { z } from "zod";

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
const DynamoItemSchema = z.record(z.string(), z.record(z.string(), z.unknown()));
type DynamoItem = z.infer<typeof DynamoItemSchema>;

/**
 * The fields of a JSON-protocol request body the fake reads (every operation's own fields are
 * optional here; an operation that needs one and does not get it fails with the field's name).
 */
const JsonInputSchema = z.looseObject({
  SecretId: z.string().optional(),
  MessageBody: z.string().optional(),
  TableName: z.string().optional(),
  Item: DynamoItemSchema.optional(),
  Key: DynamoItemSchema.optional(),
  KeyConditionExpression: z.string().optional(),
  ExpressionAttributeNames: z.record(z.string(), z.string()).optional(),
  ExpressionAttributeValues: DynamoItemSchema.optional(),
  cluster: z.string().optional(),
  startedBy: z.string().optional(),
  Entries: z.array(z.unknown()).optional(),
});
type JsonInput = z.infer<typeof JsonInputSchema>;

/** A field the operation needs; the fake fails loudly when the SDK did not send it. */
function need<K extends keyof JsonInput>(input: JsonInput, key: K, operation: string): NonNullable<JsonInput[K]> {
  const value = input[key];
  if (value === undefined || value === null) throw new Error(`fake-aws: ${operation} without ${String(key)}`);
  return value;
}

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
function queryAnswer(input: JsonInput, items: ReadonlyMap<string, DynamoItem>): unknown {
  const condition = need(input, "KeyConditionExpression", "Query");
  const names = need(input, "ExpressionAttributeNames", "Query");
  const values = need(input, "ExpressionAttributeValues", "Query");
  const table = need(input, "TableName", "Query");
  const m = /^(#\w+) = (:\w+) AND begins_with\((#\w+), (:\w+)\)$/.exec(condition);
  if (!m) throw new Error(`fake-aws: no answer for the query ${condition}`);
  const [, pName, pValue, sName, sPrefix] = m;
  const partition = names[pName];
  const sort = names[sName];
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  const prefix = text(values[sPrefix]?.S);
  const ofTable = [...items].filter(([id]) => id.startsWith(`${table}|`)).map(([, item]) => item);
  const found = ofTable.filter(
    (item) =>
      JSON.stringify(item[partition]) === JSON.stringify(values[pValue]) && text(item[sort]?.S).startsWith(prefix),
  );
  return { Items: found, Count: found.length, ScannedCount: found.length };
}

/** The answer to one JSON-protocol operation (`X-Amz-Target: <prefix>.<Operation>`). */
function jsonAnswer(target: string, body: string, data: FakeAwsData, items: Map<string, DynamoItem>): unknown {
  const [prefix, operation] = target.split(".");
  const input = JsonInputSchema.parse(body ? JSON.parse(body) : {});
  switch (operation) {
    case "GetSecretValue": {
      const id = need(input, "SecretId", operation);
      const value = data.secrets[id] ?? data.secrets["*"];
      if (value === undefined) throw new Error(`fake-aws: no secret ${id}`);
      return {
        ARN: id,
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
        MD5OfMessageBody: md5(need(input, "MessageBody", operation)),
        SequenceNumber: "18888888888888888888",
      };
    case "DeleteMessage":
    case "ChangeMessageVisibility":
      return {};
    case "PutItem":
      items.set(
        itemId(need(input, "TableName", operation), need(input, "Item", operation)),
        need(input, "Item", operation),
      );
      return {};
    case "UpdateItem":
      return {};
    case "DeleteItem":
      items.delete(itemId(need(input, "TableName", operation), need(input, "Key", operation)));
      return {};
    case "GetItem": {
      const item = items.get(itemId(need(input, "TableName", operation), need(input, "Key", operation)));
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
            taskArn: `${need(input, "cluster", operation).replace(":cluster/", ":task/")}/${randomUUID().replace(/-/g, "")}`,
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

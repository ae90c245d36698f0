/** Floor of notify's first call: its AWS calls with the SDK alone (no zod, Powertools or own code). */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";

const env = (name: string) => process.env[name] ?? "";
const dynamo = new DynamoDBClient({});
const s3 = new S3Client({});
const events = new EventBridgeClient({});

export async function handler(): Promise<unknown> {
  const TableName = env("STATE_TABLE");
  await dynamo.send(new PutItemCommand({ TableName, Item: { id: { S: "floor" } } }));
  const out = await s3.send(new GetObjectCommand({ Bucket: env("ARTIFACT_BUCKET"), Key: "floor/run_results.json" }));
  await out.Body?.transformToString();
  await dynamo.send(new GetItemCommand({ TableName, Key: { id: { S: "state" } }, ConsistentRead: true }));
  await events.send(
    new PutEventsCommand({
      Entries: [{ EventBusName: env("EVENT_BUS_NAME"), Source: "floor", DetailType: "floor", Detail: "{}" }],
    }),
  );
  return { kind: "run", status: "success" };
}

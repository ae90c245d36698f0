/** Floor of launch's first call: its AWS calls with the SDK alone (no zod, Powertools or own code). */
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import { ECSClient, RunTaskCommand } from "@aws-sdk/client-ecs";

const env = (name: string) => process.env[name] ?? "";
const dynamo = new DynamoDBClient({});
const ecs = new ECSClient({});

export async function handler(): Promise<unknown> {
  const TableName = env("TABLE_NAME");
  const Key = { target: { S: "floor" }, key: { S: "done#floor" } };
  await dynamo.send(new GetItemCommand({ TableName, Key, ConsistentRead: true }));
  await dynamo.send(new PutItemCommand({ TableName, Item: { target: { S: "floor" }, key: { S: "pending#floor" } } }));
  await dynamo.send(
    new QueryCommand({
      TableName,
      KeyConditionExpression: "#t = :t AND begins_with(#k, :k)",
      ExpressionAttributeNames: { "#t": "target", "#k": "key" },
      ExpressionAttributeValues: { ":t": { S: "floor" }, ":k": { S: "pending#" } },
    }),
  );
  await ecs.send(
    new RunTaskCommand({ cluster: env("CLUSTER_ARN"), taskDefinition: env("TASK_DEFINITION"), startedBy: "floor" }),
  );
  return { batchItemFailures: [] };
}

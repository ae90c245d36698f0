/** Floor of dispatch's first call: its AWS calls with the SDK alone (no zod, Powertools or own code). */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";

const env = (name: string) => process.env[name] ?? "";
const secrets = new SecretsManagerClient({});
const dynamo = new DynamoDBClient({});
const sqs = new SQSClient({});

export async function handler(): Promise<unknown> {
  await secrets.send(new GetSecretValueCommand({ SecretId: env("FIVETRAN_SECRET_ARN") }));
  await dynamo.send(new PutItemCommand({ TableName: env("IDEMPOTENCY_TABLE"), Item: { id: { S: "floor" } } }));
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: env("QUEUE_URL"),
      MessageBody: "floor",
      MessageGroupId: "floor",
      MessageDeduplicationId: "floor",
    }),
  );
  return { statusCode: 202, body: "queued (floor)" };
}

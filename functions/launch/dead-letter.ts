/** Forwarding to launch's dead-letter queue: poison messages and requests ECS will never accept. */
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { sha256Hex } from "../lib/crypto";
import { errorMessage, truncate } from "../lib/errors";
import type { LaunchDeps } from "./core";

/** Sends `body` to DLQ_URL with string attributes; FIFO queues get the group and a deduplication id. Returns false on failure. */
export async function deadLetter(
  deps: LaunchDeps,
  group: string,
  body: string,
  dedupe: string,
  attributes: Readonly<Record<string, string>>,
): Promise<boolean> {
  const url = deps.settings.dlqUrl;
  try {
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes).map(([k, v]) => [
            k,
            { DataType: "String", StringValue: truncate(v || "-", 1000) },
          ]),
        ),
        ...(url.endsWith(".fifo")
          ? { MessageGroupId: group || "runs", MessageDeduplicationId: sha256Hex(dedupe) }
          : {}),
      }),
    );
    deps.metrics.addMetric("DeadLettered", "Count", 1);
    return true;
  } catch (error) {
    deps.logger.error("could not forward to the dead-letter queue", { group, error: errorMessage(error) });
    return false;
  }
}

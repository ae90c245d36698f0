/** The SQS event launch receives from its event source mapping. */
import { z } from "zod";

/** One SQS record (FIFO: `attributes.MessageGroupId` is the dbt target). */
export const SqsRecordSchema = z.object({
  messageId: z.string().min(1),
  receiptHandle: z.string().min(1),
  body: z.string(),
  attributes: z.object({
    MessageGroupId: z.string().optional(),
    ApproximateReceiveCount: z.string().optional(),
  }).loose().default({}),
  eventSource: z.string().optional(),
  eventSourceARN: z.string().min(1),
}).loose();
/** A parsed SQS record. */
export type SqsRecord = z.infer<typeof SqsRecordSchema>;

/** An SQS → Lambda event. */
export const SqsEventSchema = z.object({ Records: z.array(SqsRecordSchema) });

/** The partial batch response (`ReportBatchItemFailures`). */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` for `arn:aws:sqs:<region>:<account>:<name>`. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(":");
  const domain = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

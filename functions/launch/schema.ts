/** The events launch receives: SQS batches of the runs queue, ECS task-state events, the sweep schedule. */
import { z } from "zod";
import { CONTAINERS } from "../lib/run-contract";

/** One SQS record (FIFO: `attributes.MessageGroupId` is the dbt target). */
export const SqsRecordSchema = z
  .object({
    messageId: z.string().min(1),
    receiptHandle: z.string().min(1),
    body: z.string(),
    attributes: z
      .object({
        MessageGroupId: z.string().optional(),
        ApproximateReceiveCount: z.string().optional(),
      })
      .loose()
      .default({}),
    eventSource: z.string().optional(),
    eventSourceARN: z.string().min(1),
  })
  .loose();
/** A parsed SQS record. */
export type SqsRecord = z.infer<typeof SqsRecordSchema>;

/** An SQS → Lambda event. */
export const SqsEventSchema = z.object({ Records: z.array(SqsRecordSchema) });

/**
 * The fields launch reads of an EventBridge "ECS Task State Change" event
 * (docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html); loose, as AWS adds fields.
 */
export const TaskStateChangeSchema = z
  .object({
    source: z.literal("aws.ecs"),
    "detail-type": z.literal("ECS Task State Change"),
    detail: z
      .object({
        taskArn: z.string().min(1),
        lastStatus: z.string(),
        startedBy: z.string().optional(),
        /** Each container's state; `exitCode` once it stopped (absent when it never ran). */
        containers: z.array(z.object({ name: z.string(), exitCode: z.number().optional() }).loose()).default([]),
        overrides: z
          .object({
            containerOverrides: z
              .array(z.object({ name: z.string(), command: z.array(z.string()).optional() }).loose())
              .default([]),
          })
          .loose()
          .optional(),
      })
      .loose(),
  })
  .loose();
/** A parsed task-state event. */
export type TaskStateChange = z.infer<typeof TaskStateChangeSchema>;

/**
 * The dbt target of a stopped task, from the dbt container's command in the event's overrides
 * (`dbt <command> --profile <p> --target <target> ...`, as the run contract's argv puts it);
 * undefined when the event carries none.
 */
export function targetOfTask(detail: TaskStateChange["detail"]): string | undefined {
  const command = detail.overrides?.containerOverrides.find((c) => c.name === CONTAINERS.dbt)?.command ?? [];
  const at = command.indexOf("--target");
  return at >= 0 ? command[at + 1] : undefined;
}

/** The dbt container's exit code in a task-state event; undefined when it never ran or the event has none. */
export function dbtExitCode(detail: TaskStateChange["detail"]): number | undefined {
  return detail.containers.find((c) => c.name === CONTAINERS.dbt)?.exitCode;
}

/** What the sweep schedule sends. */
export const SweepEventSchema = z.object({ kind: z.literal("sweep") }).loose();

/** The partial batch response (`ReportBatchItemFailures`). */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** The events launch receives: SQS batches of the runs queue, ECS task-state events, the sweep schedule. */
import * as z from "zod/mini";
import { CONTAINERS } from "../lib/run-contract";

/** A string of at least one character. */
const nonEmpty = () => z.string().check(z.minLength(1));

/** One SQS record (FIFO: `attributes.MessageGroupId` is the dbt target). */
export const SqsRecordSchema = z.looseObject({
  messageId: nonEmpty(),
  receiptHandle: nonEmpty(),
  body: z.string(),
  attributes: z._default(
    z.looseObject({
      MessageGroupId: z.optional(z.string()),
      ApproximateReceiveCount: z.optional(z.string()),
    }),
    {},
  ),
  eventSource: z.optional(z.string()),
  eventSourceARN: nonEmpty(),
});
/** A parsed SQS record. */
export type SqsRecord = z.infer<typeof SqsRecordSchema>;

/** An SQS → Lambda event. */
export const SqsEventSchema = z.object({ Records: z.array(SqsRecordSchema) });

/**
 * The fields launch reads of an EventBridge "ECS Task State Change" event
 * (docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html); loose, as AWS adds fields.
 */
export const TaskStateChangeSchema = z.looseObject({
  source: z.literal("aws.ecs"),
  "detail-type": z.literal("ECS Task State Change"),
  detail: z.looseObject({
    taskArn: nonEmpty(),
    lastStatus: z.string(),
    startedBy: z.optional(z.string()),
    /** Each container's state; `exitCode` once it stopped (absent when it never ran). */
    containers: z._default(z.array(z.looseObject({ name: z.string(), exitCode: z.optional(z.number()) })), []),
    overrides: z.optional(
      z.looseObject({
        containerOverrides: z._default(
          z.array(z.looseObject({ name: z.string(), command: z.optional(z.array(z.string())) })),
          [],
        ),
      }),
    ),
  }),
});
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
export const SweepEventSchema = z.looseObject({ kind: z.literal("sweep") });

/** The partial batch response (`ReportBatchItemFailures`). */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * What the notify Lambda receives and reads, as zod schemas: EventBridge "ECS Task State Change"
 * events, SNS deliveries from the alert topic (and the three kinds of message published there),
 * and dbt's run_results.json. The AWS envelopes are Powertools parser's schemas; our objects are
 * loose: AWS and dbt add fields over time, and only the fields declared here are read.
 */
import { EventBridgeSchema } from "@aws-lambda-powertools/parser/schemas/eventbridge";
import { SnsRecordSchema, SnsSchema } from "@aws-lambda-powertools/parser/schemas/sns";
import { z } from "zod";

const nameValue = z.object({ name: z.string(), value: z.string() }).loose();

/** One container of a stopped task (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html). */
export const TaskContainerSchema = z
  .object({
    name: z.string(),
    lastStatus: z.string().optional(),
    /** Absent when the container never ran (e.g. the image could not be pulled). */
    exitCode: z.number().int().optional(),
    reason: z.string().optional(),
  })
  .loose();

/** `detail` of an ECS Task State Change event, the fields notify reads. */
export const TaskDetailSchema = z
  .object({
    clusterArn: z.string(),
    taskArn: z.string(),
    taskDefinitionArn: z.string().optional(),
    group: z.string().optional(),
    startedBy: z.string().optional(),
    lastStatus: z.string(),
    stopCode: z.string().optional(),
    stoppedReason: z.string().optional(),
    createdAt: z.string().optional(),
    startedAt: z.string().optional(),
    stoppingAt: z.string().optional(),
    stoppedAt: z.string().optional(),
    containers: z.array(TaskContainerSchema).default([]),
    overrides: z
      .object({
        containerOverrides: z
          .array(
            z
              .object({
                name: z.string(),
                command: z.array(z.string()).optional(),
                environment: z.array(nameValue).optional(),
              })
              .loose(),
          )
          .default([]),
      })
      .loose()
      .optional(),
  })
  .loose();

/**
 * The EventBridge envelope of an ECS Task State Change event: Powertools' `EventBridgeSchema`
 * (every field EventBridge always sends) with this event's `detail-type`, `source` and `detail`.
 */
export const TaskStateChangeEventSchema = EventBridgeSchema.extend({
  "detail-type": z.literal("ECS Task State Change"),
  source: z.literal("aws.ecs"),
  detail: TaskDetailSchema,
});

/** A parsed ECS Task State Change event. */
export type TaskStateChangeEvent = z.infer<typeof TaskStateChangeEventSchema>;
/** Its `detail`. */
export type TaskDetail = z.infer<typeof TaskDetailSchema>;

/** An SNS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html): Powertools' `SnsSchema`. */
export const SnsEventSchema = SnsSchema;
/** A parsed SNS record. */
export type SnsRecord = z.infer<typeof SnsRecordSchema>;

/** A CloudWatch alarm's state change as published to SNS. */
export const AlarmMessageSchema = z
  .object({
    AlarmName: z.string(),
    AlarmDescription: z.string().nullable().optional(),
    NewStateValue: z.enum(["OK", "ALARM", "INSUFFICIENT_DATA"]),
    NewStateReason: z.string().optional(),
    OldStateValue: z.string().optional(),
    StateChangeTime: z.string().optional(),
    Region: z.string().optional(),
  })
  .loose();

/** One result of dbt's run_results.json (schema v6; the fields notify reads). */
export const RunResultSchema = z
  .object({
    unique_id: z.string(),
    status: z.string(),
    message: z.string().nullable().optional(),
    failures: z.number().nullable().optional(),
    execution_time: z.number().optional(),
  })
  .loose();

/** dbt's run_results.json (https://schemas.getdbt.com/dbt/run-results/v6.json). */
export const RunResultsSchema = z
  .object({
    metadata: z
      .object({
        dbt_schema_version: z.string().optional(),
        dbt_version: z.string().optional(),
        generated_at: z.string().optional(),
        invocation_id: z.string().nullable().optional(),
      })
      .loose(),
    results: z.array(RunResultSchema),
    elapsed_time: z.number().optional(),
    args: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/** A parsed run_results.json. */
export type RunResults = z.infer<typeof RunResultsSchema>;

/**
 * An alert dispatch publishes to the alert topic (functions/dispatch/runs.ts `publishAlert`):
 * `{kind: "dbt_pipeline_alert", alert, target, summary, ...details}`; details vary by alert.
 */
export const DispatchAlertSchema = z
  .object({
    kind: z.literal("dbt_pipeline_alert"),
    alert: z.string(),
    summary: z.string(),
    target: z.string().optional(),
    // sync_failed (Fivetran: reason; Airbyte: errorMessage, connectionUrl)
    vendor: z.string().optional(),
    source: z.string().optional(),
    reason: z.string().optional(),
    errorMessage: z.string().optional(),
    connectionUrl: z.string().optional(),
    // snowflake_task_failed
    taskName: z.string().optional(),
    errorCode: z.string().optional(),
    queryId: z.string().optional(),
    scheduledTime: z.string().optional(),
  })
  .loose();

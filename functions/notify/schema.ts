/**
 * What the notify Lambda receives and reads, as zod schemas: EventBridge "ECS Task State Change"
 * events, SNS deliveries from the alert topic (and the three kinds of message published there),
 * and dbt's run_results.json. The AWS envelopes are Powertools parser's (functions/lib/envelopes.ts); our objects are
 * loose: AWS and dbt add fields over time, and only the fields declared here are read.
 */
import * as z from "zod/mini";
import { EventBridgeSchema } from "../lib/envelopes";

const nameValue = z.looseObject({ name: z.string(), value: z.string() });

/** One container of a stopped task (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html). */
export const TaskContainerSchema = z.looseObject({
  name: z.string(),
  lastStatus: z.optional(z.string()),
  /** Absent when the container never ran (e.g. the image could not be pulled). */
  exitCode: z.optional(z.int()),
  reason: z.optional(z.string()),
});

/** `detail` of an ECS Task State Change event, the fields notify reads. */
export const TaskDetailSchema = z.looseObject({
  clusterArn: z.string(),
  taskArn: z.string(),
  taskDefinitionArn: z.optional(z.string()),
  group: z.optional(z.string()),
  startedBy: z.optional(z.string()),
  lastStatus: z.string(),
  stopCode: z.optional(z.string()),
  stoppedReason: z.optional(z.string()),
  createdAt: z.optional(z.string()),
  startedAt: z.optional(z.string()),
  stoppingAt: z.optional(z.string()),
  stoppedAt: z.optional(z.string()),
  containers: z._default(z.array(TaskContainerSchema), []),
  overrides: z.optional(
    z.looseObject({
      containerOverrides: z._default(
        z.array(
          z.looseObject({
            name: z.string(),
            command: z.optional(z.array(z.string())),
            environment: z.optional(z.array(nameValue)),
          }),
        ),
        [],
      ),
    }),
  ),
});

/**
 * The EventBridge envelope of an ECS Task State Change event: Powertools' `EventBridgeSchema`
 * (every field EventBridge always sends) with this event's `detail-type`, `source` and `detail`.
 */
export const TaskStateChangeEventSchema = z.extend(EventBridgeSchema, {
  "detail-type": z.literal("ECS Task State Change"),
  source: z.literal("aws.ecs"),
  detail: TaskDetailSchema,
});

/** A parsed ECS Task State Change event. */
export type TaskStateChangeEvent = z.infer<typeof TaskStateChangeEventSchema>;
/** Its `detail`. */
export type TaskDetail = z.infer<typeof TaskDetailSchema>;

export { SnsEventSchema, type SnsRecord } from "../lib/envelopes";

/** A CloudWatch alarm's state change as published to SNS. */
export const AlarmMessageSchema = z.looseObject({
  AlarmName: z.string(),
  AlarmDescription: z.optional(z.nullable(z.string())),
  NewStateValue: z.enum(["OK", "ALARM", "INSUFFICIENT_DATA"]),
  NewStateReason: z.optional(z.string()),
  OldStateValue: z.optional(z.string()),
  StateChangeTime: z.optional(z.string()),
  Region: z.optional(z.string()),
});

/** One result of dbt's run_results.json (schema v6; the fields notify reads). */
export const RunResultSchema = z.looseObject({
  unique_id: z.string(),
  status: z.string(),
  message: z.optional(z.nullable(z.string())),
  failures: z.optional(z.nullable(z.number())),
  execution_time: z.optional(z.number()),
});

/** dbt's run_results.json (https://schemas.getdbt.com/dbt/run-results/v6.json). */
export const RunResultsSchema = z.looseObject({
  metadata: z.looseObject({
    dbt_schema_version: z.optional(z.string()),
    dbt_version: z.optional(z.string()),
    generated_at: z.optional(z.string()),
    invocation_id: z.optional(z.nullable(z.string())),
  }),
  results: z.array(RunResultSchema),
  elapsed_time: z.optional(z.number()),
  args: z.optional(z.record(z.string(), z.unknown())),
});

/** A parsed run_results.json. */
export type RunResults = z.infer<typeof RunResultsSchema>;

/**
 * An alert dispatch publishes to the alert topic (functions/dispatch/runs.ts `publishAlert`):
 * `{kind: "dbt_pipeline_alert", alert, target, summary, ...details}`; details vary by alert.
 */
export const DispatchAlertSchema = z.looseObject({
  kind: z.literal("dbt_pipeline_alert"),
  alert: z.string(),
  summary: z.string(),
  target: z.optional(z.string()),
  // sync_failed (Fivetran: reason; Airbyte: errorMessage, connectionUrl)
  vendor: z.optional(z.string()),
  source: z.optional(z.string()),
  reason: z.optional(z.string()),
  errorMessage: z.optional(z.string()),
  connectionUrl: z.optional(z.string()),
  // snowflake_task_failed
  taskName: z.optional(z.string()),
  errorCode: z.optional(z.string()),
  queryId: z.optional(z.string()),
  scheduledTime: z.optional(z.string()),
});

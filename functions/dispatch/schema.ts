/**
 * The shapes dispatch accepts, as zod schemas: API Gateway HTTP API (payload 2.0) requests, the
 * vendors' webhook bodies, EventBridge Scheduler input and SNS records. Vendor schemas keep
 * unknown keys (vendors add fields) and require only what dispatch uses.
 */
import { SnsSchema } from "@aws-lambda-powertools/parser/schemas/sns";
import { z } from "zod";

/** Route keys of the webhook API (as declared by the deploying component). */
export const ROUTES = {
  fivetran: "POST /webhooks/fivetran",
  airbyte: "POST /webhooks/airbyte/{token}",
} as const;

/** An API Gateway HTTP API request, payload format 2.0 (header names arrive lower-cased). */
export const HttpApiEventSchema = z
  .object({
    version: z.literal("2.0"),
    routeKey: z.string(),
    rawPath: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional(),
    isBase64Encoded: z.boolean().default(false),
    pathParameters: z.record(z.string(), z.string()).optional(),
    requestContext: z
      .object({
        requestId: z.string(),
        http: z.object({ method: z.string(), sourceIp: z.string().optional() }).loose(),
      })
      .loose(),
  })
  .loose();
/** A parsed HTTP API request. */
export type HttpApiEvent = z.infer<typeof HttpApiEventSchema>;

/** What an HTTP API Lambda integration returns. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Every Fivetran webhook: only `event` is needed to decide what to do. */
export const FivetranEnvelopeSchema = z
  .object({
    event: z.string({ message: "required: the Fivetran event name" }).min(1).max(100),
  })
  .loose();

/** A Fivetran `sync_end` (Fivetran webhooks docs, "Payload"): the fields a run needs; optional ones may also be `null`. */
export const FivetranSyncEndSchema = z
  .object({
    event: z.literal("sync_end"),
    created: z.string().max(64).nullish(),
    connector_type: z.string().max(256).nullish(),
    connector_id: z.string({ message: "expected the connector id (a string)" }).min(1).max(256).nullish(),
    /** Not seen in payloads yet; accepted in case Fivetran's connector → connection rename reaches webhooks. */
    connection_id: z.string({ message: "expected the connection id (a string)" }).min(1).max(256).nullish(),
    connector_name: z.string().max(1000).nullish(),
    sync_id: z.string({ message: "required: the sync's id" }).min(1).max(128),
    data: z
      .object(
        {
          status: z.string({ message: "required: the sync's status" }).min(1).max(100),
          reason: z.string().nullish(),
        },
        { message: "required: an object with the sync's status" },
      )
      .loose(),
  })
  .loose()
  .superRefine(
    (p, ctx) => {
      if (p.connector_id == null && p.connection_id == null) {
        ctx.addIssue({
          code: "custom",
          path: ["connector_id"],
          message: "required: the connector id (connector_id or connection_id)",
        });
      } else if (
        typeof p.connector_id === "string" &&
        typeof p.connection_id === "string" &&
        p.connector_id !== p.connection_id
      ) {
        ctx.addIssue({ code: "custom", path: ["connection_id"], message: "differs from connector_id; send one id" });
      }
      // Run even when other fields failed, so a 400 lists every problem at once.
    },
    { when: (payload) => payload.value !== null && typeof payload.value === "object" && !Array.isArray(payload.value) },
  );
/** A parsed `sync_end`. */
export type FivetranSyncEnd = z.infer<typeof FivetranSyncEndSchema>;

const JOB_ID = "required: the job id (a non-negative integer)";
// Airbyte serialises its notification with a plain Jackson ObjectMapper (airbytehq/airbyte-platform,
// airbyte-notification/.../slack/Notification.kt), whose default inclusion writes null properties:
// every optional field below arrives as `null` when unset (`errorMessage`, `errorType`,
// `errorOrigin` on a success; `WorkspaceInfo` name and url are nullable in messages/WorkspaceInfo.kt).
const nullableText = z.string().nullish();
const airbyteRef = z.object({ id: z.string().max(256).nullish(), name: nullableText, url: nullableText }).loose();

/** Airbyte's sync notification `data`: `SyncSummary` (airbyte-notification/.../messages/SyncSummary.kt) as Jackson writes it. */
export const AirbyteSyncDataSchema = z
  .object({
    workspace: airbyteRef.nullish(),
    connection: z
      .object(
        {
          id: z.string({ message: "required: the connection id" }).min(1).max(256),
          name: nullableText,
          url: nullableText,
        },
        { message: "required: an object with the connection id" },
      )
      .loose(),
    source: airbyteRef.nullish(),
    destination: airbyteRef.nullish(),
    jobId: z.union(
      [
        z.number({ message: JOB_ID }).int({ message: JOB_ID }).nonnegative({ message: JOB_ID }),
        z.string({ message: JOB_ID }).regex(/^\d{1,20}$/, { message: JOB_ID }),
      ],
      { message: JOB_ID },
    ),
    startedAt: nullableText,
    finishedAt: nullableText,
    success: z.boolean({ message: "required: true or false" }),
    errorMessage: nullableText,
    errorType: nullableText,
    errorOrigin: nullableText,
  })
  .loose();

/** An Airbyte webhook: Slack `text`/`blocks` and, for sync notifications, `data`. */
export const AirbyteWebhookSchema = z
  .object({
    text: nullableText,
    blocks: z.array(z.unknown()).nullish(),
    data: AirbyteSyncDataSchema.nullish(),
  })
  .loose();
/** A parsed Airbyte webhook. */
export type AirbyteWebhook = z.infer<typeof AirbyteWebhookSchema>;

/** The schedules dispatch knows. */
export const SCHEDULES = ["hourly", "full-refresh"] as const;

/** EventBridge Scheduler's input (`scheduledTime` is `<aws.scheduler.scheduled-time>`, filled in by Scheduler). */
export const ScheduleEventSchema = z
  .object({
    kind: z.literal("schedule"),
    schedule: z.enum(SCHEDULES),
    scheduledTime: z
      .string()
      .datetime({ offset: true, message: "expected an ISO 8601 time (<aws.scheduler.scheduled-time>)" }),
  })
  .strict();
/** A parsed schedule invocation. */
export type ScheduleEvent = z.infer<typeof ScheduleEventSchema>;

/** A dbt image tag or digest, as `dbt.imageTag` accepts it. */
export const IMAGE_TAG_RE = /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$/;

/**
 * The deploy's invocation (the `aws.lambda.Invocation` the stack declares when `dbt.buildOnImageChange`
 * is on): a new image tag was deployed, build what it changed.
 */
export const DeployEventSchema = z
  .object({
    kind: z.literal("deploy"),
    imageTag: z
      .string({ message: "required: the deployed image tag" })
      .regex(IMAGE_TAG_RE, { message: "expected an image tag or a sha256:<64 hex> digest" }),
  })
  .strict();
/** A parsed deploy invocation. */
export type DeployEvent = z.infer<typeof DeployEventSchema>;

/** An SNS → Lambda event: Powertools' `SnsSchema` (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html). */
export const SnsEventSchema = SnsSchema;
/** A parsed SNS event. */
export type SnsEvent = z.infer<typeof SnsEventSchema>;

/**
 * The shapes dispatch accepts, as zod schemas: API Gateway HTTP API (payload 2.0) requests, the
 * vendors' webhook bodies, EventBridge Scheduler input and SNS records. Vendor schemas keep
 * unknown keys (vendors add fields) and require only what dispatch uses.
 */
import * as z from "zod/mini";

/** Route keys of the webhook API (as declared by the deploying component). */
export const ROUTES = {
  fivetran: "POST /webhooks/fivetran",
  airbyte: "POST /webhooks/airbyte/{token}",
} as const;

/** An API Gateway HTTP API request, payload format 2.0 (header names arrive lower-cased). */
export const HttpApiEventSchema = z.looseObject({
  version: z.literal("2.0"),
  routeKey: z.string(),
  rawPath: z.optional(z.string()),
  headers: z._default(z.record(z.string(), z.string()), {}),
  body: z.optional(z.string()),
  isBase64Encoded: z._default(z.boolean(), false),
  pathParameters: z.optional(z.record(z.string(), z.string())),
  requestContext: z.looseObject({
    requestId: z.string(),
    http: z.looseObject({ method: z.string(), sourceIp: z.optional(z.string()) }),
  }),
});
/** A parsed HTTP API request. */
export type HttpApiEvent = z.infer<typeof HttpApiEventSchema>;

/** What an HTTP API Lambda integration returns. */
export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Every Fivetran webhook: only `event` is needed to decide what to do. */
export const FivetranEnvelopeSchema = z.looseObject({
  event: z.string({ message: "required: the Fivetran event name" }).check(z.minLength(1), z.maxLength(100)),
});

/** A Fivetran `sync_end` (Fivetran webhooks docs, "Payload"): the fields a run needs; optional ones may also be `null`. */
export const FivetranSyncEndSchema = z
  .looseObject({
    event: z.literal("sync_end"),
    created: z.nullish(z.string().check(z.maxLength(64))),
    connector_type: z.nullish(z.string().check(z.maxLength(256))),
    connector_id: z.nullish(
      z.string({ message: "expected the connector id (a string)" }).check(z.minLength(1), z.maxLength(256)),
    ),
    /** Not seen in payloads yet; accepted in case Fivetran's connector → connection rename reaches webhooks. */
    connection_id: z.nullish(
      z.string({ message: "expected the connection id (a string)" }).check(z.minLength(1), z.maxLength(256)),
    ),
    connector_name: z.nullish(z.string().check(z.maxLength(1000))),
    sync_id: z.string({ message: "required: the sync's id" }).check(z.minLength(1), z.maxLength(128)),
    data: z.looseObject(
      {
        status: z.string({ message: "required: the sync's status" }).check(z.minLength(1), z.maxLength(100)),
        reason: z.nullish(z.string()),
      },
      { message: "required: an object with the sync's status" },
    ),
  })
  .check(
    z.superRefine(
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
      {
        when: (payload) => payload.value !== null && typeof payload.value === "object" && !Array.isArray(payload.value),
      },
    ),
  );
/** A parsed `sync_end`. */
export type FivetranSyncEnd = z.infer<typeof FivetranSyncEndSchema>;

const JOB_ID = "required: the job id (a non-negative integer)";
// Airbyte serialises its notification with a plain Jackson ObjectMapper (airbytehq/airbyte-platform,
// airbyte-notification/.../slack/Notification.kt), whose default inclusion writes null properties:
// every optional field below arrives as `null` when unset (`errorMessage`, `errorType`,
// `errorOrigin` on a success; `WorkspaceInfo` name and url are nullable in messages/WorkspaceInfo.kt).
const nullableText = z.nullish(z.string());
const airbyteRef = z.looseObject({
  id: z.nullish(z.string().check(z.maxLength(256))),
  name: nullableText,
  url: nullableText,
});

/** Airbyte's sync notification `data`: `SyncSummary` (airbyte-notification/.../messages/SyncSummary.kt) as Jackson writes it. */
export const AirbyteSyncDataSchema = z.looseObject({
  workspace: z.nullish(airbyteRef),
  connection: z.looseObject(
    {
      id: z.string({ message: "required: the connection id" }).check(z.minLength(1), z.maxLength(256)),
      name: nullableText,
      url: nullableText,
    },
    { message: "required: an object with the connection id" },
  ),
  source: z.nullish(airbyteRef),
  destination: z.nullish(airbyteRef),
  jobId: z.union(
    [
      z.number({ message: JOB_ID }).check(z.int({ message: JOB_ID }), z.gte(0, { message: JOB_ID })),
      z.string({ message: JOB_ID }).check(z.regex(/^\d{1,20}$/, { message: JOB_ID })),
    ],
    { message: JOB_ID },
  ),
  startedAt: nullableText,
  finishedAt: nullableText,
  success: z.boolean({ message: "required: true or false" }),
  errorMessage: nullableText,
  errorType: nullableText,
  errorOrigin: nullableText,
});

/** An Airbyte webhook: Slack `text`/`blocks` and, for sync notifications, `data`. */
export const AirbyteWebhookSchema = z.looseObject({
  text: nullableText,
  blocks: z.nullish(z.array(z.unknown())),
  data: z.nullish(AirbyteSyncDataSchema),
});
/** A parsed Airbyte webhook. */
export type AirbyteWebhook = z.infer<typeof AirbyteWebhookSchema>;

/** The schedules dispatch knows. */
export const SCHEDULES = ["hourly", "full-refresh"] as const;

/** EventBridge Scheduler's input (`scheduledTime` is `<aws.scheduler.scheduled-time>`, filled in by Scheduler). */
export const ScheduleEventSchema = z.strictObject({
  kind: z.literal("schedule"),
  schedule: z.enum(SCHEDULES),
  scheduledTime: z
    .string()
    .check(z.iso.datetime({ offset: true, message: "expected an ISO 8601 time (<aws.scheduler.scheduled-time>)" })),
});
/** A parsed schedule invocation. */
export type ScheduleEvent = z.infer<typeof ScheduleEventSchema>;

/** A dbt image tag or digest, as `dbt.imageTag` accepts it. */
export const IMAGE_TAG_RE = /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$/;

/**
 * The deploy's invocation (the `aws.lambda.Invocation` the stack declares when `dbt.buildOnImageChange`
 * is on): a new image tag was deployed, build what it changed.
 */
export const DeployEventSchema = z.strictObject({
  kind: z.literal("deploy"),
  imageTag: z
    .string({ message: "required: the deployed image tag" })
    .check(z.regex(IMAGE_TAG_RE, { message: "expected an image tag or a sha256:<64 hex> digest" })),
});
/** A parsed deploy invocation. */
export type DeployEvent = z.infer<typeof DeployEventSchema>;

export { SnsEventSchema, type SnsEvent } from "../lib/envelopes";

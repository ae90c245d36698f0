/**
 * The AWS event envelopes the handlers read, copied field for field from the Powertools parser
 * 2.35.0 (@aws-lambda-powertools/parser lib/esm/schemas/eventbridge.js `EventBridgeSchema`, and
 * sns.js `SnsMsgAttribute`, `SnsNotificationSchema`, `SnsRecordSchema`, `SnsSchema`) onto
 * zod/mini. The parser builds them on classic zod; importing them would put all of classic zod
 * back into the bundles (~105 KB each) and the building of its schemas into every cold start
 * (docs/speed-and-cost.md). test/functions/envelopes.spec.ts parses the same inputs with the
 * Powertools schemas and these, so an upgrade that changes Powertools' checks shows up there.
 * `SnsSqsNotificationSchema` (SNS delivered through SQS) is left out: the handlers are subscribed to
 * SNS directly.
 */
import * as z from "zod/mini";

/** Powertools' `EventBridgeSchema`: every field EventBridge always sends; `detail` is the caller's. */
export const EventBridgeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  "detail-type": z.string(),
  detail: z.unknown(),
  "replay-name": z.optional(z.string()),
});

/** Powertools' `SnsMsgAttribute`. */
const SnsMsgAttribute = z.object({ Type: z.string(), Value: z.string() });

/** Powertools' `SnsNotificationSchema`: the `Sns` object of a record. */
const SnsNotificationSchema = z.object({
  Subject: z.nullish(z.string()),
  TopicArn: z.string(),
  UnsubscribeUrl: z.url(),
  UnsubscribeURL: z.optional(z.url()),
  SigningCertUrl: z.optional(z.url()),
  SigningCertURL: z.optional(z.url()),
  Type: z.literal("Notification"),
  MessageAttributes: z.optional(z.record(z.string(), SnsMsgAttribute)),
  Message: z.string(),
  MessageId: z.string(),
  Signature: z.optional(z.string()),
  SignatureVersion: z.optional(z.string()),
  Timestamp: z.iso.datetime(),
});

/** Powertools' `SnsRecordSchema`: one record of an SNS event. */
export const SnsRecordSchema = z.object({
  EventSource: z.literal("aws:sns"),
  EventVersion: z.string(),
  EventSubscriptionArn: z.string(),
  Sns: SnsNotificationSchema,
});

/**
 * Powertools' `SnsSchema`, an SNS → Lambda event (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html):
 * at least one record (classic zod's array `.nonempty()` is a `minLength(1)` check, zod/v4/classic/schemas.js).
 */
export const SnsEventSchema = z.object({ Records: z.array(SnsRecordSchema).check(z.minLength(1)) });
/** A parsed SNS event. */
export type SnsEvent = z.infer<typeof SnsEventSchema>;
/** One parsed SNS record. */
export type SnsRecord = z.infer<typeof SnsRecordSchema>;

/**
 * The webhook routes. Every request goes through the same gate, in this order: JSON content
 * type (415), size (413), authentication (401: Fivetran HMAC of the raw body, Airbyte URL token),
 * JSON (400), fields (400), connector mapping (202, or 422 with UNKNOWN_CONNECTOR=reject).
 * Nothing is parsed, logged or queued from a request before it is authenticated, and the answer
 * to a failed check never says which part was wrong.
 */
// $ZodError by name from zod's core: through `z.core`, esbuild would keep the whole core namespace (~66 KB).
import { $ZodError } from "zod/v4/core";
import * as z from "zod/mini";
import { constantTimeEqual, verifyHmacSha256Hex } from "../lib/crypto";
import { DownstreamError, causeMessage, errorMessage, truncate } from "../lib/errors";
import { RunContractError } from "../lib/run-contract";
import type { Source } from "../lib/sources";
import {
  BadRequestError,
  ConflictError,
  HttpError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnmappedConnectorError,
  UnsupportedMediaTypeError,
} from "./errors";
import {
  DeliveryInProgressError,
  DispatchDeps,
  Outcome,
  PartialEnqueueError,
  enqueueSourceRuns,
  once,
  publishAlert,
} from "./runs";
import {
  AirbyteWebhookSchema,
  FivetranEnvelopeSchema,
  FivetranSyncEndSchema,
  HttpApiEvent,
  HttpResponse,
  ROUTES,
} from "./schema";
import { airbyteVerdict, fivetranVerdict } from "./vendors";

/** Largest body accepted (bytes, after base64 decoding): webhook payloads are a few KiB. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Fivetran's signature header (HTTP API v2 lower-cases header names). */
export const FIVETRAN_SIGNATURE_HEADER = "x-fivetran-signature-256";

/** Fixed texts of the answers that must not vary with the input. */
export const MESSAGES = {
  signature:
    "signature does not match; check that the secret of the Fivetran webhook equals dbt-pipeline:fivetran.webhookSecret",
  token: "token not accepted; check the webhook URL configured in Airbyte (dbt-pipeline:airbyte.webhookToken)",
  contentType: "unsupported content type; send the webhook body as JSON with Content-Type: application/json",
  tooLarge: `body is larger than ${MAX_BODY_BYTES} bytes; webhook payloads are small JSON documents`,
  notJson: "body is not valid JSON",
  testEvent: "test event acknowledged",
} as const;

/** A successful answer: status and JSON body. */
interface Answer {
  readonly statusCode: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Attributes every log line of a request carries: never the body, path, token or signature. */
type RequestLog = Readonly<Record<string, string | undefined>>;

/** A JSON response. */
export function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** Handles one webhook request; never throws. */
export async function handleHttp(event: HttpApiEvent, deps: DispatchDeps): Promise<HttpResponse> {
  const log: RequestLog = {
    requestId: event.requestContext.requestId,
    routeKey: event.routeKey,
    sourceIp: event.requestContext.http.sourceIp,
  };
  try {
    let answer: Answer;
    if (event.routeKey === ROUTES.fivetran) answer = await fivetran(event, deps, log);
    else if (event.routeKey === ROUTES.airbyte) answer = await airbyte(event, deps, log);
    else
      throw new NotFoundError(
        `no webhook at ${event.routeKey}; the routes are ${ROUTES.fivetran} and ${ROUTES.airbyte}`,
      );
    deps.logger.info("webhook answered", { ...log, statusCode: answer.statusCode, status: answer.body.status });
    return jsonResponse(answer.statusCode, answer.body);
  } catch (error) {
    return errorResponse(error, deps, log);
  }
}

function errorResponse(error: unknown, deps: DispatchDeps, log: RequestLog): HttpResponse {
  let http: HttpError;
  if (error instanceof HttpError) http = error;
  else if (error instanceof DeliveryInProgressError) http = new ConflictError(error.message, { cause: error });
  else if (error instanceof PartialEnqueueError) http = new ServiceUnavailableError(error.message, { cause: error });
  else if (error instanceof DownstreamError) {
    http = new ServiceUnavailableError(
      "nothing was queued: an AWS service dispatch depends on failed; retry the delivery later",
      { cause: error },
    );
  } else {
    http = new HttpError(
      500,
      `internal error; nothing was queued. Retry later; if it persists, look up request ${log.requestId} in the dispatch function's logs`,
    );
  }
  if (http.statusCode >= 500) {
    deps.logger.error("webhook failed", {
      ...log,
      statusCode: http.statusCode,
      error: errorMessage(error),
      cause: causeMessage(error),
    });
  } else {
    deps.metrics.addMetric("WebhooksRejected", "Count", 1);
    deps.logger.warn("webhook rejected", { ...log, statusCode: http.statusCode, reason: http.message });
  }
  return jsonResponse(http.statusCode, { error: http.message });
}

/** The value of header `name` (case-insensitive). */
function header(event: HttpApiEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** 415 unless the content type is `application/json` (parameters such as charset allowed). */
function requireJson(event: HttpApiEvent): void {
  const type = header(event, "content-type")?.split(";")[0].trim().toLowerCase();
  if (type !== "application/json") throw new UnsupportedMediaTypeError(MESSAGES.contentType);
}

/** The raw body bytes (base64 decoded when API Gateway encoded them); 413 when too large. */
function rawBody(event: HttpApiEvent): Buffer {
  const text = event.body ?? "";
  // Cheap bounds first: a string this long cannot decode to an acceptable body.
  if (text.length > (event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4 : MAX_BODY_BYTES))
    throw new PayloadTooLargeError(MESSAGES.tooLarge);
  const bytes = event.isBase64Encoded ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MESSAGES.tooLarge);
  return bytes;
}

/**
 * Throws {@link UnauthorizedError} with `message` unless `accepts` holds for the secret at `arn`.
 * A refused request reads the secret once more past the cache (at most once per secret every few
 * seconds, see `SecretCache`): after the vendor's secret is rotated, the first delivery signed with
 * the new value is accepted instead of waiting for the cached one to expire.
 */
async function authenticate(
  deps: DispatchDeps,
  arn: string | undefined,
  variable: string,
  message: string,
  log: RequestLog,
  accepts: (secret: string) => boolean,
): Promise<void> {
  if (!arn) {
    deps.logger.error(`${variable} is not set: every request on this route is rejected`, log);
    throw new UnauthorizedError(message);
  }
  const cached = await deps.secrets.get(arn);
  if (accepts(cached)) return;
  const fresh = await deps.secrets.get(arn, { fresh: true });
  if (fresh === cached || !accepts(fresh)) throw new UnauthorizedError(message);
  deps.logger.info("secret changed since it was cached; the new value authenticates the request", { ...log, variable });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new BadRequestError(MESSAGES.notJson);
  }
}

/** A 400 whose body lists every problem with the field it is at, as `z.prettifyError` words them. */
function invalid(what: string, error: $ZodError): BadRequestError {
  return new BadRequestError(`invalid ${what}:\n${z.prettifyError(error)}`);
}

/**
 * 202 and a log line (UNKNOWN_CONNECTOR=ignore, the default), or 422 (reject). A Fivetran webhook
 * covers a whole account or group, including Fivetran's own platform connector, and Fivetran
 * retries any non-2xx answer for 24 hours and then disables the webhook for every connector
 * (fivetran.com/docs/rest-api/getting-started/webhooks, "Retries").
 */
function unmapped(deps: DispatchDeps, what: string, field: string, log: RequestLog): Answer {
  deps.metrics.addMetric("UnmappedDeliveries", "Count", 1);
  const text = `${what} is not mapped to any source; add it to dbt-pipeline:sources.<source>.${field} in the stack config and deploy`;
  if (deps.settings.unknownConnector === "reject") throw new UnmappedConnectorError(text);
  deps.logger.info("delivery from an unmapped connector ignored", { ...log, reason: text });
  return { statusCode: 202, body: { status: "ignored", message: `${text} (ignored: UNKNOWN_CONNECTOR=ignore)` } };
}

function outcomeAnswer(outcome: Outcome): Answer {
  return {
    statusCode: 202,
    body: {
      status: outcome.status,
      message: outcome.message,
      delivery: outcome.delivery,
      source: outcome.source,
      duplicate: outcome.duplicate,
    },
  };
}

/** Queues a run for `source`; turns a contract violation (bad config) into a 500 with its text logged. */
async function queueRun(
  deps: DispatchDeps,
  delivery: string,
  source: Source,
  kind: "fivetran" | "airbyte",
  id: string,
  message: string,
): Promise<Outcome> {
  return once(deps, delivery, async () => {
    const trigger = { kind, id, source: source.name, receivedAt: deps.now().toISOString() };
    try {
      const messageId = await enqueueSourceRuns(deps, delivery, source, trigger);
      return { status: "queued", delivery, message, source: source.name, messageId };
    } catch (error) {
      if (error instanceof RunContractError)
        throw new Error(`source ${source.name} builds an invalid run request: ${error.message}`, { cause: error });
      throw error;
    }
  });
}

async function fivetran(event: HttpApiEvent, deps: DispatchDeps, log: RequestLog): Promise<Answer> {
  requireJson(event);
  const body = rawBody(event);
  const signature = header(event, FIVETRAN_SIGNATURE_HEADER);
  await authenticate(deps, deps.settings.fivetranSecretArn, "FIVETRAN_SECRET_ARN", MESSAGES.signature, log, (secret) =>
    verifyHmacSha256Hex(secret, body, signature),
  );
  const json = parseJson(body);
  const envelope = FivetranEnvelopeSchema.safeParse(json);
  if (!envelope.success) throw invalid("Fivetran webhook", envelope.error);
  const name = envelope.data.event;
  if (name === "test_event") return { statusCode: 200, body: { status: "ok", message: MESSAGES.testEvent } };
  if (name !== "sync_end")
    return {
      statusCode: 202,
      body: { status: "ignored", message: `Fivetran event ${name} does not start a dbt run; ignored` },
    };

  const parsed = FivetranSyncEndSchema.safeParse(json);
  if (!parsed.success) throw invalid("Fivetran sync_end", parsed.error);
  const sync = parsed.data;
  const connector = (sync.connector_id ?? sync.connection_id) as string;
  const source = deps.sources.byFivetranConnector(connector);
  if (!source) return unmapped(deps, `Fivetran connector ${JSON.stringify(connector)}`, "fivetranConnectors", log);

  const status = sync.data.status;
  const verdict = fivetranVerdict(sync);
  if (verdict === "run") {
    const delivery = `fivetran:${sync.sync_id}`;
    return outcomeAnswer(
      await queueRun(
        deps,
        delivery,
        source,
        "fivetran",
        sync.sync_id,
        `queued a dbt run of source ${source.name} for Fivetran sync ${sync.sync_id}`,
      ),
    );
  }
  if (verdict === "not-finished") {
    const message = `Fivetran sync ${sync.sync_id} of source ${source.name} ended with status ${status}: not a failure and no new data; nothing queued or reported`;
    deps.logger.info("sync not finished", {
      ...log,
      vendor: "fivetran",
      source: source.name,
      connector,
      syncId: sync.sync_id,
      status,
    });
    return { statusCode: 202, body: { status: "ignored", message } };
  }
  // A failed sync shares its sync_id with a later successful retry: a key of its own keeps that retry from being dropped.
  const delivery = `fivetran:${sync.sync_id}:failed`;
  return outcomeAnswer(
    await once(deps, delivery, () =>
      reportSyncFailure(deps, log, {
        vendor: "fivetran",
        delivery,
        source,
        summary: `Fivetran sync ${sync.sync_id} of source ${source.name} ended with status ${status}`,
        subject: `Fivetran sync of ${source.name} failed (${status})`,
        details: {
          connector,
          connectorName: sync.connector_name ?? undefined,
          syncId: sync.sync_id,
          status,
          reason: clip(sync.data.reason),
          created: sync.created ?? undefined,
        },
      }),
    ),
  );
}

async function airbyte(event: HttpApiEvent, deps: DispatchDeps, log: RequestLog): Promise<Answer> {
  requireJson(event);
  const body = rawBody(event);
  const token = event.pathParameters?.token ?? "";
  await authenticate(
    deps,
    deps.settings.airbyteTokenSecretArn,
    "AIRBYTE_TOKEN_SECRET_ARN",
    MESSAGES.token,
    log,
    (expected) => constantTimeEqual(token, expected),
  );
  const json = parseJson(body);
  const parsed = AirbyteWebhookSchema.safeParse(json);
  if (!parsed.success) throw invalid("Airbyte webhook", parsed.error);
  const webhook = parsed.data;
  const data = webhook.data;
  if (data == null) {
    if (webhook.text == null && webhook.blocks == null)
      throw invalid(
        "Airbyte webhook",
        new $ZodError([
          { code: "custom", path: ["data"], message: "required: the sync notification's data", input: undefined },
        ]),
      );
    return {
      statusCode: 202,
      body: {
        status: "ignored",
        message: "Airbyte notification without sync data (connection update, warning or test message); ignored",
      },
    };
  }
  const connection = data.connection.id;
  const source = deps.sources.byAirbyteConnection(connection);
  if (!source) return unmapped(deps, `Airbyte connection ${JSON.stringify(connection)}`, "airbyteConnections", log);

  const jobId = String(data.jobId);
  const verdict = airbyteVerdict(webhook);
  if (verdict === "run") {
    return outcomeAnswer(
      await queueRun(
        deps,
        `airbyte:${jobId}`,
        source,
        "airbyte",
        jobId,
        `queued a dbt run of source ${source.name} for Airbyte job ${jobId}`,
      ),
    );
  }
  if (verdict === "not-finished") {
    deps.logger.info("sync not finished", { ...log, vendor: "airbyte", source: source.name, connection, jobId });
    return {
      statusCode: 202,
      body: {
        status: "ignored",
        message: `Airbyte job ${jobId} of source ${source.name} is queued, not finished; nothing queued or reported`,
      },
    };
  }
  const delivery = `airbyte:${jobId}:failed`;
  return outcomeAnswer(
    await once(deps, delivery, () =>
      reportSyncFailure(deps, log, {
        vendor: "airbyte",
        delivery,
        source,
        summary: `Airbyte job ${jobId} of source ${source.name} failed`,
        subject: `Airbyte sync of ${source.name} failed`,
        details: {
          connection,
          connectionName: data.connection.name ?? undefined,
          connectionUrl: data.connection.url ?? undefined,
          jobId,
          errorType: data.errorType ?? undefined,
          errorOrigin: data.errorOrigin ?? undefined,
          errorMessage: clip(data.errorMessage),
          startedAt: data.startedAt ?? undefined,
          finishedAt: data.finishedAt ?? undefined,
        },
      }),
    ),
  );
}

/** Vendor error text cut for logs and alerts; absent or `null` becomes undefined. */
function clip(text: string | null | undefined): string | undefined {
  return text == null ? undefined : truncate(text, 2000);
}

/** A failed sync, as {@link reportSyncFailure} reports it. */
interface SyncFailure {
  readonly vendor: "fivetran" | "airbyte";
  readonly delivery: string;
  readonly source: Source;
  readonly summary: string;
  readonly subject: string;
  readonly details: Readonly<Record<string, string | undefined>>;
}

/** Logs a failed sync, publishes it to the alert topic, and returns the outcome; queues nothing. */
async function reportSyncFailure(
  deps: DispatchDeps,
  log: RequestLog,
  f: SyncFailure,
): Promise<Omit<Outcome, "duplicate">> {
  deps.metrics.addMetric("SyncsFailed", "Count", 1);
  deps.logger.error("sync failed", {
    ...log,
    vendor: f.vendor,
    delivery: f.delivery,
    source: f.source.name,
    ...f.details,
  });
  await publishAlert(deps, {
    alert: "sync_failed",
    summary: f.summary,
    subject: f.subject,
    details: { vendor: f.vendor, source: f.source.name, ...f.details, delivery: f.delivery },
  });
  return {
    status: "recorded",
    delivery: f.delivery,
    source: f.source.name,
    message: `${f.summary}; recorded and reported, no dbt run queued`,
  };
}

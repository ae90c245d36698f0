/**
 * The webhook routes. Every request goes through the same gate, in this order: JSON content
 * type (415), size (413), authentication (401: Fivetran HMAC of the raw body, Airbyte URL token),
 * JSON (400), fields (400), connector mapping (422). Nothing is parsed, logged or queued from a
 * request before it is authenticated, and the answer to a failed check never says which part
 * was wrong.
 */
import { constantTimeEqual, verifyHmacSha256Hex } from "../lib/crypto";
import { DownstreamError, causeMessage, errorMessage, truncate } from "../lib/errors";
import { RunContractError } from "../lib/run-contract";
import type { Source } from "../lib/sources";
import {
  BadRequestError, ConflictError, HttpError, NotFoundError, PayloadTooLargeError, ServiceUnavailableError, UnauthorizedError,
  UnmappedConnectorError, UnsupportedMediaTypeError,
} from "./errors";
import { DeliveryInProgressError, DispatchDeps, Outcome, enqueueSourceRuns, once, publishAlert } from "./runs";
import {
  AirbyteWebhookSchema, FivetranEnvelopeSchema, FivetranSyncEndSchema, HttpApiEvent, HttpResponse, ROUTES, describeIssues,
} from "./schema";

/** Largest body accepted (bytes, after base64 decoding): webhook payloads are a few KiB. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Fivetran's signature header (HTTP API v2 lower-cases header names). */
export const FIVETRAN_SIGNATURE_HEADER = "x-fivetran-signature-256";

/** Fixed texts of the answers that must not vary with the input. */
export const MESSAGES = {
  signature: "signature does not match; check that the secret of the Fivetran webhook equals dbt-pipeline:fivetran.webhookSecret",
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
  const log: RequestLog = { requestId: event.requestContext.requestId, routeKey: event.routeKey, sourceIp: event.requestContext.http.sourceIp };
  try {
    let answer: Answer;
    if (event.routeKey === ROUTES.fivetran) answer = await fivetran(event, deps, log);
    else if (event.routeKey === ROUTES.airbyte) answer = await airbyte(event, deps, log);
    else throw new NotFoundError(`no webhook at ${event.routeKey}; the routes are ${ROUTES.fivetran} and ${ROUTES.airbyte}`);
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
  else if (error instanceof DownstreamError) {
    http = new ServiceUnavailableError("nothing was queued: an AWS service dispatch depends on failed; retry the delivery later", { cause: error });
  } else {
    http = new HttpError(500, `internal error; nothing was queued. Retry later; if it persists, look up request ${log.requestId} in the dispatch function's logs`);
  }
  if (http.statusCode >= 500) {
    deps.logger.error("webhook failed", { ...log, statusCode: http.statusCode, error: errorMessage(error), cause: causeMessage(error) });
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
  if (text.length > (event.isBase64Encoded ? Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4 : MAX_BODY_BYTES)) throw new PayloadTooLargeError(MESSAGES.tooLarge);
  const bytes = event.isBase64Encoded ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  if (bytes.length > MAX_BODY_BYTES) throw new PayloadTooLargeError(MESSAGES.tooLarge);
  return bytes;
}

/** The secret at `arn`, or undefined when the route has no secret configured (logged for operators). */
async function secretFor(deps: DispatchDeps, arn: string | undefined, variable: string, log: RequestLog): Promise<string | undefined> {
  if (!arn) {
    deps.logger.error(`${variable} is not set: every request on this route is rejected`, log);
    return undefined;
  }
  return deps.secrets.get(arn);
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new BadRequestError(MESSAGES.notJson);
  }
}

function invalid(what: string, issues: string[]): BadRequestError {
  return new BadRequestError(`invalid ${what}: ${issues.join("; ")}`, issues);
}

/** 422, or 202 when UNKNOWN_CONNECTOR=ignore. */
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
    body: { status: outcome.status, message: outcome.message, delivery: outcome.delivery, source: outcome.source, duplicate: outcome.duplicate },
  };
}

/** Queues a run for `source`; turns a contract violation (bad config) into a 500 with its text logged. */
async function queueRun(deps: DispatchDeps, delivery: string, source: Source, kind: "fivetran" | "airbyte", id: string, message: string): Promise<Outcome> {
  return once(deps, delivery, async () => {
    const trigger = { kind, id, source: source.name, receivedAt: deps.now().toISOString() };
    try {
      const messageId = await enqueueSourceRuns(deps, delivery, source, trigger);
      return { status: "queued", delivery, message, source: source.name, messageId };
    } catch (error) {
      if (error instanceof RunContractError) throw new Error(`source ${source.name} builds an invalid run request: ${error.message}`, { cause: error });
      throw error;
    }
  });
}

async function fivetran(event: HttpApiEvent, deps: DispatchDeps, log: RequestLog): Promise<Answer> {
  requireJson(event);
  const body = rawBody(event);
  const secret = await secretFor(deps, deps.settings.fivetranSecretArn, "FIVETRAN_SECRET_ARN", log);
  if (secret === undefined || !verifyHmacSha256Hex(secret, body, header(event, FIVETRAN_SIGNATURE_HEADER))) {
    throw new UnauthorizedError(MESSAGES.signature);
  }
  const json = parseJson(body);
  const envelope = FivetranEnvelopeSchema.safeParse(json);
  if (!envelope.success) throw invalid("Fivetran webhook", describeIssues(envelope.error));
  const name = envelope.data.event;
  if (name === "test_event") return { statusCode: 200, body: { status: "ok", message: MESSAGES.testEvent } };
  if (name !== "sync_end") return { statusCode: 202, body: { status: "ignored", message: `Fivetran event ${name} does not start a dbt run; ignored` } };

  const parsed = FivetranSyncEndSchema.safeParse(json);
  if (!parsed.success) throw invalid("Fivetran sync_end", describeIssues(parsed.error));
  const sync = parsed.data;
  const connector = (sync.connector_id ?? sync.connection_id) as string;
  const source = deps.sources.byFivetranConnector(connector);
  if (!source) return unmapped(deps, `Fivetran connector ${JSON.stringify(connector)}`, "fivetranConnectors", log);

  const status = sync.data.status;
  if (status === "SUCCESSFUL") {
    const delivery = `fivetran:${sync.sync_id}`;
    return outcomeAnswer(await queueRun(deps, delivery, source, "fivetran", sync.sync_id,
      `queued a dbt run of source ${source.name} for Fivetran sync ${sync.sync_id}`));
  }
  // A failed sync shares its sync_id with a later successful retry: a key of its own keeps that retry from being dropped.
  const delivery = `fivetran:${sync.sync_id}:failed`;
  return outcomeAnswer(await once(deps, delivery, async () => {
    const summary = `Fivetran sync ${sync.sync_id} of source ${source.name} ended with status ${status}`;
    deps.metrics.addMetric("SyncsFailed", "Count", 1);
    deps.logger.error("sync failed", { ...log, vendor: "fivetran", delivery, source: source.name, connector, syncId: sync.sync_id, status, reason: sync.data.reason });
    await publishAlert(deps, {
      alert: "sync_failed",
      summary,
      subject: `Fivetran sync of ${source.name} failed (${status})`,
      details: {
        vendor: "fivetran", source: source.name, connector, connectorName: sync.connector_name, syncId: sync.sync_id, status,
        reason: sync.data.reason === undefined ? undefined : truncate(sync.data.reason, 2000), created: sync.created, delivery,
      },
    });
    return { status: "recorded", delivery, source: source.name, message: `${summary}; recorded and reported, no dbt run queued` };
  }));
}

async function airbyte(event: HttpApiEvent, deps: DispatchDeps, log: RequestLog): Promise<Answer> {
  requireJson(event);
  const body = rawBody(event);
  const expected = await secretFor(deps, deps.settings.airbyteTokenSecretArn, "AIRBYTE_TOKEN_SECRET_ARN", log);
  if (expected === undefined || !constantTimeEqual(event.pathParameters?.token ?? "", expected)) throw new UnauthorizedError(MESSAGES.token);
  const json = parseJson(body);
  const parsed = AirbyteWebhookSchema.safeParse(json);
  if (!parsed.success) throw invalid("Airbyte webhook", describeIssues(parsed.error));
  const { data, text, blocks } = parsed.data;
  if (data === undefined) {
    if (text === undefined && blocks === undefined) throw invalid("Airbyte webhook", ["data: required: the sync notification's data"]);
    return { statusCode: 202, body: { status: "ignored", message: "Airbyte notification without sync data (connection update, warning or test message); ignored" } };
  }
  const connection = data.connection.id;
  const source = deps.sources.byAirbyteConnection(connection);
  if (!source) return unmapped(deps, `Airbyte connection ${JSON.stringify(connection)}`, "airbyteConnections", log);

  const jobId = String(data.jobId);
  if (data.success) {
    return outcomeAnswer(await queueRun(deps, `airbyte:${jobId}`, source, "airbyte", jobId,
      `queued a dbt run of source ${source.name} for Airbyte job ${jobId}`));
  }
  const delivery = `airbyte:${jobId}:failed`;
  return outcomeAnswer(await once(deps, delivery, async () => {
    const summary = `Airbyte job ${jobId} of source ${source.name} failed`;
    deps.metrics.addMetric("SyncsFailed", "Count", 1);
    deps.logger.error("sync failed", {
      ...log, vendor: "airbyte", delivery, source: source.name, connection, jobId, errorType: data.errorType, errorOrigin: data.errorOrigin,
      errorMessage: data.errorMessage === undefined ? undefined : truncate(data.errorMessage, 2000),
    });
    await publishAlert(deps, {
      alert: "sync_failed",
      summary,
      subject: `Airbyte sync of ${source.name} failed`,
      details: {
        vendor: "airbyte", source: source.name, connection, connectionName: data.connection.name, connectionUrl: data.connection.url, jobId,
        errorType: data.errorType, errorOrigin: data.errorOrigin,
        errorMessage: data.errorMessage === undefined ? undefined : truncate(data.errorMessage, 2000),
        startedAt: data.startedAt, finishedAt: data.finishedAt, delivery,
      },
    });
    return { status: "recorded", delivery, source: source.name, message: `${summary}; recorded and reported, no dbt run queued` };
  }));
}

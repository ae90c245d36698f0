/**
 * Dispatch's pure core: one entry point for the four event shapes, recognised by shape and
 * validated with zod. No AWS client is built here; the handler passes them in {@link DispatchDeps}.
 */
import * as z from "zod/mini";
import { InvalidEventError } from "./errors";
import { DispatchDeps, Outcome } from "./runs";
import { handleDeploy } from "./deploy";
import { DeployEventSchema, HttpApiEventSchema, HttpResponse, ScheduleEventSchema, SnsEventSchema } from "./schema";
import { SnsSummary, handleSns } from "./snowflake";
import { handleSchedule } from "./schedule";
import { handleHttp, jsonResponse } from "./webhooks";

export type { DispatchDeps, Outcome } from "./runs";
export type { SnsSummary } from "./snowflake";

/** What dispatch returns: an HTTP response to API Gateway, or a summary for asynchronous invocations. */
export type DispatchResult = HttpResponse | Outcome | SnsSummary;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Which of the three shapes `event` has, or undefined. */
function eventShape(event: unknown): "http" | "schedule" | "deploy" | "sns" | undefined {
  if (!isObject(event)) return undefined;
  if (event.version === "2.0" && isObject(event.requestContext) && typeof event.routeKey === "string") return "http";
  if (event.kind === "schedule") return "schedule";
  if (event.kind === "deploy") return "deploy";
  if (Array.isArray(event.Records) && isObject(event.Records[0]) && event.Records[0].EventSource === "aws:sns")
    return "sns";
  return undefined;
}

/**
 * Handles an API Gateway HTTP API v2 request (never throws; every failure is an HTTP answer), an
 * EventBridge Scheduler input, the deploy's invocation or an SNS event (these throw on failure, so
 * the invoker retries or, for a deploy, the deployment fails).
 */
export async function dispatch(event: unknown, deps: DispatchDeps): Promise<DispatchResult> {
  switch (eventShape(event)) {
    case "http": {
      const parsed = HttpApiEventSchema.safeParse(event);
      if (!parsed.success) {
        deps.logger.error("malformed API Gateway event", { issues: z.prettifyError(parsed.error) });
        return jsonResponse(400, { error: "malformed request: expected an API Gateway HTTP API payload 2.0 event" });
      }
      return handleHttp(parsed.data, deps);
    }
    case "schedule": {
      const parsed = ScheduleEventSchema.safeParse(event);
      if (!parsed.success) {
        const issues = z.prettifyError(parsed.error);
        deps.logger.error("invalid schedule input", { issues });
        throw new InvalidEventError(
          `invalid schedule input; it must be {"kind":"schedule","schedule":"hourly"|"full-refresh","scheduledTime":"<aws.scheduler.scheduled-time>"}:\n${issues}`,
        );
      }
      return handleSchedule(parsed.data, deps);
    }
    case "deploy": {
      const parsed = DeployEventSchema.safeParse(event);
      if (!parsed.success) {
        const issues = z.prettifyError(parsed.error);
        deps.logger.error("invalid deploy input", { issues });
        throw new InvalidEventError(
          `invalid deploy input; it must be {"kind":"deploy","imageTag":"<dbt.imageTag>"}:\n${issues}`,
        );
      }
      return handleDeploy(parsed.data, deps);
    }
    case "sns": {
      const parsed = SnsEventSchema.safeParse(event);
      if (!parsed.success) {
        const issues = z.prettifyError(parsed.error);
        deps.logger.error("invalid SNS event", { issues });
        throw new InvalidEventError(`invalid SNS event:\n${issues}`);
      }
      return handleSns(parsed.data, deps);
    }
    default:
      deps.logger.error("unrecognised event", {
        keys: isObject(event) ? Object.keys(event).slice(0, 20) : typeof event,
      });
      throw new InvalidEventError(
        'dispatch handles API Gateway HTTP API (payload 2.0) requests, EventBridge Scheduler input {"kind":"schedule",...}, the deploy\'s {"kind":"deploy",...} and SNS events; check what invokes it',
      );
  }
}

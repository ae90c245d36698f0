/**
 * The numbers and small documents of the trigger path, as pure values and functions so the
 * component and its tests share one definition: queue timings, the redrive documents, the
 * schedules, the webhook routes and the access-log format.
 */

/**
 * Launch's timeout: the leading-edge window (at most 60 s, `triggers.burstWindowSeconds`) plus
 * RunTask with its backoff (1 + 2 + 4 + 8 s) and the DynamoDB calls around it.
 */
export const LAUNCH_TIMEOUT_SECONDS = 120;
/** Dispatch's timeout: it only validates, dedupes and enqueues; webhook senders want a fast answer. */
export const DISPATCH_TIMEOUT_SECONDS = 10;
/** Event source mapping of the runs queue. `maximumConcurrency` cannot be below 2. */
export const LAUNCH_EVENT_SOURCE = { batchSize: 10, maximumConcurrency: 2 } as const;

/** AWS's rule for queues feeding Lambda: visibility timeout at least six times the function timeout. */
export const RUNS_VISIBILITY_TIMEOUT_SECONDS = 6 * LAUNCH_TIMEOUT_SECONDS;
/** Runs wait at most 4 days (the SQS default) before they expire. */
export const RUNS_RETENTION_SECONDS = 4 * 24 * 3600;
/** Dead letters are kept 14 days, the SQS maximum, to leave time to inspect and redrive them. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;
/**
 * Receives of one run request before SQS moves it to the dead-letter queue. Launch moves every
 * request into its DynamoDB pending set and acknowledges it at once, so a message comes back
 * only when that write failed: 20 receives, one per visibility timeout, is four hours of
 * DynamoDB trouble. Poison messages never rely on this count: launch forwards them itself.
 */
export const RUNS_MAX_RECEIVE_COUNT = 20;

/** How often the sweep runs: renews leases of running tasks, recovers lost STOPPED events and expired leases. */
export const LAUNCH_SWEEP_SCHEDULE = "rate(5 minutes)";
/** What the sweep schedule sends launch. */
export const LAUNCH_SWEEP_INPUT = JSON.stringify({ kind: "sweep" });

/**
 * The EventBridge pattern of the stopped dbt tasks launch started (ECS Task State Change,
 * docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html): launch sets
 * `startedBy` to `dbt-pipeline/<run id>`, so other tasks of the cluster never invoke it.
 */
export function taskStoppedPattern(clusterArn: string): string {
  return JSON.stringify({
    source: ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    // RUNNING too: launch renews the run's lease and adopts a task whose launch died before recording it.
    detail: { clusterArn: [clusterArn], lastStatus: ["RUNNING", "STOPPED"], startedBy: [{ prefix: "dbt-pipeline/" }] },
  });
}

/** The `redrivePolicy` document of the runs queue. */
export function redrivePolicy<T>(deadLetterTargetArn: T): { deadLetterTargetArn: T; maxReceiveCount: number } {
  return { deadLetterTargetArn, maxReceiveCount: RUNS_MAX_RECEIVE_COUNT };
}

/** The `redriveAllowPolicy` document of a dead-letter queue: only `sourceQueueArns` may use it. */
export function redriveAllowPolicy<T>(sourceQueueArns: readonly T[]): {
  redrivePermission: "byQueue";
  sourceQueueArns: T[];
} {
  return { redrivePermission: "byQueue", sourceQueueArns: [...sourceQueueArns] };
}

/** The `redriveAllowPolicy` of a queue no queue may use as its dead-letter queue. */
export const DENY_ALL_REDRIVE = { redrivePermission: "denyAll" } as const;

/** Placeholder EventBridge Scheduler replaces with the schedule's time (ISO 8601, UTC). */
export const SCHEDULED_TIME = "<aws.scheduler.scheduled-time>";

/** The schedules dispatch knows. */
export type ScheduleKey = "hourly" | "full-refresh";

/** One EventBridge Scheduler schedule, as declared. */
export interface ScheduleSpec {
  readonly key: ScheduleKey;
  readonly description: string;
  readonly expression: string;
  readonly timezone: string;
  /** Disabled schedules stay declared, so switching one on is a one-field change, not a create. */
  readonly state: "ENABLED" | "DISABLED";
  /** The event dispatch receives (JSON). */
  readonly input: string;
}

/** The event a schedule sends to dispatch. */
export function scheduleInput(schedule: ScheduleKey): string {
  return JSON.stringify({ kind: "schedule", schedule, scheduledTime: SCHEDULED_TIME });
}

/** The two scheduled runs (`triggers.*`; defaults in config-keys.ts). */
export interface ScheduleSettings {
  /** Whether the hourly run is scheduled (`triggers.hourlyEnabled`). No default. */
  readonly hourlyEnabled: boolean;
  /** Scheduler expression of the hourly run (`triggers.hourlySchedule`). No default. */
  readonly hourlySchedule: string;
  /** Selection of the hourly run, space-separated tokens (`triggers.hourlySelect`). No default. */
  readonly hourlySelect: string;
  /** Whether the daily full refresh is scheduled (`triggers.fullRefreshEnabled`). No default. */
  readonly fullRefreshEnabled: boolean;
  /** Scheduler expression of the full refresh (`triggers.fullRefreshSchedule`). No default. */
  readonly fullRefreshSchedule: string;
  /** Selection of the full refresh; empty: every node (`triggers.fullRefreshSelect`). No default. */
  readonly fullRefreshSelect: string;
  /** Nodes the full refresh leaves out; empty: none (`triggers.fullRefreshExclude`). No default. */
  readonly fullRefreshExclude: string;
  /** IANA time zone of both schedules (`triggers.timezone`). No default. */
  readonly timezone: string;
}

/** The schedules, and how dispatch, launch and the webhook API behave (`triggers.*`). */
export interface TriggerSettings extends ScheduleSettings {
  /** Seconds an idle target waits for more triggers before its run starts (`triggers.burstWindowSeconds`). No default. */
  readonly burstWindowSeconds: number;
  /** Least seconds between the starts of two runs of a busy target (`triggers.minRunIntervalSeconds`). No default. */
  readonly minRunIntervalSeconds: number;
  /** Skip an hourly run when nothing loaded since the last good run (`triggers.hourlySkipWhenIdle`). No default. */
  readonly hourlySkipWhenIdle: boolean;
  /** What dispatch answers a webhook of a connector no source lists (`triggers.unknownConnector`). No default. */
  readonly unknownConnector: "reject" | "ignore";
  /** Steady requests per second the webhook API accepts (`triggers.rateLimit`). No default. */
  readonly rateLimit: number;
  /** Burst of requests the webhook API accepts (`triggers.burstLimit`). No default. */
  readonly burstLimit: number;
  /** Hours a delivery id is remembered (`triggers.dedupeHours`). No default. */
  readonly dedupeHours: number;
  /** RunTask attempts in one launch invocation (`triggers.maxLaunchAttempts`). No default. */
  readonly maxLaunchAttempts: number;
}

/** Both schedules, from `triggers.*` config. */
export function scheduleSpecs(t: ScheduleSettings): ScheduleSpec[] {
  const state = (on: boolean): ScheduleSpec["state"] => (on ? "ENABLED" : "DISABLED");
  return [
    {
      key: "hourly",
      description: `Hourly dbt run of ${t.hourlySelect} (triggers.hourlySchedule).`,
      expression: t.hourlySchedule,
      timezone: t.timezone,
      state: state(t.hourlyEnabled),
      input: scheduleInput("hourly"),
    },
    {
      key: "full-refresh",
      description: `Daily dbt full refresh of ${t.fullRefreshSelect || "every node"}${t.fullRefreshExclude ? ` except ${t.fullRefreshExclude}` : ""} (triggers.fullRefreshSchedule).`,
      expression: t.fullRefreshSchedule,
      timezone: t.timezone,
      state: state(t.fullRefreshEnabled),
      input: scheduleInput("full-refresh"),
    },
  ];
}

/**
 * Scheduler's retries when invoking dispatch fails (throttling, service errors): give up after an
 * hour, when the next hourly run is due anyway; what still fails goes to the dead-letter queue.
 */
export const SCHEDULE_RETRY_POLICY = { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 5 } as const;

/** The webhook vendors. */
export type WebhookKey = "fivetran" | "airbyte";

/** Route keys of the webhook API. Airbyte cannot sign, so its token is the last path segment. */
export const WEBHOOK_ROUTES: Readonly<Record<WebhookKey, string>> = {
  fivetran: "POST /webhooks/fivetran",
  airbyte: "POST /webhooks/airbyte/{token}",
};

/**
 * The `execute-api` ARN that may invoke dispatch through route `routeKey` on any stage:
 * `<executionArn>/*\/<METHOD>/<path>`, each `{parameter}` a `*`.
 */
export function routeSourceArn(executionArn: string, routeKey: string): string {
  const [method, path] = routeKey.split(" ");
  return `${executionArn}/*/${method}${path.replace(/\{[^}]+\}/g, "*")}`;
}

/**
 * The access-log line (JSON). It names the route by `$context.routeKey` (the template) and never
 * logs `$context.path`: the Airbyte token is part of the path.
 */
export function accessLogFormat(): string {
  return JSON.stringify({
    requestId: "$context.requestId",
    requestTime: "$context.requestTime",
    sourceIp: "$context.identity.sourceIp",
    userAgent: "$context.identity.userAgent",
    httpMethod: "$context.httpMethod",
    routeKey: "$context.routeKey",
    protocol: "$context.protocol",
    status: "$context.status",
    responseLength: "$context.responseLength",
    responseLatency: "$context.responseLatency",
    integrationStatus: "$context.integrationStatus",
    integrationLatency: "$context.integrationLatency",
    integrationError: "$context.integrationErrorMessage",
    error: "$context.error.message",
  });
}

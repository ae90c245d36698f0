/**
 * The notify core: clients and settings come in, nothing is constructed here.
 *
 * ECS task STOPPED → (once per taskArn) read run_results.json, apply the paging rule, page Slack
 * and the alert topic when the rule says so, publish `dbt.run.completed`, record metrics.
 * Alert topic delivery → (once per SNS message id) a short Slack message; never back to SNS.
 */
import type { Context } from "aws-lambda";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import * as z from "zod/mini";
import { SecretSource } from "../lib/secrets";
import { RUN_COMPLETED, RUN_EVENT_SOURCE, RunCompletedDetail, RunCompletedDetailSchema } from "../lib/run-event";
import { SlackError, SlackMessage, SlackPoster, URL_REFUSED_STATUSES } from "../lib/slack";
import { NOTIFY_ORIGIN, ORIGIN_ATTRIBUTE, classifyAlert, isOwnMessage } from "./alerts";
import { RunReport, alertSlackMessage, runSlackMessage, runSnsText } from "./messages";
import {
  ResultSummary,
  artifactsOf,
  dbtLogStream,
  logsConsoleUrl,
  runCompletedDetail,
  runFacts,
  runResultsKey,
  summarizeResults,
} from "./run";
import {
  RunResultsSchema,
  SnsEventSchema,
  SnsRecord,
  TaskStateChangeEvent,
  TaskStateChangeEventSchema,
} from "./schema";
import { RunStateStore, applyRun, failureSignature } from "./state";

/** Settings read from the environment at init. */
export interface NotifySettings {
  readonly environment: string;
  readonly artifactBucket: string;
  readonly eventBusName: string;
  readonly alertTopicArn: string;
  /** Absent: Slack is not configured; pages go to SNS only. */
  readonly slackSecretArn?: string;
  readonly logGroupName: string;
  readonly logStreamPrefix: string;
}

/** Sends a Slack message; resolves false when Slack is not configured. */
export type SlackSender = (message: SlackMessage) => Promise<boolean>;

/** Everything the core needs. */
export interface NotifyDeps {
  readonly settings: NotifySettings;
  readonly s3: S3Client;
  readonly sns: SNSClient;
  readonly events: EventBridgeClient;
  readonly slack: SlackSender;
  readonly state: RunStateStore;
  /**
   * A new Powertools persistence layer on the notify table, called once per idempotent operation.
   * A layer takes its settings (key path, expiry) from the first operation that uses it and
   * ignores every later one (`BasePersistenceLayer.configure` in @aws-lambda-powertools/idempotency
   * 2.35.0 returns early once `configured`), so two operations sharing one layer would key the
   * second kind of event with the first kind's path for the rest of a warm container's life.
   */
  readonly persistence: () => BasePersistenceLayer;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** How long a processed task or SNS message is remembered: ECS and SNS redeliver within minutes. */
export const DEDUPE_SECONDS = 2 * 24 * 3600;

/** The input is neither an ECS task state change nor an SNS delivery. */
export class UnsupportedEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsupportedEventError";
  }
}

/** EventBridge refused the run event. */
export class PutEventsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PutEventsError";
  }
}

/** What one run did. */
export interface RunOutcomeSummary {
  readonly kind: "run";
  readonly taskArn: string;
  readonly runId: string | null;
  readonly status: RunCompletedDetail["status"];
  readonly paged: "failure" | "recovery" | null;
  readonly reason: string;
}

/** What one SNS delivery did. */
export interface AlertsSummary {
  readonly kind: "alerts";
  readonly forwarded: number;
  readonly skipped: number;
}

/** Ignored input (not a STOPPED task). */
export interface IgnoredSummary {
  readonly kind: "ignored";
  readonly reason: string;
}

/** Result of {@link Notifier.handle}. */
export type NotifyResult = RunOutcomeSummary | AlertsSummary | IgnoredSummary;

/** The notify core bound to its dependencies. */
export interface Notifier {
  /** `context` (the Lambda context) lets idempotency expire an in-progress record when the invocation times out. */
  handle(event: unknown, context?: Context): Promise<NotifyResult>;
}

/**
 * A {@link SlackSender} that reads the webhook URL from Secrets Manager (cached by `secrets` for a
 * bounded time). When Slack refuses the URL itself, the secret is read once more past the cache
 * and the message is posted to the new URL if the secret was rotated.
 */
export function secretSlackSender(
  secrets: SecretSource,
  secretArn: string | undefined,
  post: SlackPoster,
): SlackSender {
  return async (message) => {
    if (!secretArn) return false;
    const url = (await secrets.get(secretArn)).trim();
    try {
      await post(url, message);
    } catch (err) {
      if (!(err instanceof SlackError && err.status !== undefined && URL_REFUSED_STATUSES.includes(err.status)))
        throw err;
      const fresh = (await secrets.get(secretArn, { fresh: true })).trim();
      if (fresh === url) throw err;
      await post(fresh, message);
    }
    return true;
  };
}

const isNotFound = (err: unknown) => {
  const name = (err as { name?: string }).name;
  // Without s3:ListBucket, S3 answers 403 AccessDenied for a missing key.
  return name === "NoSuchKey" || name === "NotFound" || name === "AccessDenied";
};

/** Builds the notifier. */
export function createNotifier(deps: NotifyDeps): Notifier {
  const { settings, logger, metrics } = deps;

  /**
   * The run's results, or null when they cannot be read. A missing or corrupt file must not
   * stop the page: the report says the results were unavailable and links the logs.
   */
  async function readResults(runId: string): Promise<ResultSummary | null> {
    const key = runResultsKey(settings.environment, runId);
    const uri = `s3://${settings.artifactBucket}/${key}`;
    let text: string;
    try {
      const out = await deps.s3.send(new GetObjectCommand({ Bucket: settings.artifactBucket, Key: key }));
      text = (await out.Body?.transformToString()) ?? "";
    } catch (err) {
      if (!isNotFound(err)) throw err;
      logger.warn("run_results.json not readable; reporting without node results", { uri, error: (err as Error).name });
      return null;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      logger.error("run_results.json is not JSON; reporting without node results", {
        uri,
        error: (err as Error).message,
      });
      return null;
    }
    const parsed = RunResultsSchema.safeParse(json);
    if (!parsed.success) {
      logger.error("run_results.json is not dbt's format; reporting without node results", {
        uri,
        issues: parsed.error.issues.slice(0, 5),
      });
      return null;
    }
    return summarizeResults(parsed.data);
  }

  async function page(report: RunReport): Promise<void> {
    const sent = await deps.slack(runSlackMessage(report));
    const text = runSnsText(report);
    await deps.sns.send(
      new PublishCommand({
        TopicArn: settings.alertTopicArn,
        Subject: text.subject,
        Message: text.message,
        MessageAttributes: { [ORIGIN_ATTRIBUTE]: { DataType: "String", StringValue: NOTIFY_ORIGIN } },
      }),
    );
    logger.info("paged", { page: report.page, slack: sent, taskArn: report.facts.taskArn });
  }

  async function publishRunEvent(detail: RunCompletedDetail): Promise<void> {
    const out = await deps.events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: settings.eventBusName,
            Source: RUN_EVENT_SOURCE,
            DetailType: RUN_COMPLETED,
            Detail: JSON.stringify(RunCompletedDetailSchema.parse(detail)),
            Resources: [detail.taskArn],
          },
        ],
      }),
    );
    if (out.FailedEntryCount) {
      const entry = out.Entries?.find((e) => e.ErrorCode);
      throw new PutEventsError(
        `EventBridge refused the run event: ${entry?.ErrorCode ?? "unknown"} ${entry?.ErrorMessage ?? ""}`.trim(),
      );
    }
  }

  async function processRun(event: TaskStateChangeEvent): Promise<RunOutcomeSummary> {
    const facts = runFacts(event.detail, settings.environment, event.time);
    // The state is read while run_results.json downloads (one round trip less); a conflict re-reads it.
    const state = deps.state.get();
    state.catch(() => undefined); // awaited in applyRun; not unhandled if readResults throws first
    const results = facts.runId && facts.status !== "not_started" ? await readResults(facts.runId) : null;
    const signature = failureSignature(
      facts.status,
      facts.exitCode,
      facts.stopCode,
      results?.failures.map((f) => f.uniqueId) ?? [],
    );
    const decision = await applyRun(
      deps.state,
      { status: facts.status, signature, taskArn: facts.taskArn, runId: facts.runId, endedAt: facts.endedAt },
      state,
    );
    logger.info("run decided", {
      taskArn: facts.taskArn,
      runId: facts.runId,
      status: facts.status,
      page: decision.page,
      reason: decision.reason,
    });

    if (decision.page) {
      await page({
        facts,
        results,
        page: decision.page,
        consecutiveFailures: decision.consecutiveFailures,
        previousFailures: decision.previousFailures,
        logsUrl: logsConsoleUrl(
          event.region,
          settings.logGroupName,
          dbtLogStream(settings.logStreamPrefix, facts.taskId),
        ),
        runResultsUri:
          facts.runId && results
            ? artifactsOf(settings.artifactBucket, settings.environment, facts.runId).runResults
            : null,
      });
    }
    await publishRunEvent(runCompletedDetail(facts, results, settings.artifactBucket));

    // Recorded last, so a retried invocation after a failure above does not count twice.
    const ok = facts.status === "success";
    metrics.addMetric("RunSucceeded", MetricUnit.Count, ok ? 1 : 0);
    metrics.addMetric("RunFailed", MetricUnit.Count, ok ? 0 : 1);
    metrics.addMetric("ConsecutiveFailures", MetricUnit.Count, decision.consecutiveFailures);
    if (facts.status !== "not_started" && facts.durationSeconds !== null) {
      metrics.addMetric("RunDurationSeconds", MetricUnit.Seconds, facts.durationSeconds);
    }
    if (facts.triggerToStartSeconds !== null)
      metrics.addMetric("TriggerToStartSeconds", MetricUnit.Seconds, facts.triggerToStartSeconds);
    return {
      kind: "run",
      taskArn: facts.taskArn,
      runId: facts.runId,
      status: facts.status,
      paged: decision.page,
      reason: decision.reason,
    };
  }

  async function processAlert(record: SnsRecord): Promise<{ forwarded: boolean }> {
    const alert = classifyAlert(record);
    const sent = await deps.slack(alertSlackMessage(settings.environment, alert));
    logger.info("alert handled", { kind: alert.kind, messageId: record.Sns.MessageId, slack: sent });
    return { forwarded: sent };
  }

  const config = (path: string) =>
    new IdempotencyConfig({
      eventKeyJmesPath: path,
      expiresAfterSeconds: DEDUPE_SECONDS,
      throwOnNoIdempotencyKey: true,
    });
  const taskConfig = config("detail.taskArn");
  const alertConfig = config("Sns.MessageId");
  // One persistence layer per operation: see NotifyDeps.persistence.
  const runOnce = makeIdempotent(processRun, {
    persistenceStore: deps.persistence(),
    config: taskConfig,
    keyPrefix: "notify-task",
  });
  const alertOnce = makeIdempotent(processAlert, {
    persistenceStore: deps.persistence(),
    config: alertConfig,
    keyPrefix: "notify-sns",
  });

  return {
    async handle(event, context) {
      if (context) {
        taskConfig.registerLambdaContext(context);
        alertConfig.registerLambdaContext(context);
      }
      if (event && typeof event === "object" && "Records" in event) {
        const parsed = SnsEventSchema.safeParse(event);
        if (!parsed.success) throw new UnsupportedEventError(`not an SNS delivery:\n${z.prettifyError(parsed.error)}`);
        let forwarded = 0;
        let skipped = 0;
        for (const record of parsed.data.Records) {
          if (isOwnMessage(record)) {
            skipped++;
            continue;
          }
          if ((await alertOnce(record)).forwarded) forwarded++;
          else skipped++;
        }
        return { kind: "alerts", forwarded, skipped };
      }
      const parsed = TaskStateChangeEventSchema.safeParse(event);
      if (!parsed.success) {
        throw new UnsupportedEventError(
          `expected an ECS Task State Change event or an SNS delivery:\n${z.prettifyError(parsed.error)}`,
        );
      }
      if (parsed.data.detail.lastStatus !== "STOPPED")
        return { kind: "ignored", reason: `task is ${parsed.data.detail.lastStatus}, not STOPPED` };
      return runOnce(parsed.data);
    },
  };
}

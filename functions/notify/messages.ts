/**
 * The short messages notify sends: Slack (a `text` fallback plus a few blocks) and the plain
 * text published to the alert topic for on-call tools. Pure functions of the run facts or of
 * the alert that arrived through SNS.
 */
import { RunFailure } from "../lib/run-event";
import { truncate } from "../lib/errors";
import { SlackMessage, context, escapeMrkdwn, link, section } from "../lib/slack";
import { ResultSummary, RunFacts, Selection, formatDuration } from "./run";
import { PageKind } from "./state";

/** Failing nodes listed in one message at most. */
export const MAX_LISTED_FAILURES = 10;

/** Everything a run message shows. */
export interface RunReport {
  readonly facts: RunFacts;
  /** null when run_results.json could not be read. */
  readonly results: ResultSummary | null;
  readonly page: PageKind;
  readonly consecutiveFailures: number;
  /** Failing runs in a row before a recovery. */
  readonly previousFailures: number;
  readonly logsUrl: string;
  readonly runResultsUri: string | null;
}

/** A text for SNS: `subject` under 100 ASCII characters, `message` plain text. */
export interface SnsText {
  readonly subject: string;
  readonly message: string;
}

const label = (facts: RunFacts) => (facts.command ? `dbt ${facts.command}` : "dbt task");
const head = (facts: RunFacts) => `dbt-pipeline ${facts.environment}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `--select a b --exclude c`, or `whole project`. */
export function selectionText(s: Selection): string {
  const parts: string[] = [];
  if (s.select.length) parts.push(`--select ${s.select.join(" ")}`);
  if (s.exclude.length) parts.push(`--exclude ${s.exclude.join(" ")}`);
  if (s.selector) parts.push(`--selector ${s.selector}`);
  if (!s.select.length && !s.selector) parts.unshift("whole project");
  if (s.fullRefresh) parts.push("--full-refresh");
  return parts.join(" ");
}

/** The one-line title of a run report. */
export function runTitle(r: RunReport): string {
  const { facts } = r;
  if (r.page === "recovery")
    return `${head(facts)}: ${label(facts)} succeeded again after ${plural(r.previousFailures, "failed run")}`;
  if (facts.status === "not_started")
    return `${head(facts)}: ${label(facts)} did not start${facts.stopCode ? ` (${facts.stopCode})` : ""}`;
  const count = r.results ? `, ${plural(r.results.failures.length, "failing node")}` : "";
  return `${head(facts)}: ${label(facts)} failed (exit ${facts.exitCode})${count}`;
}

function factsLine(r: RunReport): string {
  const { facts } = r;
  const parts = [`\`${escapeMrkdwn(truncate(selectionText(facts.selection), 300))}\``];
  const took = formatDuration(facts.durationSeconds);
  if (took && facts.status !== "not_started") parts.push(took);
  if (r.results && facts.status !== "not_started") parts.push(plural(r.results.modelsBuilt, "model") + " built");
  return parts.join(" · ");
}

const failureLine = (f: RunFailure) =>
  `• \`${escapeMrkdwn(f.uniqueId)}\` ${f.status}${f.message ? `: ${escapeMrkdwn(truncate(f.message, 200))}` : ""}`;

function failuresText(r: RunReport): string {
  if (!r.results) return "run_results.json could not be read for this run; see the dbt logs.";
  const { failures } = r.results;
  if (!failures.length)
    return "run_results.json lists no failing node (dbt may have failed before running any); see the dbt logs.";
  const listed = failures.slice(0, MAX_LISTED_FAILURES).map(failureLine);
  if (failures.length > MAX_LISTED_FAILURES) listed.push(`…and ${failures.length - MAX_LISTED_FAILURES} more`);
  return `*Failing (${failures.length})*\n${listed.join("\n")}`;
}

function contextParts(r: RunReport): string[] {
  const { facts } = r;
  const parts = [facts.runId ? `run \`${escapeMrkdwn(facts.runId)}\`` : `task \`${escapeMrkdwn(facts.taskId)}\``];
  if (facts.sources?.length) parts.push(`sources: ${escapeMrkdwn(facts.sources.join(", "))}`);
  if (r.page === "failure" && r.consecutiveFailures > 1) parts.push(`${r.consecutiveFailures} failed runs in a row`);
  parts.push(link(r.logsUrl, "dbt logs"));
  if (facts.uploadExitCode !== null) parts.push(`:warning: artifact upload exited ${facts.uploadExitCode}`);
  return parts;
}

/** The Slack message of a run that pages (a failure, a run that did not start, a recovery). */
export function runSlackMessage(r: RunReport): SlackMessage {
  const { facts } = r;
  const title = escapeMrkdwn(runTitle(r));
  const blocks = [];
  if (r.page === "recovery") {
    blocks.push(section(`:large_green_circle: *${title}*\n${factsLine(r)}`));
  } else if (facts.status === "not_started") {
    blocks.push(
      section(`:warning: *${title}*\n${factsLine(r)}\n${escapeMrkdwn(facts.stopReason ?? "ECS gave no reason.")}`),
    );
  } else {
    blocks.push(section(`:red_circle: *${title}*\n${factsLine(r)}`));
    blocks.push(section(failuresText(r)));
  }
  blocks.push(context(contextParts(r).join(" · ")));
  return { text: runTitle(r), blocks };
}

/** SNS subjects: ASCII, no line breaks, "less than 100 characters" (SNS Publish). */
export function snsSubject(text: string): string {
  const ascii = text
    .replace(/\s+/g, " ")
    .replace(/[^\x20-\x7e]/g, "-")
    .trim();
  return truncate(ascii, 99);
}

/** The text published to the alert topic for a run that pages. */
export function runSnsText(r: RunReport): SnsText {
  const { facts } = r;
  const lines = [
    runTitle(r) +
      (facts.durationSeconds !== null && facts.status !== "not_started"
        ? ` after ${formatDuration(facts.durationSeconds)}`
        : "") +
      ".",
  ];
  lines.push(`Selection: ${selectionText(facts.selection)}`);
  if (facts.status === "not_started") lines.push(`Reason: ${facts.stopReason ?? "ECS gave no reason."}`);
  if (r.page === "failure" && facts.status === "failed") {
    if (!r.results) lines.push("run_results.json could not be read for this run.");
    else if (r.results.failures.length) {
      lines.push(`Failing nodes (${r.results.failures.length}):`);
      for (const f of r.results.failures.slice(0, MAX_LISTED_FAILURES))
        lines.push(`- ${f.uniqueId} (${f.status})${f.message ? `: ${truncate(f.message, 200)}` : ""}`);
      if (r.results.failures.length > MAX_LISTED_FAILURES)
        lines.push(`- ...and ${r.results.failures.length - MAX_LISTED_FAILURES} more`);
    }
  }
  lines.push(
    `Run: ${facts.runId ?? "unknown"} (task ${facts.taskId})${r.page === "failure" ? `, ${plural(r.consecutiveFailures, "failed run")} in a row` : ""}.`,
  );
  lines.push(`Logs: ${r.logsUrl}`);
  if (r.runResultsUri) lines.push(`Run results: ${r.runResultsUri}`);
  return { subject: snsSubject(runTitle(r)), message: lines.join("\n") };
}

/** An alert that arrived on the alert topic, classified. */
export type Alert =
  | {
      kind: "snowflake-task";
      taskName: string;
      errorCode?: string;
      errorMessage?: string;
      queryId?: string;
      scheduledTime?: string;
    }
  | { kind: "alarm"; name: string; state: "OK" | "ALARM" | "INSUFFICIENT_DATA"; reason?: string; description?: string }
  | { kind: "sync" | "dispatch"; summary: string; reason?: string; url?: string }
  | { kind: "other"; subject: string; body: string };

/** The Slack message for an alert from the topic (never re-published to SNS). */
export function alertSlackMessage(environment: string, alert: Alert): SlackMessage {
  const prefix = `dbt-pipeline ${environment}`;
  switch (alert.kind) {
    case "snowflake-task": {
      const text = `${prefix}: Snowflake task ${alert.taskName} failed`;
      const detail = [alert.errorCode, alert.errorMessage].filter((p) => p).join(" ");
      const ctx = [
        alert.queryId ? `query \`${escapeMrkdwn(alert.queryId)}\`` : "",
        alert.scheduledTime ? `scheduled ${escapeMrkdwn(alert.scheduledTime)}` : "",
      ].filter((p) => p);
      return {
        text,
        blocks: [
          section(
            `:snowflake: *${escapeMrkdwn(text)}*\n${escapeMrkdwn(truncate(detail || "Snowflake gave no error message.", 1000))}`,
          ),
          ...(ctx.length ? [context(ctx.join(" · "))] : []),
        ],
      };
    }
    case "alarm": {
      const text = `${prefix}: ${alert.state === "OK" ? "resolved" : alert.state} ${alert.name}`;
      const icon =
        alert.state === "OK" ? ":white_check_mark:" : alert.state === "ALARM" ? ":rotating_light:" : ":grey_question:";
      return {
        text,
        blocks: [
          section(
            `${icon} *${escapeMrkdwn(text)}*${alert.reason ? `\n${escapeMrkdwn(truncate(alert.reason, 1000))}` : ""}`,
          ),
          ...(alert.description ? [context(escapeMrkdwn(alert.description))] : []),
        ],
      };
    }
    case "sync":
    case "dispatch": {
      const text = `${prefix}: ${alert.summary}`;
      const after = alert.kind === "sync" ? "\nNo dbt run was queued for it." : "";
      return {
        text,
        blocks: [
          section(
            `:x: *${escapeMrkdwn(text)}*${alert.reason ? `\n${escapeMrkdwn(truncate(alert.reason, 1000))}` : ""}${after}`,
          ),
          ...(alert.url ? [context(link(alert.url, "open the connection"))] : []),
        ],
      };
    }
    case "other": {
      const text = `${prefix}: ${alert.subject}`;
      return { text, blocks: [section(`:bell: *${escapeMrkdwn(text)}*\n${escapeMrkdwn(truncate(alert.body, 1500))}`)] };
    }
  }
}

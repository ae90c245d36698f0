/**
 * Slack incoming webhooks: the message shape the notify Lambda sends (a `text` fallback shown in
 * notifications plus a few Block Kit blocks), mrkdwn escaping, and a poster over `fetch`.
 * https://api.slack.com/messaging/webhooks, https://api.slack.com/reference/surfaces/formatting
 */
import { truncate } from "./errors";

/** A Block Kit block as this package uses them (section, context). */
export type SlackBlock =
  | { type: "section"; text: { type: "mrkdwn"; text: string } }
  | { type: "context"; elements: { type: "mrkdwn"; text: string }[] };

/** The JSON body posted to an incoming webhook. */
export interface SlackMessage {
  /** Plain fallback for notifications and clients without blocks. */
  readonly text: string;
  readonly blocks: SlackBlock[];
}

/** Posts one message; rejects on a non-2xx answer. */
export type SlackPoster = (webhookUrl: string, message: SlackMessage) => Promise<void>;

/** Slack rejects a section's text above 3000 characters. */
export const SECTION_LIMIT = 3000;

/** Slack's three control characters, escaped so user text cannot form links or mentions. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A mrkdwn section block (text cut to Slack's limit). */
export function section(text: string): SlackBlock {
  return { type: "section", text: { type: "mrkdwn", text: truncate(text, SECTION_LIMIT) } };
}

/** A context block of mrkdwn elements (small grey text). */
export function context(...texts: string[]): SlackBlock {
  return { type: "context", elements: texts.map((text) => ({ type: "mrkdwn", text: truncate(text, SECTION_LIMIT) })) };
}

/** A mrkdwn link; the label is escaped, the URL must already be a URL. */
export function link(url: string, label: string): string {
  return `<${url}|${escapeMrkdwn(label)}>`;
}

/** Slack answered a webhook post with an error. */
export class SlackError extends Error {
  /** Slack's HTTP status, when it answered. */
  readonly status?: number;

  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options);
    this.name = "SlackError";
    this.status = options?.status;
  }
}

/**
 * Statuses with which Slack refuses the webhook URL itself rather than the message: 403
 * `invalid_token`/`action_prohibited`, 404 `no_service`/`no_team`/`channel_not_found`, 410
 * `channel_is_archived` (api.slack.com/messaging/webhooks, "Handling errors"). A URL refused this
 * way may have been replaced in Secrets Manager.
 */
export const URL_REFUSED_STATUSES: readonly number[] = [403, 404, 410];

/** A {@link SlackPoster} over the global `fetch`, with a timeout. */
export function fetchPoster(timeoutMs = 5000): SlackPoster {
  return async (webhookUrl, message) => {
    let response: Response;
    try {
      response = await fetch(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new SlackError("could not reach the Slack webhook", { cause: err });
    }
    if (!response.ok) {
      // Slack answers errors in plain text, e.g. `invalid_blocks` or `no_service`.
      const body = truncate(await response.text().catch(() => ""), 200);
      throw new SlackError(`Slack webhook answered HTTP ${response.status}: ${body}`, { status: response.status });
    }
  };
}

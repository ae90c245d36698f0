/**
 * What a vendor's sync notification means for dispatch: start a run, report a failure, or
 * neither. Pure functions over the parsed payloads, kept apart from the HTTP handling.
 */
import type { AirbyteWebhook, FivetranSyncEnd } from "./schema";

/** What dispatch does with a sync notification. */
export type SyncVerdict = "run" | "failure" | "not-finished";

/**
 * Fivetran `sync_end` statuses that are neither success nor failure. Fivetran's log changelog
 * (fivetran.com/docs/logs/changelog, December 2021 and December 2022) lists the `sync_end`
 * statuses SUCCESSFUL, FAILURE, FAILURE_WITH_TASK, RESCHEDULED and CANCELED. A RESCHEDULED sync
 * runs again later and ends with its own `sync_end`; a CANCELED one was stopped by a person.
 */
export const FIVETRAN_NOT_FINISHED: readonly string[] = ["RESCHEDULED", "CANCELED"];

/** SUCCESSFUL starts a run; RESCHEDULED and CANCELED do nothing; every other status is a failure to report. */
export function fivetranVerdict(sync: FivetranSyncEnd): SyncVerdict {
  const status = sync.data.status.toUpperCase();
  if (status === "SUCCESSFUL") return "run";
  return FIVETRAN_NOT_FINISHED.includes(status) ? "not-finished" : "failure";
}

/**
 * The title Airbyte gives a queued-sync notification: `SlackNotificationClient.notifyJobQueued`
 * (airbytehq/airbyte-platform, airbyte-notification/.../SlackNotificationClient.kt) builds the
 * first block as `"[tag] "? + "Sync queued" + ": " + <connection link>` and its `text` from
 * slack/queued_sync_slack_notification_template.txt.
 */
const QUEUED_TITLE = /^(\[[^\]]*\] )?Sync queued: /;
const QUEUED_TEXT = / is queued and waiting for Data Worker capacity\./;

/** The mrkdwn text of the payload's first Slack block, if it has one. */
function firstBlockText(blocks: readonly unknown[] | null | undefined): string | undefined {
  const block = blocks?.[0] as { text?: { text?: unknown } } | undefined;
  return typeof block?.text?.text === "string" ? block.text.text : undefined;
}

/**
 * `success: true` starts a run. A notification with `success: false` is a failure only when the
 * sync finished: Airbyte also sends `success: false` for a sync that is queued (same `data`, from
 * `JobNotifier.queuedJob`), recognised by its title or text, or by a missing finish time.
 */
export function airbyteVerdict(webhook: AirbyteWebhook): SyncVerdict {
  const data = webhook.data;
  if (data?.success) return "run";
  if (data?.finishedAt == null) return "not-finished";
  if (QUEUED_TITLE.test(firstBlockText(webhook.blocks) ?? "") || QUEUED_TEXT.test(webhook.text ?? ""))
    return "not-finished";
  return "failure";
}

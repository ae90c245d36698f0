/**
 * Pure settings of the environment's resource monitor.
 */

/** Credit usage resets every month. */
export const MONITOR_FREQUENCY = "MONTHLY";

/**
 * Start of monitoring. Snowflake requires a start whenever a frequency is set, and rejects a
 * start in the past on create (`090263: The specified Start time has already passed`,
 * terraform-provider-snowflake#1714), while a start in the future leaves the quota unenforced
 * until then. `IMMEDIATELY` is a constant, so it never drifts: the provider keeps the configured
 * string in state and only its `show_output` carries the real time (upstream acceptance test
 * `TestAcc_ResourceMonitor_StartTimestampImmediately`). The monthly cycle therefore runs from
 * the day the monitor was created, not from the calendar month.
 */
export const MONITOR_START_TIMESTAMP = "IMMEDIATELY";

/** Percentages of the quota that e-mail the notify users before the limit. */
export const MONITOR_NOTIFY_AT: readonly number[] = [75, 90];

/** Triggers of the monitor. */
export interface MonitorTriggers {
  readonly notifyTriggers: number[];
  readonly suspendTrigger?: number;
}

/**
 * Triggers for an environment: with `suspendAtQuota` (dev) the warehouses suspend at 100 % of
 * the quota, letting running queries finish; without it (prod) 100 % only notifies, so a busy
 * month never stops production transformations.
 */
export function monitorTriggers(suspendAtQuota: boolean): MonitorTriggers {
  return suspendAtQuota
    ? { notifyTriggers: [...MONITOR_NOTIFY_AT], suspendTrigger: 100 }
    : { notifyTriggers: [...MONITOR_NOTIFY_AT, 100] };
}

/**
 * Knowing what happened: the alert topic ({@link Alerts}), and run reports, source freshness,
 * alarms and the dashboard ({@link Observability}).
 */
export { Alerts } from "./alerts";
export type { AlertsArgs } from "./alerts";
export { Observability } from "./observability";
export type {
  AlarmThresholds,
  ObservabilityArgs,
  ObservabilityRunner,
  WatchedFunction,
  WatchedQueue,
  WatchedSource,
} from "./observability";
export { queueNameFromArn, taskStoppedPattern } from "./rule";
export { METRICS_NAMESPACE } from "./alarms";

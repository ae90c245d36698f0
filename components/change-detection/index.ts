/** Snowflake change detection: start at {@link ChangeDetection}. */
export { ChangeDetection } from "./change-detection";
export type { ChangeDetectionArgs, TaskSettings, WatchedSourceTables } from "./change-detection";

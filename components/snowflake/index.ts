/**
 * The Snowflake side of the pipeline: start at {@link SnowflakeFoundation}.
 */
export { SnowflakeFoundation } from "./foundation";
export type { MonitorSettings, ServiceUserKey, SnowflakeFoundationArgs, WarehouseSettings } from "./foundation";
export type { SnowflakeAdmin, SnowflakeProviders } from "./providers";
export type { RoleKey, SchemaKey, WarehouseKey } from "./access";

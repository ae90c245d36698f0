/**
 * The Snowflake side of the pipeline: start at {@link SnowflakeFoundation}.
 */
export { SnowflakeFoundation } from "./foundation";
export type { ServiceUserKey, SnowflakeFoundationArgs } from "./foundation";
export type { SnowflakeProviders } from "./providers";
export type { RoleKey, SchemaKey, WarehouseKey } from "./access";

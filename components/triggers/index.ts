/**
 * Triggers of dbt runs (webhooks, schedules, Snowflake) and the dispatch → queue → launch path:
 * start at {@link Triggers}.
 */
export { Triggers } from "./triggers";
export type { TriggersArgs, TriggersRunner, WebhookCredentials } from "./triggers";
export type { ScheduleSettings, TriggerSettings } from "./settings";
export { DeployBuild, deployInput } from "./deploy-build";
export type { DeployBuildArgs } from "./deploy-build";
export { sourcesJson } from "./sources";
export type { SourcesDocument } from "./sources";

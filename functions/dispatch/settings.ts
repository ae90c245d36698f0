/** Dispatch's environment, read once at init. */
import * as z from "zod/mini";
import { envInt, envOneOf, envOptional, envRequired, parseEnv } from "../lib/env";
import { isSelectorToken } from "../lib/run-contract";

/** What dispatch does with a delivery from a connector no source lists. */
export type UnknownConnectorPolicy = "reject" | "ignore";

/** Dispatch's settings. */
export interface DispatchSettings {
  /** QUEUE_URL: the runs FIFO queue. */
  readonly queueUrl: string;
  /** IDEMPOTENCY_TABLE: the Powertools idempotency table. */
  readonly idempotencyTable: string;
  /** DEDUPE_SECONDS: how long a delivery id is remembered (default 25 h: vendors retry for 24 h). */
  readonly dedupeSeconds: number;
  /**
   * UNKNOWN_CONNECTOR: ignore (202, logged; default) or reject (422). Fivetran retries a refused
   * delivery for 24 h and then disables the whole webhook, so reject can cut off mapped connectors.
   */
  readonly unknownConnector: UnknownConnectorPolicy;
  /** HOURLY_SELECT: the hourly run's selection, space-separated tokens (default `source_status:fresher+`). */
  readonly hourlySelect: readonly string[];
  /** FULL_REFRESH_SELECT: the daily full refresh's selection, space-separated tokens (default none: every node). */
  readonly fullRefreshSelect: readonly string[];
  /** FULL_REFRESH_EXCLUDE: what the daily full refresh leaves out, space-separated tokens (default none). */
  readonly fullRefreshExclude: readonly string[];
  /** FIVETRAN_SECRET_ARN: the Fivetran signing secret; without it every Fivetran delivery gets 401. */
  readonly fivetranSecretArn?: string;
  /** AIRBYTE_TOKEN_SECRET_ARN: the Airbyte URL token; without it every Airbyte delivery gets 401. */
  readonly airbyteTokenSecretArn?: string;
  /** ALERT_TOPIC_ARN: where failed syncs and Snowflake task errors are reported; without it they are only logged. */
  readonly alertTopicArn?: string;
}

/** Default DEDUPE_SECONDS: 25 hours. */
export const DEFAULT_DEDUPE_SECONDS = 25 * 3600;
/** Default HOURLY_SELECT. */
export const DEFAULT_HOURLY_SELECT = "source_status:fresher+";

/** Space-separated dbt selection tokens, each checked with the run contract's grammar. */
const selectorTokens = (fallback: string) =>
  z
    .pipe(
      z._default(z.string(), fallback),
      z.transform((text: string) => text.split(/\s+/).filter(Boolean)),
    )
    .check(
      z.superRefine((tokens, ctx) => {
        const bad = tokens.filter((t) => !isSelectorToken(t));
        if (bad.length)
          ctx.addIssue({
            code: "custom",
            message: `must be dbt selector tokens, space-separated (${JSON.stringify(bad.join(" "))} is not)`,
          });
      }),
    );

/** Dispatch's environment: the variables the Triggers component sets. */
const DispatchEnvSchema = z.pipe(
  z.object({
    QUEUE_URL: envRequired(),
    IDEMPOTENCY_TABLE: envRequired(),
    DEDUPE_SECONDS: envInt(60, 30 * 24 * 3600, DEFAULT_DEDUPE_SECONDS),
    UNKNOWN_CONNECTOR: envOneOf(["reject", "ignore"], "ignore"),
    HOURLY_SELECT: selectorTokens(DEFAULT_HOURLY_SELECT),
    FULL_REFRESH_SELECT: selectorTokens(""),
    FULL_REFRESH_EXCLUDE: selectorTokens(""),
    FIVETRAN_SECRET_ARN: envOptional(),
    AIRBYTE_TOKEN_SECRET_ARN: envOptional(),
    ALERT_TOPIC_ARN: envOptional(),
  }),
  z.transform((env): DispatchSettings => ({
    queueUrl: env.QUEUE_URL,
    idempotencyTable: env.IDEMPOTENCY_TABLE,
    dedupeSeconds: env.DEDUPE_SECONDS,
    unknownConnector: env.UNKNOWN_CONNECTOR,
    hourlySelect: env.HOURLY_SELECT,
    fullRefreshSelect: env.FULL_REFRESH_SELECT,
    fullRefreshExclude: env.FULL_REFRESH_EXCLUDE,
    fivetranSecretArn: env.FIVETRAN_SECRET_ARN,
    airbyteTokenSecretArn: env.AIRBYTE_TOKEN_SECRET_ARN,
    alertTopicArn: env.ALERT_TOPIC_ARN,
  })),
);

/** Reads dispatch's settings; throws `ConfigurationError` naming every bad variable. */
export function readDispatchSettings(vars: Readonly<Record<string, string | undefined>>): Readonly<DispatchSettings> {
  return parseEnv("dispatch", DispatchEnvSchema, vars);
}

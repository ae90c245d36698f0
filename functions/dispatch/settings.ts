/** Dispatch's environment, read once at init. */
import { readEnv } from "../lib/env";
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

/** Reads dispatch's settings; throws `ConfigurationError` listing every bad variable. */
export function readDispatchSettings(vars: Readonly<Record<string, string | undefined>>): Readonly<DispatchSettings> {
  return readEnv("dispatch", vars, (env) => ({
    queueUrl: env.string("QUEUE_URL"),
    idempotencyTable: env.string("IDEMPOTENCY_TABLE"),
    dedupeSeconds: env.int("DEDUPE_SECONDS", DEFAULT_DEDUPE_SECONDS, 60, 30 * 24 * 3600),
    unknownConnector: env.oneOf<UnknownConnectorPolicy>("UNKNOWN_CONNECTOR", ["reject", "ignore"], "ignore"),
    hourlySelect: selection(env.optional("HOURLY_SELECT") ?? DEFAULT_HOURLY_SELECT, (bad) => env.problem(`HOURLY_SELECT must be dbt selector tokens (got ${JSON.stringify(bad)})`)),
    fivetranSecretArn: env.optional("FIVETRAN_SECRET_ARN"),
    airbyteTokenSecretArn: env.optional("AIRBYTE_TOKEN_SECRET_ARN"),
    alertTopicArn: env.optional("ALERT_TOPIC_ARN"),
  }));
}

/** Space-separated selector tokens; reports the ones that are not dbt selectors. */
function selection(text: string, problem: (bad: string) => void): string[] {
  const tokens = text.split(/\s+/).filter(Boolean);
  const bad = tokens.filter((t) => !isSelectorToken(t));
  if (bad.length) problem(bad.join(" "));
  return tokens;
}

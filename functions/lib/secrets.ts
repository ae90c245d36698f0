/**
 * Secrets Manager values by ARN through Powertools Parameters, cached for a bounded time so a
 * rotated secret (Fivetran signing secret, Airbyte URL token, Slack webhook URL) reaches a warm
 * Lambda without recycling it.
 */
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { ConfigurationError, DownstreamError } from "./errors";

/** How to read a secret. */
export interface SecretReadOptions {
  /**
   * Bypass the cache: the caller holds a value the other side just refused (a signature that does
   * not match, a Slack URL that is gone), so the secret may have been rotated.
   */
  readonly fresh?: boolean;
}

/** Where the cores get secret strings from. */
export interface SecretSource {
  /** The plain `SecretString` of secret `arn`. */
  get(arn: string, options?: SecretReadOptions): Promise<string>;
}

/** Options of {@link SecretCache}. */
export interface SecretCacheOptions {
  /** Seconds a value is served from the cache before it is read again (default {@link DEFAULT_SECRET_MAX_AGE_SECONDS}). */
  readonly maxAgeSeconds?: number;
  /**
   * Seconds between two reads that bypass the cache for one secret (default
   * {@link DEFAULT_FORCED_REFRESH_INTERVAL_SECONDS}): an unauthenticated caller can make every
   * request fail authentication, and must not turn each one into a Secrets Manager call.
   */
  readonly forcedRefreshIntervalSeconds?: number;
  /** Clock in milliseconds (tests). */
  readonly now?: () => number;
}

/** A rotated secret is picked up within this many seconds even when nothing is refused. */
export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;
/** At most one cache-bypassing read per secret in this many seconds. */
export const DEFAULT_FORCED_REFRESH_INTERVAL_SECONDS = 10;

/**
 * A {@link SecretSource} over Powertools' `SecretsProvider` (the provider `getSecret` uses), with
 * `maxAge` and `forceFetch` (@aws-lambda-powertools/parameters 2.35.0, `BaseProvider.get`: a
 * cached value younger than `maxAge` is returned unless `forceFetch`; a failed read is not cached).
 * One provider per instance rather than `getSecret`'s module-wide default, so each handler, and
 * each test, owns its cache.
 */
export class SecretCache implements SecretSource {
  private readonly provider: SecretsProvider;
  private readonly maxAge: number;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly lastForced = new Map<string, number>();

  constructor(client: SecretsManagerClient, options: SecretCacheOptions = {}) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
    this.maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
    this.interval = (options.forcedRefreshIntervalSeconds ?? DEFAULT_FORCED_REFRESH_INTERVAL_SECONDS) * 1000;
    this.now = options.now ?? Date.now;
  }

  async get(arn: string, options: SecretReadOptions = {}): Promise<string> {
    const forceFetch = options.fresh === true && this.mayForce(arn);
    let value: unknown;
    try {
      value = await this.provider.get(arn, { maxAge: this.maxAge, forceFetch });
    } catch (error) {
      throw new DownstreamError(`could not read secret ${arn} from Secrets Manager`, { cause: error });
    }
    if (typeof value !== "string" || !value)
      throw new ConfigurationError(`secret ${arn} has no SecretString; store the value as plain text`);
    return value;
  }

  /** True (and remembered) when no forced read of `arn` happened within the interval. */
  private mayForce(arn: string): boolean {
    const now = this.now();
    const last = this.lastForced.get(arn);
    if (last !== undefined && now - last < this.interval) return false;
    this.lastForced.set(arn, now);
    return true;
  }
}

/** Secrets Manager values by ARN, fetched at first use and kept for the container's life. */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { ConfigurationError, DownstreamError } from "./errors";

/** Where the cores get secret strings from. */
export interface SecretSource {
  /** The plain `SecretString` of secret `arn`. */
  get(arn: string): Promise<string>;
}

/** A {@link SecretSource} over Secrets Manager that caches each value once fetched; failures are not cached. */
export class SecretCache implements SecretSource {
  private readonly values = new Map<string, string>();

  constructor(private readonly client: SecretsManagerClient) {}

  async get(arn: string): Promise<string> {
    const hit = this.values.get(arn);
    if (hit !== undefined) return hit;
    let value: string | undefined;
    try {
      value = (await this.client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
    } catch (error) {
      throw new DownstreamError(`could not read secret ${arn} from Secrets Manager`, { cause: error });
    }
    if (!value) throw new ConfigurationError(`secret ${arn} has no SecretString; store the value as plain text`);
    this.values.set(arn, value);
    return value;
  }
}

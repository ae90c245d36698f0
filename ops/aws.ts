/**
 * AWS helpers the operator commands share: where a stack lives (from its ARNs), who the operator
 * is (STS), and one readable line for the SDK errors an operator meets.
 */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { OpsError } from "./stack";

/** The parts of an ARN `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export interface ArnParts {
  readonly partition: string;
  readonly service: string;
  readonly region: string;
  readonly account: string;
  readonly resource: string;
}

/** Splits an ARN; throws {@link OpsError} for anything else. */
export function parseArn(arn: string): ArnParts {
  const m = /^arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)$/.exec(arn);
  if (!m)
    throw new OpsError(`${JSON.stringify(arn)} is not an ARN; redeploy the stack with this version of the program`);
  return { partition: m[1], service: m[2], region: m[3], account: m[4], resource: m[5] };
}

/** Error names the SDK and the services use when the caller's credentials are expired, missing or wrong. */
const CREDENTIAL_ERRORS = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "RequestExpired",
  "TokenRefreshRequired",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "CredentialsProviderError",
  "InvalidAccessKeyId",
  "AuthFailure",
]);
const ACCESS_ERRORS = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "AuthorizationError",
  "UnauthorizedOperation",
  "AuthorizationErrorException",
]);

/** True for errors that mean "your AWS credentials do not work" (expired, missing, invalid). */
export function isCredentialError(error: unknown): boolean {
  return (
    error instanceof Error &&
    (CREDENTIAL_ERRORS.has(error.name) ||
      (/could not load credentials|expired/i.test(error.message) && !ACCESS_ERRORS.has(error.name)))
  );
}

/** One line for an AWS error met while doing `what`. */
export function awsErrorLine(error: unknown, what: string): string {
  if (!(error instanceof Error)) return `${what} failed: ${String(error)}`;
  if (isCredentialError(error)) {
    return `${what} failed: your AWS credentials are expired or missing (${error.name}); refresh them (aws sso login, or new keys in AWS_PROFILE) and run again`;
  }
  if (ACCESS_ERRORS.has(error.name))
    return `${what} failed: access denied (${error.message.split("\n")[0]}); use credentials allowed to do it`;
  return `${what} failed: ${error.name}: ${error.message.split("\n")[0]}`;
}

/** Who the operator is. */
export interface Identity {
  readonly account: string;
  readonly arn: string;
}

/**
 * Calls STS GetCallerIdentity and, when `expectedAccount` is given, checks the credentials are
 * for that account: a command never acts on a stack with another account's credentials.
 */
export async function callerIdentity(sts: STSClient, expectedAccount?: string, stack?: string): Promise<Identity> {
  let out;
  try {
    out = await sts.send(new GetCallerIdentityCommand({}));
  } catch (error) {
    throw new OpsError(awsErrorLine(error, "checking your AWS identity (sts:GetCallerIdentity)"), { cause: error });
  }
  const identity = { account: out.Account ?? "", arn: out.Arn ?? "" };
  if (expectedAccount && identity.account !== expectedAccount) {
    throw new OpsError(
      `your AWS credentials are for account ${identity.account} (${identity.arn}) but stack ${stack} is in account ${expectedAccount}; switch AWS_PROFILE`,
    );
  }
  return identity;
}

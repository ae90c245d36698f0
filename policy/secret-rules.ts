/**
 * Secret rules: no secret-looking value in a property that is not meant to hold one, and
 * Lambda environment variables hold ARNs, never secrets.
 *
 * Policies see secret values unwrapped, so these rules work on the properties' meaning: a short
 * list of properties exists to carry secrets (a secret's value, a provider's key); everything
 * else must not look like one. The mock-based test suite adds a scan that does know secretness.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { dig, walkStrings } from "./util";

/** Patterns of values that are secrets wherever they appear. */
export const SECRET_PATTERNS: readonly { name: string; re: RegExp }[] = [
  { name: "a private key", re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { name: "a Slack webhook URL", re: /hooks\.slack\.com\/services\/[A-Za-z0-9]+\/[A-Za-z0-9]+\/[A-Za-z0-9]+/ },
  { name: "a Slack token", re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { name: "an AWS access key id", re: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: "a GitHub token", re: /\b(ghp|gho|ghs|github_pat)_[A-Za-z0-9_]{20,}/ },
];

/** Properties whose purpose is to hold a secret, by resource type (top-level property names). */
export const SECRET_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  "aws:secretsmanager/secretVersion:SecretVersion": ["secretString", "secretStringWo", "secretBinary"],
  "pulumi:providers:snowflake": ["privateKey", "privateKeyPassphrase", "password", "token"],
  "pulumi:providers:github": ["token"],
};

/** Which pattern `value` matches, if any. */
export function secretKind(value: string): string | undefined {
  return SECRET_PATTERNS.find((p) => p.re.test(value))?.name;
}

/** No secret-looking value outside the properties meant for secrets. */
export const noPlainTextSecrets: ResourceValidationPolicy = {
  name: "no-plain-text-secrets",
  description:
    "Private keys, webhook URLs and tokens appear only in properties meant for secrets (Secrets Manager values, provider keys).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const allowed = SECRET_PROPERTIES[args.type] ?? [];
    walkStrings(args.props, (path, value) => {
      if (allowed.includes(path.split(/[.[]/)[0])) return;
      const kind = secretKind(value);
      if (kind) report(`${args.name}: property ${path} holds ${kind}; keep it in Secrets Manager and pass the ARN.`);
    });
  },
};

const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PRIVATE_KEY|API_KEY|WEBHOOK_URL/;

/** Lambda environment variables with secret-sounding names hold ARNs. */
export const lambdaEnvHoldsArns: ResourceValidationPolicy = {
  name: "lambda-env-holds-arns",
  description: "Lambda environment variables that name a secret hold its Secrets Manager ARN, not its value.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "aws:lambda/function:Function") return;
    const vars = dig(args.props, "environment", "variables");
    for (const [name, value] of Object.entries(vars !== null && typeof vars === "object" ? vars : {})) {
      if (typeof value !== "string" || !SECRET_NAME.test(name)) continue;
      if (!/^arn:aws[a-z-]*:(secretsmanager|ssm):/.test(value)) {
        report(`${args.name}: environment variable ${name} must hold a Secrets Manager or SSM ARN, not a value.`);
      }
    }
  },
};

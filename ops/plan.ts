/**
 * What a deploy of the stack will assume, read from the program itself: preflight evaluates the
 * real program offline (offline/mocks.ts, the engine of `npm run plan`) and reads the declared
 * resources, so its checks follow the components whatever they declare, instead of repeating
 * their rules.
 */
import * as path from "node:path";
import { evaluate } from "../offline/mocks";
import { readStackConfig } from "../offline/stack-config";

/** A declared resource: its Pulumi type token and its inputs. */
export interface DeclaredResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Readonly<Record<string, unknown>>;
}

/** The facts preflight checks against the account. */
export interface PlannedStack {
  /** Lambda functions and the concurrency each reserves (0 when none is reserved). */
  readonly functions: readonly { name: string; reserved: number }[];
  /** The GitHub OIDC provider: created by this stack, trusted by its roles, or not used. */
  readonly githubOidc: "create" | "existing" | "none";
  /** Name of the ECR repository the dbt image is pulled from. */
  readonly ecrRepository?: string;
  /** The environment's Snowflake database. */
  readonly database?: string;
}

/** Pulumi type tokens (pulumi-aws 7, pulumi-snowflake 1.3). */
export const TYPES = {
  lambda: "aws:lambda/function:Function",
  oidcProvider: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  role: "aws:iam/role:Role",
  ecr: "aws:ecr/repository:Repository",
  database: "snowflake:index/database:Database",
} as const;

const GITHUB_ISSUER = "token.actions.githubusercontent.com";

/** A name or URL input: a string, else undefined (e.g. not yet known). */
const text = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The planned facts of a list of declared resources. */
export function plannedStack(resources: readonly DeclaredResource[]): PlannedStack {
  const of = (type: string) => resources.filter((r) => r.type === type);
  const functions = of(TYPES.lambda).map((r) => {
    const reserved = r.inputs.reservedConcurrentExecutions;
    return {
      name: text(r.inputs.name) ?? r.name,
      reserved: typeof reserved === "number" && reserved > 0 ? reserved : 0,
    };
  });
  const createsOidc = of(TYPES.oidcProvider).some((r) => (text(r.inputs.url) ?? "").includes(GITHUB_ISSUER));
  const trustsOidc = of(TYPES.role).some((r) =>
    JSON.stringify(r.inputs.assumeRolePolicy ?? "").includes(`oidc-provider/${GITHUB_ISSUER}`),
  );
  const ecr = of(TYPES.ecr)[0];
  const database = of(TYPES.database)[0];
  return {
    functions,
    githubOidc: createsOidc ? "create" : trustsOidc ? "existing" : "none",
    ...(ecr ? { ecrRepository: text(ecr.inputs.name) ?? ecr.name } : {}),
    ...(database ? { database: text(database.inputs.name) ?? database.name } : {}),
  };
}

/**
 * Evaluates the program offline for `stack` from its settings file (secrets stay placeholders,
 * nothing is decrypted) and returns the planned facts. Throws with the program's own message
 * when the config is invalid.
 */
export async function planStack(stack: string): Promise<PlannedStack> {
  const name = stack.split("/").pop()!;
  const { config, secretKeys } = readStackConfig(name, path.join(__dirname, ".."));
  const evaluation = await evaluate({ stack: name, config, secretKeys });
  return plannedStack(evaluation.resources);
}

/**
 * Preflight's checks: each a function of injected clients and facts that returns one result with
 * the exact fix, so each is tested alone with mocked SDK clients, a fake Snowflake session and a
 * fake `pulumi`.
 */
import { ECRClient, DescribeImagesCommand } from "@aws-sdk/client-ecr";
import { GetOpenIDConnectProviderCommand, IAMClient } from "@aws-sdk/client-iam";
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, LambdaClient } from "@aws-sdk/client-lambda";
import * as yaml from "js-yaml";
import { KEYS, PROJECT } from "../config-keys";
import { awsErrorLine } from "./aws";
import type { PlannedStack } from "./plan";
import { SqlSession, cellText, isMissingObject, quoteIdent, rolesOfUser } from "./snowflake";
import type { PulumiRunner } from "./stack";

/** `fail` blocks the deploy (exit 1); `warn` lets it go but runs would suffer; `skip`: an earlier check failed. */
export type CheckStatus = "pass" | "warn" | "fail" | "skip";

/** One line of the report. */
export interface CheckResult {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** The exact command or change that fixes a `fail` or `warn`. */
  readonly fix?: string;
}

/** The report line: `PASS  check: detail`, with `  fix: …` on the same line when there is one. */
export function formatResult(r: CheckResult): string {
  return `${r.status.toUpperCase().padEnd(4)}  ${r.check}: ${r.detail}${r.fix ? `  fix: ${r.fix}` : ""}`;
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** Pulumi CLI installed and logged in to a backend (`pulumi version`, `pulumi whoami --json`, CLI ≥ 3.58). */
export async function checkPulumi(run: PulumiRunner): Promise<CheckResult> {
  const check = "pulumi CLI and backend login";
  const version = await run(["version"]);
  if (version.code !== 0) {
    return {
      check,
      status: "fail",
      detail: "the pulumi CLI is not installed or not on PATH",
      fix: "install it: https://www.pulumi.com/docs/iac/download-install/",
    };
  }
  const who = await run(["whoami", "--json"]);
  if (who.code !== 0) {
    return {
      check,
      status: "fail",
      detail: `not logged in to a backend (${oneLine(who.stderr) || `exit ${who.code}`})`,
      fix: "pulumi login (Pulumi Cloud) or pulumi login s3://<state-bucket> (self-managed)",
    };
  }
  const me = JSON.parse(who.stdout) as { user?: string; url?: string };
  return {
    check,
    status: "pass",
    detail: `pulumi ${version.stdout.trim()}, logged in as ${me.user ?? "?"} to ${me.url ?? "?"}`,
  };
}

function isSecure(v: unknown): v is { secure: string } {
  return !!v && typeof v === "object" && typeof (v as { secure?: unknown }).secure === "string";
}

/** Placeholders the repository ships in `secure:` values (`v1:REPLACE-ME:...`), by key. */
export function placeholderKeys(stackFileText: string): string[] {
  const doc = (yaml.load(stackFileText) ?? {}) as { config?: Record<string, unknown> };
  const found: string[] = [];
  const walk = (key: string, value: unknown): void => {
    if (isSecure(value)) {
      if (/REPLACE-ME/.test(value.secure)) found.push(key);
    } else if (value && typeof value === "object") {
      for (const v of Object.values(value)) walk(key, v);
    }
  };
  for (const [key, value] of Object.entries(doc.config ?? {}))
    walk(key.includes(":") ? key : `${PROJECT}:${key}`, value);
  return [...new Set(found)].sort();
}

/** The command that sets a secret key. */
export function setSecretCommand(fullKey: string, stack: string): string {
  const key = fullKey.startsWith(`${PROJECT}:`) ? fullKey.slice(PROJECT.length + 1) : fullKey;
  return key === "snowflake.adminPrivateKey"
    ? `pulumi config set --secret snowflake.adminPrivateKey --stack ${stack} < <deployer key>.p8`
    : `pulumi config set --secret ${key} <value> --stack ${stack}`;
}

/** No `secure:` placeholder left and every required secret set. */
export function checkSecrets(
  stackFileText: string | undefined,
  setKeys: ReadonlySet<string>,
  stack: string,
): CheckResult {
  const check = "secrets set";
  const placeholders = stackFileText === undefined ? [] : placeholderKeys(stackFileText);
  const missing = KEYS.filter((k) => k.secret && !k.optional && !setKeys.has(`${PROJECT}:${k.key}`)).map(
    (k) => `${PROJECT}:${k.key}`,
  );
  const bad = [...new Set([...placeholders, ...missing])].sort();
  if (!bad.length) return { check, status: "pass", detail: "no placeholder secret left in the stack" };
  return {
    check,
    status: "fail",
    detail: `${bad.join(", ")} ${bad.length === 1 ? "is" : "are"} still the repository's placeholder or unset (pulumi cannot decrypt a placeholder, so every deploy fails)`,
    fix: bad.map((k) => setSecretCommand(k, stack)).join("; "),
  };
}

/**
 * Lambda's rule: reservations must leave this much concurrency unreserved in the account and
 * region ("you can reserve up to the unreserved account concurrency value minus 100",
 * docs.aws.amazon.com/lambda/latest/dg/configuring-concurrency.html); PutFunctionConcurrency
 * otherwise fails with "decreases account's UnreservedConcurrentExecution below its minimum value".
 */
export const MIN_UNRESERVED = 100;

/**
 * The account's unreserved concurrency against what the stack's functions reserve
 * (GetAccountSettings `AccountLimit.UnreservedConcurrentExecutions`; a reservation the function
 * already holds is part of the account's reserved share and is counted back).
 */
export async function checkLambdaQuota(lambda: LambdaClient, plan: PlannedStack): Promise<CheckResult> {
  const check = "Lambda concurrency quota";
  const reserving = plan.functions.filter((f) => f.reserved > 0);
  const wanted = reserving.reduce((n, f) => n + f.reserved, 0);
  try {
    const limits = (await lambda.send(new GetAccountSettingsCommand({}))).AccountLimit ?? {};
    const unreserved = limits.UnreservedConcurrentExecutions ?? 0;
    let held = 0;
    for (const f of reserving) {
      try {
        held +=
          (await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: f.name })))
            .ReservedConcurrentExecutions ?? 0;
      } catch (error) {
        if (!(error instanceof Error && error.name === "ResourceNotFoundException")) throw error;
      }
    }
    const left = unreserved + held - wanted;
    const list = reserving.map((f) => `${f.name} ${f.reserved}`).join(", ") || "nothing";
    const detail = `account limit ${limits.ConcurrentExecutions ?? "?"}, unreserved ${unreserved}; the stack reserves ${wanted} (${list}), leaving ${left}`;
    if (left >= MIN_UNRESERVED) return { check, status: "pass", detail };
    return {
      check,
      status: "fail",
      detail: `${detail}, below the ${MIN_UNRESERVED} Lambda keeps unreserved (PutFunctionConcurrency fails during pulumi up)`,
      fix: `request a Lambda "Concurrent executions" quota of at least ${limits.ConcurrentExecutions !== undefined ? limits.ConcurrentExecutions + MIN_UNRESERVED - left : wanted + MIN_UNRESERVED} in Service Quotas, or lower the functions' reserved concurrency`,
    };
  } catch (error) {
    return {
      check,
      status: "fail",
      detail: awsErrorLine(error, "lambda:GetAccountSettings"),
      fix: "use credentials that may call lambda:GetAccountSettings and lambda:GetFunctionConcurrency",
    };
  }
}

/** The account's GitHub OIDC provider against what the stack declares (create it, or trust an existing one). */
export async function checkGithubOidc(
  iam: IAMClient,
  plan: PlannedStack,
  account: { partition: string; id: string },
  environment: string,
): Promise<CheckResult> {
  const check = "GitHub OIDC provider";
  if (plan.githubOidc === "none") return { check, status: "pass", detail: "not used (github.owner is empty)" };
  const arn = `arn:${account.partition}:iam::${account.id}:oidc-provider/token.actions.githubusercontent.com`;
  let provider;
  try {
    provider = await iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
  } catch (error) {
    if (!(error instanceof Error && error.name === "NoSuchEntityException")) {
      return {
        check,
        status: "fail",
        detail: awsErrorLine(error, "iam:GetOpenIDConnectProvider"),
        fix: "use credentials that may call iam:GetOpenIDConnectProvider",
      };
    }
  }
  if (!provider) {
    return plan.githubOidc === "create"
      ? { check, status: "pass", detail: `${arn} does not exist yet; this stack creates it` }
      : {
          check,
          status: "fail",
          detail: `the stack's roles trust ${arn}, which does not exist (IAM rejects a trust policy naming a missing provider)`,
          fix: "deploy the stack that creates it first (dev), or create it: aws iam create-open-id-connect-provider --url https://token.actions.githubusercontent.com --client-id-list sts.amazonaws.com",
        };
  }
  const tags = Object.fromEntries(
    (provider.Tags ?? []).map((t): [string, string | undefined] => [t.Key ?? "", t.Value]),
  );
  const ours = tags.project === PROJECT && tags.environment === environment;
  if (plan.githubOidc === "create" && !ours) {
    return {
      check,
      status: "fail",
      detail: `${arn} already exists and is not this stack's (tags project=${tags.project ?? "-"}, environment=${tags.environment ?? "-"}); creating it again fails with EntityAlreadyExists`,
      fix: "configure this stack to use the existing provider instead of creating one (see components/github/README.md), or delete the unused provider",
    };
  }
  if (!(provider.ClientIDList ?? []).includes("sts.amazonaws.com")) {
    return {
      check,
      status: "fail",
      detail: `${arn} does not list the audience sts.amazonaws.com, so GitHub's tokens cannot assume the roles`,
      fix: `aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn ${arn} --client-id sts.amazonaws.com`,
    };
  }
  return {
    check,
    status: "pass",
    detail:
      plan.githubOidc === "create"
        ? `${arn} exists and belongs to this stack`
        : `${arn} exists with audience sts.amazonaws.com`,
  };
}

/** The deployer's roles against the roles the Snowflake providers use. */
export async function checkSnowflakeRoles(
  session: SqlSession,
  user: string,
  needed: readonly string[],
): Promise<CheckResult> {
  const check = "Snowflake deployer roles";
  const held = await rolesOfUser(session, user);
  const missing = needed.filter((r) => !held.includes(r));
  if (!missing.length) return { check, status: "pass", detail: `${user} holds ${needed.join(", ")}` };
  return {
    check,
    status: "fail",
    detail: `${user} lacks ${missing.join(", ")} (the providers switch to each role; holds ${held.join(", ") || "no role"})`,
    fix: `as ACCOUNTADMIN: ${missing.map((r) => `GRANT ROLE ${quoteIdent(r)} TO USER ${quoteIdent(user)};`).join(" ")}`,
  };
}

/** A row of `MONITORING.CHANGE_DETECTION_STATE` (components/change-detection/sql.ts STATE_COLUMNS). */
export interface ChangeDetectionRow {
  readonly entry: string;
  readonly table: string | null;
  readonly status: string;
  readonly detail: string | null;
}

/** The statement that reads the reconciler's state, one row per watched table or pending entry. */
export function changeDetectionStateSql(database: string, monitoringSchema: string): string {
  return `SELECT ENTRY, SOURCE, TABLE_NAME, STATUS, DETAIL, CHECKED_AT FROM ${quoteIdent(database)}.${quoteIdent(monitoringSchema)}."CHANGE_DETECTION_STATE" ORDER BY ENTRY, TABLE_NAME`;
}

/**
 * Reads the reconciler's state; undefined when the table is not there yet (a first deploy
 * creates it) or the deployer's role cannot see it.
 */
export async function readChangeDetectionState(
  session: SqlSession,
  database: string,
  monitoringSchema: string,
): Promise<ChangeDetectionRow[] | undefined> {
  try {
    const rows = await session.query(changeDetectionStateSql(database, monitoringSchema));
    return rows.map((r) => ({
      entry: cellText(r.ENTRY) ?? "",
      table: cellText(r.TABLE_NAME) ?? null,
      status: cellText(r.STATUS) ?? "",
      detail: cellText(r.DETAIL) ?? null,
    }));
  } catch (error) {
    if (isMissingObject(error)) return undefined;
    throw error;
  }
}

/**
 * One result per watched entry of config. Streams are no longer part of the deploy: the
 * Snowflake-side reconciler creates each entry's stream and task once the loader has created the
 * table, within `snowflake.reconcileScheduleMinutes` (docs/snowflake-day-one.md). A table that is
 * not there yet is therefore never a reason to stop a deploy: at most a WARN. `state` is the
 * reconciler's table when Snowflake was reachable (undefined: not read, or not deployed yet).
 */
export function checkWatchedTables(
  entries: readonly { source: string; entry: string }[],
  minutes: number,
  state: readonly ChangeDetectionRow[] | undefined,
): CheckResult[] {
  const later = `the reconciler creates its stream and task within ${minutes} minutes (snowflake.reconcileScheduleMinutes) once the loader has created the table`;
  return entries.map(({ source, entry }) => {
    const check = `watched table ${entry} (${source})`;
    if (!state)
      return {
        check,
        status: "warn",
        detail: `change detection state not readable yet (first deploy, or Snowflake not reached); ${later}; until then loads into it start no dbt run, the source's webhooks and the schedules still do`,
      };
    const rows = state.filter((r) => r.entry === entry);
    if (!rows.length)
      return { check, status: "warn", detail: `not yet seen by the reconciler (added since its last run); ${later}` };
    const bad = rows.filter((r) => !["watching", "created"].includes(r.status));
    const tables = (list: readonly ChangeDetectionRow[]) =>
      list.map((r) => `${r.table ?? entry}: ${r.status}${r.detail ? ` (${r.detail})` : ""}`).join(", ");
    if (!bad.length) return { check, status: "pass", detail: tables(rows) };
    if (bad.every((r) => r.status === "pending")) {
      return {
        check,
        status: "warn",
        detail: `matches no table yet (pending); ${later}`,
        fix: "run the source's first sync; check the schema name if it stays pending",
      };
    }
    return {
      check,
      status: "warn",
      detail: tables(rows),
      fix: "see docs/snowflake-day-one.md for each status (suspended: fix the cause, ALTER TASK … RESUME as PIPELINE_<ENV>; error: fix what the detail says)",
    };
  });
}

/** The dbt image tag (or digest) in the ECR repository. */
export async function checkImage(
  ecr: ECRClient,
  repository: string,
  tag: string,
  repositoryDeployed: boolean,
): Promise<CheckResult> {
  const check = "dbt image in ECR";
  const imageId = tag.startsWith("sha256:") ? { imageDigest: tag } : { imageTag: tag };
  try {
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName: repository, imageIds: [imageId] }));
    const image = out.imageDetails?.[0];
    return {
      check,
      status: "pass",
      detail: `${repository}:${tag} pushed ${image?.imagePushedAt ? new Date(image.imagePushedAt).toISOString() : "(time unknown)"}`,
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : "";
    if (name === "RepositoryNotFoundException" && !repositoryDeployed) {
      return {
        check,
        status: "warn",
        detail: `repository ${repository} does not exist yet (this deploy creates it); until ${tag} is pushed, every run fails to start`,
        fix: "after the deploy, push the image from the dbt repository's CI (docs/dbt-repo/)",
      };
    }
    if (name === "ImageNotFoundException" || name === "RepositoryNotFoundException") {
      return {
        check,
        status: "fail",
        detail: `${repository} has no image ${tag}: every run would fail to start (CannotPullContainerError)`,
        fix: `push it from the dbt repository's CI, or set a pushed tag: pulumi config set dbt.imageTag <tag> (aws ecr describe-images --repository-name ${repository})`,
      };
    }
    return {
      check,
      status: "fail",
      detail: awsErrorLine(error, "ecr:DescribeImages"),
      fix: "use credentials that may call ecr:DescribeImages",
    };
  }
}

/**
 * `npm run preflight -- <stack>`
 *
 * Checks, before `pulumi up`, what the deploy assumes of the world outside this repository, one
 * line per check with the exact fix, and exits 1 when something would make the deploy fail:
 * the Pulumi CLI and its login, the stack's secrets, AWS identity and region, the Lambda
 * concurrency quota, the GitHub OIDC provider, the Snowflake deployer (key pair and roles), the
 * watched RAW tables (what the change-detection reconciler reports of each; a table not there
 * yet is a WARN, never a FAIL), and the dbt image in ECR. Reads config without decrypting it;
 * only the deployer's private key (and its passphrase) is decrypted, to log in, and never printed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ECRClient } from "@aws-sdk/client-ecr";
import { IAMClient } from "@aws-sdk/client-iam";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { STSClient } from "@aws-sdk/client-sts";
import * as snowflakeSdk from "snowflake-sdk";
import { PROJECT } from "../config-keys";
import { PROVIDER_ROLES } from "../components/snowflake/providers";
import { callerIdentity, isCredentialError, parseArn } from "./aws";
import {
  CheckResult,
  checkGithubOidc,
  checkImage,
  checkLambdaQuota,
  checkPulumi,
  checkSecrets,
  checkSnowflakeRoles,
  checkWatchedTables,
  formatResult,
  readChangeDetectionState,
  placeholderKeys,
} from "./checks";
import { CONSOLE_IO, Io, parseArgs, runCli } from "./cli";
import { PlannedStack, planStack } from "./plan";
import { CreateConnection, SqlSession, connectSnowflake } from "./snowflake";
import {
  PulumiRunner,
  StackConfigJson,
  StackOutputs,
  configSources,
  configValue,
  execPulumi,
  pulumiFailure,
  readConfig,
  readOutputs,
} from "./stack";

/** The command line, as `npm run preflight --` passes it. */
export const PREFLIGHT_USAGE = "npm run preflight -- <stack>";

/** The clients and inputs preflight uses; tests pass fakes. */
export interface PreflightDeps {
  readonly pulumi: PulumiRunner;
  /** Text of `Pulumi.<stack>.yaml`, or undefined when there is none. */
  readonly readStackFile: (stack: string) => string | undefined;
  /** What a deploy of the stack declares (the program evaluated offline). */
  readonly plan: (stack: string) => Promise<PlannedStack>;
  readonly clients: (region: string) => { sts: STSClient; lambda: LambdaClient; iam: IAMClient; ecr: ECRClient };
  readonly snowflake: CreateConnection;
  readonly io: Io;
}

const skip = (check: string, why: string): CheckResult => ({ check, status: "skip", detail: why });
const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** Runs every check and prints one line each; 1 when any check failed. */
export async function preflight(argv: readonly string[], deps: PreflightDeps): Promise<number> {
  return runCli(async () => {
    const { stack } = parseArgs(argv, { values: [], switches: [] }, PREFLIGHT_USAGE);
    const results: CheckResult[] = [];
    const report = (r: CheckResult) => {
      results.push(r);
      deps.io.out(formatResult(r));
    };
    report(await checkPulumi(deps.pulumi));
    if (results[0].status === "fail") return 1;

    let config: StackConfigJson;
    try {
      config = await readConfig(deps.pulumi, stack);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report({
        check: `stack ${stack}`,
        status: "fail",
        detail: message,
        fix: message.startsWith("unknown stack")
          ? `pulumi stack init ${stack} (add --secrets-provider awskms://alias/<key> for a self-managed backend)`
          : `run pulumi config --stack ${stack} to see the CLI's own error`,
      });
      return 1;
    }
    const outputs = await readOutputs(deps.pulumi, stack).catch((): StackOutputs => ({}));
    const stackFile = deps.readStackFile(stack);
    report(checkSecrets(stackFile, new Set(Object.keys(config)), stack));

    let plan: PlannedStack | undefined;
    try {
      plan = await deps.plan(stack);
      report({
        check: "program",
        status: "pass",
        detail: `evaluates offline: ${plan.functions.length} Lambda functions`,
      });
    } catch (error) {
      report({
        check: "program",
        status: "fail",
        detail: oneLine(error instanceof Error ? error.message : String(error)),
        fix: `npm run plan -- ${stack} lists every problem`,
      });
    }

    await awsChecks(deps, stack, config, outputs, plan, report);
    await snowflakeChecks(deps, stack, config, stackFile, plan, report);
    const failed = results.filter((r) => r.status === "fail").length;
    deps.io.out(
      failed
        ? `${failed} check(s) failed: fix them before pulumi up --stack ${stack}`
        : `ready: pulumi up --stack ${stack}`,
    );
    return failed ? 1 : 0;
  }, deps.io);
}

async function awsChecks(
  deps: PreflightDeps,
  stack: string,
  config: StackConfigJson,
  outputs: StackOutputs,
  plan: PlannedStack | undefined,
  report: (r: CheckResult) => void,
): Promise<void> {
  const names = ["Lambda concurrency quota", "GitHub OIDC provider", "dbt image in ECR"];
  const region = config["aws:region"]?.value;
  if (!region) {
    report({
      check: "AWS identity and region",
      status: "fail",
      detail: `aws:region is not set in stack ${stack}`,
      fix: `pulumi config set aws:region <region> --stack ${stack}`,
    });
    for (const n of names) report(skip(n, "needs the AWS region"));
    return;
  }
  const { sts, lambda, iam, ecr } = deps.clients(region);
  let identity;
  try {
    identity = await callerIdentity(sts);
  } catch (error) {
    const cause = (error as Error).cause;
    report({
      check: "AWS identity and region",
      status: "fail",
      detail: error instanceof Error ? error.message : String(error),
      fix: isCredentialError(cause)
        ? "refresh your credentials (aws sso login --profile <profile>) and run again"
        : "configure AWS credentials (AWS_PROFILE, SSO or environment variables)",
    });
    for (const n of names) report(skip(n, "needs working AWS credentials"));
    return;
  }
  const me = parseArn(identity.arn);
  const deployedIn = outputs.runsQueueArn ? parseArn(outputs.runsQueueArn) : undefined;
  if (deployedIn && (deployedIn.account !== identity.account || deployedIn.region !== region)) {
    report({
      check: "AWS identity and region",
      status: "fail",
      detail: `credentials for ${identity.account} in ${region}, but stack ${stack} is deployed in ${deployedIn.account} ${deployedIn.region}`,
      fix: "switch AWS_PROFILE to the stack's account (a deploy elsewhere would create a second copy)",
    });
    for (const n of names) report(skip(n, "needs credentials for the stack's account"));
    return;
  }
  report({
    check: "AWS identity and region",
    status: "pass",
    detail: `account ${identity.account}, ${region}, as ${identity.arn}`,
  });
  if (!plan) {
    for (const n of names) report(skip(n, "needs the program to evaluate"));
    return;
  }
  report(await checkLambdaQuota(lambda, plan));
  report(
    await checkGithubOidc(
      iam,
      plan,
      { partition: me.partition, id: identity.account },
      outputs.environment ?? configValue<string>(config, "environment") ?? stack,
    ),
  );
  const tag = configValue<string>(config, "dbt.imageTag");
  const repository = outputs.ecrRepositoryUrl?.split("/").slice(1).join("/") ?? plan.ecrRepository;
  if (!tag || !repository)
    report(skip("dbt image in ECR", !tag ? "dbt.imageTag is not set" : "the stack declares no ECR repository"));
  else report(await checkImage(ecr, repository, tag, outputs.ecrRepositoryUrl !== undefined));
}

async function snowflakeChecks(
  deps: PreflightDeps,
  stack: string,
  config: StackConfigJson,
  stackFile: string | undefined,
  plan: PlannedStack | undefined,
  report: (r: CheckResult) => void,
): Promise<void> {
  const names = ["Snowflake deployer roles"];
  const minutes = configValue<number>(config, "snowflake.reconcileScheduleMinutes") ?? 10;
  const entries = Object.entries(configSources(config)).flatMap(([source, s]) =>
    (s.rawTables ?? []).map((entry) => ({ source, entry })),
  );
  // Without Snowflake: each entry still gets its line (picked up by the reconciler later).
  const unread = () => checkWatchedTables(entries, minutes, undefined).forEach(report);
  const org = configValue<string>(config, "snowflake.organizationName");
  const acct = configValue<string>(config, "snowflake.accountName");
  const user = configValue<string>(config, "snowflake.adminUser") ?? "PULUMI_DEPLOYER";
  const keyName = `${PROJECT}:snowflake.adminPrivateKey`;
  if (!org || !acct || !config[keyName] || (stackFile !== undefined && placeholderKeys(stackFile).includes(keyName))) {
    report(
      skip(
        "Snowflake deployer login",
        "needs snowflake.organizationName, snowflake.accountName and a real snowflake.adminPrivateKey",
      ),
    );
    for (const n of names) report(skip(n, "needs the Snowflake login"));
    unread();
    return;
  }
  // `config get` decrypts this one value (pkg/cmd/pulumi/config getConfig); it stays in memory.
  const key = await deps.pulumi(["config", "get", "snowflake.adminPrivateKey", "--stack", stack]);
  if (key.code !== 0) throw pulumiFailure(key, stack, "pulumi config get snowflake.adminPrivateKey");
  const privateKey = key.stdout.trim();
  let privateKeyPass: string | undefined;
  if (/ENCRYPTED PRIVATE KEY/.test(privateKey)) {
    const passName = `${PROJECT}:snowflake.adminPrivateKeyPassphrase`;
    if (!config[passName] || (stackFile !== undefined && placeholderKeys(stackFile).includes(passName))) {
      report({
        check: "Snowflake deployer login",
        status: "fail",
        detail: "snowflake.adminPrivateKey is an encrypted key and snowflake.adminPrivateKeyPassphrase is not set",
        fix: `pulumi config set --secret snowflake.adminPrivateKeyPassphrase --stack ${stack}`,
      });
      for (const n of names) report(skip(n, "needs the Snowflake login"));
      return;
    }
    // Decrypted in memory like the key; never printed (a failure reports the command, not stdout).
    const pass = await deps.pulumi(["config", "get", "snowflake.adminPrivateKeyPassphrase", "--stack", stack]);
    if (pass.code !== 0) throw pulumiFailure(pass, stack, "pulumi config get snowflake.adminPrivateKeyPassphrase");
    privateKeyPass = pass.stdout.replace(/\r?\n$/, "");
  }
  let session: SqlSession;
  try {
    session = await connectSnowflake(deps.snowflake, {
      account: `${org}-${acct}`,
      user,
      privateKey,
      ...(privateKeyPass !== undefined ? { privateKeyPass } : {}),
    });
  } catch (error) {
    report({
      check: "Snowflake deployer login",
      status: "fail",
      detail: `${user} at ${org}-${acct}: ${oneLine(error instanceof Error ? error.message : String(error))}`,
      fix: `in Snowflake, DESC USER ${user} and compare RSA_PUBLIC_KEY_FP with the key's fingerprint; ALTER USER ${user} SET RSA_PUBLIC_KEY='<public key>'`,
    });
    for (const n of names) report(skip(n, "needs the Snowflake login"));
    unread();
    return;
  }
  try {
    report({
      check: "Snowflake deployer login",
      status: "pass",
      detail: `${user} at ${org}-${acct} with its key pair`,
    });
    const roles = await checkSnowflakeRoles(session, user, Object.values(PROVIDER_ROLES));
    report(roles);
    if (!plan?.database || roles.status !== "pass") unread();
    else {
      // The sysadmin provider owns the database and the MONITORING tables: look with its eyes.
      await session.query(`USE ROLE ${PROVIDER_ROLES.sysadmin}`);
      const monitoring = configValue<string>(config, "snowflake.monitoringSchema") ?? "MONITORING";
      checkWatchedTables(entries, minutes, await readChangeDetectionState(session, plan.database, monitoring)).forEach(
        report,
      );
    }
  } catch (error) {
    report({
      check: "Snowflake queries",
      status: "fail",
      detail: oneLine(error instanceof Error ? error.message : String(error)),
      fix: "run SHOW GRANTS TO USER as the deployer to see what it may do",
    });
  } finally {
    await session.close();
  }
}

/** The real clients, in the stack's region, with the operator's default credential chain. */
export function awsClients(region: string): { sts: STSClient; lambda: LambdaClient; iam: IAMClient; ecr: ECRClient } {
  return {
    sts: new STSClient({ region }),
    lambda: new LambdaClient({ region }),
    iam: new IAMClient({ region }),
    ecr: new ECRClient({ region }),
  };
}

/** `Pulumi.<stack>.yaml` in the project folder (the last part of a qualified stack name). */
export function readStackFile(stack: string, dir = path.join(__dirname, "..")): string | undefined {
  const file = path.join(dir, `Pulumi.${stack.split("/").pop()}.yaml`);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
}

if (require.main === module) {
  // The driver logs to the console by default; preflight prints its own lines.
  snowflakeSdk.configure({ logLevel: "ERROR" });
  // An unexpected rejection is left unhandled: Node prints its stack and exits 1.
  void preflight(process.argv.slice(2), {
    pulumi: execPulumi,
    readStackFile: (s) => readStackFile(s),
    plan: planStack,
    clients: awsClients,
    snowflake: (o) => snowflakeSdk.createConnection(o),
    io: CONSOLE_IO,
  }).then((code) => process.exit(code));
}

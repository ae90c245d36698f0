/**
 * What the operator commands know about a stack: its outputs and config, read through the
 * operator's own `pulumi` CLI (so the backend, login and secrets provider are theirs). The CLI is
 * behind {@link PulumiRunner} so the commands are tested with a fake one.
 */
import { execFile } from "node:child_process";
import { z } from "zod";
import { KEY_INDEX, PROJECT } from "../config-keys";

/** A problem the operator fixes; the message is one line saying what to do. */
export class OpsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OpsError";
  }
}

/** The command line was wrong; the commands exit 2 for these. */
export class UsageError extends OpsError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What one `pulumi` invocation returned. `code` 127: the CLI is not installed. */
export interface PulumiResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `pulumi <args>` and never throws. */
export type PulumiRunner = (args: readonly string[]) => Promise<PulumiResult>;

/** The real CLI, from the current directory (the project folder `npm run` starts in). */
export const execPulumi: PulumiRunner = (args) =>
  new Promise((resolve) => {
    execFile(
      "pulumi",
      [...args, "--non-interactive"],
      { maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } },
      (error, stdout, stderr) => {
        const code = error
          ? (error as NodeJS.ErrnoException).code === "ENOENT"
            ? 127
            : typeof error.code === "number"
              ? error.code
              : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: code === 127 ? "pulumi: command not found" : String(stderr) });
      },
    );
  });

const firstLine = (text: string) =>
  text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l) ?? "";

/** Turns a failed `pulumi` call into the one line the operator needs. */
export function pulumiFailure(result: PulumiResult, stack: string, what: string): OpsError {
  if (result.code === 127)
    return new OpsError(
      "the pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/)",
    );
  const text = firstLine(result.stderr) || firstLine(result.stdout);
  // The CLI's own wording: "no stack named 'x' found" (pkg/cmd/pulumi/stack, requireStack).
  if (/no stack named|stack .* not found/i.test(text))
    return new OpsError(
      `unknown stack ${stack}: ${text.replace(/^error:\s*/i, "")}; list the stacks with pulumi stack ls`,
    );
  if (/not logged in|pulumi login|PULUMI_ACCESS_TOKEN/i.test(text))
    return new OpsError(`pulumi is not logged in to a backend: run pulumi login (${text.replace(/^error:\s*/i, "")})`);
  return new OpsError(
    `${what} failed for stack ${stack}: ${text.replace(/^error:\s*/i, "") || `exit code ${result.code}`}`,
  );
}

const S = z.string().min(1);
/** The stack outputs the operator commands read (index.ts; shapes pinned by test/outputs.spec.ts). */
export const OutputsSchema = z
  .object({
    environment: S,
    dbtCluster: S,
    dbtTaskFamily: S,
    artifactBucket: S,
    artifactPrefixes: z.object({ runs: S, latest: S }),
    ecrRepositoryUrl: S,
    runsQueueArn: S,
    deadLetterQueueArn: S,
    dispatchFunction: S,
    launchFunction: S,
    launchStateTable: S,
    notifyFunction: S,
  })
  .partial()
  .loose();
/** The outputs, each possibly absent (a stack that was never deployed has none). */
export type StackOutputs = z.infer<typeof OutputsSchema>;
/** Output names (the schema's keys: `.loose()` makes the inferred type's own keys any string). */
export type OutputName = keyof typeof OutputsSchema.shape;

/**
 * `pulumi stack output --json`: secrets stay masked as `"[secret]"` (the CLI shows them only with
 * `--show-secrets`, as the Automation API's `stackOutputs` relies on), and no command needs them.
 */
export async function readOutputs(run: PulumiRunner, stack: string): Promise<StackOutputs> {
  const result = await run(["stack", "output", "--json", "--stack", stack]);
  if (result.code !== 0) throw pulumiFailure(result, stack, "pulumi stack output");
  let json: unknown;
  try {
    json = JSON.parse(result.stdout || "{}");
  } catch {
    throw new OpsError(
      `pulumi stack output --json printed something that is not JSON for stack ${stack}; upgrade the pulumi CLI`,
    );
  }
  const parsed = OutputsSchema.safeParse(json);
  if (!parsed.success) {
    const bad = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? "outputs")))].join(", ");
    throw new OpsError(
      `stack ${stack} has outputs of an unexpected shape (${bad}); redeploy it with this version of the program (pulumi up --stack ${stack})`,
    );
  }
  return parsed.data;
}

/** The outputs `names`, or one error naming every missing one. */
export function requireOutputs<K extends OutputName>(
  outputs: StackOutputs,
  names: readonly K[],
  stack: string,
): Required<Pick<StackOutputs, K>> {
  const missing = names.filter((n) => outputs[n] === undefined);
  if (missing.length) {
    throw new OpsError(
      `stack ${stack} has no output ${missing.join(", ")}: deploy it first (pulumi up --stack ${stack})`,
    );
  }
  return outputs as Required<Pick<StackOutputs, K>>;
}

/** One entry of `pulumi config --json`: `value` is absent for secrets without `--show-secrets`. */
const ConfigEntrySchema = z
  .object({ value: z.string().optional(), objectValue: z.unknown().optional(), secret: z.boolean().default(false) })
  .loose();
/** `pulumi config --json`, by full key (`dbt-pipeline:dbt.imageTag`, `aws:region`). */
export type StackConfigJson = Readonly<Record<string, z.infer<typeof ConfigEntrySchema>>>;

/**
 * `pulumi config --json` without `--show-secrets`: plain values (with Pulumi.yaml's project
 * config applied), and `{secret: true}` without a value for secrets. pkg/cmd/pulumi/config
 * `listConfig` reads secrets through a blinding decrypter unless `--show-secrets` is given, so
 * nothing is decrypted and a placeholder ciphertext does not make it fail.
 */
export async function readConfig(run: PulumiRunner, stack: string): Promise<StackConfigJson> {
  const result = await run(["config", "--json", "--stack", stack]);
  if (result.code !== 0) throw pulumiFailure(result, stack, "pulumi config");
  const parsed = z.record(z.string(), ConfigEntrySchema).safeParse(JSON.parse(result.stdout || "{}"));
  if (!parsed.success)
    throw new OpsError(`pulumi config --json printed an unexpected shape for stack ${stack}; upgrade the pulumi CLI`);
  return parsed.data;
}

/**
 * A `dbt-pipeline:` value: the stack's, else the default declared in config-keys.ts (the CLI's
 * `config --json` lists only what the stack file sets). Objects and lists come decoded.
 */
export function configValue<T>(config: StackConfigJson, key: string): T | undefined {
  const entry = config[`${PROJECT}:${key}`];
  if (entry) {
    if (entry.objectValue !== undefined) return entry.objectValue as T;
    if (entry.value === undefined) return undefined;
    const type = KEY_INDEX.get(key)?.type;
    if (type === "integer") return Number(entry.value) as T;
    if (type === "boolean") return (entry.value === "true") as T;
    if (type === "array" || type === "object") return JSON.parse(entry.value) as T;
    return entry.value as T;
  }
  return KEY_INDEX.get(key)?.default as T | undefined;
}

/** The stack's dbt target, as config.ts derives it: `dbt.target`, else the environment. */
export function dbtTarget(config: StackConfigJson, environment: string): string {
  return configValue<string>(config, "dbt.target") || environment;
}

/** The sources in config, by name (`sources` map). */
export function configSources(
  config: StackConfigJson,
): Record<string, { select?: string[]; exclude?: string[]; fullRefresh?: boolean; rawTables?: string[] }> {
  return configValue(config, "sources") ?? {};
}

/** Stack names as `pulumi` accepts them (`dev`, `org/dev`, `org/project/dev`). */
export const STACK_RE = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` for `arn:aws:sqs:<region>:<account>:<name>`. */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(":");
  const domain = partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

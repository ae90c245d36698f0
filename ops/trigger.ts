/**
 * `npm run trigger -- <stack> [--source <name> | --select <selection>] [--full-refresh] [--retry <run id>]`
 *
 * Starts a dbt run by hand through the same path as every other trigger: a run request validated
 * against the run contract, sent to the runs FIFO queue as dispatch sends it (group = target,
 * deduplication id = sha256 of the delivery key), for launch to start. Nothing is sent unless the
 * request is valid, the stack's outputs are there and the operator's credentials are for the
 * stack's account.
 */
import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { sha256Hex } from "../functions/lib/crypto";
import { pendingKey } from "../functions/launch/core";
import { runIdFor } from "../functions/launch/ecs";
import {
  RUN_ID_RE,
  RunContractError,
  RunRequest,
  RunRequestInput,
  parseRunRequest,
} from "../functions/lib/run-contract";
import { awsErrorLine, callerIdentity, parseArn } from "./aws";
import { CONSOLE_IO, Io, parseArgs, runCli } from "./cli";
import {
  OpsError,
  PulumiRunner,
  StackConfigJson,
  UsageError,
  configSources,
  dbtTarget,
  execPulumi,
  queueUrlFromArn,
  readConfig,
  readOutputs,
  requireOutputs,
} from "./stack";

/** The command line, as `npm run trigger --` passes it. */
export const TRIGGER_USAGE =
  'npm run trigger -- <stack> [--source <name> | --select "<selection>"] [--full-refresh] [--retry <run id>]';

/** What the operator asked for. */
export interface TriggerOptions {
  readonly stack: string;
  /** A source from the stack's `sources` config: its selection, as a webhook of that source would run. */
  readonly source?: string;
  /** dbt selection tokens (space-separated on the command line, as dbt's `--select`). */
  readonly select?: readonly string[];
  readonly fullRefresh: boolean;
  /** `dbt retry` of this run. */
  readonly retry?: string;
}

/** Parses the command line; throws `UsageError`. */
export function parseTriggerArgs(argv: readonly string[]): TriggerOptions {
  const a = parseArgs(argv, { values: ["source", "select", "retry"], switches: ["full-refresh"] }, TRIGGER_USAGE);
  if (a.values.source !== undefined && a.values.select !== undefined)
    throw new UsageError(`--source and --select exclude each other; usage: ${TRIGGER_USAGE}`);
  return {
    stack: a.stack,
    ...(a.values.source !== undefined ? { source: a.values.source } : {}),
    ...(a.values.select !== undefined ? { select: a.values.select.split(/\s+/).filter((t) => t) } : {}),
    fullRefresh: a.switches.has("full-refresh"),
    ...(a.values.retry !== undefined ? { retry: a.values.retry } : {}),
  };
}

/** The manual trigger entry of a request: who asked and when. */
export interface ManualTrigger {
  readonly kind: "manual";
  readonly id: string;
  readonly receivedAt: string;
}

/** A trigger id: `<user>-<utc stamp>-<6 hex>`, unique per invocation. */
export function manualTrigger(user: string, now: Date, random: string): ManualTrigger {
  const who =
    user
      .toLowerCase()
      .replace(/[^a-z0-9_.-]/g, "-")
      .slice(0, 64) || "operator";
  const stamp = now.toISOString().replace(/[-:]/g, "").slice(0, 15).toLowerCase();
  return { kind: "manual", id: `${who}-${stamp}z-${random}`, receivedAt: now.toISOString() };
}

/**
 * The run request input for the options (before the contract checks it). `--source` takes the
 * source's selection from config, as dispatch's `sourceRun` does for that source's webhooks; no
 * option means the whole project; `--retry` asks for `dbt retry` of the named run.
 */
export function runInput(
  opts: TriggerOptions,
  target: string,
  config: StackConfigJson,
  trigger: ManualTrigger,
): RunRequestInput {
  const base = { target, triggers: [trigger] };
  if (opts.retry !== undefined) {
    // retryOf names the run whose artifacts `dbt retry` reads; the contract decides whether it
    // is accepted, and any selection given with it is passed on for the contract to reject.
    return {
      ...base,
      command: "retry",
      retryOf: opts.retry,
      ...(opts.select ? { select: [...opts.select] } : {}),
      ...(opts.fullRefresh ? { fullRefresh: true } : {}),
    };
  }
  if (opts.source !== undefined) {
    const sources = configSources(config);
    const source = Object.prototype.hasOwnProperty.call(sources, opts.source) ? sources[opts.source] : undefined;
    if (!source) {
      const known = Object.keys(sources).sort();
      throw new OpsError(
        `stack ${opts.stack} has no source ${JSON.stringify(opts.source)}; its sources: ${known.join(", ") || "none (dbt-pipeline:sources is empty)"}`,
      );
    }
    return {
      ...base,
      command: "build",
      select: [...(source.select ?? [`source:${opts.source}+`])],
      exclude: [...(source.exclude ?? [])],
      fullRefresh: opts.fullRefresh || (source.fullRefresh ?? false),
      sources: [opts.source],
    };
  }
  return { ...base, command: "build", select: [...(opts.select ?? [])], fullRefresh: opts.fullRefresh };
}

/** A one-line description of a request: `build --select source:stripe+ --full-refresh`. */
export function describeRequest(req: RunRequest): string {
  const retryOf = (req as { retryOf?: unknown }).retryOf;
  return [
    req.command,
    ...(typeof retryOf === "string" ? [`of run ${retryOf}`] : []),
    ...(req.select.length ? ["--select", ...req.select] : req.command === "build" ? ["(whole project)"] : []),
    ...(req.exclude.length ? ["--exclude", ...req.exclude] : []),
    ...(req.fullRefresh ? ["--full-refresh"] : []),
  ].join(" ");
}

/** The clients and inputs the command uses; tests pass fakes. */
export interface TriggerDeps {
  readonly pulumi: PulumiRunner;
  readonly clients: (region: string) => { sts: STSClient; sqs: SQSClient; s3: S3Client };
  readonly now: () => Date;
  readonly user: () => string;
  readonly random: () => string;
  readonly io: Io;
}

/** Sends the run request; returns the exit code. */
export async function trigger(argv: readonly string[], deps: TriggerDeps): Promise<number> {
  return runCli(async () => {
    const opts = parseTriggerArgs(argv);
    if (opts.retry !== undefined && !RUN_ID_RE.test(opts.retry)) {
      throw new OpsError(
        `--retry ${JSON.stringify(opts.retry)} is not a run id (${RUN_ID_RE}); npm run status -- ${opts.stack} lists them`,
      );
    }
    const outputs = requireOutputs(
      await readOutputs(deps.pulumi, opts.stack),
      ["environment", "runsQueueArn", "artifactBucket", "artifactPrefixes"],
      opts.stack,
    );
    const config = await readConfig(deps.pulumi, opts.stack);
    const target = dbtTarget(config, outputs.environment);
    const now = deps.now();
    const manual = manualTrigger(deps.user(), now, deps.random());
    // The contract is the gate: a request it rejects is never sent.
    let request: RunRequest;
    try {
      request = parseRunRequest(runInput(opts, target, config, manual));
    } catch (error) {
      if (error instanceof RunContractError) throw new OpsError(`nothing sent: ${error.message}`, { cause: error });
      throw error;
    }

    const queue = parseArn(outputs.runsQueueArn);
    const { sts, sqs, s3 } = deps.clients(queue.region);
    const identity = await callerIdentity(sts, queue.account, opts.stack);
    if (opts.retry !== undefined)
      await requireRun(
        s3,
        outputs.artifactBucket,
        `${outputs.artifactPrefixes.runs}${opts.retry}/run_results.json`,
        opts.retry,
      );

    const delivery = `manual:${manual.id}`;
    const body = JSON.stringify(request);
    // Launch names a run after the pending keys it serves (lease.ts: runIdFor(merged, keys)), and
    // derives a request's key from the message body (core.ts: pendingKey), not the message id.
    const runId = runIdFor(request, [pendingKey(request, body)]);
    let messageId: string;
    try {
      messageId =
        (
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: queueUrlFromArn(outputs.runsQueueArn),
              MessageBody: body,
              MessageGroupId: request.target,
              MessageDeduplicationId: sha256Hex(delivery),
            }),
          )
        ).MessageId ?? "";
    } catch (error) {
      throw new OpsError(awsErrorLine(error, "sending the run request (sqs:SendMessage)"), { cause: error });
    }
    deps.io.out(
      `queued ${describeRequest(request)} for target ${request.target} of stack ${opts.stack} as ${identity.arn}`,
    );
    deps.io.out(`trigger: manual ${manual.id} (SQS message ${messageId})`);
    deps.io.out(`run id: ${runId} (if it runs alone)`);
    deps.io.out(
      `  launch starts it once no run of ${request.target} is going; when it merges this request with others waiting, the run gets another id`,
    );
    deps.io.out(`  follow it: npm run status -- ${opts.stack}`);
    return 0;
  }, deps.io);
}

/** Throws unless the run's `run_results.json` exists (dbt retry has nothing to read without it). */
async function requireRun(s3: S3Client, bucket: string, key: string, runId: string): Promise<void> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    if (error instanceof Error && (error.name === "NotFound" || error.name === "NoSuchKey")) {
      throw new OpsError(
        `run ${runId} has no s3://${bucket}/${key}: nothing to retry (it expired, or dbt never finished); npm run status lists recent runs`,
        { cause: error },
      );
    }
    throw new OpsError(awsErrorLine(error, `reading run ${runId}'s results (s3:HeadObject)`), { cause: error });
  }
}

/** The real clients, in the stack's region, with the operator's default credential chain. */
export function awsClients(region: string): { sts: STSClient; sqs: SQSClient; s3: S3Client } {
  return { sts: new STSClient({ region }), sqs: new SQSClient({ region }), s3: new S3Client({ region }) };
}

if (require.main === module) {
  // An unexpected rejection is left unhandled: Node prints its stack and exits 1.
  void trigger(process.argv.slice(2), {
    pulumi: execPulumi,
    clients: awsClients,
    now: () => new Date(),
    user: () => userInfo().username,
    random: () => randomBytes(3).toString("hex"),
    io: CONSOLE_IO,
  }).then((code) => process.exit(code));
}

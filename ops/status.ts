/**
 * `npm run status -- <stack> [--last <n>]`
 *
 * What happened and what is happening, from what the stack's outputs make reachable with the
 * operator's AWS credentials:
 * - the last runs: one folder per run id under the artifact bucket's `runs` prefix, each with
 *   dbt's `run_results.json` (outcome, duration, failing models and tests). Run ids begin with
 *   the UTC time of their oldest trigger, so their order is the order of the runs;
 * - what runs now, per target: ECS ListTasks/DescribeTasks on the cluster and task family, with
 *   the tags launch sets (run id, target, trigger kinds, sources);
 * - what waits, per target: launch's pending requests (`p#…` items) and lease in the
 *   `launchStateTable` table, read strongly consistent as launch reads them (launch acknowledges
 *   a message as soon as it saved the request, so the runs queue itself is nearly always empty);
 *   and the dead-letter queue's depth with the command that redrives it.
 * Trigger kinds and sources of a finished run come from its ECS task, which ECS keeps listing
 * for about an hour after it stops; older runs show the sources their selection names.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeTasksCommand, ECSClient, ListTasksCommand, Task } from "@aws-sdk/client-ecs";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { STARTED_BY_PREFIX, TAG_KEYS } from "../functions/launch/ecs";
import { DynamoLaunchStore, Lease, PENDING_PREFIX } from "../functions/launch/store";
import { CONTAINERS } from "../functions/lib/run-contract";
import { formatDuration, summarizeResults } from "../functions/notify/run";
import { RunResultsSchema } from "../functions/notify/schema";
import { awsErrorLine, callerIdentity, parseArn } from "./aws";
import { CONSOLE_IO, Io, parseArgs, runCli } from "./cli";
import { OpsError, PulumiRunner, UsageError, execPulumi, queueUrlFromArn, readOutputs, requireOutputs } from "./stack";

/** The command line, as `npm run status --` passes it. */
export const STATUS_USAGE = "npm run status -- <stack> [--last <number of runs, default 10>]";

/** Failing nodes listed per run; the rest are counted. */
export const FAILURES_SHOWN = 5;

/** What the status shows of one finished run. */
export interface RunLine {
  readonly runId: string;
  readonly outcome: "success" | "failed" | "no results";
  readonly startedAt: string | null;
  readonly durationSeconds: number | null;
  readonly command: string | null;
  readonly select: readonly string[];
  readonly triggers: string | null;
  readonly sources: readonly string[];
  /** True when `sources` come from the selection, not from the run's own record. */
  readonly sourcesFromSelection: boolean;
  readonly failures: readonly { uniqueId: string; status: string }[];
}

/** What the tags and fields of a dbt task say. */
export interface TaskFacts {
  readonly runId: string | null;
  readonly target: string;
  readonly status: string;
  readonly since: string | null;
  readonly triggers: string | null;
  readonly sources: readonly string[];
  /** Exit code of the dbt container once it stopped (its exit code is the run's outcome). */
  readonly dbtExitCode: number | null;
}

/** Reads a task launch started: run id (startedBy), target, trigger kinds and sources (tags). */
export function taskFacts(task: Task): TaskFacts {
  const tag = (key: string) => task.tags?.find((t) => t.key === key)?.value;
  const runId =
    tag(TAG_KEYS.runId) ??
    (task.startedBy?.startsWith(STARTED_BY_PREFIX) ? task.startedBy.slice(STARTED_BY_PREFIX.length) : null);
  const since = task.startedAt ?? task.createdAt;
  return {
    runId: runId || null,
    target: tag(TAG_KEYS.target) ?? "(no target tag: not started by launch)",
    status: task.lastStatus ?? "UNKNOWN",
    since: since ? new Date(since).toISOString() : null,
    triggers: tag(TAG_KEYS.triggers) ?? null,
    sources: (tag(TAG_KEYS.sources) ?? "").split(" ").filter((s) => s),
    dbtExitCode: task.containers?.find((c) => c.name === CONTAINERS.dbt)?.exitCode ?? null,
  };
}

const SOURCE_TOKEN = /(?:^|[,@+])source:([a-z][a-z0-9_]*)/g;

/** Sources a selection names (`source:stripe+` → stripe). */
export function sourcesOfSelection(select: readonly string[]): string[] {
  return [...new Set(select.flatMap((t) => [...t.matchAll(SOURCE_TOKEN)].map((m) => m[1])))].sort();
}

/** One run from its `run_results.json` (undefined: not there) and, while ECS still lists it, its task. */
export function runLine(runId: string, runResults: unknown, task: TaskFacts | undefined): RunLine {
  const parsed = runResults === undefined ? undefined : RunResultsSchema.safeParse(runResults);
  if (!parsed?.success) {
    return {
      runId,
      outcome: "no results",
      startedAt: task?.since ?? null,
      durationSeconds: null,
      command: null,
      select: [],
      triggers: task?.triggers ?? null,
      sources: task?.sources ?? [],
      sourcesFromSelection: false,
      failures: [],
    };
  }
  const results = parsed.data;
  const summary = summarizeResults(results);
  const args = results.args ?? {};
  const select = Array.isArray(args.select) ? args.select.filter((s): s is string => typeof s === "string") : [];
  const started = (results.metadata as { invocation_started_at?: unknown }).invocation_started_at;
  const fromTask = task && task.sources.length > 0;
  return {
    runId,
    // dbt can exit non-zero with no failing node (a selection error, an interrupted run).
    outcome: summary.failures.length || (task?.dbtExitCode ?? 0) !== 0 ? "failed" : "success",
    startedAt: typeof started === "string" ? started : (task?.since ?? null),
    durationSeconds: typeof results.elapsed_time === "number" ? Math.round(results.elapsed_time) : null,
    command: typeof args.which === "string" ? args.which : null,
    select,
    triggers: task?.triggers ?? null,
    sources: fromTask ? task.sources : sourcesOfSelection(select),
    sourcesFromSelection: !fromTask,
    failures: summary.failures.map((f) => ({ uniqueId: f.uniqueId, status: f.status })),
  };
}

/**
 * A run id launch gives (functions/launch/ecs.ts runIdFor: `<yyyymmdd>t<hhmmss>-<8 hex>`). Other
 * folders under the runs prefix (the dbt repository's CI uploads `ci-<sha>`, hand-made
 * `manual-…`) sort after digits and are not runs of the pipeline.
 */
export const LAUNCH_RUN_ID_RE = /^\d{8}t\d{6}-[0-9a-f]{8}$/;

/** Days back the run listing looks first; it widens until it has enough runs. */
export const LISTING_WINDOWS_DAYS = [2, 14, null] as const;

/**
 * The newest `count` launch run ids under `prefix`, newest first (other folders skipped). Lists one folder per run
 * (`Delimiter: "/"`), starting a few days back (`StartAfter`, keys sort by run id, i.e. by time)
 * and widening to the whole prefix only when needed.
 */
export async function latestRunIds(
  s3: S3Client,
  bucket: string,
  prefix: string,
  count: number,
  now: Date,
): Promise<string[]> {
  let ids: string[] = [];
  for (const days of LISTING_WINDOWS_DAYS) {
    const startAfter =
      days === null
        ? undefined
        : `${prefix}${new Date(now.getTime() - days * 86_400_000).toISOString().slice(0, 10).replace(/-/g, "")}`;
    ids = [];
    let token: string | undefined;
    do {
      const out = await s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          Delimiter: "/",
          ...(startAfter ? { StartAfter: startAfter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const p of out.CommonPrefixes ?? []) {
        const id = p.Prefix?.slice(prefix.length).replace(/\/$/, "");
        if (id && LAUNCH_RUN_ID_RE.test(id)) ids.push(id);
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    if (ids.length >= count) break;
  }
  return ids.sort().reverse().slice(0, count);
}

/** A run's run_results.json, parsed; undefined when it is not there (dbt did not finish). */
async function readRunResults(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = await out.Body?.transformToString("utf-8");
    return text === undefined ? undefined : JSON.parse(text);
  } catch (error) {
    if (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound")) return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** Tasks of the family with `desiredStatus`, described with their tags (first 100). */
async function familyTasks(
  ecs: ECSClient,
  cluster: string,
  family: string,
  desiredStatus: "RUNNING" | "STOPPED",
): Promise<Task[]> {
  const list = await ecs.send(new ListTasksCommand({ cluster, family, desiredStatus, maxResults: 100 }));
  const arns = list.taskArns ?? [];
  if (!arns.length) return [];
  const described = await ecs.send(new DescribeTasksCommand({ cluster, tasks: arns, include: ["TAGS"] }));
  return described.tasks ?? [];
}

/** Message counts of a queue (GetQueueAttributes; SQS's counts are approximate). */
export interface QueueDepth {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

async function queueDepth(sqs: SQSClient, arn: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrlFromArn(arn),
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  const n = (name: string) => Number(out.Attributes?.[name as keyof typeof out.Attributes] ?? 0);
  return {
    visible: n("ApproximateNumberOfMessages"),
    inFlight: n("ApproximateNumberOfMessagesNotVisible"),
    delayed: n("ApproximateNumberOfMessagesDelayed"),
  };
}

/** What waits for one target in launch's table. */
export interface TargetQueue {
  readonly target: string;
  readonly pending: number;
  /** Oldest trigger time of the oldest pending request (its key `p#<time>#…`), ISO; null when none. */
  readonly oldest: string | null;
  readonly lease: Lease | undefined;
}

/** Most pending requests read per target (launch takes at most 1000 into one run). */
export const PENDING_READ_LIMIT = 10_000;

/**
 * Per target with a lease or pending requests (launch's own reads: the sweep's Scan, then a
 * strongly consistent Query of the `p#` range and GetItem of the lease; store.ts).
 */
export async function launchQueues(store: DynamoLaunchStore): Promise<TargetQueue[]> {
  const out: TargetQueue[] = [];
  for (const target of await store.targets()) {
    const [items, lease] = await Promise.all([store.pending(target, PENDING_READ_LIMIT), store.getLease(target)]);
    // Keys sort oldest first: `p#<oldest receivedAt ISO>#<hash>`.
    const oldest = items.length ? items[0].key.slice(PENDING_PREFIX.length).split("#")[0] : null;
    out.push({ target, pending: items.length, oldest, lease });
  }
  return out;
}

/**
 * The redrive command for the dead-letter queue. The destination is explicit: launch writes dead
 * letters itself (SendMessage), so SQS has no "original source" to return them to. FIFO to FIFO
 * redrive is supported (SQS Developer Guide, "Configure a dead-letter queue redrive").
 */
export function redriveCommand(deadLetterQueueArn: string, runsQueueArn: string): string {
  return `aws sqs start-message-move-task --source-arn ${deadLetterQueueArn} --destination-arn ${runsQueueArn} --region ${parseArn(runsQueueArn).region}`;
}

const clock = (iso: string | null) => (iso ? iso.replace(/\.\d+Z$/, "Z").replace("T", " ") : "-");

/** The report's lines. */
export function renderStatus(s: {
  stack: string;
  account: string;
  region: string;
  identity: string;
  runsLocation: string;
  runs: readonly RunLine[];
  running: readonly TaskFacts[];
  waiting: readonly TargetQueue[];
  queued: QueueDepth;
  deadLetters: QueueDepth;
  redrive: string;
  now: Date;
}): string[] {
  const lines = [
    `stack ${s.stack}: account ${s.account}, ${s.region}, as ${s.identity}`,
    "",
    `last runs, newest first (${s.runsLocation}):`,
  ];
  if (!s.runs.length) lines.push("  none yet");
  for (const r of s.runs) {
    const what = r.command ? `${r.command}${r.select.length ? ` --select ${r.select.join(" ")}` : ""}` : "-";
    const sources = r.sources.length ? `${r.sources.join(",")}${r.sourcesFromSelection ? " (by selection)" : ""}` : "-";
    lines.push(
      `  ${r.runId}  ${r.outcome.padEnd(10)}  started ${clock(r.startedAt)}  took ${formatDuration(r.durationSeconds) ?? "-"}  trigger ${r.triggers ?? "-"}  sources ${sources}  ${what}`,
    );
    if (r.outcome === "no results")
      lines.push("      no run_results.json: dbt did not finish (see the run's dbt.log and the task's logs)");
    for (const f of r.failures.slice(0, FAILURES_SHOWN)) lines.push(`      ${f.status.padEnd(13)} ${f.uniqueId}`);
    if (r.failures.length > FAILURES_SHOWN)
      lines.push(`      … and ${r.failures.length - FAILURES_SHOWN} more failing nodes`);
  }
  lines.push("", "now:");
  if (!s.running.length) lines.push("  running: nothing");
  const byTarget = new Map<string, TaskFacts[]>();
  for (const t of s.running) byTarget.set(t.target, [...(byTarget.get(t.target) ?? []), t]);
  for (const [target, tasks] of [...byTarget].sort(([a], [b]) => a.localeCompare(b))) {
    for (const t of tasks) {
      const age = t.since
        ? formatDuration(Math.max(0, Math.round((s.now.getTime() - Date.parse(t.since)) / 1000)))
        : null;
      lines.push(
        `  running for target ${target}: run ${t.runId ?? "-"}  ${t.status} since ${clock(t.since)}${age ? ` (${age})` : ""}  trigger ${t.triggers ?? "-"}  sources ${t.sources.join(",") || "-"}`,
      );
    }
  }
  const ago = (iso: string) => formatDuration(Math.max(0, Math.round((s.now.getTime() - Date.parse(iso)) / 1000)));
  if (!s.waiting.length) lines.push("  waiting in launch: nothing");
  for (const w of s.waiting) {
    lines.push(
      `  waiting for target ${w.target}: ${w.pending} request${w.pending === 1 ? "" : "s"}${w.oldest ? `, oldest trigger ${clock(w.oldest)} (${ago(w.oldest)} ago)` : ""}`,
    );
    const l = w.lease;
    const expiry = l ? new Date(l.expiresAt).toISOString() : null;
    if (l && expiry) {
      lines.push(
        `    lease: ${l.state}${l.runId ? ` run ${l.runId}` : ""}${l.taskArn ? ` task ${l.taskArn}` : ""}, expires ${clock(expiry)}${l.expiresAt < s.now.getTime() ? " (expired: the next pump or sweep checks ECS and takes it over)" : ""}`,
      );
    } else lines.push("    lease: none (no run of this target is going or starting)");
  }
  const q = s.queued;
  if (q.visible + q.inFlight + q.delayed > 0)
    lines.push(
      `  on the runs queue, not yet saved by launch: ${q.visible} ready, ${q.inFlight} in flight, ${q.delayed} delayed`,
    );
  const dead = s.deadLetters.visible + s.deadLetters.inFlight;
  lines.push(`  dead-letter queue: ${dead} message${dead === 1 ? "" : "s"}`);
  if (dead > 0) lines.push(`    redrive them to the runs queue: ${s.redrive}`);
  return lines;
}

/** The clients and inputs the command uses; tests pass fakes. */
export interface StatusDeps {
  readonly pulumi: PulumiRunner;
  readonly clients: (region: string) => {
    sts: STSClient;
    s3: S3Client;
    ecs: ECSClient;
    sqs: SQSClient;
    dynamo: DynamoDBClient;
  };
  readonly now: () => Date;
  readonly io: Io;
}

/** Prints the status; returns the exit code. */
export async function status(argv: readonly string[], deps: StatusDeps): Promise<number> {
  return runCli(async () => {
    const a = parseArgs(argv, { values: ["last"], switches: [] }, STATUS_USAGE);
    const last = a.values.last === undefined ? 10 : Number(a.values.last);
    if (!Number.isInteger(last) || last < 1 || last > 100)
      throw new UsageError(`--last takes a number from 1 to 100; usage: ${STATUS_USAGE}`);
    const outputs = requireOutputs(
      await readOutputs(deps.pulumi, a.stack),
      [
        "dbtCluster",
        "dbtTaskFamily",
        "artifactBucket",
        "artifactPrefixes",
        "runsQueueArn",
        "deadLetterQueueArn",
        "launchStateTable",
      ],
      a.stack,
    );
    const queue = parseArn(outputs.runsQueueArn);
    const { sts, s3, ecs, sqs, dynamo } = deps.clients(queue.region);
    const identity = await callerIdentity(sts, queue.account, a.stack);
    const now = deps.now();
    const step = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw new OpsError(awsErrorLine(error, what), { cause: error });
      }
    };
    const [ids, running, stopped, waiting, queued, deadLetters] = await Promise.all([
      step("listing runs (s3:ListObjectsV2)", () =>
        latestRunIds(s3, outputs.artifactBucket, outputs.artifactPrefixes.runs, last, now),
      ),
      step("listing running dbt tasks (ecs:ListTasks, ecs:DescribeTasks)", () =>
        familyTasks(ecs, outputs.dbtCluster, outputs.dbtTaskFamily, "RUNNING"),
      ),
      step("listing stopped dbt tasks (ecs:ListTasks, ecs:DescribeTasks)", () =>
        familyTasks(ecs, outputs.dbtCluster, outputs.dbtTaskFamily, "STOPPED"),
      ),
      step("reading launch's pending requests and leases (dynamodb:Scan, dynamodb:Query, dynamodb:GetItem)", () =>
        launchQueues(new DynamoLaunchStore(dynamo, outputs.launchStateTable)),
      ),
      step("reading the runs queue (sqs:GetQueueAttributes)", () => queueDepth(sqs, outputs.runsQueueArn)),
      step("reading the dead-letter queue (sqs:GetQueueAttributes)", () => queueDepth(sqs, outputs.deadLetterQueueArn)),
    ]);
    const tasksByRun = new Map<string, TaskFacts>();
    for (const t of [...stopped, ...running].map(taskFacts)) if (t.runId) tasksByRun.set(t.runId, t);
    const runs = await step("reading run results (s3:GetObject)", () =>
      Promise.all(
        ids.map(async (id) =>
          runLine(
            id,
            await readRunResults(s3, outputs.artifactBucket, `${outputs.artifactPrefixes.runs}${id}/run_results.json`),
            tasksByRun.get(id),
          ),
        ),
      ),
    );
    for (const line of renderStatus({
      stack: a.stack,
      account: queue.account,
      region: queue.region,
      identity: identity.arn,
      runsLocation: `s3://${outputs.artifactBucket}/${outputs.artifactPrefixes.runs}`,
      runs,
      running: running.map(taskFacts),
      waiting,
      queued,
      deadLetters,
      redrive: redriveCommand(outputs.deadLetterQueueArn, outputs.runsQueueArn),
      now,
    }))
      deps.io.out(line);
    return 0;
  }, deps.io);
}

/** The real clients, in the stack's region, with the operator's default credential chain. */
export function awsClients(region: string): {
  sts: STSClient;
  s3: S3Client;
  ecs: ECSClient;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
} {
  return {
    sts: new STSClient({ region }),
    s3: new S3Client({ region }),
    ecs: new ECSClient({ region }),
    sqs: new SQSClient({ region }),
    dynamo: new DynamoDBClient({ region }),
  };
}

if (require.main === module) {
  // An unexpected rejection is left unhandled: Node prints its stack and exits 1.
  void status(process.argv.slice(2), {
    pulumi: execPulumi,
    clients: awsClients,
    now: () => new Date(),
    io: CONSOLE_IO,
  }).then((code) => process.exit(code));
}

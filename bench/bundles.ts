/**
 * Lambda bundles: size and cold initialisation of each function as shipped, next to a fair
 * baseline and to the alternative of each bundling choice. Cold init = a fresh Node.js process
 * imports the handler and makes one realistic first call (a signed Fivetran webhook that gets
 * queued, an SQS batch that becomes a RunTask, an ECS STOPPED event, a freshness read) whose AWS
 * calls go over HTTP to a local fake (bench/fake-aws.ts), never to AWS. Each first call is checked
 * (the expected AWS operations were sent, the answer is a success) before its time counts.
 * Variants run paired and interleaved: every round starts each variant once, in a rotating order.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { createHmac } from "node:crypto";
import { FUNCTIONS_DIR, buildEntry, bundleFunction, buildFunction } from "../components/lib/bundle";
import { evaluate } from "../offline/mocks";
import { readStackConfig } from "../offline/stack-config";
import { FakeAws, startFakeAws } from "./fake-aws";

const run = promisify(execFile);
const ROOT = path.join(FUNCTIONS_DIR, "..");
const fixture = (file: string) => fs.readFileSync(path.join(ROOT, "test", "fixtures", file), "utf8");
const BENCH_SECRET = "bench-fivetran-signing-secret-0123456789";

/** `result[key]` when `result` is an object. */
const field = (result: unknown, key: string): unknown =>
  typeof result === "object" && result !== null ? (result as Record<string, unknown>)[key] : undefined;

/** A first call: its event, the AWS operations it must send, and what a success looks like. */
interface FirstCall {
  readonly event: (previous: FakeAws) => unknown;
  readonly expect: readonly string[];
  readonly ok: (result: unknown) => boolean;
  /** Variables beyond the function's deployed environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Files beside the handler (LAMBDA_TASK_ROOT). */
  readonly files?: Readonly<Record<string, string>>;
}

function fivetranEvent(): unknown {
  const body = fixture("webhooks/fivetran-sync-end-successful.json");
  return {
    version: "2.0",
    routeKey: "POST /webhooks/fivetran",
    rawPath: "/webhooks/fivetran",
    rawQueryString: "",
    headers: {
      "content-type": "application/json",
      "x-fivetran-signature-256": createHmac("sha256", BENCH_SECRET).update(body).digest("hex"),
    },
    requestContext: {
      accountId: "123456789012",
      apiId: "bench",
      domainName: "bench.execute-api.eu-west-1.amazonaws.com",
      domainPrefix: "bench",
      http: {
        method: "POST",
        path: "/webhooks/fivetran",
        protocol: "HTTP/1.1",
        sourceIp: "203.0.113.7",
        userAgent: "fivetran",
      },
      requestId: "bench-1",
      routeKey: "POST /webhooks/fivetran",
      stage: "$default",
      time: "22/Nov/2026:10:00:00 +0000",
      timeEpoch: 1795341600000,
    },
    body,
    isBase64Encoded: false,
  };
}

/** The run request dispatch queued (the fake keeps its body), as the SQS event launch receives. */
function sqsEvent(fake: FakeAws): unknown {
  const sent = fake.calls.find((c) => c.operation === "SendMessage");
  if (!sent) throw new Error("bench: launch needs the message dispatch queued; dispatch must run first");
  const message = JSON.parse(sent.body) as {
    MessageBody: string;
    MessageGroupId: string;
    MessageDeduplicationId: string;
  };
  return {
    Records: [
      {
        messageId: "0f8d2a0e-6b1c-4c1e-9a43-5b6f0d1e2c3a",
        receiptHandle: "AQEBbench",
        body: message.MessageBody,
        attributes: {
          ApproximateReceiveCount: "1",
          SentTimestamp: "1795341540000",
          SenderId: "AROABENCH",
          ApproximateFirstReceiveTimestamp: "1795341540000",
          SequenceNumber: "18888888888888888888",
          MessageGroupId: message.MessageGroupId,
          MessageDeduplicationId: message.MessageDeduplicationId,
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:dbt-pipeline-prod-runs.fifo",
        awsRegion: "eu-west-1",
      },
    ],
  };
}

/** The realistic first call of each function. */
export const FIRST_CALLS: Readonly<Record<string, FirstCall>> = {
  dispatch: {
    event: fivetranEvent,
    expect: ["GetSecretValue", "PutItem", "SendMessage"],
    ok: (r) => field(r, "statusCode") === 202 && String(field(r, "body")).includes("queued"),
    files: { "sources.json": fixture("dispatch/sources.json") },
  },
  launch: {
    event: sqsEvent,
    // Into the pending set (done marker read, item written), lease taken, pending set read, RunTask.
    expect: ["GetItem", "PutItem", "Query", "RunTask"],
    ok: (r) =>
      Array.isArray(field(r, "batchItemFailures")) && (field(r, "batchItemFailures") as unknown[]).length === 0,
    // The queued trigger is new; without a burst window launch starts the task on this call.
    env: { BURST_WINDOW_SECONDS: "0" },
  },
  notify: {
    event: () => JSON.parse(fixture("ecs/task-stopped-success.json")) as unknown,
    expect: ["PutItem", "GetObject", "GetItem", "PutEvents"],
    ok: (r) => field(r, "kind") === "run" && field(r, "status") === "success",
    // Slack would leave the machine; the SNS, EventBridge, DynamoDB and S3 calls stay.
    env: { SLACK_SECRET_ARN: undefined },
  },
  freshness: {
    event: () => ({}),
    expect: ["GetObject"],
    ok: (r) => r !== undefined,
  },
};

/** A way of packaging a function. */
export interface Variant {
  readonly name: string;
  readonly what: string;
  /** Writes the package for `fn` under `dir`; returns its entry file, its bytes and extra node flags. */
  prepare(fn: string, dir: string): { entry: string; bytes: number; nodeArgs?: readonly string[] };
}

function writeBundle(dir: string, code: string, map: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "index.mjs"), code);
  if (map) fs.writeFileSync(path.join(dir, "index.mjs.map"), map);
  return path.join(dir, "index.mjs");
}

function variantBuild(
  name: string,
  what: string,
  overrides: Parameters<typeof buildFunction>[1],
  external = false,
): Variant {
  return {
    name,
    what,
    prepare(fn, dir) {
      const b = buildFunction(fn, overrides);
      if (external) fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
      return { entry: writeBundle(dir, b.code, b.map), bytes: Buffer.byteLength(b.code) };
    },
  };
}

/** The handlers compiled with tsc to CommonJS, once for all functions. */
let tscOut: string | undefined;
function tscBuild(work: string): string {
  if (tscOut) return tscOut;
  const out = path.join(work, "tsc");
  // Inside the repository, so that @types resolve from its node_modules.
  fs.mkdirSync(path.join(ROOT, "dist"), { recursive: true });
  const tsconfig = path.join(ROOT, "dist", `tsconfig.bench-${process.pid}.json`);
  fs.writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: path.join(ROOT, "tsconfig.json"),
      compilerOptions: {
        outDir: out,
        rootDir: ROOT,
        sourceMap: false,
        noEmit: false,
        declaration: false,
        types: ["node"],
      },
      include: [path.join(ROOT, "functions", "**", "*.ts")],
      exclude: [],
    }),
  );
  try {
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", tsconfig], {
      cwd: ROOT,
      stdio: "inherit",
    });
  } finally {
    fs.rmSync(tsconfig, { force: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(out, "node_modules"), "dir");
  tscOut = out;
  return out;
}

/** `packages` and everything they depend on, as installed (hoisted) in `nodeModules`. */
function closure(packages: Iterable<string>, nodeModules: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !fs.existsSync(path.join(nodeModules, name, "package.json"))) return;
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(path.join(nodeModules, name, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
  };
  for (const p of packages) visit(p);
  return seen;
}

function duBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? duBytes(p) : entry.isFile() ? fs.statSync(p).size : 0;
  }
  return total;
}

/** The variants measured: the shipped bundle, the fair baseline, and each choice undone. */
export function variants(work: string): Variant[] {
  return [
    {
      name: "bundle",
      what: "as shipped: SDK bundled, ESM entry points, zod/mini with English messages only, profile/SSO providers left out, minified",
      prepare: (fn, dir) => {
        const b = bundleFunction(fn);
        return { entry: writeBundle(dir, b.code, b.map), bytes: b.bytes };
      },
    },
    {
      name: "tsc",
      what: "fair baseline: tsc to CommonJS, dependencies from node_modules (size: own JS + installed dependency closure)",
      prepare: (fn) => {
        const out = tscBuild(work);
        const nodeModules = path.join(ROOT, "node_modules");
        const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
          dependencies: Record<string, string>;
        };
        const used = Object.keys(pkg.dependencies).filter(
          (d) => !d.startsWith("@pulumi/") && d !== "esbuild" && d !== "typescript",
        );
        return {
          entry: path.join(out, "functions", fn, "index.js"),
          bytes:
            duBytes(path.join(out, "functions")) +
            [...closure(used, nodeModules)].reduce((s, p) => s + duBytes(path.join(nodeModules, p)), 0),
        };
      },
    },
    {
      name: "sdk-floor",
      what: "not a way to ship: the same AWS calls made with the SDK clients alone (bench/floor/<function>.ts, bundled like the shipped code), no zod, Powertools or own code; what the SDK itself costs here",
      prepare: (fn, dir) => {
        const b = buildEntry(path.join(ROOT, "bench", "floor", `${fn}.ts`));
        return { entry: writeBundle(dir, b.code, b.map), bytes: Buffer.byteLength(b.code) };
      },
    },
    {
      name: "before",
      what: "the bundle before these choices: CommonJS entry points, full credential chain",
      ...pick(variantBuild("before", "", { mainFields: ["main", "module"], external: [], sourcemap: false })),
    },
    {
      name: "sdk-external",
      what: "AWS SDK left to the runtime (loaded as CommonJS from node_modules, as the runtime's copy is)",
      ...pick(variantBuild("sdk-external", "", { external: ["@aws-sdk/*", "@smithy/*", "@aws-crypto/*"] }, true)),
    },
    {
      name: "unminified",
      what: "as shipped, not minified",
      ...pick(variantBuild("unminified", "", { minify: false })),
    },
    {
      name: "source-maps",
      what: "as shipped, run with NODE_OPTIONS=--enable-source-maps and index.mjs.map beside it",
      prepare: (fn, dir) => {
        const b = bundleFunction(fn);
        return { entry: writeBundle(dir, b.code, b.map), bytes: b.bytes, nodeArgs: ["--enable-source-maps"] };
      },
    },
  ];
}

function pick(v: Variant): Pick<Variant, "prepare"> {
  return { prepare: (fn, dir) => v.prepare(fn, dir) };
}

/** The measuring process (an ES module file: `node -e` would open stdin, which Lambda never does). */
const CHILD = `
const [entry, eventJson] = process.argv.slice(2);
const t0 = performance.now();
const c0 = process.cpuUsage();
const m = await import(entry);
const result = await m.handler(JSON.parse(eventJson), { functionName: "bench", functionVersion: "$LATEST", invokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:bench", memoryLimitInMB: "256", awsRequestId: "bench-" + process.pid, logGroupName: "/aws/lambda/bench", logStreamName: "bench", getRemainingTimeInMillis: () => 30000, callbackWaitsForEmptyEventLoop: true, done() {}, fail() {}, succeed() {} });
process.stdout.write("\\n@@bench@@" + JSON.stringify({ ms: performance.now() - t0, cpuMs: (() => { const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; })(), result }) + "\\n");
`;

/** The deployed environment of each function of `stack`, from an offline evaluation. */
async function deployedEnv(stack: string): Promise<Record<string, Record<string, string>>> {
  const { config, secretKeys } = readStackConfig(stack, ROOT);
  const ev = await evaluate({ stack, config, secretKeys });
  const out: Record<string, Record<string, string>> = {};
  for (const r of ev.resources.filter((x) => x.type === "aws:lambda/function:Function")) {
    const environment = r.inputs.environment as { variables?: Record<string, string> } | undefined;
    const vars = environment?.variables ?? {};
    if (vars.POWERTOOLS_SERVICE_NAME) out[vars.POWERTOOLS_SERVICE_NAME] = vars;
  }
  return out;
}

/** One cold start: ms from import to the first call's answer. Throws when the call did not do its job. */
async function coldStart(
  fn: string,
  pkg: { entry: string; nodeArgs?: readonly string[] },
  baseEnv: Record<string, string>,
  fake: FakeAws,
  runner: string,
): Promise<{ ms: number; cpuMs: number }> {
  const call = FIRST_CALLS[fn];
  const before = fake.calls.length;
  fake.forget();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIABENCH",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_SESSION_TOKEN: "bench",
    AWS_ENDPOINT_URL: fake.url,
    LAMBDA_TASK_ROOT: path.dirname(pkg.entry),
    POWERTOOLS_LOG_LEVEL: "SILENT",
    POWERTOOLS_DEV: "false",
    AWS_LAMBDA_FUNCTION_NAME: `bench-${fn}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
    _HANDLER: "index.handler",
    ...baseEnv,
  };
  // The SQS client sends to the queue URL's host (useQueueUrlAsEndpoint), not AWS_ENDPOINT_URL.
  for (const [k, v] of Object.entries(env))
    if (v.startsWith("https://sqs.")) env[k] = v.replace(/^https:\/\/sqs\.[^/]+/, fake.url);
  for (const [k, v] of Object.entries(call.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const { stdout } = await run(
    process.execPath,
    [...(pkg.nodeArgs ?? []), runner, pkg.entry, JSON.stringify(call.event(fake))],
    { env, cwd: path.dirname(pkg.entry), maxBuffer: 16 * 1024 * 1024 },
  );
  // The handler's own stdout (Powertools' EMF metrics) comes first; the measurement is the marked line.
  const marked = stdout.split("\n").find((l) => l.startsWith("@@bench@@"));
  if (!marked) throw new Error(`bench: ${fn} printed no measurement: ${stdout.slice(0, 300)}`);
  const { ms, cpuMs, result } = JSON.parse(marked.slice("@@bench@@".length)) as {
    ms: number;
    cpuMs: number;
    result: unknown;
  };
  const sent = fake.calls.slice(before).map((c) => c.operation);
  const missing = call.expect.filter((op) => !sent.includes(op));
  if (missing.length || !call.ok(result) || sent.includes("error")) {
    throw new Error(
      `bench: ${fn}'s first call did not do its job (sent ${sent.join(", ") || "nothing"}; missing ${missing.join(", ") || "none"}; answer ${JSON.stringify(result)?.slice(0, 300)}; fake errors ${fake.calls
        .slice(before)
        .filter((c) => c.operation === "error")
        .map((c) => c.body)
        .join("; ")})`,
    );
  }
  return { ms, cpuMs };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One function's figures per variant; ratios are medians of the per-round ratios to the shipped bundle. */
export interface BundleRow {
  readonly name: string;
  readonly bundleKb: number;
  readonly gzipKb: number;
  /** Median cold init of the shipped bundle, ms (wall clock), and its median CPU ms. */
  readonly bundledInitMs: number;
  readonly bundledCpuMs: number;
  readonly variants: readonly {
    name: string;
    kb: number;
    initMs: number;
    cpuMs: number;
    ratioToBundle: number;
    cpuRatioToBundle: number;
  }[];
}

/** Measures every function, `runs` paired rounds each. */
export async function measureBundles(runs = 7, stack = "prod"): Promise<BundleRow[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-bundles-"));
  const envs = await deployedEnv(stack);
  const fake = await startFakeAws({
    objects: {
      "run_results.json": fixture("dbt/run_results-success.json"),
      "sources.json": fixture("dbt/sources.json"),
    },
    secrets: { "*": BENCH_SECRET },
  });
  try {
    const all = variants(work);
    const runner = path.join(work, "cold-start.mjs");
    fs.writeFileSync(runner, CHILD);
    const rows: BundleRow[] = [];
    for (const fn of Object.keys(FIRST_CALLS)) {
      const packages = all.map((v) => {
        const dir = path.join(work, v.name, fn);
        fs.mkdirSync(dir, { recursive: true });
        const pkg = v.prepare(fn, dir);
        for (const [file, text] of Object.entries(FIRST_CALLS[fn].files ?? {}))
          fs.writeFileSync(path.join(path.dirname(pkg.entry), file), text);
        return { variant: v, pkg };
      });
      const times = packages.map(() => [] as number[]);
      const cpu = packages.map(() => [] as number[]);
      for (let round = 0; round < runs; round++) {
        for (let k = 0; k < packages.length; k++) {
          const i = (k + round) % packages.length;
          const t = await coldStart(fn, packages[i].pkg, envs[fn] ?? {}, fake, runner);
          times[i].push(t.ms);
          cpu[i].push(t.cpuMs);
        }
      }
      const bundle = bundleFunction(fn);
      rows.push({
        name: fn,
        bundleKb: Math.round(bundle.bytes / 1024),
        gzipKb: Math.round(gzipSync(bundle.code).length / 1024),
        bundledInitMs: Math.round(median(times[0])),
        bundledCpuMs: Math.round(median(cpu[0])),
        variants: packages.map((p, i) => ({
          name: p.variant.name,
          kb: Math.round(p.pkg.bytes / 1024),
          initMs: Math.round(median(times[i])),
          cpuMs: Math.round(median(cpu[i])),
          ratioToBundle: Math.round(median(times[i].map((t, r) => t / times[0][r])) * 100) / 100,
          cpuRatioToBundle: Math.round(median(cpu[i].map((t, r) => t / cpu[0][r])) * 100) / 100,
        })),
      });
    }
    return rows;
  } finally {
    await fake.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Section 3 of bench/RESULTS.md: each goal beside its figure. */
export function renderBundles(
  rows: readonly BundleRow[],
  runs: number,
  all: readonly Variant[] = variants(os.tmpdir()),
): string {
  // The choices: every variant but the shipped bundle, the tsc baseline and the SDK floor.
  const describe = all.filter((d) => !["bundle", "tsc", "sdk-floor"].includes(d.name));
  const v = (r: BundleRow, name: string) => r.variants.find((x) => x.name === name)!;
  const met = (ok: boolean) => (ok ? "met" : "**not met**");
  return [
    `Cold init = a fresh \`node\` imports the handler and makes one realistic first call whose AWS calls go to a local fake endpoint (bench/fake-aws.ts); each call is checked (dispatch: signed Fivetran sync_end → GetSecretValue, PutItem, SendMessage, HTTP 202 queued; launch: the queued message as an SQS batch → GetItem, PutItem, Query of its DynamoDB state, RunTask, no batch item failure; notify: the ECS STOPPED fixture of a successful run → idempotency PutItem, S3 GetObject of run_results.json, state GetItem, EventBridge PutEvents; freshness: S3 GetObject of sources.json). Median of ${runs} paired, interleaved rounds (each round starts every variant once, rotating the order); ratio = median of the per-round ratios to the shipped bundle. CPU = user + system time of the measuring process over the same span: on this shared machine wall time also holds waits for a core. [measured]`,
    "",
    "| function | bundle KB (goal ≤ 600) | gzip KB | cold init ms, wall (goal ≤ 100) / CPU | tsc baseline ms, wall / CPU | speed-up vs tsc, wall (goal ≥ 2×) / CPU | SDK floor: same calls, SDK alone, ms wall / CPU |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      const tsc = v(r, "tsc");
      const floor = v(r, "sdk-floor");
      return `| ${r.name} | ${r.bundleKb} (${met(r.bundleKb <= 600)}) | ${r.gzipKb} | ${r.bundledInitMs} (${met(r.bundledInitMs <= 100)}) / ${r.bundledCpuMs} | ${tsc.initMs} / ${tsc.cpuMs} (${tsc.kb} KB) | ${tsc.ratioToBundle.toFixed(2)}× (${met(tsc.ratioToBundle >= 2)}) / ${tsc.cpuRatioToBundle.toFixed(2)}× | ${floor.initMs} / ${floor.cpuMs} (${floor.kb} KB) |`;
    }),
    "",
    "The SDK floor is not a way to ship: it makes the first call's AWS calls with the SDK clients alone (bench/floor/<function>.ts, bundled with the same options), without validation, logging, metrics, idempotency or the function's own logic. The shipped bundle's cold init minus the floor is what everything but the SDK costs.",
    "",
    "Each choice, undone one at a time (cold init, wall ms; × = paired ratio to the shipped bundle, wall / CPU):",
    "",
    `| function | ${describe.map((d) => d.name).join(" | ")} |`,
    `|---|${describe.map(() => "---").join("|")}|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${describe
          .map((d) => {
            const x = v(r, d.name);
            return `${x.initMs} ms, ${x.kb} KB (${x.ratioToBundle.toFixed(2)}× / ${x.cpuRatioToBundle.toFixed(2)}×)`;
          })
          .join(" | ")} |`,
    ),
    "",
    ...all.map((d) => `- **${d.name}**: ${d.what}.`),
  ].join("\n");
}

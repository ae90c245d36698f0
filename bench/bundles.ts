/**
 * Lambda bundles: size of each esbuild bundle and its cold initialisation in a fresh Node.js
 * process (module load plus a first call that is answered without any AWS round trip), median
 * of several runs, next to a naive packaging of the same handler (own code transpiled, every
 * dependency loaded from node_modules).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { FUNCTIONS_DIR, bundleFunction } from "../components/lib/bundle";

/** A first call per function that returns or throws before any AWS call, and the env its init needs. */
export const FIRST_CALLS: Record<string, { event: unknown; env: Record<string, string>; files?: Record<string, string> }> = {
  dispatch: {
    event: { version: "2.0", routeKey: "POST /webhooks/fivetran", rawPath: "/webhooks/fivetran", headers: { "content-type": "text/plain" }, body: "x", isBase64Encoded: false, requestContext: { http: { method: "POST" } } },
    env: { QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo", IDEMPOTENCY_TABLE: "t", DEDUPE_SECONDS: "90000", UNKNOWN_CONNECTOR: "reject", HOURLY_SELECT: "source_status:fresher+", DBT_TARGET: "dev" },
    files: { "sources.json": JSON.stringify({ target: "dev", sources: [] }) },
  },
  launch: { event: { Records: [] }, env: { CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/c", TASK_DEFINITION: "f", SUBNET_IDS: "subnet-1", SECURITY_GROUP_IDS: "sg-1", ASSIGN_PUBLIC_IP: "ENABLED", BURST_WINDOW_SECONDS: "60", RECHECK_SECONDS: "60", MAX_LAUNCH_ATTEMPTS: "5", DLQ_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/d.fifo", QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo", TABLE_NAME: "launch-state" } },
  notify: { event: { unexpected: true }, env: { ARTIFACT_BUCKET: "b", EVENT_BUS_NAME: "bus", ALERT_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:a", STATE_TABLE: "t", IDEMPOTENCY_TABLE: "t", LOG_GROUP_NAME: "/ecs/x", LOG_STREAM_PREFIX: "run", CLUSTER_ARN: "arn:aws:ecs:eu-west-1:123456789012:cluster/c" } },
  freshness: { event: { unexpected: true }, env: { ARTIFACT_BUCKET: "b", SOURCES: "[]" } },
};

/** One function's figures. */
export interface BundleRow {
  readonly name: string;
  readonly bundleKb: number;
  readonly gzipKb: number;
  readonly bundledInitMs: number;
  readonly naiveKb: number;
  readonly naiveInitMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Milliseconds for a fresh `node` to import `entry` and make the first call. */
function coldInit(entry: string, cwd: string, call: { event: unknown; env: Record<string, string> }): number {
  const script = `const t0 = performance.now();
const m = await import(${JSON.stringify(entry)});
try { await m.handler(${JSON.stringify(call.event)}, { functionName: "bench", awsRequestId: "1", getRemainingTimeInMillis: () => 30000 }); } catch {}
process.stdout.write(String(performance.now() - t0));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd,
    env: { PATH: process.env.PATH ?? "", AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "bench", AWS_SECRET_ACCESS_KEY: "bench", LAMBDA_TASK_ROOT: cwd, POWERTOOLS_DEV: "false", POWERTOOLS_LOG_LEVEL: "SILENT", ENVIRONMENT: "dev", POWERTOOLS_SERVICE_NAME: "bench", POWERTOOLS_METRICS_NAMESPACE: "Bench", ...call.env },
    stdio: ["ignore", "pipe", "ignore"],
  });
  return Number(out.toString());
}

/** Disk size of a directory tree. */
function duBytes(dir: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    total += entry.isDirectory() ? duBytes(p) : entry.isFile() ? fs.statSync(p).size : 0;
  }
  return total;
}

/** `packages` and everything they depend on, as installed (hoisted) in `nodeModules`. */
function closure(packages: Iterable<string>, nodeModules: string): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !fs.existsSync(path.join(nodeModules, name, "package.json"))) return;
    seen.add(name);
    const pkg = JSON.parse(fs.readFileSync(path.join(nodeModules, name, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
  };
  for (const p of packages) visit(p);
  return seen;
}

/** Measures every function under functions/ (except lib), `runs` cold starts each. */
export function measureBundles(runs = 5): BundleRow[] {
  const names = fs.readdirSync(FUNCTIONS_DIR).filter((n) => n !== "lib" && fs.existsSync(path.join(FUNCTIONS_DIR, n, "index.ts")));
  const rows: BundleRow[] = [];
  for (const name of names) {
    const call = FIRST_CALLS[name] ?? { event: {}, env: {} };
    const bundle = bundleFunction(name);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${name}-`));
    fs.writeFileSync(path.join(dir, "index.mjs"), bundle.code);
    for (const [f, text] of Object.entries(call.files ?? {})) fs.writeFileSync(path.join(dir, f), text);
    const bundled = median(Array.from({ length: runs }, () => coldInit(path.join(dir, "index.mjs"), dir, call)));

    // Naive packaging: the handler's own code transpiled into one file, every package resolved from node_modules.
    const naiveDir = path.join(path.dirname(FUNCTIONS_DIR), "bench", "out", `naive-${name}`);
    fs.mkdirSync(naiveDir, { recursive: true });
    const result = esbuild.buildSync({
      entryPoints: [path.join(FUNCTIONS_DIR, name, "index.ts")], bundle: true, packages: "external", platform: "node", format: "esm",
      target: "node20", outfile: path.join(naiveDir, "index.mjs"), metafile: true, logLevel: "silent",
    });
    for (const [f, text] of Object.entries(call.files ?? {})) fs.writeFileSync(path.join(naiveDir, f), text);
    const packages = new Set<string>();
    for (const imp of Object.values(result.metafile.outputs)[0].imports) {
      const m = /^(@[^/]+\/[^/]+|[^/.][^/]*)/.exec(imp.path);
      if (m && !imp.path.startsWith("node:") && fs.existsSync(path.join(path.dirname(FUNCTIONS_DIR), "node_modules", m[1]))) packages.add(m[1]);
    }
    const nodeModules = path.join(path.dirname(FUNCTIONS_DIR), "node_modules");
    const naiveBytes = fs.statSync(path.join(naiveDir, "index.mjs")).size +
      [...closure(packages, nodeModules)].reduce((s, p) => s + duBytes(path.join(nodeModules, p)), 0);
    const naive = median(Array.from({ length: runs }, () => coldInit(path.join(naiveDir, "index.mjs"), naiveDir, call)));
    rows.push({
      name,
      bundleKb: Math.round(bundle.bytes / 102.4) / 10,
      gzipKb: Math.round(gzipSync(bundle.code).length / 102.4) / 10,
      bundledInitMs: Math.round(bundled),
      naiveKb: Math.round(naiveBytes / 102.4) / 10,
      naiveInitMs: Math.round(naive),
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

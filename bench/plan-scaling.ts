/**
 * Plan speed and scaling: evaluates the real program under mocks for 1, 10, 100 and 300
 * configured sources (each with a Fivetran connector and a RAW table) and reports time and
 * resource count, so a reviewer can see that cost grows linearly with sources.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { evaluate } from "../offline/mocks";
import { readStackConfig } from "../offline/stack-config";

/** One measurement. */
export interface ScalingRow {
  readonly sources: number;
  readonly resources: number;
  readonly seconds: number;
  readonly msPerResource: number;
}

/** Config for `n` synthetic sources. */
export function syntheticSources(n: number): Record<string, unknown> {
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [
      `source_${String(i).padStart(3, "0")}`,
      { fivetranConnectors: [`connector_${i}`], rawTables: [`SOURCE_${String(i).padStart(3, "0")}_EVENTS`] },
    ]),
  );
}

/** Evaluates the dev stack with `counts` sources each; the first evaluation warms caches (bundles, modules) and is not reported. */
export async function planScaling(counts: readonly number[] = [1, 10, 100, 300]): Promise<ScalingRow[]> {
  const { config, secretKeys } = readStackConfig("dev", path.join(__dirname, ".."));
  const run = async (n: number) => {
    const started = process.hrtime.bigint();
    const ev = await evaluate({
      stack: "dev",
      config: { ...config, "dbt-pipeline:sources": JSON.stringify(syntheticSources(n)) },
      secretKeys,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const resources = ev.resources.filter((r) => r.custom).length;
    return {
      sources: n,
      resources,
      seconds: Math.round(seconds * 100) / 100,
      msPerResource: Math.round(((seconds * 1000) / resources) * 100) / 100,
    };
  };
  await run(1);
  const rows: ScalingRow[] = [];
  for (const n of counts) rows.push(await run(n));
  return rows;
}

/** Least-squares slope and intercept of y over x, and R². */
export function linearFit(
  xs: readonly number[],
  ys: readonly number[],
): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const sxy = xs.reduce((s, x, i) => s + (x - mx) * (ys[i] - my), 0);
  const sxx = xs.reduce((s, x) => s + (x - mx) ** 2, 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssTot = ys.reduce((s, y) => s + (y - my) ** 2, 0);
  const ssRes = ys.reduce((s, y, i) => s + (y - (intercept + slope * xs[i])) ** 2, 0);
  return { slope, intercept, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot };
}

/** One shell run of the offline plan: wall and CPU seconds of the whole process tree. */
export interface ShellTiming {
  readonly wall: number;
  readonly cpu: number;
}

/** Paired shell figures of the plan, fastest first. */
export interface ShellPlanReport {
  /** `npm run plan -- <stack>` as a user types it, per shipped stack. */
  readonly stacks: readonly { stack: string; runs: readonly ShellTiming[] }[];
  /** The plan CLI for dev with 100 synthetic sources (a generated stack file). */
  readonly sources100: readonly ShellTiming[];
  /** Paired variants of the dev plan (node + the plan script, without npm): the fixed cost taken apart. */
  readonly fixedCost: readonly { name: string; what: string; runs: readonly ShellTiming[] }[];
}

const ROOT = path.join(__dirname, "..");

/** Runs `command` and returns wall and CPU (user + system of the finished children) seconds. */
async function timed(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  cwd = ROOT,
): Promise<ShellTiming> {
  const { execFile } = await import("node:child_process");
  const started = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    execFile(command, [...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err) =>
      // @types/node's ExecFileException omits parts of Error, so it is wrapped to reject with one.
      err ? reject(new Error(err.message, { cause: err })) : resolve(),
    );
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  // Children's CPU is counted once they are reaped (cutime + cstime in /proc/self/stat).
  return { wall: Math.round(wall * 100) / 100, cpu: Math.round(childCpuSeconds() * 100) / 100 };
}

let lastChildCpu = 0;
/** CPU seconds of children reaped since the previous call (Linux /proc/self/stat cutime + cstime). */
function childCpuSeconds(): number {
  try {
    const fields = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    const ticks = Number(fields[13]) + Number(fields[14]);
    const total = ticks / 100;
    const delta = total - lastChildCpu;
    lastChildCpu = total;
    return delta;
  } catch {
    return NaN;
  }
}

/** Writes `Pulumi.bench100.yaml` (dev's settings with `n` synthetic sources) into a temporary folder. */
function stackWithSources(n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-bench-"));
  const doc = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  doc.config["dbt-pipeline:sources"] = syntheticSources(n);
  fs.writeFileSync(path.join(dir, `Pulumi.bench${n}.yaml`), yaml.dump(doc));
  return dir;
}

/**
 * The plan from the shell, `runs` paired rounds: each round runs every stack, the 100-source
 * plan and every fixed-cost variant once, in a rotating order. Bundles come from the cache
 * (warmed by the first, unreported round) except in the `cold bundle cache` variant.
 */
export async function shellPlan(runs = 3): Promise<ShellPlanReport> {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const node = process.execPath;
  const dir100 = stackWithSources(100);
  const emptyCache = () => fs.mkdtempSync(path.join(os.tmpdir(), "bundle-cache-"));
  const plan100 = `require("./offline/fast-start"); require("./offline/plan").runPlan(["bench100"], { configDir: ${JSON.stringify(dir100)}, outDir: ${JSON.stringify(path.join(dir100, "plan"))}, log: () => {} }).then((c) => process.exit(c));`;
  const jobs: { key: string; what: string; run: () => Promise<ShellTiming> }[] = [
    { key: "npm dev", what: "", run: () => timed(npm, ["run", "-s", "plan", "--", "dev"]) },
    { key: "npm prod", what: "", run: () => timed(npm, ["run", "-s", "plan", "--", "prod"]) },
    { key: "100 sources", what: "", run: () => timed(node, ["--require", "tsx/cjs", "-e", plan100]) },
    {
      key: "as shipped",
      what: "node --require tsx/cjs offline/plan.ts dev",
      run: () => timed(node, ["--require", "tsx/cjs", "offline/plan.ts", "dev"]),
    },
    {
      key: "no trims",
      what: "DBT_PIPELINE_OFFLINE_TRIMS=off: Pulumi's closure serializer loads typescript and arborist, every resource and promise formats a source-mapped stack",
      run: () => timed(node, ["--require", "tsx/cjs", "offline/plan.ts", "dev"], { DBT_PIPELINE_OFFLINE_TRIMS: "off" }),
    },
    {
      key: "cold bundle cache",
      what: "an empty bundle cache: the four bundles are built (as on the first plan after a change to handler code)",
      run: () =>
        timed(node, ["--require", "tsx/cjs", "offline/plan.ts", "dev"], { DBT_PIPELINE_BUNDLE_CACHE: emptyCache() }),
    },
    {
      key: "tsx CLI",
      what: "`tsx offline/plan.ts dev` (the former script): the tsx CLI starts a second node process",
      run: () => timed(node, [require.resolve("tsx/cli"), "offline/plan.ts", "dev"]),
    },
  ];
  childCpuSeconds();
  await jobs[0].run();
  const results = new Map(jobs.map((j) => [j.key, [] as ShellTiming[]]));
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < jobs.length; k++) {
      const job = jobs[(k + round) % jobs.length];
      results.get(job.key)!.push(await job.run());
    }
  }
  fs.rmSync(dir100, { recursive: true, force: true });
  const sorted = (key: string) => [...results.get(key)!].sort((a, b) => a.wall - b.wall);
  return {
    stacks: ["dev", "prod"].map((stack) => ({ stack, runs: sorted(`npm ${stack}`) })),
    sources100: sorted("100 sources"),
    fixedCost: jobs.slice(3).map((j) => ({ name: j.key, what: j.what, runs: sorted(j.key) })),
  };
}

/** Median of the wall and CPU figures. */
export function medianTiming(runs: readonly ShellTiming[]): ShellTiming {
  const mid = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  return { wall: mid(runs.map((r) => r.wall)), cpu: mid(runs.map((r) => r.cpu)) };
}

/** Section 4's goal table. */
export function renderShellPlan(report: ShellPlanReport): string {
  const met = (ok: boolean) => (ok ? "met" : "**not met**");
  const fmt = (t: ShellTiming) => `${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`;
  const shipped = medianTiming(report.fixedCost[0].runs);
  return [
    `From the shell, median of ${report.sources100.length} paired, interleaved rounds (each round runs every line once in a rotating order; a first, unreported round warms the bundle cache). CPU = user + system of the process tree: on this shared 2-core machine wall time also holds the wait for a core, CPU does not. [measured]`,
    "",
    "| what | goal | median | met? |",
    "|---|---|---|---|",
    ...report.stacks.map((s) => {
      const m = medianTiming(s.runs);
      return `| \`npm run plan -- ${s.stack}\` | ≤ 3 s | ${fmt(m)} | ${met(m.wall <= 3)} wall, ${met(m.cpu <= 3)} CPU |`;
    }),
    (() => {
      const m = medianTiming(report.sources100);
      return `| plan of dev with 100 sources (generated stack file) | ≤ 5 s | ${fmt(m)} | ${met(m.wall <= 5)} wall, ${met(m.cpu <= 5)} CPU |`;
    })(),
    "",
    "The fixed cost taken apart (dev, `node` + the plan script, no npm):",
    "",
    "| variant | median | vs as shipped (CPU) |",
    "|---|---|---|",
    ...report.fixedCost.map((v) => {
      const m = medianTiming(v.runs);
      return `| ${v.name}${v.what ? `: ${v.what}` : ""} | ${fmt(m)} | ${(m.cpu / shipped.cpu).toFixed(2)}× |`;
    }),
  ].join("\n");
}

/**
 * The speed and idle-cost goals beside their figures: the idle month per stack (offline/idle-cost.ts)
 * with the defaults that would bring dev under its goal, the test-suite time, and one table of
 * every goal, met or not met.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { buildConfig, parseConfig } from "../config";
import { DEFAULT_IDLE, IdleLine, Inventory, estimateIdleMonth, inventoryOf, renderIdle } from "../offline/idle-cost";
import { evaluate } from "../offline/mocks";
import { readStackConfig } from "../offline/stack-config";
import type { BundleRow } from "./bundles";
import { ShellPlanReport, ShellTiming, medianTiming } from "./plan-scaling";

const ROOT = path.join(__dirname, "..");

/** The idle month of each stack as shipped, and beside it the hourly skip switched the other way. */
export interface IdleReport {
  readonly variants: readonly {
    name: string;
    what: string;
    stack: string;
    /** Whether this variant is the one a goal judges (the stack as shipped). */
    shipped: boolean;
    lines: readonly IdleLine[];
  }[];
}

const total = (lines: readonly IdleLine[]) => Math.round(lines.reduce((s, l) => s + l.usd, 0) * 100) / 100;

function configOf(stack: string, overrides: Record<string, string> = {}) {
  const raw = {
    ...readStackConfig(stack, ROOT).config,
    ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [`dbt-pipeline:${k}`, v])),
  };
  const parsed = parseConfig(raw, stack);
  if (!parsed.values) throw new Error(`stack ${stack}: ${parsed.problems.join("; ")}`);
  return buildConfig(parsed.values, "dbt-pipeline", stack);
}

/** The resources of `stack` that bill by the month, from an offline evaluation of the program. */
async function inventoryOfStack(stack: string): Promise<Inventory> {
  const { config, secretKeys } = readStackConfig(stack, ROOT);
  return inventoryOf((await evaluate({ stack, config, secretKeys })).resources);
}

/** The idle months the report shows. */
export async function idleReport(): Promise<IdleReport> {
  const variants: IdleReport["variants"][number][] = [];
  for (const stack of ["dev", "prod"]) {
    const config = configOf(stack);
    const inventory = await inventoryOfStack(stack);
    const skip = config.triggers.hourlySkipWhenIdle;
    variants.push(
      {
        name: `${stack} as shipped`,
        what: `Pulumi.${stack}.yaml and the defaults in Pulumi.yaml (hourly skip ${skip ? "on" : "off"})`,
        stack,
        shipped: true,
        lines: estimateIdleMonth(config, inventory),
      },
      {
        name: `${stack}, hourly skip ${skip ? "off" : "on"}`,
        what: `the same with triggers.hourlySkipWhenIdle ${skip ? "false" : "true"}`,
        stack,
        shipped: false,
        lines: estimateIdleMonth(config, inventory, { ...DEFAULT_IDLE, hourlySkipWhenIdle: !skip }),
      },
    );
  }
  return { variants };
}

/** The idle part of section 5. */
export function renderIdleReport(report: IdleReport): string {
  const shipped = report.variants.filter((v) => v.shipped);
  const prod = shipped.find((v) => v.stack === "prod")!;
  const largest = [...prod.lines].sort((a, b) => b.usd - a.usd).slice(0, 3);
  return [
    "### Idle month (no loads, no webhooks)",
    "",
    "`estimateIdleMonth` (offline/idle-cost.ts; also printed by `npm run plan`). Inputs are labelled in each line: [config], [program] (counted in the offline evaluation of the stack), [documented] (source in the code comment), [inferred] (read from this repository's code), [assumed]; prices are list prices [documented in offline/cost.ts as list prices, not re-checked]. docs/speed-and-cost.md explains each line.",
    "",
    "| stack and settings | idle month | goal |",
    "|---|---|---|",
    ...report.variants.map(
      (v) =>
        `| ${v.name}: ${v.what} | $${total(v.lines).toFixed(2)} | ${v.stack === "dev" && v.shipped ? `≤ $10 (${total(v.lines) <= 10 ? "met" : "**not met**"})` : "reported"} |`,
    ),
    "",
    ...shipped.flatMap((v) => ["```", renderIdle(v.name, v.lines), "```", ""]),
    `Prod's largest idle lines: ${largest.map((l) => `${l.item} $${l.usd.toFixed(2)}`).join("; ")}.`,
  ].join("\n");
}

/** `npm test` once, wall and CPU (caches warm: the benchmark ran the plan and built the bundles before). */
export async function measureTests(): Promise<ShellTiming & { ok: boolean }> {
  const fs = await import("node:fs");
  const cpu = () => {
    const f = fs.readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
    return (Number(f[13]) + Number(f[14])) / 100;
  };
  const c0 = cpu();
  const t0 = process.hrtime.bigint();
  const ok = await new Promise<boolean>((resolve) => {
    execFile(
      process.platform === "win32" ? "npm.cmd" : "npm",
      ["test", "--", "--reporter", "dot"],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
      (err) => resolve(!err),
    );
  });
  return {
    wall: Math.round(Number(process.hrtime.bigint() - t0) / 1e7) / 100,
    cpu: Math.round((cpu() - c0) * 100) / 100,
    ok,
  };
}

/** One table: each goal beside its figure. */
export function renderGoals(o: {
  bundles?: readonly BundleRow[];
  shell?: ShellPlanReport;
  tests?: ShellTiming & { ok: boolean };
  idle: IdleReport;
  load: string;
}): string {
  const met = (ok: boolean) => (ok ? "met" : "**not met**");
  const rows: string[] = [];
  for (const b of o.bundles ?? []) {
    const tsc = b.variants.find((v) => v.name === "tsc")!;
    const floor = b.variants.find((v) => v.name === "sdk-floor");
    rows.push(`| ${b.name} bundle ≤ 600 KB | ${b.bundleKb} KB | ${met(b.bundleKb <= 600)} | measured |`);
    rows.push(
      `| ${b.name} cold init ≤ 100 ms (median, realistic first call) | ${b.bundledInitMs} ms wall / ${b.bundledCpuMs} ms CPU${floor ? ` (SDK floor: ${floor.initMs} ms)` : ""} | ${met(b.bundledInitMs <= 100)} wall, ${met(b.bundledCpuMs <= 100)} CPU | measured |`,
    );
    rows.push(
      `| ${b.name} ≥ 2× faster than tsc + node_modules | ${tsc.ratioToBundle.toFixed(2)}× wall (${tsc.initMs} ms) / ${tsc.cpuRatioToBundle.toFixed(2)}× CPU | ${met(tsc.ratioToBundle >= 2)} wall, ${met(tsc.cpuRatioToBundle >= 2)} CPU | measured, paired |`,
    );
  }
  for (const s of o.shell?.stacks ?? []) {
    const m = medianTiming(s.runs);
    rows.push(
      `| \`npm run plan -- ${s.stack}\` ≤ 3 s | ${m.wall.toFixed(2)} s wall / ${m.cpu.toFixed(2)} s CPU | ${met(m.wall <= 3)} wall, ${met(m.cpu <= 3)} CPU | measured |`,
    );
  }
  if (o.shell) {
    const m = medianTiming(o.shell.sources100);
    rows.push(
      `| plan with 100 sources ≤ 5 s | ${m.wall.toFixed(2)} s wall / ${m.cpu.toFixed(2)} s CPU | ${met(m.wall <= 5)} wall, ${met(m.cpu <= 5)} CPU | measured |`,
    );
  }
  if (o.tests)
    rows.push(
      `| \`npm test\` ≤ 40 s warm | ${o.tests.wall.toFixed(1)} s wall / ${o.tests.cpu.toFixed(1)} s CPU (2 workers)${o.tests.ok ? "" : ", **failures**"} | ${met(o.tests.wall <= 40)} wall | measured |`,
    );
  for (const v of o.idle.variants.filter((x) => x.stack === "dev" && x.shipped))
    rows.push(
      `| dev idle month ≤ $10 (${v.name}) | $${total(v.lines).toFixed(2)} | ${met(total(v.lines) <= 10)} | model: config, program, documented, inferred and assumed inputs (section 5) |`,
    );
  const prod = o.idle.variants.find((x) => x.name === "prod as shipped")!;
  rows.push(`| prod idle month reported, line by line | $${total(prod.lines).toFixed(2)} | met | model (section 5) |`);
  return [
    `Machine load while measuring: ${o.load}. Wall-clock goals are judged on wall time; where the machine was shared, CPU time (user + system of the process tree) is given beside it.`,
    "",
    "| goal | figure | met? | basis |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

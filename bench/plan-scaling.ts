/**
 * Plan speed and scaling: evaluates the real program under mocks for 1, 10, 100 and 300
 * configured sources (each with a Fivetran connector and a RAW table) and reports time and
 * resource count, so a reviewer can see that cost grows linearly with sources.
 */
import * as path from "node:path";
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
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [
    `source_${String(i).padStart(3, "0")}`,
    { fivetranConnectors: [`connector_${i}`], rawTables: [`SOURCE_${String(i).padStart(3, "0")}_EVENTS`] },
  ]));
}

/** Evaluates the dev stack with `counts` sources each; the first evaluation warms caches (bundles, modules) and is not reported. */
export async function planScaling(counts: readonly number[] = [1, 10, 100, 300]): Promise<ScalingRow[]> {
  const { config, secretKeys } = readStackConfig("dev", path.join(__dirname, ".."));
  const run = async (n: number) => {
    const started = process.hrtime.bigint();
    const ev = await evaluate({ stack: "dev", config: { ...config, "dbt-pipeline:sources": JSON.stringify(syntheticSources(n)) }, secretKeys });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const resources = ev.resources.filter((r) => r.custom).length;
    return { sources: n, resources, seconds: Math.round(seconds * 100) / 100, msPerResource: Math.round((seconds * 1000 / resources) * 100) / 100 };
  };
  await run(1);
  const rows: ScalingRow[] = [];
  for (const n of counts) rows.push(await run(n));
  return rows;
}

/** Least-squares slope and intercept of y over x, and R². */
export function linearFit(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number; r2: number } {
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

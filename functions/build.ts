/**
 * `npm run bundle [-- name ...]`: writes `dist/<name>/index.mjs` and `index.mjs.map` for every
 * function (or the ones named), exactly the code `pulumi up` ships, and prints each size. The
 * bundles come from the content-hash cache when their sources are unchanged, so this is also
 * how to warm the cache after `npm ci`. The map decodes a minified stack trace from the logs:
 * `node --enable-source-maps` on the written file, or any source-map tool.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FUNCTIONS_DIR, bundleFunction, bundleStats } from "../components/lib/bundle";

/** Functions: the folders under functions/ with an index.ts (functions/lib is shared code). */
export function functionNames(): string[] {
  return fs
    .readdirSync(FUNCTIONS_DIR)
    .filter((n) => n !== "lib" && fs.existsSync(path.join(FUNCTIONS_DIR, n, "index.ts")))
    .sort();
}

/** Writes the bundles of `names` under `outDir`; returns one line per function. */
export function writeBundles(names: readonly string[], outDir: string): string[] {
  const known = functionNames();
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`no function ${unknown.join(", ")}; functions: ${known.join(", ")}`);
  return names.map((name) => {
    const bundle = bundleFunction(name);
    const dir = path.join(outDir, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "index.mjs"), bundle.code);
    fs.writeFileSync(path.join(dir, "index.mjs.map"), bundle.map);
    return `${name.padEnd(10)} ${(bundle.bytes / 1024).toFixed(0).padStart(5)} KB  sha256 ${bundle.sha256}  -> ${path.relative(process.cwd(), dir)}/index.mjs`;
  });
}

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    const lines = writeBundles(args.length ? args : functionNames(), path.join(FUNCTIONS_DIR, "..", "dist"));
    console.log(lines.join("\n"));
    console.log(`(${bundleStats.hits} from the cache, ${bundleStats.builds} built)`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}

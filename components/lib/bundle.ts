/**
 * Bundles a Lambda handler (`functions/<name>/index.ts`) with esbuild into one minified ESM file
 * and its source map, at program evaluation, behind a content-hash cache: an evaluation (a plan,
 * a test, `pulumi up`) whose handler sources and dependency versions are unchanged reads the
 * bundle from disk instead of rebuilding it. `pulumi up` needs no separate build step, and the
 * bundle is deterministic, so an unchanged handler never shows as a diff.
 *
 * What goes into the bundle, and why (figures: `npm run bench`, section 3):
 * - Everything, the AWS SDK included. Each Node.js Lambda runtime ships "a specific minor version
 *   of the AWS SDK for JavaScript v3, not the latest version", which "depends on the runtime
 *   version and your AWS Region" (docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html,
 *   "Runtime-included SDK versions"). Bundling runs the SDK version the tests ran, in every
 *   Region, and a bundled SDK initialises faster than the runtime's CommonJS copy spread over
 *   hundreds of files.
 * - ESM entry points first (`mainFields`): the SDK and Powertools publish `dist-es` builds that
 *   esbuild can tree-shake; their CommonJS builds cannot be.
 * - zod/mini, not classic zod: classic bundles ~124 KB (its namespace re-exports every language,
 *   the JSON Schema converters and `z.compile`, and every schema instance gets dozens of methods at
 *   construction), mini ~19 KB, tree-shaken to the functions a handler calls. Powertools' parser
 *   schemas are built on classic zod, so the envelopes the handlers read are copied onto mini
 *   (functions/dispatch/schema.ts, functions/notify/schema.ts). Only English messages are
 *   registered (functions/lib/env.ts).
 * - Not the profile, SSO, process and web-identity credential providers (see `external`).
 * - Minified, with an external source map (mappings only, `sourcesContent: false`: the sources
 *   are in the repository at the deployed commit) to decode a minified stack trace.
 *
 * The cache key ({@link contentKey}) covers esbuild's version, the options, the build function
 * itself, every own source file's contents and the `package.json` of every bundled package.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { type BuildOptions, type BuildResult, buildSync } from "esbuild";

/** The bundled code of one function. */
export interface Bundle {
  /** `index.mjs` contents (ends with a `sourceMappingURL` comment naming `index.mjs.map`). */
  readonly code: string;
  /** sha256 of the code, base64 (what Lambda calls CodeSha256 for a zip differs; this is for change tracking). */
  readonly sha256: string;
  /** Bytes of the bundle. */
  readonly bytes: number;
  /** `index.mjs.map` contents: the source map of `code`. */
  readonly map: string;
}

/** Folder that holds one folder per function. */
export const FUNCTIONS_DIR = path.join(__dirname, "..", "..", "functions");

/** Repository root (its `node_modules` holds the packages bundled). */
const ROOT = path.join(__dirname, "..", "..");

/** Where bundles are cached: `$DBT_PIPELINE_BUNDLE_CACHE`, default `dist/.bundle-cache` (git-ignored). */
export function cacheDir(): string {
  return process.env.DBT_PIPELINE_BUNDLE_CACHE ?? path.join(ROOT, "dist", ".bundle-cache");
}

/** esbuild options of every function (JSON-serialisable: they are part of the cache key). */
export const BUILD_OPTIONS = {
  bundle: true,
  platform: "node",
  target: "node24",
  format: "esm",
  minify: true,
  legalComments: "none",
  mainFields: ["module", "main"],
  // The default credential chain imports these lazily, after `fromEnv` (aws-sdk-js-v3
  // packages/credential-provider-node/src/defaultProvider.ts: `await import(...)`); Lambda always sets the
  // role's keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (reserved
  // variables, docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), so on Lambda
  // the chain stops at the environment and never reaches the profile, SSO or web-identity
  // providers (and the STS/SSO clients they carry: ~100 KB). Off Lambda they load from node_modules.
  external: [
    "@aws-sdk/credential-provider-sso",
    "@aws-sdk/credential-provider-ini",
    "@aws-sdk/credential-provider-process",
    "@aws-sdk/credential-provider-web-identity",
  ],
  sourcemap: "external",
  sourcesContent: false,
  // Some CommonJS dependencies call require(); give ESM output a real one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "silent",
} satisfies BuildOptions;

/** What the cache keeps per function. */
interface CacheEntry {
  readonly key: string;
  /** Inputs of the last build, relative to the repository root. */
  readonly inputs: readonly string[];
  readonly sha256: string;
}

const sha256 = (data: string | Buffer, encoding: "hex" | "base64" = "hex") =>
  createHash("sha256").update(data).digest(encoding);

/**
 * The content key of a build: esbuild's version, the options, the text of {@link buildEntry} (so
 * an edit to how a bundle is built invalidates the cache), each own source
 * file's contents and, for a file inside `node_modules`, its package's `package.json` (npm
 * versions are immutable, so name and version stand for the package's files: ~40 reads instead of
 * ~1000). Undefined when an input has gone.
 */
export function contentKey(name: string, inputs: readonly string[]): string | undefined {
  const hash = createHash("sha256");
  const esbuildVersion = (
    JSON.parse(fs.readFileSync(require.resolve("esbuild/package.json"), "utf8")) as { version: string }
  ).version;
  hash.update(JSON.stringify({ name, esbuildVersion, BUILD_OPTIONS, build: buildEntry.toString() }));
  const packages = new Set<string>();
  for (const input of [...inputs].sort()) {
    const nm = input.lastIndexOf("node_modules/");
    if (nm >= 0) {
      const rest = input.slice(nm + "node_modules/".length).split("/");
      packages.add(input.slice(0, nm) + "node_modules/" + rest.slice(0, rest[0].startsWith("@") ? 2 : 1).join("/"));
      continue;
    }
    const file = path.join(ROOT, input);
    if (!fs.existsSync(file)) return undefined;
    hash.update(`\0${input}\0`).update(fs.readFileSync(file));
  }
  for (const pkg of [...packages].sort()) {
    const file = path.join(ROOT, pkg, "package.json");
    if (!fs.existsSync(file)) return undefined;
    hash.update(`\0${pkg}\0`).update(fs.readFileSync(file));
  }
  return hash.digest("hex");
}

/**
 * Builds `functions/<name>/index.ts` now, in this process (esbuild's synchronous API: a component
 * constructor needs the bundle synchronously). The benchmark passes esbuild `overrides` to measure
 * the alternative to each choice; the program never does.
 */
export function buildFunction(
  name: string,
  overrides: Partial<BuildOptions> = {},
): { code: string; map: string; inputs: string[] } {
  const entry = path.join(FUNCTIONS_DIR, name, "index.ts");
  if (!fs.existsSync(entry))
    throw new Error(
      `no handler ${path.relative(ROOT, entry)}: a function is a folder under functions/ with an index.ts`,
    );
  return buildEntry(entry, overrides);
}

/** Builds any entry file with the functions' options (the benchmark also bundles its SDK-only floors). */
export function buildEntry(
  entry: string,
  overrides: Partial<BuildOptions> = {},
): { code: string; map: string; inputs: string[] } {
  let result: BuildResult<{ write: false; metafile: true }>;
  try {
    result = buildSync({
      ...BUILD_OPTIONS,
      ...overrides,
      // In memory, with the inputs listed for the cache key: whatever the overrides say.
      write: false,
      metafile: true,
      absWorkingDir: ROOT,
      entryPoints: [entry],
      outfile: "index.mjs",
    });
  } catch (err) {
    throw new Error(`bundling ${path.relative(ROOT, entry)} failed: ${(err as Error).message}`, { cause: err });
  }
  const code = result.outputFiles.find((f) => f.path.endsWith(".mjs"))?.text ?? "";
  const map = result.outputFiles.find((f) => f.path.endsWith(".map"))?.text ?? "";
  return {
    code: map ? `${code}//# sourceMappingURL=index.mjs.map\n` : code,
    map,
    inputs: Object.keys(result.metafile.inputs),
  };
}

function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function readCached(name: string, dir: string): Bundle | undefined {
  const manifest = path.join(dir, `${name}.json`);
  if (!fs.existsSync(manifest)) return undefined;
  const entry = JSON.parse(fs.readFileSync(manifest, "utf8")) as CacheEntry;
  if (contentKey(name, entry.inputs) !== entry.key) return undefined;
  const codeFile = path.join(dir, `${sha256(entry.sha256)}.mjs`);
  if (!fs.existsSync(codeFile) || !fs.existsSync(`${codeFile}.map`)) return undefined;
  const code = fs.readFileSync(codeFile, "utf8");
  if (sha256(code, "base64") !== entry.sha256) return undefined;
  return {
    code,
    sha256: entry.sha256,
    bytes: Buffer.byteLength(code),
    map: fs.readFileSync(`${codeFile}.map`, "utf8"),
  };
}

/** Deletes the code the cache held for `name` before, unless it is the code about to be written. */
function removeStale(name: string, dir: string, keep: string): void {
  const manifest = path.join(dir, `${name}.json`);
  if (!fs.existsSync(manifest)) return;
  const old = (JSON.parse(fs.readFileSync(manifest, "utf8")) as CacheEntry).sha256;
  if (old === keep) return;
  const codeFile = path.join(dir, `${sha256(old)}.mjs`);
  fs.rmSync(codeFile, { force: true });
  fs.rmSync(`${codeFile}.map`, { force: true });
}

const memo = new Map<string, Bundle>();

/** Counts of cache hits and builds in this process (the tests and the bench read them). */
export const bundleStats = { hits: 0, builds: 0 };

/** Bundles `functions/<name>/index.ts` for Node.js 24 on Lambda, from the content-hash cache when nothing changed. */
export function bundleFunction(name: string): Bundle {
  const known = memo.get(name);
  if (known) return known;
  const dir = cacheDir();
  const cached = readCached(name, dir);
  if (cached) {
    bundleStats.hits++;
    memo.set(name, cached);
    return cached;
  }
  const built = buildFunction(name);
  bundleStats.builds++;
  const inputs = built.inputs.map((p) => path.relative(ROOT, path.resolve(ROOT, p)).split(path.sep).join("/"));
  const key = contentKey(name, inputs);
  const bundle: Bundle = {
    code: built.code,
    sha256: sha256(built.code, "base64"),
    bytes: Buffer.byteLength(built.code),
    map: built.map,
  };
  if (key) {
    fs.mkdirSync(dir, { recursive: true });
    removeStale(name, dir, bundle.sha256);
    const codeFile = path.join(dir, `${sha256(bundle.sha256)}.mjs`);
    writeAtomic(codeFile, bundle.code);
    writeAtomic(`${codeFile}.map`, bundle.map);
    writeAtomic(
      path.join(dir, `${name}.json`),
      JSON.stringify({ key, inputs, sha256: bundle.sha256 } satisfies CacheEntry),
    );
  }
  memo.set(name, bundle);
  return bundle;
}

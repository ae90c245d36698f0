/**
 * Bundles a Lambda handler (`functions/<name>/index.ts`) with esbuild into one ESM file, in
 * memory, at program evaluation. `pulumi up` therefore needs no separate build step, and the
 * bundle is deterministic, so an unchanged handler never shows as a diff.
 */
import * as path from "node:path";
import { createHash } from "node:crypto";
import * as esbuild from "esbuild";

/** The bundled code of one function. */
export interface Bundle {
  /** `index.mjs` contents. */
  readonly code: string;
  /** sha256 of the code, base64 (what Lambda calls CodeSha256 for a zip differs; this is for change tracking). */
  readonly sha256: string;
  /** Bytes of the bundle. */
  readonly bytes: number;
}

/** Folder that holds one folder per function. */
export const FUNCTIONS_DIR = path.join(__dirname, "..", "..", "functions");

const cache = new Map<string, Bundle>();

/** Bundles `functions/<name>/index.ts` for Node.js 24 on Lambda (ESM, minified, AWS SDK included). */
export function bundleFunction(name: string): Bundle {
  const hit = cache.get(name);
  if (hit) return hit;
  const result = esbuild.buildSync({
    entryPoints: [path.join(FUNCTIONS_DIR, name, "index.ts")],
    bundle: true,
    platform: "node",
    target: "node24",
    format: "esm",
    minify: true,
    write: false,
    legalComments: "none",
    // Some CommonJS dependencies call require(); give ESM output a real one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: "silent",
  });
  const code = result.outputFiles[0].text;
  const bundle = { code, sha256: createHash("sha256").update(code).digest("base64"), bytes: Buffer.byteLength(code) };
  cache.set(name, bundle);
  return bundle;
}

import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bundleFunction, cacheDir, contentKey } from "../../components/lib/bundle";
import { z } from "zod";
import { ROOT } from "../helpers/stack";

/** A path relative to the repository root, as esbuild's metafile names inputs. */
const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");

/** What the bundling probe prints (objects kept loose, so deep.equal still sees any extra field). */
const BundleProbe = z.object({
  stats: z.looseObject({ hits: z.number(), builds: z.number() }),
  sha256: z.string(),
  bytes: z.number(),
  head: z.string(),
  tail: z.string(),
  locales: z.boolean(),
  english: z.boolean(),
  sso: z.boolean(),
  map: z.looseObject({ sources: z.array(z.string()) }),
});

describe("Lambda bundles: content-hash cache", () => {
  fs.mkdirSync(path.join(ROOT, "dist"), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(ROOT, "dist", "bundle-spec-"));
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it("keys a build by the contents of its own sources: an edit changes the key, the same text gives it back", () => {
    const file = path.join(scratch, "handler.ts");
    fs.writeFileSync(file, "export const handler = () => 1;\n");
    const before = contentKey("launch", [rel(file)]);
    fs.writeFileSync(file, "export const handler = () => 2;\n");
    const edited = contentKey("launch", [rel(file)]);
    fs.writeFileSync(file, "export const handler = () => 1;\n");
    expect(edited).to.be.a("string").and.not.equal(before);
    expect(contentKey("launch", [rel(file)])).to.equal(before);
  });

  it("keys a dependency by its package (name and version in package.json), not by each file", () => {
    const zodDir = path.dirname(require.resolve("zod/package.json"));
    const chaiDir = path.dirname(require.resolve("chai/package.json"));
    const a = contentKey("launch", [rel(path.join(zodDir, "v4", "core", "api.js"))]);
    expect(contentKey("launch", [rel(path.join(zodDir, "v4", "core", "schemas.js"))])).to.equal(a);
    expect(contentKey("launch", [rel(path.join(chaiDir, "index.js"))])).to.not.equal(a);
  });

  it("has no key when an input is gone, and a different key per function", () => {
    expect(contentKey("launch", [rel(path.join(scratch, "deleted.ts"))])).to.equal(undefined);
    expect(contentKey("launch", ["functions/launch/index.ts"])).to.not.equal(
      contentKey("notify", ["functions/launch/index.ts"]),
    );
  });

  it("a new process reads the bundle from the cache without rebuilding it (built once when the cache is cold)", function () {
    this.timeout(120_000);
    // The shared cache, as the plan and the other specs use it: warm, nothing is rebuilt here.
    const cache = cacheDir();
    const run = () =>
      BundleProbe.parse(
        JSON.parse(
          execFileSync(
            process.execPath,
            [
              "--require",
              "tsx/cjs",
              "-e",
              `
      const b = require("./components/lib/bundle");
      const x = b.bundleFunction("launch");
      process.stdout.write(JSON.stringify({ stats: b.bundleStats, sha256: x.sha256, bytes: x.bytes, head: x.code.slice(0, 80), tail: x.code.slice(-40),
        locales: /Eingabe|entrada/.test(x.code), english: x.code.includes("Unrecognized key"),
        sso: x.code.includes('import("@aws-sdk/credential-provider-sso")'), map: JSON.parse(x.map) }));`,
            ],
            { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
          ),
        ),
      );
    const first = run();
    const second = run();
    expect(first.stats.hits + first.stats.builds).to.equal(1);
    expect(second.stats).to.deep.equal({ hits: 1, builds: 0 });
    expect(second.sha256).to.equal(first.sha256);
    expect(fs.readdirSync(cache)).to.include.members([
      `${hex(first.sha256)}.mjs`,
      `${hex(first.sha256)}.mjs.map`,
      "launch.json",
    ]);
    // ESM with a real require() for bundled CommonJS, minified, and the map named where Lambda would find it.
    expect(first.head).to.equal(
      "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);\n".slice(0, 80),
    );
    expect(first.tail).to.match(/\n\/\/# sourceMappingURL=index\.mjs\.map\n$/);
    expect(first.map.version).to.equal(3);
    expect(first.map.sources).to.include("functions/launch/index.ts");
    expect(first.map.sourcesContent).to.equal(undefined);
    // zod's English messages only; the profile/SSO credential providers stay outside (imported lazily, never on Lambda).
    expect(first.english).to.equal(true);
    expect(first.locales).to.equal(false);
    expect(first.sso).to.equal(true);
    expect(first.bytes).to.be.below(600 * 1024);
  });

  // Classic zod bundles ~124 KB and builds method-rich schemas on every cold start; zod/mini ~19 KB.
  // A handler file or a library schema on classic zod (Powertools' parser schemas are) brings all of
  // it back. zod names each class it defines (zod/v4/core/core.js `$constructor(name, ...)`):
  // classic's base class is "ZodType" (zod/v4/classic/schemas.js), mini's "ZodMiniType".
  for (const name of ["dispatch", "launch", "notify", "freshness"]) {
    it(`${name}: zod/mini with English messages only, no classic zod`, function () {
      this.timeout(120_000);
      const { code } = bundleFunction(name);
      expect(code).to.include('"ZodMiniType"');
      expect(code).not.to.include('"ZodType"');
      // Texts of zod/v4/locales/en.js (registered in functions/lib/env.ts), and of de.js / es.js.
      expect(code).to.include("Unrecognized key");
      expect(code).not.to.match(/Eingabe|entrada/);
    });
  }

  it("the bundled zod validates the environment at init and reports each missing variable", function () {
    this.timeout(120_000);
    const bundle = bundleFunction("freshness");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bundle-zod-"));
    try {
      fs.writeFileSync(path.join(dir, "index.mjs"), bundle.code);
      // Loading the handler parses its environment with zod at init; ARTIFACT_BUCKET is missing.
      const out = spawnSync(
        process.execPath,
        ["--input-type=module", "-e", `await import(${JSON.stringify(path.join(dir, "index.mjs"))});`],
        {
          env: { PATH: process.env.PATH, ENVIRONMENT: "dev", SOURCES: "stripe,hubspot", AWS_REGION: "eu-west-1" },
          encoding: "utf8",
        },
      );
      expect(out.status).to.equal(1);
      expect(out.stderr).to.include(
        "freshness: invalid environment:\n✖ is not set; the deployment must set it\n  → at ARTIFACT_BUCKET",
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function hex(base64: string): string {
  return createHash("sha256").update(base64).digest("hex");
}

describe("offline start-up trims", () => {
  const probe = `
    const trims = require("./offline/fast-start");
    const pulumi = require("@pulumi/pulumi");
    const heavy = () => Object.keys(require.cache).filter((k) => /node_modules[\\\\/](typescript|@npmcli[\\\\/]arborist|normalize-package-data)[\\\\/]/.test(k)).length > 0;
    const atLoad = heavy();
    pulumi.runtime.serializeFunction(() => 42).then((s) => {
      process.stdout.write(JSON.stringify({ atLoad, afterUse: heavy(), lazyLoaded: [...trims.lazyLoaded], serialized: s.text.includes("42") }));
    });`;
  const run = (): unknown =>
    JSON.parse(
      execFileSync(process.execPath, ["--require", "tsx/cjs", "-e", probe], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }),
    );

  it("loading @pulumi/pulumi no longer loads typescript, arborist or normalize-package-data; the closure serializer still works, loading them then", function () {
    this.timeout(60_000);
    expect(run()).to.deep.equal({ atLoad: false, afterUse: true, lazyLoaded: ["typescript"], serialized: true });
  });
});

import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../helpers/stack";

/** Packages the handlers import at run time (type-only imports are erased from the bundles). */
function runtimeImports(dir: string): Set<string> {
  const found = new Set<string>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      for (const p of runtimeImports(file)) found.add(p);
      continue;
    }
    if (!entry.name.endsWith(".ts")) continue;
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/^import (?!type )[^;]*? from "([^".][^"]*)";/gms)) {
      const spec = m[1];
      if (spec.startsWith("node:")) continue;
      found.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]);
    }
  }
  return found;
}

describe("package.json: what runs in the Lambdas and what only deploys", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };

  it("every package a handler imports at run time is a dependency (it is bundled into the Lambda)", () => {
    const imports = [...runtimeImports(path.join(ROOT, "functions"))].sort();
    expect(imports).to.include.members(["@aws-lambda-powertools/logger", "@aws-sdk/client-sqs", "zod"]);
    expect(imports.filter((p) => !(p in pkg.dependencies))).to.deep.equal([]);
  });

  it("the Pulumi SDKs, the bundler and the compiler only deploy: devDependencies", () => {
    const deployOnly = [
      "@pulumi/aws",
      "@pulumi/awsx",
      "@pulumi/github",
      "@pulumi/pulumi",
      "@pulumi/snowflake",
      "@pulumi/tls",
      "esbuild",
      "typescript",
    ];
    expect(deployOnly.filter((p) => p in pkg.dependencies)).to.deep.equal([]);
    expect(deployOnly.filter((p) => !(p in pkg.devDependencies))).to.deep.equal([]);
  });
});

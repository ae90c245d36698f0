import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { z } from "zod";
import { KEYS } from "../config-keys";
import { renderConfigReference, renderProjectFile } from "../offline/project-file";
import { listStacks, parseStackFile, readStackConfig } from "../offline/stack-config";
import { ROOT } from "./helpers/stack";

/** The parts of Pulumi.yaml and package.json these specs read; other fields are kept as they are. */
const ProjectFile = z.object({
  name: z.string(),
  runtime: z.unknown(),
  config: z.record(z.string(), z.looseObject({ type: z.string(), description: z.string() })),
});
const PackageFile = z.object({ main: z.string(), devDependencies: z.record(z.string(), z.string()) });

describe("Pulumi.yaml and stack files", () => {
  const project = ProjectFile.parse(yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")));

  it("is generated from config-keys.ts (run npm run gen when this fails)", () => {
    expect(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")).to.equal(renderProjectFile());
  });

  it("runs index.ts as TypeScript on Node.js with the pinned compiler", () => {
    expect(project.name).to.equal("dbt-pipeline");
    expect(project.runtime).to.deep.equal({ name: "nodejs", options: { typescript: true, packagemanager: "npm" } });
    const pkg = PackageFile.parse(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")));
    expect(pkg.main).to.equal("index.ts");
    // Pulumi's Node.js host loads the project's own TypeScript; it supports 3.8 up to the 6.x line.
    // A deploy-time tool: devDependencies (dependencies hold what runs in the Lambdas).
    expect(pkg.devDependencies.typescript).to.match(/^6\.0\.\d+$/);
  });

  it("declares every typed key with type, description and default", () => {
    const declared = Object.keys(project.config).sort();
    expect(declared).to.deep.equal(
      KEYS.filter((k) => k.type !== "object")
        .map((k) => k.key)
        .sort(),
    );
    for (const k of KEYS.filter((s) => s.type !== "object")) {
      const d = project.config[k.key];
      expect(d.type, k.key).to.equal(k.type);
      expect(d.description, k.key).to.equal(k.description);
      if (k.secret) expect(d).to.include({ secret: true }).and.not.have.property("default");
      else if (k.default !== undefined) expect(d.default, k.key).to.deep.equal(k.default);
    }
  });

  it("stack files hold only known keys and no plain-text secret", () => {
    for (const stack of listStacks(ROOT)) {
      const text = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
      const doc = yaml.load(text) as { config: Record<string, unknown> };
      for (const k of KEYS.filter((s) => s.secret)) {
        const v = doc.config[`dbt-pipeline:${k.key}`];
        if (v !== undefined) expect(v, `${stack} ${k.key}`).to.have.keys("secure");
      }
      expect(text).not.to.match(/BEGIN [A-Z ]*PRIVATE KEY|hooks\.slack\.com\/services\//);
    }
  });

  it("dev and prod differ where the environments should", () => {
    const dev = readStackConfig("dev", ROOT).config;
    const prod = readStackConfig("prod", ROOT).config;
    expect(dev["dbt-pipeline:protect"]).to.equal(undefined);
    expect(prod["dbt-pipeline:protect"]).to.equal("true");
  });

  it("README's config reference is current (run npm run gen when this fails)", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const perStack = Object.fromEntries(listStacks(ROOT).map((s) => [s, readStackConfig(s, ROOT).config]));
    expect(readme).to.include(renderConfigReference(perStack));
  });

  it("a YAML syntax error in a stack file names the file and the line", () => {
    const text = [
      "config:",
      "  dbt-pipeline:dbt.cpu: 512",
      "  dbt-pipeline:notify.emails: [oncall@example.com",
      "  dbt-pipeline:dbt.memory: 1024",
      "",
    ].join("\n");
    let error: Error | undefined;
    try {
      parseStackFile(text, "dbt-pipeline", "Pulumi.dev.yaml");
    } catch (err) {
      error = err as Error;
    }
    const lines = String(error?.message).split("\n");
    expect(lines[0]).to.equal("Pulumi.dev.yaml:4: invalid YAML: deficient indentation");
    // js-yaml's snippet follows, ending with the caret under the offending line.
    expect(lines.slice(-2)).to.deep.equal([" 4 |   dbt-pipeline:dbt.memory: 1024", "-------^"]);
  });

  it("readStackConfig names the stack file it read", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"));
    try {
      fs.writeFileSync(
        path.join(dir, "Pulumi.qa.yaml"),
        "config:\n  aws:region: eu-west-1\n   dbt-pipeline:dbt.cpu: 512\n",
      );
      expect(() => readStackConfig("qa", dir)).to.throw(
        /^Pulumi\.qa\.yaml:3: invalid YAML: bad indentation of a mapping entry\n/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runPlan } from "../../offline/plan";
import {
  BANNER,
  PlanDocument,
  diffPlans,
  renderDiff,
  renderMarkdown,
  renderTree,
  toPlanDocument,
} from "../../offline/render";
import { ROOT, evaluateStack } from "../helpers/stack";

const res = (key: string, inputs: Record<string, unknown>, options: Record<string, unknown> = {}, parent?: string) => {
  const [type, name] = key.split("::");
  return { key, type, name, parent, custom: true, inputs, secretInputs: [], options };
};
const doc = (resources: ReturnType<typeof res>[]): PlanDocument => ({
  kind: "dbt-pipeline offline plan",
  note: BANNER,
  stack: "dev",
  resources,
  outputs: {},
});

describe("offline plan", () => {
  describe("views", () => {
    it("says everywhere that it is not pulumi preview", async () => {
      const d = toPlanDocument(await evaluateStack("dev"));
      expect(BANNER).to.include("This is not `pulumi preview`");
      expect(d.note).to.equal(BANNER);
      expect(renderTree(d).split("\n")[0]).to.equal(BANNER);
      expect(renderMarkdown(d)).to.include(`> ${BANNER}`);
    });

    it("groups resources under their component and shows reviewer settings and protections", async () => {
      const tree = renderTree(toPlanDocument(await evaluateStack("prod")));
      expect(tree).to.match(/├─ dbt-pipeline:snowflake:SnowflakeFoundation {2}snowflake\n/);
      expect(tree).to.include(
        "│  ├─ snowflake:index/database:Database  snowflake-database  name=DBT_PIPELINE_PROD  dataRetentionTimeInDays=7  protect  retainOnDelete",
      );
      expect(tree).to.include("warehouseSize=SMALL  autoSuspend=60");
    });

    it("redacts secret inputs and outputs in the JSON document", async () => {
      const ev = await evaluateStack("dev");
      const d = toPlanDocument(ev);
      const version = d.resources.find(
        (r) => r.key === "aws:secretsmanager/secretVersion:SecretVersion::snowflake-svc-dbt-key-secret-version",
      )!;
      expect(version.inputs.secretString).to.equal("[secret]");
      expect(version.secretInputs).to.deep.equal(["secretString"]);
      expect(d.outputs.webhookUrlAirbyte).to.equal("[secret]");
      expect(JSON.stringify(d)).not.to.match(/BEGIN [A-Z ]*PRIVATE KEY/);
    });

    it("draws the pipeline as a Mermaid flowchart from what the stack declares", async () => {
      const md = renderMarkdown(toPlanDocument(await evaluateStack("dev")));
      expect(md).to.include("```mermaid\nflowchart LR\n  wh[Airbyte / Fivetran webhooks] --> api[HTTP API]");
      expect(md).to.include("raw[(RAW tables)] --> stream[streams + triggered tasks] --> sns[SNS] --> dispatch");
      expect(md).to.include("ecs -- task stopped --> notify[notify Lambda]");
    });
  });

  describe("diff", () => {
    const before = doc([
      res("aws:sqs/queue:Queue::q", { name: "q", visibilityTimeoutSeconds: 30 }),
      res("aws:s3/bucket:Bucket::b", { bucket: "b" }),
    ]);
    const after = doc([
      res("aws:sqs/queue:Queue::q", { name: "q", visibilityTimeoutSeconds: 360 }, { protect: true }),
      res("aws:sns/topic:Topic::t", { name: "t" }),
    ]);

    it("lists what would be added, removed and changed, input by input", () => {
      expect(diffPlans(before, after)).to.deep.equal({
        added: ["aws:sns/topic:Topic::t"],
        removed: ["aws:s3/bucket:Bucket::b"],
        changed: [
          {
            key: "aws:sqs/queue:Queue::q",
            changes: [
              { path: "inputs.visibilityTimeoutSeconds", before: 30, after: 360 },
              { path: "options.protect", before: undefined, after: true },
            ],
          },
        ],
      });
      expect(renderDiff(diffPlans(before, after))).to.equal(
        [
          "Offline plan diff: 1 to add, 1 to remove, 1 to change",
          "+ aws:sns/topic:Topic::t",
          "- aws:s3/bucket:Bucket::b",
          "~ aws:sqs/queue:Queue::q",
          "    inputs.visibilityTimeoutSeconds: 30 => 360",
          "    options.protect: undefined => true",
        ].join("\n"),
      );
    });

    it("finds nothing between two plans of the same stack", async () => {
      const a = toPlanDocument(await evaluateStack("dev"));
      // Read back from JSON, as runPlan reads a saved plan (undefined fields are gone).
      expect(diffPlans(a, JSON.parse(JSON.stringify(a)) as PlanDocument)).to.deep.equal({
        added: [],
        removed: [],
        changed: [],
      });
    });
  });

  describe("command line", () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { log: (s: string) => out.push(s), error: (s: string) => err.push(s) };
    let dir: string;
    beforeEach(() => {
      out.length = 0;
      err.length = 0;
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 1 with every config problem when a stack file is bad", async () => {
      const text = fs
        .readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")
        .replace("dbt-pipeline:dbt.cpu: 1024", "dbt-pipeline:dbt.cpu: 300")
        .replace("dbt-pipeline:dbt.threads: 8", "dbt-pipeline:dbt.thread: 8");
      fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), text);
      expect(await runPlan(["prod"], { configDir: dir, outDir: dir, ...io })).to.equal(1);
      expect(err.join("\n")).to.equal(
        [
          "Invalid configuration in stack prod (2 problems):",
          "  - dbt-pipeline:dbt.thread: unknown key; did you mean dbt.threads?",
          "  - dbt-pipeline:dbt.cpu: expected one of 256, 512, 1024, 2048, 4096 (got 300)",
        ].join("\n"),
      );
      expect(fs.existsSync(path.join(dir, "prod.json"))).to.equal(false);
    });

    it("exits 1 naming the file and line of a YAML syntax error", async () => {
      fs.writeFileSync(
        path.join(dir, "Pulumi.prod.yaml"),
        "config:\n  aws:region: eu-west-1\n   dbt-pipeline:dbt.cpu: 512\n",
      );
      expect(await runPlan(["prod"], { configDir: dir, outDir: dir, ...io })).to.equal(1);
      expect(err.join("\n").split("\n")[0]).to.equal(
        "Pulumi.prod.yaml:3: invalid YAML: bad indentation of a mapping entry",
      );
      expect(fs.existsSync(path.join(dir, "prod.json"))).to.equal(false);
    });

    it("exits 2 for a stack without a settings file", async () => {
      expect(await runPlan(["staging"], { configDir: dir, outDir: dir, ...io })).to.equal(2);
      expect(err[0]).to.match(/^unknown stack staging; stacks with a Pulumi.<stack>.yaml here: /);
    });

    it("writes the JSON and Markdown plans and diffs against an earlier one", async () => {
      fs.copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
      expect(await runPlan(["dev"], { configDir: dir, outDir: dir, ...io })).to.equal(0);
      const first = JSON.parse(fs.readFileSync(path.join(dir, "dev.json"), "utf8")) as PlanDocument;
      expect(first.stack).to.equal("dev");
      expect(fs.readFileSync(path.join(dir, "dev.md"), "utf8")).to.include("## Cost estimate");
      fs.writeFileSync(path.join(dir, "before.json"), JSON.stringify(first));
      fs.appendFileSync(path.join(dir, "Pulumi.dev.yaml"), "  dbt-pipeline:dbt.threads: 6\n");
      out.length = 0;
      expect(
        await runPlan(["dev", "--diff", path.join(dir, "before.json")], { configDir: dir, outDir: dir, ...io }),
      ).to.equal(0);
      const diff = out[out.length - 1];
      expect(diff).to.match(
        /^\nOffline plan diff: 0 to add, 0 to remove, 1 to change\n~ aws:ecs\/taskDefinition:TaskDefinition::runner-task\n {4}inputs\.containerDefinitions: /,
      );
    });
  });
});

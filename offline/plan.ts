/**
 * `npm run plan -- [stack] [--diff earlier.json]`: evaluates the real program offline for a
 * stack and writes `plan/<stack>.json` and `plan/<stack>.md`. Exits 1 with every config
 * problem when the stack config is bad, 2 on usage errors.
 */
import "./fast-start";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildConfig, parseConfig } from "../config";
import { estimateMonthlyCost, renderCost } from "./cost";
import { Inventory, estimateIdleMonth, inventoryOf, renderIdle } from "./idle-cost";
import { evaluate } from "./mocks";
import { PlanDocument, diffPlans, renderDiff, renderMarkdown, renderTree, toPlanDocument } from "./render";
import { listStacks, readStackConfig } from "./stack-config";

/** Where the plan reads stack files and writes its files, and where it prints. */
export interface PlanOptions {
  /** Folder holding `Pulumi.<stack>.yaml`; default the repository root. */
  readonly configDir?: string;
  /** Folder the plan files go to; default `<repository>/plan`. */
  readonly outDir?: string;
  readonly log?: (s: string) => void;
  readonly error?: (s: string) => void;
}

/** Runs the offline plan for `argv`; returns the exit code (0 ok, 1 bad config, 2 usage). */
export async function runPlan(argv: string[], opts: PlanOptions = {}): Promise<number> {
  const root = opts.configDir ?? path.join(__dirname, "..");
  const log = opts.log ?? console.log;
  const error = opts.error ?? console.error;
  const args = [...argv];
  let diffFile: string | undefined;
  const d = args.indexOf("--diff");
  if (d >= 0) {
    diffFile = args[d + 1];
    if (!diffFile) {
      error("usage: npm run plan -- [stack] [--diff earlier-plan.json]");
      return 2;
    }
    args.splice(d, 2);
  }
  const stack = args[0] ?? "dev";
  if (!listStacks(root).includes(stack)) {
    error(`unknown stack ${stack}; stacks with a Pulumi.<stack>.yaml here: ${listStacks(root).join(", ")}`);
    return 2;
  }
  let doc: PlanDocument;
  let config: Record<string, string>;
  let inventory: Inventory;
  try {
    const read = readStackConfig(stack, root);
    config = read.config;
    const evaluation = await evaluate({ stack, config, secretKeys: read.secretKeys });
    inventory = inventoryOf(evaluation.resources);
    doc = toPlanDocument(evaluation);
  } catch (err) {
    error(err instanceof Error ? err.message : String(err));
    return 1;
  }
  log(renderTree(doc));
  // The config already validated inside the program; this second read only feeds the estimate.
  const pipeline = buildConfig(parseConfig(config, stack).values!, "dbt-pipeline", stack);
  const cost = `${renderCost(estimateMonthlyCost(pipeline))}\n\n${renderIdle(stack, estimateIdleMonth(pipeline, inventory))}`;
  log(`\n${cost}`);
  const outDir = opts.outDir ?? path.join(__dirname, "..", "plan");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, `${stack}.json`), JSON.stringify(doc, null, 2) + "\n");
  fs.writeFileSync(
    path.join(outDir, `${stack}.md`),
    `${renderMarkdown(doc)}\n## Cost estimate\n\n\`\`\`\n${cost}\n\`\`\`\n`,
  );
  log(`\nwrote plan/${stack}.json and plan/${stack}.md`);
  if (diffFile) {
    const before = JSON.parse(fs.readFileSync(diffFile, "utf8")) as PlanDocument;
    log("\n" + renderDiff(diffPlans(before, doc)));
  }
  return 0;
}

if (require.main === module) {
  runPlan(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/**
 * `npm run plan -- [stack] [--diff earlier.json]`: evaluates the real program offline for a
 * stack and writes `plan/<stack>.json` and `plan/<stack>.md`. Exits 1 with every config
 * problem when the stack config is bad, 2 on usage errors.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { evaluate } from "./mocks";
import { PlanDocument, diffPlans, renderDiff, renderMarkdown, renderTree, toPlanDocument } from "./render";
import { listStacks, readStackConfig } from "./stack-config";

const root = path.join(__dirname, "..");

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  let diffFile: string | undefined;
  const d = args.indexOf("--diff");
  if (d >= 0) {
    diffFile = args[d + 1];
    if (!diffFile) {
      console.error("usage: npm run plan -- [stack] [--diff earlier-plan.json]");
      return 2;
    }
    args.splice(d, 2);
  }
  const stack = args[0] ?? "dev";
  if (!listStacks(root).includes(stack)) {
    console.error(`unknown stack ${stack}; stacks with a Pulumi.<stack>.yaml here: ${listStacks(root).join(", ")}`);
    return 2;
  }
  const { config, secretKeys } = readStackConfig(stack, root);
  let doc: PlanDocument;
  try {
    doc = toPlanDocument(await evaluate({ stack, config, secretKeys }));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
  console.log(renderTree(doc));
  const outDir = path.join(root, "plan");
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, `${stack}.json`), JSON.stringify(doc, null, 2) + "\n");
  fs.writeFileSync(path.join(outDir, `${stack}.md`), renderMarkdown(doc));
  console.log(`\nwrote plan/${stack}.json and plan/${stack}.md`);
  if (diffFile) {
    const before = JSON.parse(fs.readFileSync(diffFile, "utf8")) as PlanDocument;
    console.log("\n" + renderDiff(diffPlans(before, doc)));
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

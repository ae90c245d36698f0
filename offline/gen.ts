/** `npm run gen`: rewrites Pulumi.yaml and the README's config reference from config-keys.ts. */
import * as fs from "node:fs";
import * as path from "node:path";
import { renderConfigReference, renderProjectFile } from "./project-file";
import { listStacks, readStackConfig } from "./stack-config";

const root = path.join(__dirname, "..");
fs.writeFileSync(path.join(root, "Pulumi.yaml"), renderProjectFile());
const readme = path.join(root, "README.md");
const perStack = Object.fromEntries(listStacks(root).map((s) => [s, readStackConfig(s, root).config]));
const text = fs.readFileSync(readme, "utf8");
const start = "<!-- config:start -->";
const end = "<!-- config:end -->";
const i = text.indexOf(start);
const j = text.indexOf(end);
if (i < 0 || j < i) throw new Error(`README.md lacks the ${start} … ${end} markers`);
fs.writeFileSync(readme, `${text.slice(0, i + start.length)}\n${renderConfigReference(perStack)}\n${text.slice(j)}`);
console.log("wrote Pulumi.yaml and the README config reference");

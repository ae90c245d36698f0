/**
 * Renders the generated parts of `Pulumi.yaml` and the README's config reference from
 * `config-keys.ts`, so the declared keys, their defaults and the docs cannot drift apart.
 * `npm run gen` writes them; `test/project-file.spec.ts` fails when a committed copy is stale.
 */
import * as yaml from "js-yaml";
import { KEYS, PROJECT } from "../config-keys";

/** The whole Pulumi.yaml. */
export function renderProjectFile(): string {
  const config: Record<string, unknown> = {};
  const untyped: string[] = [];
  for (const k of KEYS) {
    if (k.type === "object") {
      untyped.push(k.key);
      continue;
    }
    const decl: Record<string, unknown> = { type: k.type, description: k.description };
    if (k.type === "array") decl.items = { type: k.items ?? "string" };
    if (k.secret) decl.secret = true;
    if (k.default !== undefined) decl.default = k.default;
    config[k.key] = decl;
  }
  const head = {
    name: PROJECT,
    description:
      "A dbt Core transformation pipeline on Snowflake and AWS: triggers, dispatch, ECS Fargate runs, notifications.",
    runtime: { name: "nodejs", options: { typescript: true, packagemanager: "npm" } },
  };
  return [
    "# Generated from config-keys.ts by `npm run gen`; test/project-file.spec.ts fails when it is stale.",
    yaml.dump(head, { lineWidth: 120 }).trimEnd(),
    "config:",
    yaml
      .dump(config, { lineWidth: 200 })
      .trimEnd()
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n"),
    "# Structured keys, which Pulumi.yaml cannot declare (types are string, integer, boolean and array;",
    "# pulumi/pulumi#11321). config.ts validates them with the same rigour; see the README's config reference:",
    ...untyped.map((k) => `#   ${k}: ${KEYS.find((s) => s.key === k)!.description}`),
    "",
  ].join("\n");
}

const fmt = (v: unknown) => (v === undefined ? "" : `\`${JSON.stringify(v)}\``);

/** The README's config table (between the config markers). */
export function renderConfigReference(perStack: Record<string, Record<string, string>>): string {
  const stacks = Object.keys(perStack);
  const rows = KEYS.map((k) => {
    const def = k.secret
      ? k.optional
        ? "optional secret"
        : "required secret"
      : k.default === undefined
        ? "required"
        : fmt(k.default);
    const cells = stacks.map((s) => {
      const raw = perStack[s][`${PROJECT}:${k.key}`];
      if (raw === undefined) return "";
      if (k.secret) return "secure";
      return k.type === "string" ? `\`${raw}\`` : k.type === "object" ? "see file" : `\`${raw}\``;
    });
    return `| \`${k.key}\` | ${k.type} | ${def} | ${cells.join(" | ")} | ${k.description} |`;
  });
  return [
    `| key | type | default | ${stacks.join(" | ")} | meaning |`,
    `|---|---|---|${stacks.map(() => "---").join("|")}|---|`,
    ...rows,
  ].join("\n");
}

/**
 * Reads a stack's settings file (`Pulumi.<stack>.yaml`) the way the CLI hands config to a
 * program: every value a string (lists and maps as JSON), `secure:` values replaced by a
 * placeholder that is never decrypted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

import { SECRET_PLACEHOLDER } from "../config-keys";

export { SECRET_PLACEHOLDER };

/** Stack config as the program receives it, and the keys that are secret. */
export interface StackConfig {
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

function isSecure(v: unknown): v is { secure: string } {
  return (
    !!v &&
    typeof v === "object" &&
    !Array.isArray(v) &&
    Object.keys(v).length === 1 &&
    typeof (v as { secure?: unknown }).secure === "string"
  );
}

/** Replaces nested secure values; reports whether any were found. */
function scrub(value: unknown, found: { any: boolean }): unknown {
  if (isSecure(value)) {
    found.any = true;
    return SECRET_PLACEHOLDER;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, found));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, found)]));
  return value;
}

/** A stack settings file that is not valid YAML; the message names the file and the line. */
export class StackFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    reason: string,
    snippet?: string | null,
    options?: ErrorOptions,
  ) {
    super(
      `${file}${line === undefined ? "" : `:${line}`}: invalid YAML: ${reason}${snippet ? `\n${snippet.trimEnd()}` : ""}`,
      options,
    );
    this.name = "StackFileError";
  }
}

/** Parses the text of a stack settings file; `file` names it in a syntax error. */
export function parseStackFile(text: string, project: string, file = "stack settings file"): StackConfig {
  let loaded: unknown;
  try {
    loaded = yaml.load(text, { filename: file });
  } catch (err) {
    // js-yaml's YAMLException carries `reason` and a `mark` whose `line` counts from 0
    // (js-yaml 5, dist/js-yaml.cjs.js: the `throwAt` that builds the mark).
    if (err instanceof yaml.YAMLException)
      throw new StackFileError(file, err.mark && err.mark.line + 1, err.reason, err.mark?.snippet, { cause: err });
    throw err;
  }
  const doc = (loaded ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    const found = { any: false };
    const clean = scrub(value, found);
    if (found.any) secretKeys.push(key);
    config[key] = typeof clean === "string" ? clean : JSON.stringify(clean);
  }
  return { config, secretKeys };
}

/** Reads `Pulumi.<stack>.yaml` from `dir`. */
export function readStackConfig(stack: string, dir: string, project = "dbt-pipeline"): StackConfig {
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file))
    throw new Error(`no stack settings file ${file}; stacks here: ${listStacks(dir).join(", ") || "none"}`);
  return parseStackFile(fs.readFileSync(file, "utf8"), project, path.basename(file));
}

/** Stacks that have a settings file in `dir`. */
export function listStacks(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => !!s)
    .sort();
}

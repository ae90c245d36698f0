/**
 * Environment variables, read once at init. {@link readEnv} collects every problem and throws one
 * {@link ConfigurationError} naming each variable and what it expects, so a broken deployment
 * fails its first invocation with the whole list.
 */
import { ConfigurationError } from "./errors";

/** Reads typed values from an environment, recording problems instead of throwing one at a time. */
export class EnvReader {
  /** One line per bad or missing variable. */
  readonly problems: string[] = [];

  constructor(private readonly vars: Readonly<Record<string, string | undefined>>) {}

  /** A required, non-empty string. */
  string(name: string): string {
    const value = this.vars[name]?.trim();
    if (!value) this.problems.push(`${name} is not set; the deployment must set it`);
    return value ?? "";
  }

  /** An optional string; empty counts as unset. */
  optional(name: string): string | undefined {
    const value = this.vars[name]?.trim();
    return value ? value : undefined;
  }

  /** An integer in [min, max], `fallback` when unset. */
  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return Number(raw);
  }

  /** One of `values`, `fallback` when unset. */
  oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    if (!(values as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${values.join(", ")} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return raw as T;
  }

  /** A required comma-separated list of at least one non-empty item. */
  list(name: string): string[] {
    const items = (this.vars[name] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (!items.length) this.problems.push(`${name} must be a comma-separated list of at least one item`);
    return items;
  }

  /** Records a problem found by the caller. */
  problem(text: string): void {
    this.problems.push(text);
  }
}

/**
 * Runs `read` over `vars` and returns its result frozen; throws {@link ConfigurationError} listing
 * every problem when any variable is missing or malformed.
 */
export function readEnv<T extends object>(what: string, vars: Readonly<Record<string, string | undefined>>, read: (env: EnvReader) => T): Readonly<T> {
  const env = new EnvReader(vars);
  const value = read(env);
  if (env.problems.length) {
    throw new ConfigurationError(`${what}: invalid environment: ${env.problems.join("; ")}`, env.problems);
  }
  return Object.freeze(value);
}

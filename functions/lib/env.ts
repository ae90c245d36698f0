/**
 * Environment variables, read once at init. {@link parseEnv} parses them with the handler's zod
 * schema and throws one {@link ConfigurationError} naming each bad variable and what it expects,
 * so a broken deployment fails its first invocation with the whole list.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";
import { ConfigurationError } from "./errors";

// zod/mini registers no messages: classic zod registers English when it builds its first schema
// (zod/v4/classic/schemas.js `_ensureDefaultLocale`), mini never does, and without a locale every
// message zod writes reads "Invalid input" alone. Every handler reads its environment through this
// module, so registering English here covers each of them; importing `en.js` alone (not
// `z.locales`) keeps the other languages out of the bundles.
z.config(en());

/** The message of a required variable that is missing or empty. */
const NOT_SET = "is not set; the deployment must set it";

// zod schemas of single environment variables, for a handler's environment schema. Values reach
// them trimmed, an empty value as unset (see parseEnv). Separate functions, not one object, so a
// bundle keeps only those its handler uses.

/** A required string. */
export const envRequired = () => z.string({ error: NOT_SET });

/** An optional string. */
export const envOptional = () => z.optional(z.string());

/** An integer in [min, max], `fallback` when unset. */
export function envInt(min: number, max: number, fallback: number) {
  const message = `must be an integer from ${min} to ${max}`;
  return z._default(
    z.pipe(
      z.string().check(z.regex(/^-?\d+$/, { message })),
      z.transform(Number).check(z.refine((n) => n >= min && n <= max, { message })),
    ),
    fallback,
  );
}

/** One of `values`, `fallback` when unset. */
export function envOneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z._default(z.enum(values, { error: `must be one of ${values.join(", ")}` }), fallback);
}

/** A required comma-separated list of at least one non-empty item. */
export function envList() {
  return z.pipe(
    z.string({ error: NOT_SET }),
    z
      .transform((text: string) =>
        text
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .check(z.refine((items) => items.length > 0, { message: "must be a comma-separated list of at least one item" })),
  );
}

/**
 * Parses a handler's environment with `schema` once, at init, and returns the result frozen;
 * throws {@link ConfigurationError} naming every missing or malformed variable (z.prettifyError).
 * Values are trimmed and an empty value counts as unset.
 */
export function parseEnv<S extends z.ZodMiniType<object>>(
  what: string,
  schema: S,
  vars: Readonly<Record<string, string | undefined>>,
): Readonly<z.output<S>> {
  const cleaned = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, value?.trim() || undefined]));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`);
    throw new ConfigurationError(`${what}: invalid environment:\n${z.prettifyError(result.error)}`, problems);
  }
  return Object.freeze(result.data);
}

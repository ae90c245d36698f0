/**
 * `sources.json`, the file the deploying component places beside dispatch's `index.mjs`:
 * `{"target":"<dbt target>","sources":[SourceConfig, ...]}` (see `SourceConfig` in config.ts).
 * Loaded and validated once at init; {@link SourceIndex} answers "which source does this
 * connector, connection or RAW table belong to" from these ids only.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as z from "zod/mini";
// Type-only: erased from the bundle, so the Lambda never loads config.ts or Pulumi.
import type { SourceConfig } from "../../config";
import { isSelectorToken } from "./run-contract";
import { ConfigurationError } from "./errors";

/** dbt source names: lower_snake_case, as config.ts requires. */
export const SOURCE_NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;
/** dbt target names, as the run contract requires. */
export const TARGET_RE = /^[a-z][a-z0-9_]{0,31}$/;
/**
 * Watched RAW tables as config lists them (config-keys.ts `RAW_TABLE_ENTRY`): `TABLE` (in the RAW
 * schema), `SCHEMA.TABLE`, or `SCHEMA.*` for every table of a loader's schema.
 */
export const RAW_TABLE_RE = /^[A-Z][A-Z0-9_]{0,199}(\.([A-Z][A-Z0-9_]{0,199}|\*))?$/;
/** The file name dispatch reads. */
export const SOURCES_FILE = "sources.json";

const selector = z.string().check(z.refine(isSelectorToken, { message: "is not a dbt selector" }));
const vendorId = () => z.string().check(z.minLength(1), z.maxLength(256));

/** One source as `sources.json` holds it; structurally `SourceConfig` from config.ts. */
export const SourceSchema = z.object({
  name: z.string().check(z.regex(SOURCE_NAME_RE, { message: "is not a dbt source name (lower_snake_case)" })),
  fivetranConnectors: z._default(z.array(vendorId()), []),
  airbyteConnections: z._default(z.array(vendorId()), []),
  rawTables: z._default(
    z.array(z.string().check(z.regex(RAW_TABLE_RE, { message: "is not an UPPER_SNAKE Snowflake identifier" }))),
    [],
  ),
  /** Absent means `source:<name>+`, as config.ts defaults it. */
  select: z.optional(z.array(selector).check(z.maxLength(100))),
  exclude: z._default(z.array(selector).check(z.maxLength(100)), []),
  fastLaneTags: z._default(z.array(z.string().check(z.regex(/^[A-Za-z0-9_]+$/))), []),
  fullRefresh: z._default(z.boolean(), false),
  staleAfterMinutes: z.optional(z.number().check(z.int(), z.gt(0))),
});

/** The whole file. Unknown keys are dropped, so a newer component never breaks an older handler. */
export const SourcesDocumentSchema = z
  .object({
    target: z.string().check(z.regex(TARGET_RE, { message: "is not a dbt target name" })),
    sources: z.array(SourceSchema),
  })
  .check(
    z.superRefine((doc, ctx) => {
      const owners = new Map<string, string>();
      doc.sources.forEach((s, i) => {
        const name = owners.get(`name:${s.name}`);
        if (name !== undefined)
          ctx.addIssue({ code: "custom", path: ["sources", i, "name"], message: `source ${s.name} is listed twice` });
        owners.set(`name:${s.name}`, s.name);
        const ids: [string, readonly string[]][] = [
          ["fivetranConnectors", s.fivetranConnectors],
          ["airbyteConnections", s.airbyteConnections.map((id) => id.toLowerCase())],
          ["rawTables", s.rawTables],
        ];
        for (const [field, values] of ids) {
          for (const id of values) {
            const owner = owners.get(`${field}:${id}`);
            if (owner !== undefined && owner !== s.name) {
              ctx.addIssue({
                code: "custom",
                path: ["sources", i, field],
                message: `${JSON.stringify(id)} is already listed by source ${owner}; each id maps to one source`,
              });
            }
            owners.set(`${field}:${id}`, s.name);
          }
        }
      });
    }),
  );

/** One source with defaults applied: the config's source without what only the stack uses. */
export type Source = Omit<SourceConfig, "staleAfterMinutes" | "loadedAtColumn">;

/** Lookups from vendor ids to sources. Only ids from `sources.json` ever match. */
export class SourceIndex {
  private readonly fivetran = new Map<string, Source>();
  private readonly airbyte = new Map<string, Source>();
  /** Entries exactly as listed: `TABLE`, `SCHEMA.TABLE`, `SCHEMA.*`. */
  private readonly tables = new Map<string, Source>();
  /** Table name → sources listing it under any schema (a bare name matches only when one does). */
  private readonly tableNames = new Map<string, Set<Source>>();
  private readonly names = new Map<string, Source>();

  constructor(
    readonly target: string,
    readonly sources: readonly Source[],
  ) {
    for (const s of sources) {
      this.names.set(s.name, s);
      for (const id of s.fivetranConnectors) this.fivetran.set(id, s);
      for (const id of s.airbyteConnections) this.airbyte.set(id.toLowerCase(), s);
      for (const t of s.rawTables) {
        this.tables.set(t, s);
        const name = t.slice(t.lastIndexOf(".") + 1);
        if (name !== "*") this.tableNames.set(name, (this.tableNames.get(name) ?? new Set()).add(s));
      }
    }
  }

  /** The source listing Fivetran connector `id` (exact match). */
  byFivetranConnector(id: string): Source | undefined {
    return this.fivetran.get(id);
  }

  /** The source listing Airbyte connection `id` (UUIDs compare case-insensitively). */
  byAirbyteConnection(id: string): Source | undefined {
    return this.airbyte.get(id.toLowerCase());
  }

  /**
   * The source watching RAW table `table`, upper-case: `TABLE`, `SCHEMA.TABLE` or `DB.SCHEMA.TABLE`.
   * A qualified name matches its exact entry, then its schema's `SCHEMA.*` entry, then a
   * simple-form `TABLE` entry; a bare name matches a simple-form entry, or the one source that
   * lists a table of that name under some schema (never a `SCHEMA.*` entry: the schema is unknown).
   */
  byRawTable(table: string): Source | undefined {
    const parts = table.split(".");
    const name = parts[parts.length - 1];
    if (parts.length >= 2) {
      const schema = parts[parts.length - 2];
      const found = this.tables.get(`${schema}.${name}`) ?? this.tables.get(`${schema}.*`);
      if (found) return found;
    }
    const simple = this.tables.get(name);
    if (simple || parts.length >= 2) return simple;
    const owners = this.tableNames.get(name);
    return owners?.size === 1 ? [...owners][0] : undefined;
  }

  /** The source named `name`. */
  byName(name: string): Source | undefined {
    return this.names.get(name);
  }
}

/** Validates a parsed `sources.json`; throws {@link ConfigurationError} naming every bad field. */
export function parseSourcesDocument(input: unknown): SourceIndex {
  const result = SourcesDocumentSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "document"}: ${i.message}`);
    throw new ConfigurationError(
      `${SOURCES_FILE} is invalid; redeploy from a valid dbt-pipeline:sources config:\n${z.prettifyError(result.error)}`,
      problems,
    );
  }
  const sources = result.data.sources.map((s): Source =>
    Object.freeze({
      name: s.name,
      fivetranConnectors: Object.freeze([...s.fivetranConnectors]),
      airbyteConnections: Object.freeze([...s.airbyteConnections]),
      rawTables: Object.freeze([...s.rawTables]),
      select: Object.freeze([...(s.select ?? [`source:${s.name}+`])]),
      exclude: Object.freeze([...s.exclude]),
      fastLaneTags: Object.freeze([...s.fastLaneTags]),
      fullRefresh: s.fullRefresh,
    }),
  );
  return new SourceIndex(result.data.target, Object.freeze(sources));
}

/** Where `sources.json` is: beside the bundle, in the Lambda task root (`LAMBDA_TASK_ROOT`). */
export function sourcesFilePath(vars: Readonly<Record<string, string | undefined>>): string {
  return path.join(vars.LAMBDA_TASK_ROOT ?? process.cwd(), SOURCES_FILE);
}

/** Reads and validates `sources.json` at `file`; throws {@link ConfigurationError} when missing or invalid. */
export function loadSourcesFile(file: string): SourceIndex {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigurationError(
      `cannot read ${file}: the deployment must place ${SOURCES_FILE} beside index.mjs`,
      [],
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`${file} is not valid JSON`, [], { cause: error });
  }
  return parseSourcesDocument(json);
}

/**
 * `sources.json`, the file dispatch reads at init beside its code: the dbt target and every
 * source with its connector ids, so a webhook or Snowflake message maps to a dbt selection
 * without a redeploy of the handler code when only the config changes.
 */
import { SourceConfig } from "../../config";

/** What `sources.json` holds. */
export interface SourcesDocument {
  /** dbt target of every run (`dbt.target`). */
  readonly target: string;
  /** The sources as config declares them (sorted by name, defaults applied). */
  readonly sources: readonly SourceConfig[];
}

/** The `sources.json` text for a dbt target and its sources. Pure. */
export function sourcesJson(config: {
  readonly dbt: { readonly target: string };
  readonly sources: readonly SourceConfig[];
}): string {
  const doc: SourcesDocument = { target: config.dbt.target, sources: config.sources };
  return JSON.stringify(doc);
}

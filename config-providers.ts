/**
 * The config keys of the providers this program uses, for "did you mean" on `aws:regin`.
 * Each SDK's `config/vars` module is generated from the provider schema's config variables and
 * defines one getter per key, named as the key (`aws:region` → `region`), so its own property
 * names are the list; an SDK upgrade brings its new keys with it.
 */
import * as aws from "@pulumi/aws/config/vars";
import * as github from "@pulumi/github/config/vars";
import * as snowflake from "@pulumi/snowflake/config/vars";
import * as tls from "@pulumi/tls/config/vars";

/** Known config keys by provider namespace. */
export const PROVIDER_KEYS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  aws: Object.keys(aws),
  github: Object.keys(github),
  snowflake: Object.keys(snowflake),
  tls: Object.keys(tls),
});

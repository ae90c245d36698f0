/**
 * The shell scripts the stock AWS CLI containers run, and the dbt profile they write. Each
 * script is ONE constant text: nothing about a stack (bucket, environment, target, account) is
 * interpolated into it by Pulumi. Values reach it only as environment variables set on the
 * container, and the script checks each one before using it in a path or an S3 key. The same
 * text therefore runs in every stack, and tests can read it (and run it) as it ships.
 */
import { FRESHNESS_CHECK_OUTPUT, OVERRIDE_ENV, PATHS, PROFILE_NAME } from "../../functions/lib/run-contract";

/** Environment variable names shared by the container definitions and the scripts. */
export const ENV = {
  /** dbt target name; also the profile's output name. */
  target: "DBT_TARGET",
  profilesDir: "DBT_PROFILES_DIR",
  targetPath: "DBT_TARGET_PATH",
  logPath: "DBT_LOG_PATH",
  threads: "DBT_THREADS",
  account: "SNOWFLAKE_ACCOUNT",
  user: "SNOWFLAKE_USER",
  role: "SNOWFLAKE_ROLE",
  warehouse: "SNOWFLAKE_WAREHOUSE",
  database: "SNOWFLAKE_DATABASE",
  schema: "SNOWFLAKE_SCHEMA",
  /** The PEM private key. dbt scrubs `DBT_ENV_SECRET_*` values from its logs and allows them only in profiles.yml. */
  privateKey: "DBT_ENV_SECRET_SNOWFLAKE_PRIVATE_KEY",
  /** Artifact bucket name (prepare, upload). */
  bucket: "DBT_PIPELINE_BUCKET",
  /** Environment name: the first part of every artifact key (prepare, upload). */
  environment: "DBT_PIPELINE_ENV",
  /** Run id, sent by the launch Lambda as a container override. */
  runId: OVERRIDE_ENV.runId,
  /** The run a `dbt retry` re-runs, sent by the launch Lambda to prepare (retries only). */
  retryOf: OVERRIDE_ENV.retryOf,
  /** `false`: dbt sends no usage events to dbt Labs (dbt-core `cli/params.py`, `send_anonymous_usage_stats`). */
  anonymousUsageStats: "DBT_SEND_ANONYMOUS_USAGE_STATS",
} as const;

/** Root of the task's shared `artifacts` volume. */
export const ARTIFACTS_ROOT = "/artifacts";
/** Where `prepare` mounts the `tmp` volume (dbt mounts it at /tmp) to make it writable for any user. */
export const PREPARE_TMP_MOUNT = "/dbt-tmp";
/** Artifacts the upload step copies from {@link PATHS.target}, to the run's prefix and (after a success) to `latest/`. */
export const STATE_FILES = ["manifest.json", "run_results.json", "sources.json"] as const;
/** Artifacts copied to the run's prefix only: a `dbt source freshness` command's results are not state. */
export const RUN_ONLY_FILES = [FRESHNESS_CHECK_OUTPUT.slice(PATHS.target.length + 1)] as const;
/** dbt's log file in {@link PATHS.logs}; copied to the run's prefix only (it is not state). */
export const LOG_FILE = "dbt.log";
/**
 * dbt's partial-parse cache, which dbt reads from and writes to its target path (dbt-core
 * `parser/manifest.py`, `PARTIAL_PARSE_FILE_NAME` under `project_target_path`). Kept in `latest/`
 * and put back into the target path before dbt starts, so a run of an unchanged project skips the
 * full parse. dbt reuses it only when the dbt version, `--vars`, profile and target, the profile's
 * connection keys (query_tag included) and the env vars read by dbt_project.yml are unchanged
 * (`build_manifest_state_check`, `is_partial_parsable`), and re-parses only changed files.
 */
export const PARTIAL_PARSE_FILE = "partial_parse.msgpack";
/** The file the dbt container's wrapper creates when, and only when, dbt exited 0. */
export const SUCCESS_MARKER = `${PATHS.status}/dbt-succeeded`;

/**
 * An empty sources.json (dbt's `sources` artifact, schema v3 in dbt 1.8 to 1.10: dbt-core
 * `artifacts/schemas/freshness/v3/freshness.py`), written into the state directory when the
 * previous state has none (a new stack, or no successful freshness run yet). Without it
 * `source_status:` raises "No previous state comparison freshness results in sources.json"
 * (dbt-core `graph/selector_methods.py`, `SourceStatusSelectorMethod`) and dbt exits 2. With it,
 * every source that has freshness results now and none before counts as fresher, so the first
 * hourly run builds everything downstream of the sources. `read_and_check_versions`
 * (`artifacts/schemas/base.py`) accepts it: the schema version matches and every other
 * metadata field has a default.
 */
export const EMPTY_SOURCES_JSON = JSON.stringify({
  metadata: {
    dbt_schema_version: "https://schemas.getdbt.com/dbt/sources/v3.json",
    generated_at: "1970-01-01T00:00:00Z",
    invocation_id: null,
    env: {},
  },
  results: [],
  elapsed_time: 0,
});

/**
 * An empty manifest.json (manifest schema v12, dbt 1.8 to 1.10: every mapping that dbt-core
 * `artifacts/schemas/manifest/v12/manifest.py` `WritableManifest` requires, empty; its metadata
 * fields all have defaults), written into the state directory when the previous state has none
 * (a new stack, or no successful run yet). Without it `state:` raises "Got a state selector
 * method, but no comparison manifest" (dbt-core `graph/selector_methods.py`,
 * `StateSelectorMethod.search`) and dbt exits 2. With it, no node has a previous version, so
 * `state:modified` and `state:new` select every node (`check_modified_content`: `same_contents`
 * of a node against `None` is false): the first build after a deploy builds everything.
 */
export const EMPTY_MANIFEST_JSON = JSON.stringify({
  metadata: {
    dbt_schema_version: "https://schemas.getdbt.com/dbt/manifest/v12.json",
    generated_at: "1970-01-01T00:00:00Z",
    invocation_id: null,
    env: {},
  },
  nodes: {},
  sources: {},
  macros: {},
  docs: {},
  exposures: {},
  metrics: {},
  groups: {},
  selectors: {},
  disabled: {},
  parent_map: {},
  child_map: {},
  group_map: {},
  saved_queries: {},
  semantic_models: {},
  unit_tests: {},
});

/** The profile's connection fields, each read from one environment variable when dbt renders it. */
export const PROFILE_FIELDS: readonly (readonly [field: string, variable: string, filter?: string])[] = [
  ["account", ENV.account],
  ["user", ENV.user],
  ["role", ENV.role],
  ["private_key", ENV.privateKey],
  ["warehouse", ENV.warehouse],
  ["database", ENV.database],
  ["schema", ENV.schema],
  // Environment variables are strings; dbt's schema wants an integer here.
  ["threads", ENV.threads, "int"],
];

/**
 * Connection settings that are the same for every stack (dbt-snowflake `SnowflakeCredentials`,
 * `connections.py`). They apply when a connection is opened: dbt-snowflake retries `connect()`
 * `connect_retries` times, waiting `connect_timeout` seconds between attempts (it passes it as
 * `retry_timeout`), and with `retry_on_database_errors` also on `DatabaseError` (a warehouse
 * resuming, a transient login failure), not only on HTTP and internal errors.
 * `query_tag` is constant on purpose: it is one of the connection keys whose hash decides whether
 * dbt may reuse its partial-parse cache (dbt-core `build_manifest_state_check`, `profile_hash`),
 * so a per-run value would force a full parse on every run. The run id and trigger reach Snowflake
 * through the dbt project's `set_query_tag` macro instead (docs/dbt-repo/README.md).
 */
export const PROFILE_CONSTANTS: readonly (readonly [field: string, value: string])[] = [
  ["connect_retries", "5"],
  ["connect_timeout", "10"],
  ["retry_on_database_errors", "true"],
  ["query_tag", `"dbt-pipeline {{ env_var('${ENV.target}') }}"`],
];

/** The output's fields (indented for `outputs.<target>`): constant, every stack value a quoted `env_var`. */
export const PROFILE_OUTPUT_BODY =
  [
    "      type: snowflake",
    ...PROFILE_FIELDS.map(
      ([field, variable, filter]) => `      ${field}: "{{ env_var('${variable}')${filter ? ` | ${filter}` : ""} }}"`,
    ),
    ...PROFILE_CONSTANTS.map(([field, value]) => `      ${field}: ${value}`),
  ].join("\n") + "\n";

/** The header naming the profile and its output, for a target name (checked by the script). */
function profileHeader(target: string): string {
  return `${PROFILE_NAME}:\n  target: ${target}\n  outputs:\n    ${target}:\n`;
}

/**
 * profiles.yml as the prepare script writes it for `target`: profile {@link PROFILE_NAME}, one
 * output named after the target. For documentation and tests; the script builds the same text
 * at run time from `$DBT_TARGET`.
 */
export function profilesYaml(target: string): string {
  if (!/^[a-z0-9_]+$/.test(target)) throw new Error(`profilesYaml: ${JSON.stringify(target)} is not a dbt target name`);
  return profileHeader(target) + PROFILE_OUTPUT_BODY;
}

/** A line that stops the script unless `$variable` is non-empty and matches no `bad` glob. */
function requireVar(variable: string, bad: string, what: string): string {
  return `case "$${variable}" in ""|${bad}) fail "${variable} must be ${what}";; esac`;
}

/**
 * The `prepare` container's script: checks its variables, creates the artifact directories
 * (world-writable, because the dbt image may run as a non-root user and Fargate creates bind
 * mounts as root 0755; the volume is private to the task), makes the dbt tmp volume sticky
 * world-writable, writes profiles.yml, then downloads the last successful run's artifacts from
 * `s3://$DBT_PIPELINE_BUCKET/$DBT_PIPELINE_ENV/latest/` into the state directory. An empty
 * prefix (first run) is not an error: the state gets {@link EMPTY_SOURCES_JSON} and
 * {@link EMPTY_MANIFEST_JSON}. A failed
 * download is, because a run that selects by state would otherwise silently run without it.
 * The partial-parse cache goes back into the target path. For a retry
 * (`$DBT_PIPELINE_RETRY_OF`), the named run's artifacts go into {@link PATHS.retryState}.
 */
export function prepareScript(): string {
  const dirs = [PATHS.profiles, PATHS.target, PATHS.logs, PATHS.state, PATHS.retryState, PATHS.status].join(" ");
  return (
    [
      `fail() { echo "prepare: $1" >&2; exit 1; }`,
      requireVar(ENV.target, "*[!a-z0-9_]*", "a dbt target name (a-z, 0-9, _)"),
      requireVar(ENV.environment, "*[!a-z0-9-]*", "an environment name (a-z, 0-9, -)"),
      requireVar(ENV.bucket, "*[!a-z0-9.-]*", "an S3 bucket name"),
      `retry_of="$${ENV.retryOf}"`,
      `case "$retry_of" in -*|*[!a-z0-9-]*) fail "${ENV.retryOf} must be a run id (a-z, 0-9, -)";; esac`,
      `mkdir -p ${dirs} || fail "cannot create ${dirs}"`,
      `chmod 0777 ${dirs} || fail "cannot open ${dirs} to the dbt user"`,
      `chmod 1777 ${PREPARE_TMP_MOUNT} || fail "cannot open ${PREPARE_TMP_MOUNT} to the dbt user"`,
      `{`,
      `  printf '${PROFILE_NAME}:\\n  target: %s\\n  outputs:\\n    %s:\\n' "$${ENV.target}" "$${ENV.target}"`,
      `  cat <<'PROFILE'`,
      PROFILE_OUTPUT_BODY + `PROFILE`,
      `} > ${PATHS.profiles}/profiles.yml || fail "cannot write ${PATHS.profiles}/profiles.yml"`,
      `echo "prepare: wrote ${PATHS.profiles}/profiles.yml (profile ${PROFILE_NAME}, target $${ENV.target})"`,
      `latest="s3://$${ENV.bucket}/$${ENV.environment}/latest/"`,
      `aws s3 cp --recursive --only-show-errors "$latest" ${PATHS.state}/ || fail "cannot download the previous state from $latest"`,
      `if [ ! -f ${PATHS.state}/sources.json ]; then`,
      `  printf '%s\\n' '${EMPTY_SOURCES_JSON}' > ${PATHS.state}/sources.json || fail "cannot write ${PATHS.state}/sources.json"`,
      `  echo "prepare: no previous sources.json (first run): seeded an empty one, so source_status:fresher+ selects every source with freshness results"`,
      `fi`,
      `if [ ! -f ${PATHS.state}/manifest.json ]; then`,
      `  printf '%s\\n' '${EMPTY_MANIFEST_JSON}' > ${PATHS.state}/manifest.json || fail "cannot write ${PATHS.state}/manifest.json"`,
      `  echo "prepare: no previous manifest.json (no successful run yet): seeded an empty one, so state:modified+ selects every node"`,
      `fi`,
      `if [ -f ${PATHS.state}/${PARTIAL_PARSE_FILE} ]; then`,
      // dbt overwrites the cache after parsing, possibly as a non-root user: the copy must be writable by it.
      `  cp ${PATHS.state}/${PARTIAL_PARSE_FILE} ${PATHS.target}/${PARTIAL_PARSE_FILE} && chmod 0666 ${PATHS.target}/${PARTIAL_PARSE_FILE} || fail "cannot restore ${PARTIAL_PARSE_FILE}"`,
      `fi`,
      `echo "prepare: previous state from $latest:"`,
      `ls -l ${PATHS.state}`,
      `if [ -n "$retry_of" ]; then`,
      `  run="s3://$${ENV.bucket}/$${ENV.environment}/runs/$retry_of/"`,
      `  aws s3 cp --recursive --only-show-errors "$run" ${PATHS.retryState}/ || fail "cannot download run $retry_of from $run"`,
      `  [ -f ${PATHS.retryState}/run_results.json ] || fail "run $retry_of has no run_results.json under $run: nothing to retry (dbt never ran, or its artifacts expired)"`,
      `  echo "prepare: dbt retry re-runs the failures of run $retry_of"`,
      `fi`,
    ].join("\n") + "\n"
  );
}

/**
 * The dbt container's wrapper, run by `/bin/sh -c` under dumb-init: `<wrapper> <marker> dbt ...`
 * runs dbt, creates `<marker>` only when dbt exited 0 (how the upload learns dbt's outcome), and
 * exits with dbt's code, which stays the container's and so the run's outcome.
 * `trap : INT TERM` installs a no-op handler, not an ignored signal: dumb-init sends its SIGINT to
 * the whole process group, and a shell with a handler waits for its foreground command before
 * running it (POSIX `trap`), where the default action would kill the shell, then dumb-init and the
 * container under a dbt still cancelling its queries. The handler is reset to the default in dbt
 * (exec), so Python still turns SIGINT into KeyboardInterrupt, which it does only for a signal
 * that is not ignored.
 */
export function dbtWrapperScript(): string {
  return (
    [
      `marker="$1"`,
      `shift`,
      `trap : INT TERM`,
      `"$@"`,
      `code=$?`,
      `if [ "$code" -eq 0 ]; then`,
      `  touch "$marker" || { echo "dbt-pipeline: dbt succeeded but $marker cannot be written" >&2; exit 1; }`,
      `fi`,
      `exit "$code"`,
    ].join("\n") + "\n"
  );
}

/**
 * The `upload` container's script. Always copies whichever of {@link STATE_FILES} dbt wrote, and
 * dbt.log, to `s3://$DBT_PIPELINE_BUCKET/$DBT_PIPELINE_ENV/runs/<run id>/`. Then, only when dbt
 * succeeded ({@link SUCCESS_MARKER}) and every one of those copies did, copies the state files and
 * the partial-parse cache to `.../latest/`, so `latest/` (the next run's `--state`, Slim CI's
 * baseline) only ever moves to a successful run's artifacts. A run that ran no freshness step
 * leaves `latest/sources.json` as it was: the freshness baseline of the last successful run that
 * compared freshness. Whenever the freshness step wrote `sources.json`, it is also copied to
 * `.../observed/sources.json`, whatever dbt's exit code: the staleness metrics read it. The run id is `$DBT_PIPELINE_RUN_ID` (set by the launch Lambda); a run
 * started another way gets `manual-<UTC timestamp>`. Exits non-zero only when a copy fails;
 * dbt's own failure is reported by the dbt container's exit code, not here.
 */
export function uploadScript(): string {
  const files = (names: readonly string[], to: string) => [
    `  for name in ${names.join(" ")}; do`,
    `    [ -f "${PATHS.target}/$name" ] && put "${PATHS.target}/$name" "${to}/$name"`,
    `  done`,
  ];
  return (
    [
      `fail() { echo "upload: $1" >&2; exit 1; }`,
      requireVar(ENV.environment, "*[!a-z0-9-]*", "an environment name (a-z, 0-9, -)"),
      requireVar(ENV.bucket, "*[!a-z0-9.-]*", "an S3 bucket name"),
      `run_id="$${ENV.runId}"`,
      `case "$run_id" in`,
      `  ""|-*|*[!a-z0-9-]*)`,
      `    [ -z "$run_id" ] || echo "upload: ignoring ${ENV.runId}=$run_id: not a run id (a-z, 0-9, -)" >&2`,
      `    run_id="manual-$(date -u +%Y%m%dt%H%M%Sz)";;`,
      `esac`,
      `runs="s3://$${ENV.bucket}/$${ENV.environment}/runs/$run_id"`,
      `latest="s3://$${ENV.bucket}/$${ENV.environment}/latest"`,
      `observed="s3://$${ENV.bucket}/$${ENV.environment}/observed"`,
      `copied=0`,
      `failed=0`,
      `put() {`,
      `  if aws s3 cp --only-show-errors "$1" "$2"; then copied=$((copied + 1)); else echo "upload: cannot copy $1 to $2" >&2; failed=$((failed + 1)); fi`,
      `}`,
      `{`,
      ...files([...STATE_FILES, ...RUN_ONLY_FILES], "$runs"),
      `  [ -f "${PATHS.logs}/${LOG_FILE}" ] && put "${PATHS.logs}/${LOG_FILE}" "$runs/${LOG_FILE}"`,
      `}`,
      `if [ ! -f ${SUCCESS_MARKER} ]; then`,
      `  echo "upload: dbt did not succeed: latest/ stays at the last successful run"`,
      `elif [ "$failed" -ne 0 ]; then`,
      `  echo "upload: not advancing latest/: the run's own copy is incomplete" >&2`,
      `else`,
      ...files([...STATE_FILES, PARTIAL_PARSE_FILE], "$latest"),
      `  [ "$failed" -eq 0 ] && echo "upload: latest/ advanced to run $run_id"`,
      `fi`,
      // What the sources' freshness was is true whether or not dbt then succeeded: the staleness
      // alarms read it from observed/, while latest/sources.json stays the comparison baseline.
      `[ -f "${PATHS.target}/sources.json" ] && put "${PATHS.target}/sources.json" "$observed/sources.json"`,
      `echo "upload: run $run_id: $copied object(s) copied, $failed failed"`,
      `[ "$failed" -eq 0 ] || exit 1`,
    ].join("\n") + "\n"
  );
}

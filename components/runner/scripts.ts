/**
 * The shell scripts the stock AWS CLI containers run, and the dbt profile they write. Each
 * script is ONE constant text: nothing about a stack (bucket, environment, target, account) is
 * interpolated into it by Pulumi. Values reach it only as environment variables set on the
 * container, and the script checks each one before using it in a path or an S3 key. The same
 * text therefore runs in every stack, and tests can read it (and run it) as it ships.
 */
import { PATHS, PROFILE_NAME } from "../../functions/lib/run-contract";

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
  runId: "DBT_PIPELINE_RUN_ID",
} as const;

/** Root of the task's shared `artifacts` volume. */
export const ARTIFACTS_ROOT = "/artifacts";
/** Where `prepare` mounts the `tmp` volume (dbt mounts it at /tmp) to make it writable for any user. */
export const PREPARE_TMP_MOUNT = "/dbt-tmp";
/** Artifacts the upload step copies from {@link PATHS.target}, to the run's prefix and to `latest/`. */
export const STATE_FILES = ["manifest.json", "run_results.json", "sources.json"] as const;
/** dbt's log file in {@link PATHS.logs}; copied to the run's prefix only (it is not state). */
export const LOG_FILE = "dbt.log";

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

/** The output's fields (indented for `outputs.<target>`): constant, every value a quoted `env_var`. */
export const PROFILE_OUTPUT_BODY = [
  "      type: snowflake",
  ...PROFILE_FIELDS.map(([field, variable, filter]) => `      ${field}: "{{ env_var('${variable}')${filter ? ` | ${filter}` : ""} }}"`),
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
 * world-writable, writes profiles.yml, then downloads the previous run's artifacts from
 * `s3://$DBT_PIPELINE_BUCKET/$DBT_PIPELINE_ENV/latest/` into the state directory. An empty
 * prefix (first run) is not an error; a failed download is, because a run that selects by
 * state or defers would otherwise silently run without it.
 */
export function prepareScript(): string {
  const dirs = [PATHS.profiles, PATHS.target, PATHS.logs, PATHS.state].join(" ");
  return [
    `fail() { echo "prepare: $1" >&2; exit 1; }`,
    requireVar(ENV.target, "*[!a-z0-9_]*", "a dbt target name (a-z, 0-9, _)"),
    requireVar(ENV.environment, "*[!a-z0-9-]*", "an environment name (a-z, 0-9, -)"),
    requireVar(ENV.bucket, "*[!a-z0-9.-]*", "an S3 bucket name"),
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
    `echo "prepare: previous state from $latest:"`,
    `ls -l ${PATHS.state}`,
  ].join("\n") + "\n";
}

/**
 * The `upload` container's script: copies whichever of {@link STATE_FILES} dbt wrote to
 * `s3://$DBT_PIPELINE_BUCKET/$DBT_PIPELINE_ENV/runs/<run id>/` and then to `.../latest/`, and
 * dbt.log to the run's prefix. The run id is `$DBT_PIPELINE_RUN_ID` (set by the launch Lambda);
 * a run started another way (console, CLI) gets `manual-<UTC timestamp>`. Exits non-zero only
 * when a copy fails: a run that wrote nothing (dbt failed to start) uploads nothing and exits 0,
 * and dbt's own failure is reported by the dbt container's exit code, not here.
 */
export function uploadScript(): string {
  const copy = (file: string, to: string) => `  put "${file}" "${to}"`;
  return [
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
    `copied=0`,
    `failed=0`,
    `put() {`,
    `  if aws s3 cp --only-show-errors "$1" "$2"; then copied=$((copied + 1)); else echo "upload: cannot copy $1 to $2" >&2; failed=$((failed + 1)); fi`,
    `}`,
    `for name in ${STATE_FILES.join(" ")}; do`,
    `  [ -f "${PATHS.target}/$name" ] || continue`,
    copy(`${PATHS.target}/$name`, "$runs/$name"),
    copy(`${PATHS.target}/$name`, "$latest/$name"),
    `done`,
    `if [ -f "${PATHS.logs}/${LOG_FILE}" ]; then`,
    copy(`${PATHS.logs}/${LOG_FILE}`, `$runs/${LOG_FILE}`),
    `fi`,
    `echo "upload: run $run_id: $copied object(s) copied under $runs/ and $latest/, $failed failed"`,
    `[ "$failed" -eq 0 ] || exit 1`,
  ].join("\n") + "\n";
}

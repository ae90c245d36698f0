/**
 * The run contract: what a request to run dbt may contain, and the one pure translation of it
 * into the dbt container's argv and the ECS RunTask overrides. Shared by the Lambdas (dispatch,
 * launch) and the runner component (which declares the containers these overrides address).
 *
 * The argv is an array handed to the container runtime: no shell, nothing interpolated into a
 * string. Every selector token is checked against dbt's node-selection grammar first, so no
 * token can start a flag (`--...`) or carry shell or quoting characters.
 */
import { z } from "zod";

/** dbt commands a run may execute. */
export const DBT_COMMANDS = ["build", "run", "test", "seed", "snapshot", "source freshness", "retry"] as const;
/** One of {@link DBT_COMMANDS}. */
export type DbtCommand = (typeof DBT_COMMANDS)[number];

/** Why a run was asked for. */
export const TRIGGER_KINDS = ["fivetran", "airbyte", "snowflake", "schedule", "manual"] as const;

/** dbt's node-selection methods (https://docs.getdbt.com/reference/node-selection/methods). */
export const SELECTOR_METHODS = [
  "tag", "source", "path", "file", "fqn", "package", "config", "test_type", "test_name", "state", "exposure",
  "metric", "result", "source_status", "group", "access", "version", "semantic_model", "saved_query",
  "unit_test", "resource_type", "wildcard",
] as const;

/** Paths shared by the containers of a dbt task (one ephemeral task volume mounted at /artifacts). */
export const PATHS = {
  /** The previous run's artifacts, downloaded from `<env>/latest/` before dbt starts. */
  state: "/artifacts/state",
  /** dbt's target path (DBT_TARGET_PATH): this run's manifest, run_results, sources. */
  target: "/artifacts/target",
  /** dbt's log path (DBT_LOG_PATH). */
  logs: "/artifacts/logs",
  /** Where the pre-step writes profiles.yml (DBT_PROFILES_DIR). */
  profiles: "/artifacts/profiles",
} as const;

/** The profile name the generated profiles.yml declares; passed with `--profile`. */
export const PROFILE_NAME = "dbt_pipeline";

/** Container names in the dbt task definition, addressed by the overrides. */
export const CONTAINERS = {
  /** Stock AWS CLI: writes profiles.yml and downloads the previous state. */
  prepare: "prepare",
  /** The user's dbt image: `dbt source freshness` (or a no-op) before the main command. */
  freshness: "freshness",
  /** The user's dbt image: the requested command. Its exit code is the run's outcome. */
  dbt: "dbt",
  /** Stock AWS CLI: uploads artifacts whatever dbt's exit code. */
  upload: "upload",
} as const;

/** ECS's limit on the JSON of RunTask `overrides`, formatting included. */
export const ECS_OVERRIDES_LIMIT = 8192;

const METHOD_RE = SELECTOR_METHODS.join("|");
/**
 * One selection atom: optional `@` or `N+` prefix, optional `method[.sub]:`, a value of name
 * characters, optional `+N` suffix. Values cannot start with `-`, so no atom is ever a flag.
 */
const ATOM = new RegExp(`^(?:@|\\d*\\+)?(?:(?:${METHOD_RE})(?:\\.[A-Za-z0-9_]+)*:)?[A-Za-z0-9_*][A-Za-z0-9_.*/-]*(?:\\+\\d*)?$`);

/** True when `token` is a dbt selection token: atoms joined by `,` (intersection). */
export function isSelectorToken(token: string): boolean {
  return token.length > 0 && token.length <= 512 && token.split(",").every((atom) => ATOM.test(atom));
}

const selectorToken = z.string().refine(isSelectorToken, {
  message: "is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows)",
});
const jsonValue: z.ZodType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** Schema of a request to run dbt. */
export const RunRequestSchema = z.object({
  command: z.enum(DBT_COMMANDS).default("build"),
  select: z.array(selectorToken).max(100).default([]),
  exclude: z.array(selectorToken).max(100).default([]),
  /** A YAML selector defined in the dbt project's selectors.yml. */
  selector: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, { message: "is not a YAML selector name" }).optional(),
  vars: z.record(z.string(), jsonValue).default({}),
  fullRefresh: z.boolean().default(false),
  target: z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, { message: "is not a dbt target name" }),
  defer: z.boolean().default(false),
  /**
   * `fast`: a small run of a source's fast-lane tags (e.g. dashboards), launched before the
   * normal runs waiting for the same target and never merged with them.
   */
  lane: z.enum(["normal", "fast"]).default("normal"),
  /** Every trigger this run serves (one, or several merged from a burst). */
  triggers: z.array(z.object({
    kind: z.enum(TRIGGER_KINDS),
    /** The vendor's delivery id (sync id, task run id, schedule name). */
    id: z.string().min(1).max(200),
    source: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/).optional(),
    receivedAt: z.string().datetime({ offset: true }),
  }).strict()).min(1).max(500),
  /** Sources the run serves, for the record. */
  sources: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/)).max(500).default([]),
}).strict().superRefine((req, ctx) => {
  for (const name of Object.keys(req.vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) ctx.addIssue({ code: "custom", path: ["vars", name], message: "is not a dbt var name" });
  }
  if (req.command === "retry" && (req.select.length || req.exclude.length || req.selector || req.fullRefresh)) {
    ctx.addIssue({ code: "custom", path: ["command"], message: "retry re-runs what failed last time and takes no select, exclude, selector or fullRefresh" });
  }
  if (req.selector && (req.select.length || req.exclude.length)) {
    ctx.addIssue({ code: "custom", path: ["selector"], message: "cannot be combined with select or exclude" });
  }
  if (req.command === "source freshness" && req.select.some((t) => !t.split(",").every((a) => /^source:/.test(a.replace(/^(@|\d*\+)/, ""))))) {
    ctx.addIssue({ code: "custom", path: ["select"], message: "source freshness selects only source: nodes" });
  }
});

/** A validated request to run dbt. */
export type RunRequest = z.infer<typeof RunRequestSchema>;
/** What a caller may send (defaults not yet applied). */
export type RunRequestInput = z.input<typeof RunRequestSchema>;

/** A request that breaks the contract; `message` says what to change. */
export class RunContractError extends Error {
  constructor(message: string, readonly issues: readonly string[] = []) {
    super(message);
    this.name = "RunContractError";
  }
}

/** Validates a request; throws {@link RunContractError} naming every bad field. */
export function parseRunRequest(input: unknown): RunRequest {
  const result = RunRequestSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "request"}: ${i.message}`);
  throw new RunContractError(`invalid run request: ${issues.join("; ")}`, issues);
}

const usesState = (tokens: readonly string[]) => tokens.some((t) => /(^|[,@+])(state|result|source_status):/.test(t));

/** The dbt container's argv for a request. */
export function dbtArgv(req: RunRequest): string[] {
  const argv = ["dbt", ...req.command.split(" "), "--profile", PROFILE_NAME, "--target", req.target];
  if (req.select.length) argv.push("--select", ...req.select);
  if (req.exclude.length) argv.push("--exclude", ...req.exclude);
  if (req.selector) argv.push("--selector", req.selector);
  if (Object.keys(req.vars).length) argv.push("--vars", JSON.stringify(req.vars));
  if (req.fullRefresh) argv.push("--full-refresh");
  if (req.defer) argv.push("--defer");
  if (req.defer || req.command === "retry" || usesState([...req.select, ...req.exclude])) argv.push("--state", PATHS.state);
  return argv;
}

/** True when the run needs a fresh sources.json first (it selects by `source_status:`). */
export function needsFreshness(req: RunRequest): boolean {
  return [...req.select, ...req.exclude].some((t) => t.includes("source_status:"));
}

/** The freshness container's argv: `dbt source freshness`, or a no-op when not needed. */
export function freshnessArgv(req: RunRequest): string[] {
  return needsFreshness(req)
    ? ["dbt", "source", "freshness", "--profile", PROFILE_NAME, "--target", req.target]
    : ["dbt", "--version"];
}

/** RunTask `overrides` as the ECS API takes them. */
export interface TaskOverrides {
  containerOverrides: { name: string; command?: string[]; environment?: { name: string; value: string }[] }[];
}

/** Run ids: lower-case letters, digits and hyphens; used in S3 keys and ECS startedBy. */
export const RUN_ID_RE = /^[a-z0-9][a-z0-9-]{7,63}$/;

/**
 * The RunTask overrides for a request: the dbt and freshness commands, and the run id the
 * upload step files artifacts under. Throws when they exceed ECS's 8 KiB limit.
 */
export function taskOverrides(req: RunRequest, runId: string): TaskOverrides {
  if (!RUN_ID_RE.test(runId)) throw new RunContractError(`invalid run id ${JSON.stringify(runId)}: expected ${RUN_ID_RE}`);
  const overrides: TaskOverrides = {
    containerOverrides: [
      { name: CONTAINERS.freshness, command: freshnessArgv(req) },
      {
        name: CONTAINERS.dbt,
        command: dbtArgv(req),
        // For the record: the notifier and dbt's on-run-end hook read them (docs/monitoring.md).
        environment: [{ name: "DBT_PIPELINE_RUN_ID", value: runId }, { name: "DBT_PIPELINE_SOURCES", value: req.sources.join(",") }],
      },
      { name: CONTAINERS.upload, environment: [{ name: "DBT_PIPELINE_RUN_ID", value: runId }] },
    ],
  };
  const size = JSON.stringify(overrides).length;
  if (size > ECS_OVERRIDES_LIMIT) {
    throw new RunContractError(
      `the run's overrides are ${size} characters; ECS allows ${ECS_OVERRIDES_LIMIT}. Select fewer nodes, use a YAML selector, or move vars into the dbt project`,
    );
  }
  return overrides;
}

/**
 * The fast-lane run of a source request: the same selection intersected with each fast-lane tag
 * (`source:stripe+,tag:dashboard`), never a full refresh. Undefined when there are no tags.
 */
export function fastLaneRequest(req: RunRequestInput, tags: readonly string[]): RunRequestInput | undefined {
  if (!tags.length) return undefined;
  // An empty selection means everything: then the tag alone is the selection.
  const within = (tokens: readonly string[] | undefined) =>
    tokens?.length ? tokens.flatMap((t) => tags.map((tag) => `${t},tag:${tag}`)) : tags.map((tag) => `tag:${tag}`);
  return { ...req, select: within(req.select), fullRefresh: false, lane: "fast" };
}

/** Requests with the same key may be merged into one run. */
export function mergeKey(req: RunRequest): string {
  return JSON.stringify([req.target, req.command, req.fullRefresh, req.defer, req.selector ?? null, sortKeys(req.vars), req.lane]);
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  return value;
}

const uniqueSorted = (values: readonly string[]) => [...new Set(values)].sort();

/**
 * Merges requests that share a {@link mergeKey} into one run: the union of their selections,
 * only the exclusions all of them make (so no request loses a node it selected), every trigger
 * and source. An empty selection in any request means "everything", which wins.
 */
export function mergeRequests(reqs: readonly RunRequest[]): RunRequest {
  if (reqs.length === 0) throw new RunContractError("nothing to merge");
  const key = mergeKey(reqs[0]);
  const odd = reqs.find((r) => mergeKey(r) !== key);
  if (odd) throw new RunContractError(`cannot merge runs with different target, command, fullRefresh, defer, selector, vars or lane: ${mergeKey(odd)} vs ${key}`);
  const selectsAll = reqs.some((r) => r.select.length === 0);
  const exclude = reqs.map((r) => new Set(r.exclude)).reduce((a, b) => new Set([...a].filter((x) => b.has(x))));
  const triggers = [...new Map(reqs.flatMap((r) => r.triggers).map((t) => [`${t.kind}:${t.id}`, t])).values()]
    .sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
  return {
    ...reqs[0],
    select: selectsAll ? [] : uniqueSorted(reqs.flatMap((r) => r.select)),
    exclude: uniqueSorted([...exclude]),
    triggers,
    sources: uniqueSorted(reqs.flatMap((r) => r.sources)),
  };
}

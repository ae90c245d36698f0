/**
 * The run contract: what a request to run dbt may contain, and the one pure translation of it
 * into the dbt container's argv and the ECS RunTask overrides. Shared by the Lambdas (dispatch,
 * launch) and the runner component (which declares the containers these overrides address).
 *
 * The argv is an array handed to the container runtime: no shell, nothing interpolated into a
 * string. Every selector token is checked against dbt's node-selection grammar first, so no
 * token can start a flag (`--...`) or carry shell or quoting characters.
 */
import * as z from "zod/mini";

/** dbt commands a run may execute. */
export const DBT_COMMANDS = ["build", "run", "test", "seed", "snapshot", "source freshness", "retry"] as const;
/** One of {@link DBT_COMMANDS}. */
export type DbtCommand = (typeof DBT_COMMANDS)[number];

/** Why a run was asked for (`deploy`: a new dbt image tag was deployed). */
export const TRIGGER_KINDS = ["fivetran", "airbyte", "snowflake", "schedule", "manual", "deploy"] as const;

/** dbt's node-selection methods (https://docs.getdbt.com/reference/node-selection/methods). */
export const SELECTOR_METHODS = [
  "tag",
  "source",
  "path",
  "file",
  "fqn",
  "package",
  "config",
  "test_type",
  "test_name",
  "state",
  "exposure",
  "metric",
  "result",
  "source_status",
  "group",
  "access",
  "version",
  "semantic_model",
  "saved_query",
  "unit_test",
  "resource_type",
  "wildcard",
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
  /** Where the dbt container's wrapper leaves its success marker for the upload. */
  status: "/artifacts/status",
  /**
   * The artifacts of the run named by `retryOf`, downloaded from `<env>/runs/<id>/`: `dbt retry`
   * reads `run_results.json` from `--state` (dbt-core `task/retry.py`: `state_path = args.state
   * or config.target_path`), so it retries that run's failures, never whatever ran last.
   */
  retryState: "/artifacts/retry-state",
} as const;

/**
 * Where `dbt source freshness` run as a command writes its results: not the target path's
 * `sources.json` (its default, dbt-core `cli/params.py` `--output`), which the upload would make
 * the next hourly run's freshness baseline although this run built nothing.
 */
export const FRESHNESS_CHECK_OUTPUT = "/artifacts/target/freshness-check.json";

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
  /** Stock AWS CLI: uploads artifacts whatever dbt's exit code; advances `latest/` only after a success. */
  upload: "upload",
} as const;

/** ECS's limit on the JSON of RunTask `overrides`, formatting included. */
export const ECS_OVERRIDES_LIMIT = 8192;

const METHOD_RE = SELECTOR_METHODS.join("|");
/**
 * One selection atom: optional `@` or `N+` prefix, optional `method[.sub]:`, a value of name
 * characters, optional `+N` suffix. Values cannot start with `-`, so no atom is ever a flag.
 */
const ATOM = new RegExp(
  `^(?:@|\\d*\\+)?(?:(?:${METHOD_RE})(?:\\.[A-Za-z0-9_]+)*:)?[A-Za-z0-9_*][A-Za-z0-9_.*/-]*(?:\\+\\d*)?$`,
);

/** True when `token` is a dbt selection token: atoms joined by `,` (intersection). */
export function isSelectorToken(token: string): boolean {
  return token.length > 0 && token.length <= 512 && token.split(",").every((atom) => ATOM.test(atom));
}

const selectorToken = z.string().check(
  z.refine(isSelectorToken, {
    message: "is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows)",
  }),
);
const jsonValue: z.ZodMiniType<unknown> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** Run ids: lower-case letters, digits and hyphens; used in S3 keys and ECS startedBy. */
export const RUN_ID_RE = /^[a-z0-9][a-z0-9-]{7,63}$/;

/** Trigger kinds that report a loaded source: their runs select what that source's config names. */
export const SOURCE_TRIGGER_KINDS: readonly (typeof TRIGGER_KINDS)[number][] = ["fivetran", "airbyte", "snowflake"];

/**
 * Commands that take `--full-refresh`. dbt-core's `cli/main.py` (1.8.0 to 1.10.x) puts
 * `@p.full_refresh` on build, compile, show, run, retry, clone and seed only: `test`, `snapshot`
 * and `source freshness` refuse it, and `retry` repeats the named run's own flags.
 */
export const FULL_REFRESH_COMMANDS: readonly DbtCommand[] = ["build", "run", "seed"];

/** Schema of a request to run dbt. */
export const RunRequestSchema = z
  .strictObject({
    command: z._default(z.enum(DBT_COMMANDS), "build"),
    select: z._default(z.array(selectorToken).check(z.maxLength(100)), []),
    exclude: z._default(z.array(selectorToken).check(z.maxLength(100)), []),
    /** A YAML selector defined in the dbt project's selectors.yml; such a run always gets `--state`. */
    selector: z.optional(
      z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, { message: "is not a YAML selector name" })),
    ),
    vars: z._default(z.record(z.string(), jsonValue), {}),
    fullRefresh: z._default(z.boolean(), false),
    target: z.string().check(z.regex(/^[a-z][a-z0-9_]{0,31}$/, { message: "is not a dbt target name" })),
    /**
     * Always false. A run in this environment would defer to this environment's own last run, which
     * changes nothing; deferring to production is Slim CI's job, in the dbt repository's CI. The key
     * is still accepted (as false) because requests already queued carry it.
     */
    defer: z._default(z.boolean(), false),
    /**
     * Run `dbt source freshness` first and compare its results with the previous state's: needed by a
     * YAML `selector` that uses `source_status:` (the contract cannot see inside selectors.yml).
     * Implied by a `select`/`exclude` token that uses `source_status:`. Absent means false.
     */
    freshness: z.optional(z.boolean()),
    /** With command `retry` (and only then): the run id whose failures `dbt retry` re-runs. */
    retryOf: z.optional(
      z.string().check(z.regex(RUN_ID_RE, { message: "is not a run id (a-z, 0-9, -, 8 to 64 characters)" })),
    ),
    /**
     * `fast`: a small run of a source's fast-lane tags (e.g. dashboards), launched before the
     * normal runs waiting for the same target and never merged with them.
     */
    lane: z._default(z.enum(["normal", "fast"]), "normal"),
    /**
     * Set by launch on a joined run: whether a selection token matching nothing fails the run.
     * Absent: {@link failsOnEmptySelection}'s rule for a single request.
     */
    failOnEmpty: z.optional(z.boolean()),
    /** Every trigger this run serves (one, or several merged from a burst). */
    triggers: z
      .array(
        z.strictObject({
          kind: z.enum(TRIGGER_KINDS),
          /** The vendor's delivery id (sync id, task run id, schedule name). */
          id: z.string().check(z.minLength(1), z.maxLength(200)),
          source: z.optional(z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/))),
          receivedAt: z.string().check(z.iso.datetime({ offset: true })),
        }),
      )
      .check(z.minLength(1), z.maxLength(500)),
    /** Sources the run serves, for the record. */
    sources: z._default(z.array(z.string().check(z.regex(/^[a-z][a-z0-9_]{0,62}$/))).check(z.maxLength(500)), []),
  })
  .check(
    z.superRefine((req, ctx) => {
      for (const name of Object.keys(req.vars)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name))
          ctx.addIssue({ code: "custom", path: ["vars", name], message: "is not a dbt var name" });
      }
      if (req.command === "retry" && (req.select.length || req.exclude.length || req.selector || req.fullRefresh)) {
        ctx.addIssue({
          code: "custom",
          path: ["command"],
          message:
            "retry re-runs the failures of the run named by retryOf and takes no select, exclude, selector or fullRefresh",
        });
      }
      if (req.command === "retry" && !req.retryOf) {
        ctx.addIssue({
          code: "custom",
          path: ["retryOf"],
          message:
            "is required with command retry: the run id whose failures to re-run (latest/ holds only successful runs)",
        });
      }
      if (req.command !== "retry" && req.retryOf) {
        ctx.addIssue({ code: "custom", path: ["retryOf"], message: "is only for command retry" });
      }
      if (req.fullRefresh && req.command !== "retry" && !FULL_REFRESH_COMMANDS.includes(req.command)) {
        ctx.addIssue({
          code: "custom",
          path: ["fullRefresh"],
          message: `dbt ${req.command} does not accept --full-refresh (only ${FULL_REFRESH_COMMANDS.join(", ")} do)`,
        });
      }
      if (req.defer) {
        ctx.addIssue({
          code: "custom",
          path: ["defer"],
          message:
            "is not supported: a pipeline run has no other environment's state to defer to (Slim CI defers to prod in the dbt repository's CI)",
        });
      }
      if (req.selector && (req.select.length || req.exclude.length)) {
        ctx.addIssue({ code: "custom", path: ["selector"], message: "cannot be combined with select or exclude" });
      }
      if (
        req.command === "source freshness" &&
        req.select.some((t) => !t.split(",").every((a) => /^source:/.test(a.replace(/^(@|\d*\+)/, ""))))
      ) {
        ctx.addIssue({ code: "custom", path: ["select"], message: "source freshness selects only source: nodes" });
      }
    }),
  );

/** A validated request to run dbt. */
export type RunRequest = z.infer<typeof RunRequestSchema>;
/** What a caller may send (defaults not yet applied). */
export type RunRequestInput = z.input<typeof RunRequestSchema>;

/** A request that breaks the contract; `message` says what to change. */
export class RunContractError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
    this.name = "RunContractError";
  }
}

/** What the stack knows that a request cannot: checked on top of the schema. */
export interface ContractOptions {
  /** The stack's dbt target (`dbt.target`): the only output the generated profiles.yml has. */
  readonly stackTarget?: string;
}

/** Validates a request; throws {@link RunContractError} naming every bad field. */
export function parseRunRequest(input: unknown, options: ContractOptions = {}): RunRequest {
  const result = RunRequestSchema.safeParse(input);
  const issues = result.success
    ? []
    : result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "request"}: ${i.message}`);
  if (result.success && options.stackTarget !== undefined && result.data.target !== options.stackTarget) {
    issues.push(
      `target: is ${JSON.stringify(result.data.target)}, but this stack's profile has only target ${JSON.stringify(options.stackTarget)}`,
    );
  }
  if (result.success && !issues.length) return result.data;
  throw new RunContractError(`invalid run request: ${issues.join("; ")}`, issues);
}

const STATE_METHOD = /(^|[,@+])(state|result|source_status):/;
/**
 * Both lists: dbt resolves `--exclude` with the same selector methods as `--select` (dbt-core
 * `graph/cli.py` parses both into selection specs, `graph/selector_methods.py` raises "No previous
 * state comparison freshness results in sources.json" for `source_status:` and needs a comparison
 * manifest for `state:` wherever the token appears), so an exclusion alone needs the state too.
 */
const tokensOf = (req: RunRequest) => [...req.select, ...req.exclude];

/** True when the run needs a fresh sources.json first: it selects by `source_status:`, or says so for its YAML selector. */
export function needsFreshness(req: RunRequest): boolean {
  return req.freshness === true || tokensOf(req).some((t) => t.includes("source_status:"));
}

/**
 * True when dbt needs `--state` (the previous successful run's artifacts): a `state:`, `result:` or
 * `source_status:` selection, or a YAML selector (which may use them: `--state` costs nothing
 * when unused, dbt-core `contracts/state.py` loads only the files that exist).
 */
export function needsState(req: RunRequest): boolean {
  return needsFreshness(req) || req.selector !== undefined || tokensOf(req).some((t) => STATE_METHOD.test(t));
}

/**
 * True when an empty selection must fail the run: a normal-lane run of a loaded source, whose
 * selection comes from config (without `--select`, dbt's default selection never warns). A source name that is not a dbt source name selects nothing, and
 * dbt only warns (NoNodesForSelectionCriteria, exit 0). Scheduled and manual runs may select
 * nothing (the hourly run when no source is fresher); fast-lane runs too (a source may feed no
 * dashboard).
 */
export function failsOnEmptySelection(req: RunRequest): boolean {
  if (req.failOnEmpty !== undefined) return req.failOnEmpty;
  return req.lane === "normal" && req.triggers.some((t) => SOURCE_TRIGGER_KINDS.includes(t.kind));
}

/**
 * `--warn-error-options` turning dbt's "selection matched nothing" warning into an error. dbt-core
 * `graph/selector.py` calls `warn_or_error(NoNodesForSelectionCriteria(...))` for every `--select`
 * and `--exclude` token that matches no node (`graph/cli.py` parses both with `expect_exists=True`),
 * so a config exclude must match a node somewhere in the project. The `error` key is read by
 * 1.8 (as the alternative of `include`, `cli/option_types.py`) and by 1.10 (`WarnErrorOptionsV2`).
 */
export const WARN_ERROR_ON_EMPTY_SELECTION = '{"error": ["NoNodesForSelectionCriteria"]}';

/** The dbt container's argv for a request. */
export function dbtArgv(req: RunRequest): string[] {
  const argv = ["dbt", ...req.command.split(" "), "--profile", PROFILE_NAME, "--target", req.target];
  if (req.select.length) argv.push("--select", ...req.select);
  if (req.exclude.length) argv.push("--exclude", ...req.exclude);
  if (req.selector) argv.push("--selector", req.selector);
  if (Object.keys(req.vars).length) argv.push("--vars", JSON.stringify(req.vars));
  if (req.fullRefresh) argv.push("--full-refresh");
  if (req.command === "source freshness") argv.push("--output", FRESHNESS_CHECK_OUTPUT);
  if (req.command === "retry") argv.push("--state", PATHS.retryState);
  else if (needsState(req)) argv.push("--state", PATHS.state);
  if (failsOnEmptySelection(req)) argv.push("--warn-error-options", WARN_ERROR_ON_EMPTY_SELECTION);
  return argv;
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

/** Environment variables the overrides set (the container definitions declare the rest). */
export const OVERRIDE_ENV = {
  /** The run id: the upload's `runs/<id>/` prefix, dbt's query tag, the notifier's record. */
  runId: "DBT_PIPELINE_RUN_ID",
  /** The sources served, comma-separated. */
  sources: "DBT_PIPELINE_SOURCES",
  /** The trigger kinds served, comma-separated and sorted (for the query tag: cost per trigger). */
  triggers: "DBT_PIPELINE_TRIGGERS",
  /** The run whose artifacts `prepare` downloads for `dbt retry`. */
  retryOf: "DBT_PIPELINE_RETRY_OF",
} as const;

/**
 * The RunTask overrides for a request: the dbt and freshness commands, and the run id the
 * upload step files artifacts under. Throws when they exceed ECS's 8 KiB limit.
 */
export function taskOverrides(req: RunRequest, runId: string): TaskOverrides {
  if (!RUN_ID_RE.test(runId))
    throw new RunContractError(`invalid run id ${JSON.stringify(runId)}: expected ${RUN_ID_RE}`);
  const triggerKinds = [...new Set(req.triggers.map((t) => t.kind))].sort().join(",");
  const overrides: TaskOverrides = {
    containerOverrides: [
      ...(req.retryOf
        ? [{ name: CONTAINERS.prepare, environment: [{ name: OVERRIDE_ENV.retryOf, value: req.retryOf }] }]
        : []),
      { name: CONTAINERS.freshness, command: freshnessArgv(req) },
      {
        name: CONTAINERS.dbt,
        command: dbtArgv(req),
        // For the record: the notifier and the project's query-tag macro read them (docs/monitoring.md, docs/dbt-repo).
        environment: [
          { name: OVERRIDE_ENV.runId, value: runId },
          { name: OVERRIDE_ENV.sources, value: req.sources.join(",") },
          { name: OVERRIDE_ENV.triggers, value: triggerKinds },
        ],
      },
      { name: CONTAINERS.upload, environment: [{ name: OVERRIDE_ENV.runId, value: runId }] },
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
 * The fast-lane run of a source request: for each selection token and fast-lane tag, the path
 * from the token to the tag (`source:stripe+,+tag:dashboard`: the intersection of the source's
 * descendants with the tag's ancestors, so the untagged models between them are built too);
 * never a full refresh. Undefined when there are no tags.
 */
export function fastLaneRequest(req: RunRequestInput, tags: readonly string[]): RunRequestInput | undefined {
  if (!tags.length) return undefined;
  // An empty selection means everything: then the tag and all its ancestors are the selection.
  const within = (tokens: readonly string[] | undefined) =>
    tokens?.length ? tokens.flatMap((t) => tags.map((tag) => `${t},+tag:${tag}`)) : tags.map((tag) => `+tag:${tag}`);
  return { ...req, select: within(req.select), fullRefresh: false, lane: "fast" };
}

/** `value` with every object's keys sorted (a canonical form for keys built with JSON.stringify). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  return value;
}

/** Distinct values, sorted. */
export const uniqueSorted = (values: readonly string[]): string[] => [...new Set(values)].sort();

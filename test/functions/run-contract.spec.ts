import { expect } from "chai";
import {
  ECS_OVERRIDES_LIMIT,
  fastLaneRequest,
  RunContractError,
  RunRequest,
  RunRequestInput,
  dbtArgv,
  freshnessArgv,
  isSelectorToken,
  parseRunRequest,
  taskOverrides,
} from "../../functions/lib/run-contract";
import { canJoin, joinRequests } from "../../functions/lib/run-join";

const trigger = { kind: "fivetran" as const, id: "sync-1", source: "stripe", receivedAt: "2026-11-22T10:00:00.000Z" };
const manual = { kind: "manual" as const, id: "alice-1", receivedAt: "2026-11-22T10:00:00.000Z" };
const hourly = { kind: "schedule" as const, id: "hourly:2026-11-22T10:05:00Z", receivedAt: "2026-11-22T10:05:01.000Z" };
const req = (over: Partial<RunRequestInput> = {}) => parseRunRequest({ target: "prod", triggers: [manual], ...over });
const sourceReq = (over: Partial<RunRequestInput> = {}) => req({ triggers: [trigger], sources: ["stripe"], ...over });
const head = ["--profile", "dbt_pipeline", "--target", "prod"];
const strict = ["--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}'];

describe("run contract", () => {
  describe("argv per command", () => {
    const table: [string, Partial<RunRequestInput>, string[]][] = [
      ["build everything", {}, ["dbt", "build", ...head]],
      ["run", { command: "run", select: ["tag:daily"] }, ["dbt", "run", ...head, "--select", "tag:daily"]],
      ["test", { command: "test", select: ["source:stripe+"] }, ["dbt", "test", ...head, "--select", "source:stripe+"]],
      ["seed", { command: "seed" }, ["dbt", "seed", ...head]],
      [
        "snapshot",
        { command: "snapshot", select: ["path:snapshots/orders"] },
        ["dbt", "snapshot", ...head, "--select", "path:snapshots/orders"],
      ],
      [
        "source freshness writes beside sources.json (it must not become the hourly baseline)",
        { command: "source freshness", select: ["source:stripe"] },
        [
          "dbt",
          "source",
          "freshness",
          ...head,
          "--select",
          "source:stripe",
          "--output",
          "/artifacts/target/freshness-check.json",
        ],
      ],
      [
        "retry reads the named run's results from its own state directory",
        { command: "retry", retryOf: "20261122t100000-ab12cd34" },
        ["dbt", "retry", ...head, "--state", "/artifacts/retry-state"],
      ],
      [
        "select and exclude",
        { select: ["source:stripe+", "tag:dashboard"], exclude: ["tag:heavy"] },
        ["dbt", "build", ...head, "--select", "source:stripe+", "tag:dashboard", "--exclude", "tag:heavy"],
      ],
      [
        "a YAML selector gets the previous state (it may select by state)",
        { selector: "nightly" },
        ["dbt", "build", ...head, "--selector", "nightly", "--state", "/artifacts/state"],
      ],
      [
        "vars as one JSON argument",
        { vars: { start: "2026-01-01", n: 3, nested: { a: [1, "x y"] } } },
        ["dbt", "build", ...head, "--vars", '{"start":"2026-01-01","n":3,"nested":{"a":[1,"x y"]}}'],
      ],
      ["full refresh of build", { fullRefresh: true }, ["dbt", "build", ...head, "--full-refresh"]],
      ["full refresh of run", { command: "run", fullRefresh: true }, ["dbt", "run", ...head, "--full-refresh"]],
      ["full refresh of seed", { command: "seed", fullRefresh: true }, ["dbt", "seed", ...head, "--full-refresh"]],
      [
        "state selection adds --state once",
        { select: ["state:modified+", "result:error+"] },
        ["dbt", "build", ...head, "--select", "state:modified+", "result:error+", "--state", "/artifacts/state"],
      ],
      [
        "source_status needs state",
        { select: ["source_status:fresher+"] },
        ["dbt", "build", ...head, "--select", "source_status:fresher+", "--state", "/artifacts/state"],
      ],
      [
        "a state method inside an intersection",
        { select: ["tag:x,state:modified"] },
        ["dbt", "build", ...head, "--select", "tag:x,state:modified", "--state", "/artifacts/state"],
      ],
      [
        "a source-triggered run fails on an empty selection",
        { triggers: [trigger], select: ["source:stripe+"] },
        ["dbt", "build", ...head, "--select", "source:stripe+", ...strict],
      ],
      [
        "an Airbyte-triggered run too, excludes included",
        { triggers: [{ ...trigger, kind: "airbyte" }], select: ["source:hubspot+"], exclude: ["tag:heavy"] },
        ["dbt", "build", ...head, "--select", "source:hubspot+", "--exclude", "tag:heavy", ...strict],
      ],
      [
        "a Snowflake-task-triggered run too",
        { triggers: [{ ...trigger, kind: "snowflake" }], select: ["source:erp+"] },
        ["dbt", "build", ...head, "--select", "source:erp+", ...strict],
      ],
      [
        "a source run that selects everything (dbt's default selection never warns)",
        { triggers: [trigger] },
        ["dbt", "build", ...head, ...strict],
      ],
      [
        "a fast-lane run may select nothing (no dashboard below the source)",
        { triggers: [trigger], select: ["source:stripe+,+tag:dashboard"], lane: "fast" },
        ["dbt", "build", ...head, "--select", "source:stripe+,+tag:dashboard"],
      ],
      // dbt resolves --exclude with the same selector methods as --select, so these need the state too.
      [
        "a state method only in --exclude still gets --state",
        { select: ["tag:x"], exclude: ["state:modified"] },
        ["dbt", "build", ...head, "--select", "tag:x", "--exclude", "state:modified", "--state", "/artifacts/state"],
      ],
      [
        "a result method only in --exclude still gets --state",
        { exclude: ["result:error"] },
        ["dbt", "build", ...head, "--exclude", "result:error", "--state", "/artifacts/state"],
      ],
      [
        "source_status only in --exclude still gets --state",
        { select: ["tag:x"], exclude: ["source_status:fresher"] },
        [
          "dbt",
          "build",
          ...head,
          "--select",
          "tag:x",
          "--exclude",
          "source_status:fresher",
          "--state",
          "/artifacts/state",
        ],
      ],
      [
        "the hourly run may select nothing (no source fresher)",
        { triggers: [hourly], select: ["source_status:fresher+"] },
        ["dbt", "build", ...head, "--select", "source_status:fresher+", "--state", "/artifacts/state"],
      ],
    ];
    for (const [what, input, argv] of table) it(what, () => expect(dbtArgv(req(input))).to.deep.equal(argv));
  });

  describe("freshness step", () => {
    it("runs dbt source freshness when the selection uses source_status", () => {
      expect(freshnessArgv(req({ select: ["source_status:fresher+"] }))).to.deep.equal([
        "dbt",
        "source",
        "freshness",
        ...head,
      ]);
    });
    it("runs for a YAML selector that says it compares freshness, with --state for dbt", () => {
      const r = req({ selector: "hourly_fresh", freshness: true });
      expect(freshnessArgv(r)).to.deep.equal(["dbt", "source", "freshness", ...head]);
      expect(dbtArgv(r)).to.deep.equal([
        "dbt",
        "build",
        ...head,
        "--selector",
        "hourly_fresh",
        "--state",
        "/artifacts/state",
      ]);
    });
    it("runs dbt source freshness when only an exclusion uses source_status", () => {
      expect(freshnessArgv(req({ select: ["tag:x"], exclude: ["source_status:fresher+"] }))).to.deep.equal([
        "dbt",
        "source",
        "freshness",
        ...head,
      ]);
    });
    it("is a no-op for a state method only in an exclusion (it needs the manifest, not freshness)", () => {
      expect(freshnessArgv(req({ exclude: ["state:modified"] }))).to.deep.equal(["dbt", "--version"]);
    });
    it("is a no-op otherwise", () => {
      expect(freshnessArgv(req({ select: ["tag:x"] }))).to.deep.equal(["dbt", "--version"]);
      expect(freshnessArgv(req({ selector: "nightly" }))).to.deep.equal(["dbt", "--version"]);
    });
  });

  describe("selector grammar", () => {
    const good = [
      "my_model",
      "source:stripe+",
      "+orders",
      "2+orders+3",
      "@orders",
      "tag:nightly,config.materialized:incremental",
      "path:models/staging/*",
      "fqn:proj.staging.stg_orders",
      "state:modified+",
      "source_status:fresher+",
      "config.meta.owner:finance",
      "*",
    ];
    const bad = [
      "",
      "--full-refresh",
      "-s",
      "tag:a b",
      "tag:a;rm",
      "$(whoami)",
      "`id`",
      "tag:'x'",
      "nosuchmethod:x",
      "source:",
      "tag:x\n--vars",
    ];
    for (const t of good) it(`accepts ${t}`, () => expect(isSelectorToken(t)).to.equal(true));
    for (const t of bad) it(`rejects ${JSON.stringify(t)}`, () => expect(isSelectorToken(t)).to.equal(false));
  });

  describe("rejections", () => {
    const table: [string, unknown, string][] = [
      [
        "an unknown command",
        { target: "prod", triggers: [trigger], command: "compile" },
        'invalid run request: command: Invalid option: expected one of "build"|"run"|"test"|"seed"|"snapshot"|"source freshness"|"retry"',
      ],
      [
        "a flag smuggled as a selector",
        { target: "prod", triggers: [trigger], select: ["--full-refresh"] },
        "invalid run request: select.0: is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows)",
      ],
      [
        "retry with a selection",
        {
          target: "prod",
          triggers: [trigger],
          command: "retry",
          retryOf: "20261122t100000-ab12cd34",
          select: ["tag:x"],
        },
        "invalid run request: command: retry re-runs the failures of the run named by retryOf and takes no select, exclude, selector or fullRefresh",
      ],
      [
        "retry of no named run",
        { target: "prod", triggers: [trigger], command: "retry" },
        "invalid run request: retryOf: is required with command retry: the run id whose failures to re-run (latest/ holds only successful runs)",
      ],
      [
        "retryOf on a build",
        { target: "prod", triggers: [trigger], retryOf: "20261122t100000-ab12cd34" },
        "invalid run request: retryOf: is only for command retry",
      ],
      [
        "retryOf that is not a run id",
        { target: "prod", triggers: [trigger], command: "retry", retryOf: "../latest" },
        "invalid run request: retryOf: is not a run id (a-z, 0-9, -, 8 to 64 characters)",
      ],
      [
        "full refresh of test",
        { target: "prod", triggers: [trigger], command: "test", fullRefresh: true },
        "invalid run request: fullRefresh: dbt test does not accept --full-refresh (only build, run, seed do)",
      ],
      [
        "full refresh of snapshot",
        { target: "prod", triggers: [trigger], command: "snapshot", fullRefresh: true },
        "invalid run request: fullRefresh: dbt snapshot does not accept --full-refresh (only build, run, seed do)",
      ],
      [
        "full refresh of source freshness",
        { target: "prod", triggers: [trigger], command: "source freshness", fullRefresh: true },
        "invalid run request: fullRefresh: dbt source freshness does not accept --full-refresh (only build, run, seed do)",
      ],
      [
        "defer to this environment's own state",
        { target: "prod", triggers: [trigger], defer: true, select: ["state:modified+"] },
        "invalid run request: defer: is not supported: a pipeline run has no other environment's state to defer to (Slim CI defers to prod in the dbt repository's CI)",
      ],
      [
        "selector with select",
        { target: "prod", triggers: [trigger], selector: "nightly", select: ["tag:x"] },
        "invalid run request: selector: cannot be combined with select or exclude",
      ],
      [
        "freshness on models",
        { target: "prod", triggers: [trigger], command: "source freshness", select: ["tag:x"] },
        "invalid run request: select: source freshness selects only source: nodes",
      ],
      [
        "a target with capitals",
        { target: "Prod", triggers: [trigger] },
        "invalid run request: target: is not a dbt target name",
      ],
      [
        "no trigger",
        { target: "prod", triggers: [] },
        "invalid run request: triggers: Too small: expected array to have >=1 items",
      ],
      [
        "an unknown field",
        { target: "prod", triggers: [trigger], threads: 64 },
        'invalid run request: request: Unrecognized key: "threads"',
      ],
      [
        "a bad var name",
        { target: "prod", triggers: [trigger], vars: { "a-b": 1 } },
        "invalid run request: vars.a-b: is not a dbt var name",
      ],
    ];
    for (const [what, input, message] of table) {
      it(what, () => {
        expect(() => parseRunRequest(input)).to.throw(RunContractError, message);
        try {
          parseRunRequest(input);
        } catch (e) {
          expect((e as Error).message).to.equal(message);
        }
      });
    }
  });

  describe("the stack's own target", () => {
    it("is accepted", () =>
      expect(parseRunRequest({ target: "prod", triggers: [trigger] }, { stackTarget: "prod" }).target).to.equal(
        "prod",
      ));
    it("is the only one accepted when the stack says which it is", () => {
      expect(() => parseRunRequest({ target: "dev", triggers: [trigger] }, { stackTarget: "prod" })).to.throw(
        RunContractError,
        'invalid run request: target: is "dev", but this stack\'s profile has only target "prod"',
      );
    });
  });

  describe("overrides", () => {
    it("address the freshness, dbt and upload containers with the run id, the sources and the trigger kinds served", () => {
      const r = sourceReq({
        select: ["source:stripe+"],
        sources: ["stripe", "web_events"],
        triggers: [trigger, { ...trigger, id: "sync-2" }, { ...manual }],
      });
      expect(taskOverrides(r, "20261122t100000-ab12cd34")).to.deep.equal({
        containerOverrides: [
          { name: "freshness", command: ["dbt", "--version"] },
          {
            name: "dbt",
            command: ["dbt", "build", ...head, "--select", "source:stripe+", ...strict],
            environment: [
              { name: "DBT_PIPELINE_RUN_ID", value: "20261122t100000-ab12cd34" },
              { name: "DBT_PIPELINE_SOURCES", value: "stripe,web_events" },
              { name: "DBT_PIPELINE_TRIGGERS", value: "fivetran,manual" },
            ],
          },
          { name: "upload", environment: [{ name: "DBT_PIPELINE_RUN_ID", value: "20261122t100000-ab12cd34" }] },
        ],
      });
    });
    it("tell prepare which run's artifacts a retry re-runs", () => {
      const r = req({ command: "retry", retryOf: "20261121t230000-0badcafe" });
      expect(taskOverrides(r, "20261122t100000-ab12cd34").containerOverrides.slice(0, 2)).to.deep.equal([
        { name: "prepare", environment: [{ name: "DBT_PIPELINE_RETRY_OF", value: "20261121t230000-0badcafe" }] },
        { name: "freshness", command: ["dbt", "--version"] },
      ]);
    });
    it("reject a bad run id", () => {
      expect(() => taskOverrides(req(), "../etc")).to.throw(RunContractError, 'invalid run id "../etc"');
    });
    it("stay under ECS's 8 KiB limit or say what to do", () => {
      const select = Array.from(
        { length: 100 },
        (_, i) => `model_with_a_rather_long_descriptive_name_that_a_team_might_really_use_in_marts_number_${i}`,
      );
      const r = req({ select });
      expect(() => taskOverrides(r, "run-00000001")).to.throw(
        RunContractError,
        /overrides are \d+ characters; ECS allows 8192\. Select fewer nodes, use a YAML selector/,
      );
      const fits = req({ select: select.slice(0, 40) });
      expect(JSON.stringify(taskOverrides(fits, "run-00000001")).length).to.be.at.most(ECS_OVERRIDES_LIMIT);
    });
  });

  describe("fast lane", () => {
    const base = {
      target: "prod",
      triggers: [trigger],
      select: ["source:stripe+", "tag:finance"],
      exclude: ["tag:heavy"],
      fullRefresh: true,
    };
    it("selects the path from each selection to each fast-lane tag, never a full refresh", () => {
      expect(fastLaneRequest(base, ["dashboard", "kpi"])).to.deep.equal({
        ...base,
        select: [
          "source:stripe+,+tag:dashboard",
          "source:stripe+,+tag:kpi",
          "tag:finance,+tag:dashboard",
          "tag:finance,+tag:kpi",
        ],
        fullRefresh: false,
        lane: "fast",
      });
      expect(parseRunRequest(fastLaneRequest(base, ["dashboard"])).lane).to.equal("fast");
    });
    it("selects the tag and its ancestors when the source selects everything", () => {
      expect(fastLaneRequest({ ...base, select: [] }, ["dashboard"])?.select).to.deep.equal(["+tag:dashboard"]);
    });
    it("is nothing without tags", () => expect(fastLaneRequest(base, [])).to.equal(undefined));
  });

  describe("joining every waiting request of a target into one run", () => {
    const airbyte = {
      kind: "airbyte" as const,
      id: "job-7",
      source: "hubspot",
      receivedAt: "2026-11-22T10:00:30.000Z",
    };
    const refresh = {
      kind: "schedule" as const,
      id: "full-refresh:2026-11-22",
      receivedAt: "2026-11-22T09:00:00.000Z",
    };
    const deploy = { kind: "deploy" as const, id: "sha-abc", receivedAt: "2026-11-22T10:06:00.000Z" };
    const stripe = sourceReq({ select: ["source:stripe+"] });
    const stripeFast = sourceReq({ select: ["source:stripe+,+tag:dashboard"], lane: "fast" });
    const hubspot = sourceReq({ select: ["source:hubspot+"], sources: ["hubspot"], triggers: [airbyte] });
    const hourlyFresh = req({ triggers: [hourly], select: ["source_status:fresher+"] });
    const deployed = req({ triggers: [deploy], select: ["state:modified+"] });
    const base = { command: "build", vars: {}, fullRefresh: false, target: "prod", defer: false } as const;

    const table: [string, RunRequest[], RunRequest, string[], string[]][] = [
      [
        "a source's normal and fast-lane requests: the fast-lane token is inside the normal one",
        [stripeFast, stripe],
        {
          ...base,
          select: ["source:stripe+"],
          exclude: [],
          lane: "normal",
          failOnEmpty: true,
          triggers: [trigger],
          sources: ["stripe"],
        },
        ["dbt", "build", ...head, "--select", "source:stripe+", ...strict],
        ["dbt", "--version"],
      ],
      [
        "a source run and the hourly freshness run: one invocation with the freshness step and --state; an empty selection no longer fails it",
        [stripe, hourlyFresh],
        {
          ...base,
          select: ["source:stripe+", "source_status:fresher+"],
          exclude: [],
          freshness: true,
          lane: "normal",
          failOnEmpty: false,
          triggers: [trigger, hourly],
          sources: ["stripe"],
        },
        [
          "dbt",
          "build",
          ...head,
          "--select",
          "source:stripe+",
          "source_status:fresher+",
          "--state",
          "/artifacts/state",
        ],
        ["dbt", "source", "freshness", ...head],
      ],
      [
        "two sources, the hourly freshness run and a deploy's state:modified+ run",
        [hubspot, deployed, stripe, hourlyFresh],
        {
          ...base,
          select: ["source:hubspot+", "source:stripe+", "source_status:fresher+", "state:modified+"],
          exclude: [],
          freshness: true,
          lane: "normal",
          failOnEmpty: false,
          triggers: [trigger, airbyte, hourly, deploy],
          sources: ["hubspot", "stripe"],
        },
        [
          "dbt",
          "build",
          ...head,
          "--select",
          "source:hubspot+",
          "source:stripe+",
          "source_status:fresher+",
          "state:modified+",
          "--state",
          "/artifacts/state",
        ],
        ["dbt", "source", "freshness", ...head],
      ],
      [
        "a source run and a deploy: --state without the freshness step",
        [stripe, deployed],
        {
          ...base,
          select: ["source:stripe+", "state:modified+"],
          exclude: [],
          lane: "normal",
          failOnEmpty: false,
          triggers: [trigger, deploy],
          sources: ["stripe"],
        },
        ["dbt", "build", ...head, "--select", "source:stripe+", "state:modified+", "--state", "/artifacts/state"],
        ["dbt", "--version"],
      ],
      [
        "exclusions: only what every request excludes",
        [
          sourceReq({ select: ["source:stripe+"], exclude: ["tag:heavy", "tag:slow"] }),
          sourceReq({ select: ["source:hubspot+"], exclude: ["tag:heavy"], sources: ["hubspot"], triggers: [airbyte] }),
        ],
        {
          ...base,
          select: ["source:hubspot+", "source:stripe+"],
          exclude: ["tag:heavy"],
          lane: "normal",
          failOnEmpty: true,
          triggers: [trigger, airbyte],
          sources: ["hubspot", "stripe"],
        },
        ["dbt", "build", ...head, "--select", "source:hubspot+", "source:stripe+", "--exclude", "tag:heavy", ...strict],
        ["dbt", "--version"],
      ],
      [
        "a full refresh of everything takes the waiting source runs and their fast lane along",
        [stripe, req({ triggers: [refresh], fullRefresh: true }), stripeFast, hubspot],
        {
          ...base,
          fullRefresh: true,
          select: [],
          exclude: [],
          lane: "normal",
          failOnEmpty: false,
          triggers: [refresh, trigger, airbyte],
          sources: ["hubspot", "stripe"],
        },
        ["dbt", "build", ...head, "--full-refresh"],
        ["dbt", "--version"],
      ],
      [
        "fast-lane requests alone: still a fast-lane run that may select nothing",
        [stripeFast, sourceReq({ select: ["source:hubspot+,+tag:dashboard"], lane: "fast", triggers: [airbyte] })],
        {
          ...base,
          select: ["source:hubspot+,+tag:dashboard", "source:stripe+,+tag:dashboard"],
          exclude: [],
          lane: "fast",
          failOnEmpty: false,
          triggers: [trigger, airbyte],
          sources: ["stripe"],
        },
        ["dbt", "build", ...head, "--select", "source:hubspot+,+tag:dashboard", "source:stripe+,+tag:dashboard"],
        ["dbt", "--version"],
      ],
    ];
    for (const [what, requests, joined, argv, freshness] of table) {
      it(`joins ${what}`, () => {
        const out = joinRequests(requests);
        expect(out).to.deep.equal(joined);
        expect(dbtArgv(out)).to.deep.equal(argv);
        expect(freshnessArgv(out)).to.deep.equal(freshness);
      });
    }

    // Each row: two requests that cannot share one dbt invocation.
    const apart: [string, RunRequest, RunRequest][] = [
      ["different vars", req({ vars: { day: "2026-11-21" } }), req({ vars: { day: "2026-11-22" } })],
      [
        "retries of different runs",
        req({ command: "retry", retryOf: "20261122t090000-00000001" }),
        req({ command: "retry", retryOf: "20261122t100000-00000002" }),
      ],
      ["different commands", req({ command: "test" }), req({ command: "build" })],
      [
        "a full refresh that excludes a node and an incremental run (the excluded node would not be built)",
        req({ triggers: [refresh], fullRefresh: true, exclude: ["tag:heavy"] }),
        stripe,
      ],
      [
        "a full refresh of a selection and an incremental run",
        req({ triggers: [refresh], fullRefresh: true, select: ["tag:nightly"] }),
        stripe,
      ],
      ["different YAML selectors", req({ selector: "nightly" }), req({ selector: "weekly" })],
    ];
    for (const [what, x, y] of apart) {
      it(`keeps apart ${what}`, () => {
        expect(canJoin(x, y) || canJoin(y, x)).to.equal(false);
        expect(() => joinRequests([x, y])).to.throw(
          RunContractError,
          /^cannot join runs with different target, command, fullRefresh, selector, vars or retryOf: /,
        );
      });
    }
  });
});

import { expect } from "chai";
import {
  ECS_OVERRIDES_LIMIT, fastLaneRequest, RunContractError, RunRequestInput, dbtArgv, freshnessArgv, isSelectorToken, mergeKey, mergeRequests,
  parseRunRequest, taskOverrides,
} from "../../functions/lib/run-contract";

const trigger = { kind: "fivetran" as const, id: "sync-1", source: "stripe", receivedAt: "2026-11-22T10:00:00.000Z" };
const req = (over: Partial<RunRequestInput> = {}) => parseRunRequest({ target: "prod", triggers: [trigger], ...over });
const head = ["--profile", "dbt_pipeline", "--target", "prod"];

describe("run contract", () => {
  describe("argv per command", () => {
    const table: [string, Partial<RunRequestInput>, string[]][] = [
      ["build everything", {}, ["dbt", "build", ...head]],
      ["run", { command: "run", select: ["tag:daily"] }, ["dbt", "run", ...head, "--select", "tag:daily"]],
      ["test", { command: "test", select: ["source:stripe+"] }, ["dbt", "test", ...head, "--select", "source:stripe+"]],
      ["seed", { command: "seed" }, ["dbt", "seed", ...head]],
      ["snapshot", { command: "snapshot", select: ["path:snapshots/orders"] }, ["dbt", "snapshot", ...head, "--select", "path:snapshots/orders"]],
      ["source freshness", { command: "source freshness", select: ["source:stripe"] }, ["dbt", "source", "freshness", ...head, "--select", "source:stripe"]],
      ["retry reads the previous run's results", { command: "retry" }, ["dbt", "retry", ...head, "--state", "/artifacts/state"]],
      ["select and exclude", { select: ["source:stripe+", "tag:dashboard"], exclude: ["tag:heavy"] }, ["dbt", "build", ...head, "--select", "source:stripe+", "tag:dashboard", "--exclude", "tag:heavy"]],
      ["a YAML selector", { selector: "nightly" }, ["dbt", "build", ...head, "--selector", "nightly"]],
      ["vars as one JSON argument", { vars: { start: "2026-01-01", n: 3, nested: { a: [1, "x y"] } } }, ["dbt", "build", ...head, "--vars", '{"start":"2026-01-01","n":3,"nested":{"a":[1,"x y"]}}']],
      ["full refresh", { fullRefresh: true }, ["dbt", "build", ...head, "--full-refresh"]],
      ["defer to the previous state", { defer: true, select: ["state:modified+"] }, ["dbt", "build", ...head, "--select", "state:modified+", "--defer", "--state", "/artifacts/state"]],
      ["state selection adds --state once", { select: ["state:modified+", "result:error+"] }, ["dbt", "build", ...head, "--select", "state:modified+", "result:error+", "--state", "/artifacts/state"]],
      ["source_status needs state", { select: ["source_status:fresher+"] }, ["dbt", "build", ...head, "--select", "source_status:fresher+", "--state", "/artifacts/state"]],
    ];
    for (const [what, input, argv] of table) it(what, () => expect(dbtArgv(req(input))).to.deep.equal(argv));
  });

  describe("freshness step", () => {
    it("runs dbt source freshness when the selection uses source_status", () => {
      expect(freshnessArgv(req({ select: ["source_status:fresher+"] }))).to.deep.equal(["dbt", "source", "freshness", ...head]);
    });
    it("is a no-op otherwise", () => expect(freshnessArgv(req({ select: ["tag:x"] }))).to.deep.equal(["dbt", "--version"]));
  });

  describe("selector grammar", () => {
    const good = ["my_model", "source:stripe+", "+orders", "2+orders+3", "@orders", "tag:nightly,config.materialized:incremental", "path:models/staging/*", "fqn:proj.staging.stg_orders", "state:modified+", "source_status:fresher+", "config.meta.owner:finance", "*"];
    const bad = ["", "--full-refresh", "-s", "tag:a b", "tag:a;rm", "$(whoami)", "`id`", "tag:'x'", "nosuchmethod:x", "source:", "tag:x\n--vars"];
    for (const t of good) it(`accepts ${t}`, () => expect(isSelectorToken(t)).to.equal(true));
    for (const t of bad) it(`rejects ${JSON.stringify(t)}`, () => expect(isSelectorToken(t)).to.equal(false));
  });

  describe("rejections", () => {
    const table: [string, unknown, string][] = [
      ["an unknown command", { target: "prod", triggers: [trigger], command: "compile" }, 'invalid run request: command: Invalid option: expected one of "build"|"run"|"test"|"seed"|"snapshot"|"source freshness"|"retry"'],
      ["a flag smuggled as a selector", { target: "prod", triggers: [trigger], select: ["--full-refresh"] }, "invalid run request: select.0: is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows)"],
      ["retry with a selection", { target: "prod", triggers: [trigger], command: "retry", select: ["tag:x"] }, "invalid run request: command: retry re-runs what failed last time and takes no select, exclude, selector or fullRefresh"],
      ["selector with select", { target: "prod", triggers: [trigger], selector: "nightly", select: ["tag:x"] }, "invalid run request: selector: cannot be combined with select or exclude"],
      ["freshness on models", { target: "prod", triggers: [trigger], command: "source freshness", select: ["tag:x"] }, "invalid run request: select: source freshness selects only source: nodes"],
      ["a target with capitals", { target: "Prod", triggers: [trigger] }, "invalid run request: target: is not a dbt target name"],
      ["no trigger", { target: "prod", triggers: [] }, "invalid run request: triggers: Too small: expected array to have >=1 items"],
      ["an unknown field", { target: "prod", triggers: [trigger], threads: 64 }, 'invalid run request: request: Unrecognized key: "threads"'],
      ["a bad var name", { target: "prod", triggers: [trigger], vars: { "a-b": 1 } }, "invalid run request: vars.a-b: is not a dbt var name"],
    ];
    for (const [what, input, message] of table) {
      it(what, () => {
        expect(() => parseRunRequest(input)).to.throw(RunContractError, message);
        try { parseRunRequest(input); } catch (e) { expect((e as Error).message).to.equal(message); }
      });
    }
  });

  describe("overrides", () => {
    it("address the freshness, dbt and upload containers with the run id and the sources served", () => {
      const r = req({ select: ["source:stripe+"], sources: ["stripe", "web_events"] });
      expect(taskOverrides(r, "20261122t100000-ab12cd34")).to.deep.equal({
        containerOverrides: [
          { name: "freshness", command: ["dbt", "--version"] },
          { name: "dbt", command: ["dbt", "build", ...head, "--select", "source:stripe+"], environment: [{ name: "DBT_PIPELINE_RUN_ID", value: "20261122t100000-ab12cd34" }, { name: "DBT_PIPELINE_SOURCES", value: "stripe,web_events" }] },
          { name: "upload", environment: [{ name: "DBT_PIPELINE_RUN_ID", value: "20261122t100000-ab12cd34" }] },
        ],
      });
    });
    it("reject a bad run id", () => {
      expect(() => taskOverrides(req(), "../etc")).to.throw(RunContractError, 'invalid run id "../etc"');
    });
    it("stay under ECS's 8 KiB limit or say what to do", () => {
      const select = Array.from({ length: 100 }, (_, i) => `model_with_a_rather_long_descriptive_name_that_a_team_might_really_use_in_marts_number_${i}`);
      const r = req({ select });
      expect(() => taskOverrides(r, "run-00000001")).to.throw(RunContractError, /overrides are \d+ characters; ECS allows 8192\. Select fewer nodes, use a YAML selector/);
      const fits = req({ select: select.slice(0, 40) });
      expect(JSON.stringify(taskOverrides(fits, "run-00000001")).length).to.be.at.most(ECS_OVERRIDES_LIMIT);
    });
  });

  describe("merging a burst", () => {
    const a = req({ select: ["source:stripe+"], exclude: ["tag:heavy", "tag:slow"], sources: ["stripe"] });
    const b = req({ select: ["source:hubspot+", "source:stripe+"], exclude: ["tag:heavy"], sources: ["hubspot"], triggers: [{ ...trigger, kind: "airbyte", id: "job-7", source: "hubspot", receivedAt: "2026-11-22T10:00:30.000Z" }] });
    it("unions selections, keeps common exclusions, records every trigger and source", () => {
      expect(mergeRequests([a, b])).to.deep.equal({
        ...a,
        select: ["source:hubspot+", "source:stripe+"],
        exclude: ["tag:heavy"],
        sources: ["hubspot", "stripe"],
        triggers: [trigger, { ...trigger, kind: "airbyte", id: "job-7", source: "hubspot", receivedAt: "2026-11-22T10:00:30.000Z" }],
      });
    });
    it("an empty selection (everything) wins", () => expect(mergeRequests([a, req()]).select).to.deep.equal([]));
    it("drops a trigger delivered twice", () => expect(mergeRequests([a, a]).triggers).to.have.length(1));
    it("never merges a full refresh with an incremental run", () => {
      expect(mergeKey(a)).not.to.equal(mergeKey(req({ fullRefresh: true })));
      expect(() => mergeRequests([a, req({ fullRefresh: true })])).to.throw(RunContractError, /cannot merge runs/);
    });
    it("never merges a fast-lane run with a normal one", () => {
      expect(() => mergeRequests([a, req({ lane: "fast" })])).to.throw(RunContractError, /cannot merge runs/);
    });
    it("treats vars in any key order as equal", () => {
      expect(mergeKey(req({ vars: { a: 1, b: 2 } }))).to.equal(mergeKey(req({ vars: { b: 2, a: 1 } })));
    });
  });

  describe("fast lane", () => {
    const base = { target: "prod", triggers: [trigger], select: ["source:stripe+", "tag:finance"], exclude: ["tag:heavy"], fullRefresh: true };
    it("intersects each selection with each fast-lane tag, never a full refresh", () => {
      expect(fastLaneRequest(base, ["dashboard", "kpi"])).to.deep.equal({
        ...base, select: ["source:stripe+,tag:dashboard", "source:stripe+,tag:kpi", "tag:finance,tag:dashboard", "tag:finance,tag:kpi"], fullRefresh: false, lane: "fast",
      });
      expect(parseRunRequest(fastLaneRequest(base, ["dashboard"])).lane).to.equal("fast");
    });
    it("selects every node with the tag when the source selects everything", () => {
      expect(fastLaneRequest({ ...base, select: [] }, ["dashboard"])?.select).to.deep.equal(["tag:dashboard"]);
    });
    it("is nothing without tags", () => expect(fastLaneRequest(base, [])).to.equal(undefined));
  });
});

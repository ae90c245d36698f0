import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { z } from "zod";
import { RunCompletedDetailSchema } from "../../functions/lib/run-event";
import { RunRequestInput, dbtArgv, parseRunRequest } from "../../functions/lib/run-contract";
import { SlackError, escapeMrkdwn, fetchPoster } from "../../functions/lib/slack";
import { selectionText, snsSubject } from "../../functions/notify/messages";
import {
  formatDuration,
  logsConsoleUrl,
  parseDbtArgv,
  runCompletedDetail,
  runFacts,
  runIdOf,
  sourcesOf,
  triggeredAtOf,
} from "../../functions/notify/run";
import { TaskDetailSchema } from "../../functions/notify/schema";
import { RunOutcome, RunState, RunStateStore, applyRun, decide, failureSignature } from "../../functions/notify/state";

describe("notify rules", () => {
  const run = (over: Partial<RunOutcome> = {}): RunOutcome => ({
    status: "failed",
    signature: "sig-a",
    taskArn: "task-2",
    runId: "run-2",
    endedAt: "2026-11-22T11:00:00.000Z",
    ...over,
  });
  const state = (over: Partial<RunState> = {}): RunState => ({
    status: "passing",
    signature: "",
    consecutiveFailures: 0,
    lastTaskArn: "task-1",
    lastRunId: "run-1",
    lastEndedAt: "2026-11-22T10:00:00.000Z",
    lastPage: null,
    recoveredAfter: 0,
    version: 4,
    ...over,
  });

  describe("reading the dbt argv back", () => {
    const table: [string, Omit<RunRequestInput, "triggers">, ReturnType<typeof parseDbtArgv>][] = [
      [
        "build everything",
        { target: "prod" },
        { command: "build", selection: { select: [], exclude: [], selector: null, fullRefresh: false } },
      ],
      [
        "source freshness",
        { target: "prod", command: "source freshness", select: ["source:stripe"] },
        {
          command: "source freshness",
          selection: { select: ["source:stripe"], exclude: [], selector: null, fullRefresh: false },
        },
      ],
      [
        "select, exclude, vars, full refresh, state",
        {
          target: "dev",
          select: ["state:modified+", "tag:a"],
          exclude: ["tag:heavy"],
          vars: { d: "x y" },
          fullRefresh: true,
        },
        {
          command: "build",
          selection: {
            select: ["state:modified+", "tag:a"],
            exclude: ["tag:heavy"],
            selector: null,
            fullRefresh: true,
          },
        },
      ],
      [
        "a YAML selector",
        { target: "prod", command: "run", selector: "nightly" },
        { command: "run", selection: { select: [], exclude: [], selector: "nightly", fullRefresh: false } },
      ],
      [
        "retry",
        { target: "prod", command: "retry", retryOf: "20261122t100000-ab12cd34" },
        { command: "retry", selection: { select: [], exclude: [], selector: null, fullRefresh: false } },
      ],
    ];
    for (const [what, request, expected] of table) {
      it(what, () => {
        const trigger = { kind: "manual" as const, id: "m-1", receivedAt: "2026-11-22T10:00:00Z" };
        expect(parseDbtArgv(dbtArgv(parseRunRequest({ triggers: [trigger], ...request })))).to.deep.equal(expected);
      });
    }
  });

  describe("the paging rule", () => {
    const table: [
      string,
      RunState | undefined,
      RunOutcome,
      Pick<ReturnType<typeof decide>, "page" | "reason" | "consecutiveFailures" | "previousFailures">,
    ][] = [
      [
        "the first run ever fails",
        undefined,
        run(),
        { page: "failure", reason: "first-failure", consecutiveFailures: 1, previousFailures: 0 },
      ],
      [
        "the first run ever succeeds",
        undefined,
        run({ status: "success", signature: "" }),
        { page: null, reason: "still-passing", consecutiveFailures: 0, previousFailures: 0 },
      ],
      [
        "a failure after a success",
        state(),
        run(),
        { page: "failure", reason: "first-failure", consecutiveFailures: 1, previousFailures: 0 },
      ],
      [
        "the same failure again",
        state({ status: "failing", signature: "sig-a", consecutiveFailures: 1 }),
        run(),
        { page: null, reason: "same-failure", consecutiveFailures: 2, previousFailures: 0 },
      ],
      [
        "another set of failing nodes",
        state({ status: "failing", signature: "sig-b", consecutiveFailures: 2 }),
        run(),
        { page: "failure", reason: "changed-failure", consecutiveFailures: 3, previousFailures: 0 },
      ],
      [
        "a success after failures",
        state({ status: "failing", signature: "sig-a", consecutiveFailures: 3 }),
        run({ status: "success", signature: "" }),
        { page: "recovery", reason: "recovery", consecutiveFailures: 0, previousFailures: 3 },
      ],
      [
        "a success after a success",
        state(),
        run({ status: "success", signature: "" }),
        { page: null, reason: "still-passing", consecutiveFailures: 0, previousFailures: 0 },
      ],
      [
        "an event older than the last applied",
        state({ lastEndedAt: "2026-11-22T12:00:00.000Z" }),
        run(),
        { page: null, reason: "out-of-order", consecutiveFailures: 0, previousFailures: 0 },
      ],
      [
        "the last applied event delivered again",
        state({ status: "failing", lastTaskArn: "task-2", lastPage: "failure", consecutiveFailures: 1 }),
        run(),
        { page: "failure", reason: "redelivery", consecutiveFailures: 1, previousFailures: 0 },
      ],
    ];
    for (const [what, prev, outcome, expected] of table) {
      it(what, () => {
        const d = decide(prev, outcome);
        expect({
          page: d.page,
          reason: d.reason,
          consecutiveFailures: d.consecutiveFailures,
          previousFailures: d.previousFailures,
        }).to.deep.equal(expected);
      });
    }

    it("stores the applied run with the next version", () => {
      expect(decide(state(), run()).next).to.deep.equal({
        status: "failing",
        signature: "sig-a",
        consecutiveFailures: 1,
        lastTaskArn: "task-2",
        lastRunId: "run-2",
        lastEndedAt: "2026-11-22T11:00:00.000Z",
        lastPage: "failure",
        recoveredAfter: 0,
        version: 5,
      });
    });

    it("signatures ignore order and duplicates, and tell exit codes and stop codes apart", () => {
      expect(failureSignature("failed", 1, null, ["b", "a", "a"])).to.equal(
        failureSignature("failed", 1, null, ["a", "b"]),
      );
      expect(failureSignature("failed", 1, null, ["a"])).not.to.equal(failureSignature("failed", 2, null, ["a"]));
      expect(failureSignature("not_started", null, "TaskFailedToStart", [])).not.to.equal(
        failureSignature("not_started", null, "UserInitiated", []),
      );
      expect(failureSignature("success", 0, null, [])).to.equal("");
    });
  });

  describe("applying a run to the stored state", () => {
    it("decides on the state read beside the results download, and reads again when another run wrote first", async () => {
      const calls: string[] = [];
      // Another run's write landed between the early read (version 4) and this put: version 5 is stored.
      const newer: RunState = {
        ...state(),
        lastTaskArn: "task-x",
        lastEndedAt: "2026-11-22T10:30:00.000Z",
        version: 5,
      };
      const store: RunStateStore = {
        get: () => {
          calls.push("get");
          return Promise.resolve(newer);
        },
        put: (next, expected) => {
          calls.push(`put ${expected} -> ${next.version}`);
          return Promise.resolve(expected === 5);
        },
      };
      const decision = await applyRun(store, run(), Promise.resolve(state()));
      expect(calls).to.deep.equal(["put 4 -> 5", "get", "put 5 -> 6"]);
      expect(decision.page).to.equal("failure");
      expect(decision.next?.lastTaskArn).to.equal("task-2");
    });
  });

  describe("small formatters", () => {
    it("builds the CloudWatch console link of a log stream", () => {
      expect(logsConsoleUrl("eu-west-1", "/ecs/dbt-pipeline-dev-dbt", "run/dbt/abc123")).to.equal(
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Fecs$252Fdbt-pipeline-dev-dbt/log-events/run$252Fdbt$252Fabc123",
      );
    });
    it("formats durations", () => {
      expect([null, 0, 59, 60, 252, 3600, 3725].map(formatDuration)).to.deep.equal([
        null,
        "0s",
        "59s",
        "1m 0s",
        "4m 12s",
        "1h 0m",
        "1h 2m",
      ]);
    });
    it("escapes Slack's control characters", () =>
      expect(escapeMrkdwn("a <b> & <!here>")).to.equal("a &lt;b&gt; &amp; &lt;!here&gt;"));
    it("describes a selection", () => {
      expect(selectionText({ select: [], exclude: [], selector: null, fullRefresh: false })).to.equal("whole project");
      expect(selectionText({ select: [], exclude: ["tag:heavy"], selector: null, fullRefresh: true })).to.equal(
        "whole project --exclude tag:heavy --full-refresh",
      );
      expect(selectionText({ select: [], exclude: [], selector: "nightly", fullRefresh: false })).to.equal(
        "--selector nightly",
      );
    });
    it("keeps SNS subjects ASCII and under 100 characters", () => {
      expect(snsSubject("dbt-pipeline prod: build failed — café\nnext")).to.equal(
        "dbt-pipeline prod: build failed - caf- next",
      );
      expect(snsSubject("x".repeat(150))).to.equal(`${"x".repeat(96)}...`);
      expect(snsSubject("x".repeat(99))).to.equal("x".repeat(99));
    });
  });

  describe("run facts", () => {
    const detail = (over: Record<string, unknown>) =>
      TaskDetailSchema.parse({
        clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/c",
        taskArn: "arn:aws:ecs:eu-west-1:123456789012:task/c/0123456789abcdef",
        lastStatus: "STOPPED",
        stoppedAt: "2026-11-22T10:05:00Z",
        ...over,
      });
    it("takes the run id from startedBy when the overrides do not carry it", () => {
      expect(runIdOf(detail({ startedBy: "dbt-pipeline/20261122t100000-3f9a1c2e" }))).to.equal(
        "20261122t100000-3f9a1c2e",
      );
      expect(runIdOf(detail({ startedBy: "ecs-svc/123" }))).to.equal(null);
    });
    it("reads the trigger time from a launch run id only", () => {
      expect(new Date(triggeredAtOf("20261122t110000-8b2d4f6a")!).toISOString()).to.equal("2026-11-22T11:00:00.000Z");
      expect(triggeredAtOf("manual-20261122t110000z")).to.equal(undefined);
      expect(triggeredAtOf(null)).to.equal(undefined);
    });
    it("reads the sources from DBT_PIPELINE_SOURCES when the overrides carry it", () => {
      const env = (value: string) =>
        detail({
          overrides: { containerOverrides: [{ name: "dbt", environment: [{ name: "DBT_PIPELINE_SOURCES", value }] }] },
        });
      expect(sourcesOf(env("stripe, hubspot,stripe"))).to.deep.equal(["hubspot", "stripe"]);
      expect(sourcesOf(detail({}))).to.equal(undefined);
      const facts = runFacts(env("stripe"), "dev", "2026-11-22T10:05:01Z");
      expect(runCompletedDetail(facts, null, "b")).to.deep.include({ sources: ["stripe"] });
    });
    it("reports a task started by hand (no overrides) without a run id or artifacts", () => {
      const facts = runFacts(
        detail({ containers: [{ name: "dbt", exitCode: 2 }], startedAt: "2026-11-22T10:00:00Z" }),
        "dev",
        "2026-11-22T10:05:01Z",
      );
      const event = runCompletedDetail(facts, null, "bucket");
      expect(event).to.deep.include({
        runId: null,
        status: "failed",
        exitCode: 2,
        command: null,
        artifacts: null,
        durationSeconds: 300,
        modelsBuilt: null,
      });
      expect(RunCompletedDetailSchema.parse(event)).to.deep.equal(event);
    });
    it("names a container that stopped the task before dbt ran, and a failed upload", () => {
      const facts = runFacts(
        detail({
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          containers: [{ name: "prepare", exitCode: 1 }, { name: "dbt" }, { name: "upload", exitCode: 1 }],
        }),
        "dev",
        "2026-11-22T10:05:01Z",
      );
      expect(facts).to.deep.include({
        status: "not_started",
        stopReason: "EssentialContainerExited: Essential container in task exited; prepare exited 1; upload exited 1",
        uploadExitCode: 1,
      });
    });
    it("explains an out-of-memory kill of dbt", () => {
      const facts = runFacts(
        detail({
          stopCode: "EssentialContainerExited",
          stoppedReason: "Essential container in task exited",
          containers: [
            { name: "dbt", exitCode: 137, reason: "OutOfMemoryError: Container killed due to memory usage" },
            { name: "upload", exitCode: 0 },
          ],
        }),
        "dev",
        "2026-11-22T10:05:01Z",
      );
      expect(facts).to.deep.include({
        status: "failed",
        exitCode: 137,
        stopReason: "dbt: OutOfMemoryError: Container killed due to memory usage",
        uploadExitCode: null,
      });
    });
  });

  describe("the run event contract", () => {
    it("docs/run-events.md shows an event that matches the schema", () => {
      const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "run-events.md"), "utf8");
      const example = z
        .looseObject({ detail: z.unknown() })
        .parse(JSON.parse(/## Example\s+```json\n([\s\S]*?)\n```/.exec(doc)![1]));
      expect(example).to.deep.include({ source: "dbt-pipeline", "detail-type": "dbt.run.completed" });
      expect(RunCompletedDetailSchema.parse(example.detail)).to.deep.equal(example.detail);
    });
  });

  describe("the Slack poster", () => {
    const original = globalThis.fetch;
    afterEach(() => {
      globalThis.fetch = original;
    });

    it("posts the message as JSON", async () => {
      // Prepare
      const calls: [string, RequestInit][] = [];
      globalThis.fetch = ((url: string, init: RequestInit) => {
        calls.push([url, init]);
        return Promise.resolve(new Response("ok", { status: 200 }));
      }) as typeof fetch;

      // Act
      await fetchPoster()("https://hooks.slack.com/services/T/B/X", { text: "hi", blocks: [] });

      // Assess
      expect(calls).to.have.length(1);
      expect(calls[0][0]).to.equal("https://hooks.slack.com/services/T/B/X");
      expect(calls[0][1]).to.deep.include({
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"text":"hi","blocks":[]}',
      });
    });

    it("rejects with Slack's answer on an error status", async () => {
      // Prepare
      globalThis.fetch = () => Promise.resolve(new Response("invalid_blocks", { status: 400 }));

      // Act
      let error: unknown;
      try {
        await fetchPoster()("https://hooks.slack.com/services/T/B/X", { text: "hi", blocks: [] });
      } catch (err) {
        error = err;
      }

      // Assess
      expect(error).to.be.instanceOf(SlackError);
      expect((error as Error).message).to.equal("Slack webhook answered HTTP 400: invalid_blocks");
    });
  });
});

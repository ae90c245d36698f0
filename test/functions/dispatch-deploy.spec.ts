import { expect } from "chai";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { dispatch } from "../../functions/dispatch/core";
import { InvalidEventError } from "../../functions/dispatch/errors";
import { sourceRun } from "../../functions/dispatch/runs";
import { dbtArgv, freshnessArgv, parseRunRequest } from "../../functions/lib/run-contract";
import { joinRequests } from "../../functions/lib/run-join";
import { NOW, QUEUE_URL, useDispatchHarness } from "./dispatch-harness";
import { rejection, sha256 } from "./support";

describe("dispatch: the deploy's invocation (a new image tag)", () => {
  const h = useDispatchHarness();
  const BODY = JSON.stringify({
    command: "build",
    select: ["state:modified+"],
    exclude: [],
    vars: {},
    fullRefresh: false,
    target: "dev",
    defer: false,
    lane: "normal",
    triggers: [{ kind: "deploy", id: "v1.4.2", receivedAt: NOW }],
    sources: [],
  });

  it("queues a state:modified+ build with the deploy recorded as its trigger", async () => {
    // Act
    const result = await dispatch({ kind: "deploy", imageTag: "v1.4.2" }, h.deps());
    // Assess
    expect(result).to.deep.equal({
      status: "queued",
      delivery: "deploy:v1.4.2",
      messageId: "msg-1",
      message: "queued the build of what image v1.4.2 changed (state:modified+)",
      duplicate: false,
    });
    expect(h.sent()).to.deep.equal([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: BODY,
        MessageGroupId: "dev",
        MessageDeduplicationId: sha256("deploy:v1.4.2"),
      },
    ]);
  });

  it("answers a repeated invocation for the same tag as a duplicate and queues nothing more", async () => {
    // Act
    await dispatch({ kind: "deploy", imageTag: "v1.4.2" }, h.deps());
    const second = await dispatch({ kind: "deploy", imageTag: "v1.4.2" }, h.deps());
    // Assess
    expect(second).to.deep.equal({
      status: "queued",
      delivery: "deploy:v1.4.2",
      messageId: "msg-1",
      message: "queued the build of what image v1.4.2 changed (state:modified+)",
      duplicate: true,
    });
    expect(h.sent()).to.have.length(1);
    expect(h.metrics.total("DuplicatesDropped")).to.equal(1);
  });

  it("queues another build for another tag", async () => {
    // Act
    await dispatch({ kind: "deploy", imageTag: "v1.4.2" }, h.deps());
    await dispatch({ kind: "deploy", imageTag: "sha256:" + "a".repeat(64) }, h.deps());
    // Assess
    expect(h.sent().map((m) => m.MessageDeduplicationId)).to.deep.equal([
      sha256("deploy:v1.4.2"),
      sha256(`deploy:sha256:${"a".repeat(64)}`),
    ]);
  });

  it("gives dbt `build --select state:modified+ --state` and skips the freshness check", () => {
    // Prepare
    const request = parseRunRequest(JSON.parse(BODY));
    // Assess
    expect(dbtArgv(request)).to.deep.equal([
      "dbt",
      "build",
      "--profile",
      "dbt_pipeline",
      "--target",
      "dev",
      "--select",
      "state:modified+",
      "--state",
      "/artifacts/state",
    ]);
    expect(freshnessArgv(request)).to.deep.equal(["dbt", "--version"]);
  });

  it("joins a waiting source run: one build of both selections against the previous state, no empty-selection failure", () => {
    // Prepare
    const deploy = parseRunRequest(JSON.parse(BODY));
    const source = parseRunRequest(
      sourceRun(
        "dev",
        {
          name: "stripe",
          fivetranConnectors: ["c"],
          airbyteConnections: [],
          rawTables: [],
          select: ["source:stripe+"],
          exclude: [],
          fastLaneTags: [],
          fullRefresh: false,
        },
        { kind: "fivetran", id: "s1", receivedAt: NOW },
      ),
    );
    // Act
    const joined = joinRequests([deploy, source]);
    // Assess: the deploy's own build does not ask to fail on an empty selection, so the joined run does not
    expect(dbtArgv(joined)).to.deep.equal([
      "dbt",
      "build",
      "--profile",
      "dbt_pipeline",
      "--target",
      "dev",
      "--select",
      "source:stripe+",
      "state:modified+",
      "--state",
      "/artifacts/state",
    ]);
    expect(freshnessArgv(joined)).to.deep.equal(["dbt", "--version"]);
    expect(joined.sources).to.deep.equal(["stripe"]);
  });

  it("throws when the queue refuses, so the deployment fails and the next one invokes again", async () => {
    // Prepare
    h.sqs.on(SendMessageCommand).rejectsOnce(new Error("throttled")).resolves({ MessageId: "msg-2" });
    // Act
    const error = await rejection(dispatch({ kind: "deploy", imageTag: "v1.4.2" }, h.deps()));
    const retried = await dispatch({ kind: "deploy", imageTag: "v1.4.2" }, h.deps());
    // Assess
    expect(error.message).to.equal("could not send the run request to the runs queue");
    expect(retried).to.include({ status: "queued", messageId: "msg-2", duplicate: false });
  });

  it("refuses a tag that is not an image tag", async () => {
    // Act
    const error = await rejection(dispatch({ kind: "deploy", imageTag: "v1 --full-refresh" }, h.deps()));
    // Assess
    expect(error).to.be.instanceOf(InvalidEventError);
    expect(error.message).to.equal(
      'invalid deploy input; it must be {"kind":"deploy","imageTag":"<dbt.imageTag>"}:\n✖ expected an image tag or a sha256:<64 hex> digest\n  → at imageTag',
    );
    expect(h.sent()).to.deep.equal([]);
  });
});

/**
 * `npm run trigger`: the run request it sends (through the run contract, to the runs queue as
 * dispatch sends it) and every way it refuses to send anything.
 */
import { expect } from "chai";
import { createHash } from "node:crypto";
import { mockClient } from "aws-sdk-client-mock";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { SQSClient, SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { manualTrigger, parseTriggerArgs, runInput, trigger } from "../../ops/trigger";
import { DEV_CONFIG, NO_STACK, RecordingIo, awsError, devPulumi, ok } from "./support";

const sts = mockClient(STSClient);
const sqs = mockClient(SQSClient);
const s3 = mockClient(S3Client);

const NOW = new Date("2026-12-02T02:15:00.000Z");
const QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/dbt-pipeline-dev-runs.fifo";
const MESSAGE_ID = "5fb1c2de-8a1b-4c3d-9e0f-112233445566";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const TRIGGER = { kind: "manual", id: "alice-20261202t021500z-a1b2c3", receivedAt: "2026-12-02T02:15:00.000Z" };

function run(argv: string[], pulumi = devPulumi()) {
  const io = new RecordingIo();
  const regions: string[] = [];
  const done = trigger(argv, {
    pulumi: pulumi.run,
    clients: (region) => {
      regions.push(region);
      return { sts: new STSClient({ region }), sqs: new SQSClient({ region }), s3: new S3Client({ region }) };
    },
    now: () => NOW,
    user: () => "Alice",
    random: () => "a1b2c3",
    io,
  });
  return { io, regions, pulumi, done };
}

const sentBody = (): unknown => JSON.parse(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody!);
const awsCalls = () => sts.calls().length + sqs.calls().length + s3.calls().length;

describe("ops trigger", () => {
  beforeEach(() => {
    sts.reset();
    sqs.reset();
    s3.reset();
    sts.on(GetCallerIdentityCommand).resolves({
      Account: "111122223333",
      Arn: "arn:aws:sts::111122223333:assumed-role/Operator/alice",
      UserId: "AROA:alice",
    });
    sqs.on(SendMessageCommand).resolves({ MessageId: MESSAGE_ID });
  });

  it("--source sends the source's configured selection to the runs queue, grouped by target, deduplicated by delivery", async () => {
    const t = run(["dev", "--source", "stripe"]);
    expect(await t.done).to.equal(0);
    expect(t.regions).to.deep.equal(["eu-west-1"]);
    const input = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(input.QueueUrl).to.equal(QUEUE_URL);
    expect(input.MessageGroupId).to.equal("dev");
    // sha256("manual:alice-20261202t021500z-a1b2c3")
    expect(input.MessageDeduplicationId).to.equal("42ba3ad8f5f69745c3c3e290e2e0f341c764ddf053798392866393748d2dfac0");
    expect(sentBody()).to.deep.include({
      command: "build",
      select: ["source:stripe+"],
      exclude: [],
      fullRefresh: false,
      target: "dev",
      triggers: [TRIGGER],
      sources: ["stripe"],
    });
    expect(t.io.errLines).to.deep.equal([]);
    expect(t.io.outLines).to.deep.equal([
      "queued build --select source:stripe+ for target dev of stack dev as arn:aws:sts::111122223333:assumed-role/Operator/alice",
      `trigger: manual alice-20261202t021500z-a1b2c3 (SQS message ${MESSAGE_ID})`,
      // <oldest trigger, UTC>-<sha256(pending key)[0:8]>, the key `p#<oldest receivedAt>#<sha256 of the body>`:
      // as launch names a run of this one request
      `run id: 20261202t021500-${sha256(`p#2026-12-02T02:15:00.000Z#${sha256(input.MessageBody ?? "")}`).slice(0, 8)} (if it runs alone)`,
      "  launch starts it once no run of dev is going; when it merges this request with others waiting, the run gets another id",
      "  follow it: npm run status -- dev",
    ]);
  });

  it("--source keeps the source's excludes", async () => {
    const t = run(["dev", "--source", "hubspot", "--full-refresh"]);
    expect(await t.done).to.equal(0);
    expect(sentBody()).to.deep.include({
      select: ["source:hubspot+"],
      exclude: ["tag:heavy"],
      fullRefresh: true,
      sources: ["hubspot"],
    });
  });

  it("--select takes space-separated dbt selection tokens; --full-refresh sets fullRefresh", async () => {
    const t = run(["dev", "--select", "tag:finance  +fct_revenue", "--full-refresh"]);
    expect(await t.done).to.equal(0);
    expect(sentBody()).to.deep.include({
      command: "build",
      select: ["tag:finance", "+fct_revenue"],
      exclude: [],
      fullRefresh: true,
      target: "dev",
      sources: [],
    });
    expect(t.io.outLines[0]).to.equal(
      "queued build --select tag:finance +fct_revenue --full-refresh for target dev of stack dev as arn:aws:sts::111122223333:assumed-role/Operator/alice",
    );
  });

  it("without a selection builds the whole project", async () => {
    const t = run(["dev"]);
    expect(await t.done).to.equal(0);
    expect(sentBody()).to.deep.include({ command: "build", select: [], fullRefresh: false });
    expect(t.io.outLines[0]).to.match(/^queued build \(whole project\) for target dev/);
  });

  it("uses dbt.target over the environment when the stack sets it", async () => {
    const pulumi = devPulumi({
      "config --json": ok({ ...DEV_CONFIG, "dbt-pipeline:dbt.target": { value: "dev_eu", secret: false } }),
    });
    const t = run(["dev"], pulumi);
    expect(await t.done).to.equal(0);
    expect(sqs.commandCalls(SendMessageCommand)[0].args[0].input.MessageGroupId).to.equal("dev_eu");
  });

  it("reads outputs and config without decrypting secrets", async () => {
    const t = run(["dev"]);
    await t.done;
    expect(t.pulumi.calls).to.deep.equal([
      ["stack", "output", "--json", "--stack", "dev"],
      ["config", "--json", "--stack", "dev"],
    ]);
  });

  describe("sends nothing and says why in one line", () => {
    const cases: {
      name: string;
      argv: string[];
      pulumi?: () => ReturnType<typeof devPulumi>;
      code: number;
      err: string;
    }[] = [
      {
        name: "a selection the contract rejects",
        argv: ["dev", "--select", "--debug"],
        code: 1,
        err: "error: nothing sent: invalid run request: select.0: is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows)",
      },
      {
        name: "shell characters in a selection",
        argv: ["dev", "--select", "model_a;rm"],
        code: 1,
        err: "error: nothing sent: invalid run request: select.0: is not a dbt selector (method:value with optional +, @ and , as dbt's node selection grammar allows)",
      },
      {
        name: "an unknown stack",
        argv: ["staging"],
        pulumi: () => devPulumi({ "stack output --json": NO_STACK("staging") }),
        code: 1,
        err: "error: unknown stack staging: no stack named 'staging' found; list the stacks with pulumi stack ls",
      },
      {
        name: "a stack that was never deployed (no outputs)",
        argv: ["dev"],
        pulumi: () => devPulumi({ "stack output --json": ok({}) }),
        code: 1,
        err: "error: stack dev has no output environment, runsQueueArn, artifactBucket, artifactPrefixes: deploy it first (pulumi up --stack dev)",
      },
      {
        name: "the pulumi CLI missing",
        argv: ["dev"],
        pulumi: () =>
          devPulumi({ "stack output --json": { code: 127, stdout: "", stderr: "pulumi: command not found" } }),
        code: 1,
        err: "error: the pulumi CLI is not installed or not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/)",
      },
      {
        name: "a source the stack does not have",
        argv: ["dev", "--source", "salesforce"],
        code: 1,
        err: 'error: stack dev has no source "salesforce"; its sources: hubspot, stripe, web_events',
      },
      {
        name: "--source with --select",
        argv: ["dev", "--source", "stripe", "--select", "tag:x"],
        code: 2,
        err: 'error: --source and --select exclude each other; usage: npm run trigger -- <stack> [--source <name> | --select "<selection>"] [--full-refresh] [--retry <run id>]',
      },
      {
        name: "an unknown option",
        argv: ["dev", "--target", "prod"],
        code: 2,
        err: 'error: unknown option --target; usage: npm run trigger -- <stack> [--source <name> | --select "<selection>"] [--full-refresh] [--retry <run id>]',
      },
      {
        name: "no stack",
        argv: [],
        code: 2,
        err: 'error: name the stack; usage: npm run trigger -- <stack> [--source <name> | --select "<selection>"] [--full-refresh] [--retry <run id>]',
      },
      {
        name: "a run id that is not one",
        argv: ["dev", "--retry", "../latest"],
        code: 1,
        err: 'error: --retry "../latest" is not a run id (/^[a-z0-9][a-z0-9-]{7,63}$/); npm run status -- dev lists them',
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const t = run(c.argv, c.pulumi?.());
        expect(await t.done).to.equal(c.code);
        expect(t.io.errLines).to.deep.equal([c.err]);
        expect(t.io.outLines).to.deep.equal([]);
        expect(awsCalls(), "AWS calls").to.equal(0);
      });
    }

    it("expired credentials: STS answers ExpiredToken, nothing reaches the queue", async () => {
      sts
        .on(GetCallerIdentityCommand)
        .rejects(awsError("ExpiredToken", "The security token included in the request is expired", 403));
      const t = run(["dev", "--source", "stripe"]);
      expect(await t.done).to.equal(1);
      expect(t.io.errLines).to.deep.equal([
        "error: checking your AWS identity (sts:GetCallerIdentity) failed: your AWS credentials are expired or missing (ExpiredToken); refresh them (aws sso login, or new keys in AWS_PROFILE) and run again",
      ]);
      expect(sqs.calls()).to.have.length(0);
    });

    it("credentials of another account: nothing reaches the queue", async () => {
      sts.on(GetCallerIdentityCommand).resolves({ Account: "999988887777", Arn: "arn:aws:iam::999988887777:user/bob" });
      const t = run(["dev"]);
      expect(await t.done).to.equal(1);
      expect(t.io.errLines).to.deep.equal([
        "error: your AWS credentials are for account 999988887777 (arn:aws:iam::999988887777:user/bob) but stack dev is in account 111122223333; switch AWS_PROFILE",
      ]);
      expect(sqs.calls()).to.have.length(0);
    });

    it("the queue refusing the message is one line and exit 1", async () => {
      sqs
        .on(SendMessageCommand)
        .rejects(
          awsError(
            "AccessDenied",
            "User: arn:aws:sts::111122223333:assumed-role/Operator/alice is not authorized to perform: sqs:sendmessage",
            403,
          ),
        );
      const t = run(["dev"]);
      expect(await t.done).to.equal(1);
      expect(t.io.errLines).to.deep.equal([
        "error: sending the run request (sqs:SendMessage) failed: access denied (User: arn:aws:sts::111122223333:assumed-role/Operator/alice is not authorized to perform: sqs:sendmessage); use credentials allowed to do it",
      ]);
    });
  });

  describe("--retry", () => {
    it("asks the contract for dbt retry of the named run, with no selection of its own", () => {
      const opts = parseTriggerArgs(["dev", "--retry", "20261122t110000-8b2d4f6a"]);
      expect(runInput(opts, "dev", DEV_CONFIG, manualTrigger("alice", NOW, "a1b2c3"))).to.deep.equal({
        target: "dev",
        triggers: [TRIGGER],
        command: "retry",
        retryOf: "20261122t110000-8b2d4f6a",
      });
    });

    it("passes a selection given with it on, so the contract rejects the combination", () => {
      const opts = parseTriggerArgs([
        "dev",
        "--retry",
        "20261122t110000-8b2d4f6a",
        "--select",
        "tag:x",
        "--full-refresh",
      ]);
      expect(runInput(opts, "dev", DEV_CONFIG, manualTrigger("alice", NOW, "a1b2c3"))).to.deep.include({
        command: "retry",
        select: ["tag:x"],
        fullRefresh: true,
      });
    });

    it("never reaches S3 or the queue when the run id is malformed", async () => {
      s3.on(HeadObjectCommand).resolves({});
      const t = run(["dev", "--retry", "LATEST"]);
      expect(await t.done).to.equal(1);
      expect(awsCalls()).to.equal(0);
    });
  });

  it("manual trigger ids: lower-case user, UTC stamp, random suffix", () => {
    expect(manualTrigger("Dr. Who@corp", NOW, "ffffff")).to.deep.equal({
      kind: "manual",
      id: "dr.-who-corp-20261202t021500z-ffffff",
      receivedAt: "2026-12-02T02:15:00.000Z",
    });
  });
});

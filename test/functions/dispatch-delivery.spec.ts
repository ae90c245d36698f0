import { expect } from "chai";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageBatchCommand, SendMessageBatchCommandInput } from "@aws-sdk/client-sqs";
import { dispatch } from "../../functions/dispatch/core";
import { SecretCache } from "../../functions/lib/secrets";
import {
  AIRBYTE_ARN,
  FIVETRAN_ARN,
  FIVETRAN_SECRET,
  SYNC_ID,
  airbyteRequest,
  fivetranRequest,
  response,
  useDispatchHarness,
} from "./dispatch-harness";
import { fivetranSignature, fixtureText, sha256 } from "./support";

const FINANCE_SYNC = fixtureText("webhooks/fivetran-sync-end-successful.json").replace(
  '"assimilate_seem"',
  '"ledger_fast"',
);
const QUEUED_FINANCE = {
  status: "queued",
  message: `queued a dbt run of source finance for Fivetran sync ${SYNC_ID}`,
  delivery: `fivetran:${SYNC_ID}`,
  source: "finance",
  duplicate: false,
};
const PARTIAL =
  "the fast-lane run was queued but the run was not; retry the delivery (within 5 minutes SQS drops the copy of what is already queued)";

/** A SendMessageBatch stand-in: entries whose Id is in `failing()` (asked once per call) are reported under `Failed`. */
function batchAnswer(failing: () => readonly string[], senderFault = false) {
  return (input: SendMessageBatchCommandInput) => {
    const failed = failing();
    return {
      Successful: input
        .Entries!.filter((e) => !failed.includes(e.Id!))
        .map((e) => ({ Id: e.Id, MessageId: `msg-${e.Id}`, MD5OfMessageBody: "x" })),
      Failed: input
        .Entries!.filter((e) => failed.includes(e.Id!))
        .map((e) => ({ Id: e.Id, Code: "InternalError", SenderFault: senderFault, Message: "try again" })),
    };
  };
}

describe("dispatch: deliveries that partly fail, and rotated secrets", () => {
  const h = useDispatchHarness();
  const batchEntries = () =>
    h
      .batches()
      .map((b) =>
        b.Entries!.map(
          (e) =>
            `${e.Id}:${e.MessageDeduplicationId === sha256(e.Id === "fast" ? `fivetran:${SYNC_ID}:fast` : `fivetran:${SYNC_ID}`)}`,
        ),
      );

  describe("the fast-lane run and the normal run are queued together", () => {
    it("sends again only the entry SQS reported as failed, and answers 202 when it then succeeds", async () => {
      // Prepare
      let calls = 0;
      h.sqs.on(SendMessageBatchCommand).callsFake(batchAnswer(() => (++calls === 1 ? ["normal"] : [])));
      // Act
      const result = await dispatch(fivetranRequest(FINANCE_SYNC), h.deps());
      // Assess
      expect(result).to.deep.equal(response(202, QUEUED_FINANCE));
      expect(batchEntries()).to.deep.equal([["fast:true", "normal:true"], ["normal:true"]]);
      expect(h.metrics.list()).to.deep.equal(["RunsQueued=1", "RunsQueued=1"]);
    });

    it("answers 503 naming what was queued when one entry keeps failing, and the retry sends both with the same dedupe ids", async () => {
      // Prepare
      let failing = ["normal"];
      h.sqs.on(SendMessageBatchCommand).callsFake(batchAnswer(() => failing));
      // Act
      const first = await dispatch(fivetranRequest(FINANCE_SYNC), h.deps());
      failing = [];
      const retry = await dispatch(fivetranRequest(FINANCE_SYNC), h.deps());
      // Assess
      expect(first).to.deep.equal(response(503, { error: PARTIAL }));
      expect(retry).to.deep.equal(response(202, QUEUED_FINANCE));
      expect(batchEntries()).to.deep.equal([
        ["fast:true", "normal:true"],
        ["normal:true"],
        ["normal:true"],
        ["fast:true", "normal:true"],
      ]);
      expect(h.metrics.list()).to.deep.equal(["RunsQueued=1", "RunsQueued=1", "RunsQueued=1"]);
      expect(h.logger.messages("error")).to.deep.equal(["webhook failed"]);
    });

    it("still names what was queued when the failed delivery's in-progress record cannot be deleted either", async () => {
      // Prepare
      h.sqs.on(SendMessageBatchCommand).callsFake(batchAnswer(() => ["normal"]));
      const deps = h.deps();
      deps.persistenceStore.deleteRecord = () => Promise.reject(new Error("ProvisionedThroughputExceededException"));
      // Act
      const result = await dispatch(fivetranRequest(FINANCE_SYNC), deps);
      // Assess
      expect(result).to.deep.equal(response(503, { error: PARTIAL }));
      expect(h.logger.messages("error")).to.deep.equal([
        "could not delete the in-progress record of a failed delivery",
        "webhook failed",
      ]);
    });

    it("does not send again an entry SQS blames on the request (SenderFault)", async () => {
      // Prepare
      h.sqs.on(SendMessageBatchCommand).callsFake(batchAnswer(() => ["normal"], true));
      // Act
      const result = await dispatch(fivetranRequest(FINANCE_SYNC), h.deps());
      // Assess
      expect(result).to.deep.equal(response(503, { error: PARTIAL }));
      expect(batchEntries()).to.deep.equal([["fast:true", "normal:true"]]);
    });

    it("answers that nothing was queued when the batch call itself fails", async () => {
      // Prepare
      h.sqs.on(SendMessageBatchCommand).rejects(new Error("throttled"));
      // Act
      const result = await dispatch(fivetranRequest(FINANCE_SYNC), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(503, {
          error: "nothing was queued: an AWS service dispatch depends on failed; retry the delivery later",
        }),
      );
      expect(h.metrics.list()).to.deep.equal([]);
    });

    it("answers 202 when the run is queued but its idempotency record cannot be saved", async () => {
      // Prepare
      const deps = h.deps();
      deps.persistenceStore.saveSuccess = () => Promise.reject(new Error("ProvisionedThroughputExceededException"));
      // Act
      const result = await dispatch(fivetranRequest(fixtureText("webhooks/fivetran-sync-end-successful.json")), deps);
      // Assess
      expect(result).to.deep.equal(
        response(202, {
          status: "queued",
          message: `queued a dbt run of source stripe for Fivetran sync ${SYNC_ID}`,
          delivery: `fivetran:${SYNC_ID}`,
          source: "stripe",
          duplicate: false,
        }),
      );
      expect(h.sent()).to.have.length(1);
      expect(h.logger.messages("error")).to.deep.equal([
        "delivery done but not recorded; a redelivery after the in-progress record expires repeats it",
      ]);
    });
  });

  describe("secret rotation", () => {
    const NEW_SECRET = "fivetran-signing-secret-rotated-0001";
    const NEW_TOKEN = "9a8b7c6d5e4f30211203f4e5d6c7b8a9";
    const good = fixtureText("webhooks/fivetran-sync-end-successful.json");
    const signedWith = (secret: string) =>
      fivetranRequest(good, { "x-fivetran-signature-256": fivetranSignature(secret, good) });
    const rotate = (arn: string, value: string) => {
      h.secretsManager.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: value });
    };
    const status = (r: unknown) => (r as { statusCode: number }).statusCode;

    it("accepts the first Fivetran delivery signed with a rotated secret, reading the secret once more", async () => {
      // Prepare: one warm container, its cache holding the old secret
      const deps = h.deps();
      const before = await dispatch(signedWith(FIVETRAN_SECRET), deps);
      rotate(FIVETRAN_ARN, NEW_SECRET);
      // Act
      const after = await dispatch(signedWith(NEW_SECRET), deps);
      // Assess
      expect([status(before), status(after)]).to.deep.equal([202, 202]);
      expect(h.secretsManager.commandCalls(GetSecretValueCommand)).to.have.length(2);
      expect(h.logger.messages("info")).to.include(
        "secret changed since it was cached; the new value authenticates the request",
      );
      expect(h.logger.text()).not.to.include(NEW_SECRET);
    });

    it("accepts the first Airbyte delivery to a URL with a rotated token", async () => {
      // Prepare
      const deps = h.deps();
      const body = fixtureText("webhooks/airbyte-sync-successful.json");
      const before = await dispatch(airbyteRequest(body), deps);
      rotate(AIRBYTE_ARN, NEW_TOKEN);
      // Act
      const after = await dispatch(airbyteRequest(body.replace("9988", "9989"), NEW_TOKEN), deps);
      // Assess
      expect([status(before), status(after)]).to.deep.equal([202, 202]);
      expect(h.secretsManager.commandCalls(GetSecretValueCommand, { SecretId: AIRBYTE_ARN })).to.have.length(2);
    });

    it("reads the secret past the cache at most once per interval, however many requests fail", async () => {
      // Prepare
      let clock = 0;
      const deps = {
        ...h.deps(),
        secrets: new SecretCache(new SecretsManagerClient({ region: "eu-west-1" }), { now: () => clock }),
      };
      // Act
      const answers = [];
      for (const at of [0, 1_000, 9_000, 10_000]) {
        clock = at;
        answers.push(status(await dispatch(signedWith("guessed"), deps)));
      }
      // Assess: a read at first use, a forced read at 0 s and at 10 s
      expect(answers).to.deep.equal([401, 401, 401, 401]);
      expect(h.secretsManager.commandCalls(GetSecretValueCommand)).to.have.length(3);
    });

    it("still answers 401 with the unchanged secret after reading it again", async () => {
      // Act
      const result = await dispatch(signedWith("guessed"), h.deps());
      // Assess
      expect(result).to.deep.equal(
        response(401, {
          error:
            "signature does not match; check that the secret of the Fivetran webhook equals dbt-pipeline:fivetran.webhookSecret",
        }),
      );
      expect(h.secretsManager.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).to.deep.equal([
        FIVETRAN_ARN,
        FIVETRAN_ARN,
      ]);
    });

    it("reads a secret again once its cache age has passed, without any refusal", async () => {
      // Prepare
      const cache = new SecretCache(new SecretsManagerClient({ region: "eu-west-1" }), { maxAgeSeconds: 300 });
      const realNow = Date.now;
      const start = realNow();
      // Act
      const first = await cache.get(FIVETRAN_ARN);
      rotate(FIVETRAN_ARN, NEW_SECRET);
      Date.now = () => start + 299_000;
      const cached = await cache.get(FIVETRAN_ARN);
      Date.now = () => start + 301_000;
      const reread = await cache.get(FIVETRAN_ARN).finally(() => (Date.now = realNow));
      // Assess
      expect([first, cached, reread]).to.deep.equal([FIVETRAN_SECRET, FIVETRAN_SECRET, NEW_SECRET]);
      expect(h.secretsManager.commandCalls(GetSecretValueCommand)).to.have.length(2);
    });
  });
});

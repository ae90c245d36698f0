import { expect } from "chai";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretCache } from "../../functions/lib/secrets";
import { SlackError, SlackMessage, fetchPoster } from "../../functions/lib/slack";
import { secretSlackSender } from "../../functions/notify/core";
import { rejection } from "./support";

const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:dbt-pipeline-prod-slack-webhook-AbCdEf";
const OLD_URL = "https://hooks.slack.com/services/T000/B000/OLDOLDOLD";
const NEW_URL = "https://hooks.slack.com/services/T000/B111/NEWNEWNEW";
const MESSAGE: SlackMessage = { text: "dbt-pipeline prod: dbt build failed (exit 1)", blocks: [] };

/** The Slack webhook URL secret of notify, rotated in Secrets Manager while a container is warm. */
describe("notify: Slack webhook URL rotation", () => {
  let secrets: AwsClientStub<SecretsManagerClient>;
  let posted: string[];

  // Installed here and reset before each test, as the other specs do: reset() re-installs the stub.
  before(() => {
    secrets = mockClient(SecretsManagerClient);
  });
  beforeEach(() => {
    secrets.reset();
    secrets
      .on(GetSecretValueCommand, { SecretId: ARN })
      .resolvesOnce({ SecretString: `${OLD_URL}\n` })
      .resolves({ SecretString: NEW_URL });
    posted = [];
  });

  /** A poster for which Slack answers `status` to OLD_URL and 200 to any other URL. */
  const slack = (status: number) => (url: string) => {
    if (url === OLD_URL) return Promise.reject(new SlackError(`Slack webhook answered HTTP ${status}: x`, { status }));
    posted.push(url);
    return Promise.resolve();
  };
  const sender = (status: number) =>
    secretSlackSender(new SecretCache(new SecretsManagerClient({ region: "eu-west-1" })), ARN, slack(status));

  for (const [status, code] of [
    [403, "invalid_token"],
    [404, "no_service"],
    [410, "channel_is_archived"],
  ] as const) {
    it(`posts to the rotated URL when Slack answers ${status} (${code}) to the cached one`, async () => {
      // Act
      const sent = await sender(status)(MESSAGE);
      // Assess
      expect(sent).to.equal(true);
      expect(posted).to.deep.equal([NEW_URL]);
      expect(secrets.commandCalls(GetSecretValueCommand)).to.have.length(2);
    });
  }

  it("does not read the secret again when Slack fails for another reason", async () => {
    // Act
    const error = await rejection(sender(503)(MESSAGE));
    // Assess
    expect(error.message).to.equal("Slack webhook answered HTTP 503: x");
    expect(posted).to.deep.equal([]);
    expect(secrets.commandCalls(GetSecretValueCommand)).to.have.length(1);
  });

  it("fails with Slack's answer when the secret has not changed", async () => {
    // Prepare
    secrets.reset();
    secrets.on(GetSecretValueCommand, { SecretId: ARN }).resolves({ SecretString: OLD_URL });
    // Act
    const error = await rejection(sender(404)(MESSAGE));
    // Assess
    expect(error).to.be.instanceOf(SlackError);
    expect((error as SlackError).status).to.equal(404);
    expect(secrets.commandCalls(GetSecretValueCommand)).to.have.length(2);
  });

  it("fetchPoster reports Slack's status and plain-text error", async () => {
    // Prepare
    const realFetch = globalThis.fetch;
    globalThis.fetch = () => Promise.resolve(new Response("no_service", { status: 404 }));
    // Act
    const error = await rejection(fetchPoster()(OLD_URL, MESSAGE)).finally(() => (globalThis.fetch = realFetch));
    // Assess
    expect(error).to.be.instanceOf(SlackError);
    expect({ message: error.message, status: (error as SlackError).status }).to.deep.equal({
      message: "Slack webhook answered HTTP 404: no_service",
      status: 404,
    });
  });
});

/**
 * The shell shared by the operator commands: argument parsing and how AWS errors read.
 */
import { expect } from "chai";
import { awsErrorLine, isCredentialError, parseArn } from "../../ops/aws";
import { parseArgs } from "../../ops/cli";
import { OpsError, UsageError, configValue, dbtTarget, execPulumi, readOutputs } from "../../ops/stack";
import { DEV_CONFIG, FakePulumi, awsError, ok } from "./support";

const SPEC = { values: ["source"], switches: ["full-refresh"] };

describe("ops command line and errors", () => {
  it("parses a stack, flags with values and switches in any order", () => {
    const a = parseArgs(["--full-refresh", "acme/dev", "--source", "stripe"], SPEC, "usage");
    expect(a.stack).to.equal("acme/dev");
    expect(a.values).to.deep.equal({ source: "stripe" });
    expect([...a.switches]).to.deep.equal(["full-refresh"]);
  });

  const bad: [string[], string][] = [
    [["dev", "prod"], "expected one stack, got dev prod; usage: u"],
    [["dev", "--source"], "--source needs a value; usage: u"],
    [["dev", "--source", "a", "--source", "b"], "--source given twice; usage: u"],
    [["dev", "--sauce", "a"], "unknown option --sauce; usage: u"],
    [["dev;rm"], '"dev;rm" is not a stack name; usage: u'],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(" ")}`, () => {
      expect(() => parseArgs(argv, SPEC, "u")).to.throw(UsageError, message);
    });
  }

  it("recognises the ways AWS says the credentials do not work", () => {
    for (const name of [
      "ExpiredToken",
      "ExpiredTokenException",
      "InvalidClientTokenId",
      "UnrecognizedClientException",
      "CredentialsProviderError",
    ]) {
      expect(isCredentialError(awsError(name, "x")), name).to.equal(true);
    }
    expect(
      isCredentialError(Object.assign(new Error("Could not load credentials from any providers"), { name: "Error" })),
    ).to.equal(true);
    expect(isCredentialError(awsError("AccessDeniedException", "User is not authorized"))).to.equal(false);
    expect(isCredentialError(awsError("ThrottlingException", "Rate exceeded"))).to.equal(false);
  });

  it("reads one line per AWS error", () => {
    expect(awsErrorLine(awsError("ThrottlingException", "Rate exceeded\nmore"), "x")).to.equal(
      "x failed: ThrottlingException: Rate exceeded",
    );
    expect(awsErrorLine(awsError("AccessDenied", "not authorized"), "x")).to.equal(
      "x failed: access denied (not authorized); use credentials allowed to do it",
    );
  });

  it("reports a missing pulumi binary as exit code 127", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      expect(await execPulumi(["version"])).to.deep.equal({
        code: 127,
        stdout: "",
        stderr: "pulumi: command not found",
      });
    } finally {
      process.env.PATH = path;
    }
  });

  it("reads config values as the program would: the stack's, else config-keys.ts's default", () => {
    const config = {
      ...DEV_CONFIG,
      "dbt-pipeline:dbt.threads": { value: "8", secret: false },
      "dbt-pipeline:protect": { value: "true", secret: false },
    };
    expect(configValue(config, "dbt.imageTag")).to.equal("git-4f2c9e1");
    expect(configValue(config, "dbt.threads")).to.equal(8);
    expect(configValue(config, "protect")).to.equal(true);
    expect(configValue(config, "snowflake.adminUser")).to.equal("PULUMI_DEPLOYER");
    expect(configValue(config, "snowflake.adminPrivateKey")).to.equal(undefined);
    expect(Object.keys(configValue<object>(config, "sources")!)).to.deep.equal(["hubspot", "stripe", "web_events"]);
    expect(dbtTarget(config, "dev")).to.equal("dev");
  });

  it("refuses outputs of another shape with one line", async () => {
    const pulumi = new FakePulumi({ "stack output --json": ok({ runsQueueArn: 42 }) });
    await readOutputs(pulumi.run, "dev").then(
      () => expect.fail("accepted"),
      (error: Error) => {
        expect(error.message).to.equal(
          "stack dev has outputs of an unexpected shape (runsQueueArn); redeploy it with this version of the program (pulumi up --stack dev)",
        );
      },
    );
  });

  it("splits ARNs and refuses what is not one", () => {
    expect(parseArn("arn:aws-cn:sqs:cn-north-1:111122223333:q.fifo")).to.deep.equal({
      partition: "aws-cn",
      service: "sqs",
      region: "cn-north-1",
      account: "111122223333",
      resource: "q.fifo",
    });
    expect(() => parseArn("[secret]")).to.throw(OpsError, '"[secret]" is not an ARN');
  });
});

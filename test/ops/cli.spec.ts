/**
 * The shell shared by the operator commands: argument parsing and how AWS errors read.
 */
import { expect } from "chai";
import { awsErrorLine, isCredentialError, parseArn } from "../../ops/aws";
import { parseArgs } from "../../ops/cli";
import { OpsError, UsageError } from "../../ops/stack";
import { awsError } from "./support";

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
    [["dev;rm"], "\"dev;rm\" is not a stack name; usage: u"],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${argv.join(" ")}`, () => {
      expect(() => parseArgs(argv, SPEC, "u")).to.throw(UsageError, message);
    });
  }

  it("recognises the ways AWS says the credentials do not work", () => {
    for (const name of ["ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException", "CredentialsProviderError"]) {
      expect(isCredentialError(awsError(name, "x")), name).to.equal(true);
    }
    expect(isCredentialError(Object.assign(new Error("Could not load credentials from any providers"), { name: "Error" }))).to.equal(true);
    expect(isCredentialError(awsError("AccessDeniedException", "User is not authorized"))).to.equal(false);
    expect(isCredentialError(awsError("ThrottlingException", "Rate exceeded"))).to.equal(false);
  });

  it("reads one line per AWS error", () => {
    expect(awsErrorLine(awsError("ThrottlingException", "Rate exceeded\nmore"), "x")).to.equal("x failed: ThrottlingException: Rate exceeded");
    expect(awsErrorLine(awsError("AccessDenied", "not authorized"), "x")).to.equal("x failed: access denied (not authorized); use credentials allowed to do it");
  });

  it("splits ARNs and refuses what is not one", () => {
    expect(parseArn("arn:aws-cn:sqs:cn-north-1:111122223333:q.fifo")).to.deep.equal({ partition: "aws-cn", service: "sqs", region: "cn-north-1", account: "111122223333", resource: "q.fifo" });
    expect(() => parseArn("[secret]")).to.throw(OpsError, "\"[secret]\" is not an ARN");
  });
});

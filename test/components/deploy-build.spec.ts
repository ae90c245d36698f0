import { expect } from "chai";
import { all, evaluateStack, one } from "../helpers/stack";
import { at, statementsOf } from "./recorded";

const INVOCATION = "aws:lambda/invocation:Invocation";
const COMPONENT = "dbt-pipeline:triggers:DeployBuild";
const POLICY = "aws:iam/policy:Policy";
/** The InvokeFunction statements of the GitHub deploy role's services policy. */
const invokeStatements = (ev: Awaited<ReturnType<typeof evaluateStack>>) =>
  statementsOf(one(ev, POLICY, /github-deploy-services-policy$/).inputs.policy).filter((s) =>
    JSON.stringify(s.Action).includes("lambda:InvokeFunction"),
  );

describe("DeployBuild: a new image tag builds what it changed", () => {
  for (const stack of ["dev", "prod"] as const) {
    it(`${stack}: invokes dispatch with the deploy event, once per image tag, after the runner and triggers`, async () => {
      // Act
      const ev = await evaluateStack(stack, { "dbt.imageTag": "v1.4.2" });
      // Assess
      const invocation = one(ev, INVOCATION);
      expect(invocation.name).to.equal("deploy-build-invocation");
      expect(invocation.parent).to.equal(`${COMPONENT}::deploy-build`);
      expect(invocation.inputs).to.deep.equal({
        functionName: `dbt-pipeline-${stack}-dispatch`,
        input: '{"kind":"deploy","imageTag":"v1.4.2"}',
        lifecycleScope: "CREATE_ONLY",
        triggers: { imageTag: "v1.4.2" },
      });
      expect(invocation.options.dependsOn).to.deep.equal([
        "dbt-pipeline:runner:DbtRunner::runner",
        "dbt-pipeline:triggers:Triggers::triggers",
      ]);
      // The GitHub deploy role runs the invocation: it may invoke this one function.
      expect(invokeStatements(ev)).to.deep.equal([
        {
          Sid: "InvokeDispatchOnDeploy",
          Effect: "Allow",
          Action: "lambda:InvokeFunction",
          Resource: `arn:aws:lambda:eu-west-1:123456789012:function:dbt-pipeline-${stack}-dispatch`,
        },
      ]);
    });
  }

  it("a digest is passed as it is", async () => {
    // Act
    const ev = await evaluateStack("dev", { "dbt.imageTag": `sha256:${"b".repeat(64)}` });
    // Assess
    expect(one(ev, INVOCATION).inputs.input).to.equal(`{"kind":"deploy","imageTag":"sha256:${"b".repeat(64)}"}`);
    expect(one(ev, INVOCATION).inputs.triggers).to.deep.equal({ imageTag: `sha256:${"b".repeat(64)}` });
  });

  it("dbt.buildOnImageChange false: no invocation and no component", async () => {
    // Act
    const ev = await evaluateStack("dev", { "dbt.buildOnImageChange": false });
    // Assess
    expect(all(ev, INVOCATION)).to.deep.equal([]);
    expect(ev.resources.filter((r) => r.type === COMPONENT)).to.deep.equal([]);
    expect(invokeStatements(ev)).to.deep.equal([]);
  });
});

describe("Triggers: the configured full refresh", () => {
  it("its selection and exclusion reach dispatch's environment", async () => {
    // Act
    const ev = await evaluateStack("dev", {
      "triggers.fullRefreshSelect": "tag:nightly path:models/marts",
      "triggers.fullRefreshExclude": "tag:pruned_raw",
    });
    // Assess
    const variables = at(
      one(ev, "aws:lambda/function:Function", "triggers-dispatch-function").inputs,
      "environment",
      "variables",
    );
    expect(variables).to.deep.include({
      FULL_REFRESH_SELECT: "tag:nightly path:models/marts",
      FULL_REFRESH_EXCLUDE: "tag:pruned_raw",
    });
  });
});

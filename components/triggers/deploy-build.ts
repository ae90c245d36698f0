/**
 * The build after a deploy: when `dbt.imageTag` changes, the deployment itself invokes dispatch
 * once with `{"kind":"deploy","imageTag":...}`, which queues `dbt build --select state:modified+`
 * against the last successful run's manifest (functions/dispatch/deploy.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link DeployBuild}. */
export interface DeployBuildArgs {
  /** Name of the dispatch function to invoke. Required. */
  readonly functionName: pulumi.Input<string>;
  /** The deployed image tag (`dbt.imageTag`); a new value invokes dispatch again. Required. */
  readonly imageTag: string;
  /**
   * What must be deployed before the build is queued: the task definition of the new image (launch
   * runs the family's latest revision) and dispatch's code. Default none.
   */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/** The event dispatch receives from the deploy (JSON). */
export function deployInput(imageTag: string): string {
  return JSON.stringify({ kind: "deploy", imageTag });
}

/** Invokes dispatch once per deployed image tag, so the new image builds what it changed. */
export class DeployBuild extends pulumi.ComponentResource {
  /** The invocation's record in the stack state. */
  public readonly invocation: aws.lambda.Invocation;

  constructor(name: string, args: DeployBuildArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:triggers:DeployBuild", name, {}, opts);
    // terraform-provider-aws `internal/service/lambda/invocation.go`: a synchronous (RequestResponse)
    // Invoke, whose FunctionError fails the deployment (the next `pulumi up` invokes again). With
    // lifecycle_scope CREATE_ONLY it invokes on create and replace only, never on delete; `triggers`
    // is ForceNew and a changed `input` forces a replacement too, so only a new tag invokes again.
    this.invocation = new aws.lambda.Invocation(
      `${name}-invocation`,
      {
        functionName: args.functionName,
        input: deployInput(args.imageTag),
        lifecycleScope: "CREATE_ONLY",
        triggers: { imageTag: args.imageTag },
      },
      { parent: this, dependsOn: args.dependsOn ? [...args.dependsOn] : undefined },
    );
    this.registerOutputs({});
  }
}

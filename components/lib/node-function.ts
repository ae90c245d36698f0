/**
 * A Lambda function with the defaults every handler in this package needs: esbuild bundle,
 * Node.js 24 on arm64, JSON logs into its own log group with retention, a role that may write
 * only that log group plus the exact statements the caller lists, a bounded timeout, X-Ray
 * active tracing. Reserved concurrency is opt-in: an account must keep 100 executions
 * unreserved, so reservations made by default fail `pulumi up` on accounts with a low quota
 * (Lambda Developer Guide, "Configuring reserved concurrency").
 *
 * The stack-wide switches (`lambda.tracing`, `lambda.reservedConcurrency`) are applied to every
 * NodeFunction by {@link applyLambdaSettings}, registered once in index.ts, so no component
 * passes them along.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { bundleFunction } from "./bundle";
import { Statement, policyDocument, servicePrincipalTrust } from "./iam";
import { awsName, defaultTags } from "./naming";

/** Runtime of every function (supported until 2028). */
export const NODE_RUNTIME = "nodejs24.x";

/** Arguments of {@link NodeFunction}. */
export interface NodeFunctionArgs {
  /** Environment name (dev, prod): part of the physical name. */
  readonly environment: string;
  /** Folder under `functions/` holding `index.ts` with an exported `handler`; also the name suffix. */
  readonly functionName: string;
  /** One-line description shown in the Lambda console. */
  readonly description: string;
  /** Log retention in days. */
  readonly logRetentionDays: number;
  /** IAM statements beyond writing its own logs. Default none. */
  readonly statements?: readonly Statement[];
  /** Environment variables (ARNs and names, never secrets). Default none. */
  readonly variables?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Memory in MB. Default 256. */
  readonly memorySize?: number;
  /** Timeout in seconds. Default 30. */
  readonly timeout?: number;
  /** Reserved concurrency. Default none (opt in per function with `lambda.reservedConcurrency`). */
  readonly reservedConcurrency?: number;
  /** X-Ray active tracing, and the permission to send segments. Default true (`lambda.tracing` switches every function). */
  readonly tracing?: boolean;
  /** Extra files placed beside `index.mjs` (e.g. `sources.json`, read at init). Default none. */
  readonly files?: Readonly<Record<string, string>>;
  /** Dead-letter target (SQS ARN) for asynchronous invocations. Default none. */
  readonly deadLetterTargetArn?: pulumi.Input<string>;
}

/** A bundled Node.js Lambda function with its log group and least-privilege role. */
export class NodeFunction extends pulumi.ComponentResource {
  /** The function. */
  public readonly function: aws.lambda.Function;
  /** Its execution role. */
  public readonly role: aws.iam.Role;
  /** Its log group, `/aws/lambda/<name>`. */
  public readonly logGroup: aws.cloudwatch.LogGroup;
  /** Physical function name. */
  public readonly functionName: string;
  /** Folder name under `functions/` (e.g. `launch`); the key of `lambda.reservedConcurrency`. */
  public readonly shortName: string;

  constructor(name: string, args: NodeFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:lib:NodeFunction", name, {}, opts);
    const functionName = awsName(args.environment, args.functionName);
    const tags = defaultTags(args.environment);
    this.functionName = functionName;
    this.shortName = args.functionName;
    const tracing = args.tracing ?? true;

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/lambda/${functionName}`,
        retentionInDays: args.logRetentionDays,
        tags,
      },
      { parent: this },
    );

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: functionName,
        assumeRolePolicy: servicePrincipalTrust("lambda.amazonaws.com"),
        tags,
      },
      { parent: this },
    );

    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      {
        role: this.role.name,
        policy: policyDocument([
          {
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: pulumi.interpolate`${this.logGroup.arn}:*`,
          },
          ...(tracing ? [XRAY_STATEMENT] : []),
          ...(args.statements ?? []),
        ]),
      },
      { parent: this },
    );

    const bundle = bundleFunction(args.functionName);
    this.function = new aws.lambda.Function(
      `${name}-function`,
      {
        name: functionName,
        description: args.description,
        runtime: NODE_RUNTIME,
        architectures: ["arm64"],
        handler: "index.handler",
        code: new pulumi.asset.AssetArchive({
          "index.mjs": new pulumi.asset.StringAsset(bundle.code),
          ...Object.fromEntries(
            Object.entries(args.files ?? {}).map(([file, text]) => [file, new pulumi.asset.StringAsset(text)]),
          ),
        }),
        role: this.role.arn,
        memorySize: args.memorySize ?? 256,
        timeout: args.timeout ?? 30,
        reservedConcurrentExecutions: args.reservedConcurrency,
        tracingConfig: { mode: tracing ? "Active" : "PassThrough" },
        loggingConfig: {
          logFormat: "JSON",
          logGroup: this.logGroup.name,
          applicationLogLevel: "INFO",
          systemLogLevel: "WARN",
        },
        environment: {
          variables: pulumi.output(args.variables ?? {}).apply((v) => ({
            POWERTOOLS_SERVICE_NAME: args.functionName,
            POWERTOOLS_METRICS_NAMESPACE: "DbtPipeline",
            ENVIRONMENT: args.environment,
            ...v,
          })),
        },
        deadLetterConfig: args.deadLetterTargetArn ? { targetArn: args.deadLetterTargetArn } : undefined,
        tags,
      },
      { parent: this, dependsOn: [policy, this.logGroup] },
    );

    this.registerOutputs({ function: this.function, role: this.role, logGroup: this.logGroup });
  }
}

/**
 * Sending trace segments: the actions have no resource type, so `*` (the policy pack's allowlist
 * names them). The same two actions AWS's managed AWSXRayDaemonWriteAccess grants for segments.
 */
export const XRAY_STATEMENT: Statement = {
  Sid: "SendTraces",
  Effect: "Allow",
  Action: ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
  Resource: "*",
};

/** Stack-wide Lambda switches (`lambda.*` config). */
export interface LambdaSettings {
  /** Opt-in reserved concurrency by function folder name. */
  readonly reservedConcurrency: Readonly<Record<string, number>>;
  /** X-Ray active tracing on every function. */
  readonly tracing: boolean;
}

/**
 * Applies {@link LambdaSettings} to every NodeFunction registered from now on: its function gets
 * `tracingConfig` and the configured reservation, and with tracing off its role loses the X-Ray
 * statement. In-process stack transformation (as components/lib/boundary.ts), run before each
 * child of a NodeFunction is registered.
 */
export function applyLambdaSettings(settings: LambdaSettings): void {
  pulumi.runtime.registerStackTransformation((args) => {
    const owner = args.opts.parent;
    if (!(owner instanceof NodeFunction)) return undefined;
    if (args.type === "aws:lambda/function:Function") {
      const reserved = settings.reservedConcurrency[owner.shortName] ?? args.props.reservedConcurrentExecutions;
      return {
        props: {
          ...args.props,
          reservedConcurrentExecutions: reserved,
          tracingConfig: { mode: settings.tracing ? "Active" : "PassThrough" },
        },
        opts: args.opts,
      };
    }
    if (args.type === "aws:iam/rolePolicy:RolePolicy" && !settings.tracing) {
      const policy = pulumi.output(args.props.policy as pulumi.Input<string>).apply((text) => {
        const doc = JSON.parse(text) as { Statement: { Sid?: string }[] };
        return JSON.stringify({ ...doc, Statement: doc.Statement.filter((st) => st.Sid !== XRAY_STATEMENT.Sid) });
      });
      return { props: { ...args.props, policy }, opts: args.opts };
    }
    return undefined;
  });
}

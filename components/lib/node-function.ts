/**
 * A Lambda function with the defaults every handler in this package needs: esbuild bundle,
 * Node.js 24 on arm64, JSON logs into its own log group with retention, a role that may write
 * only that log group plus the exact statements the caller lists, bounded timeout and concurrency.
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
  /** Reserved concurrency. Default 10: a runaway trigger cannot starve the account. */
  readonly reservedConcurrency?: number;
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

  constructor(name: string, args: NodeFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:lib:NodeFunction", name, {}, opts);
    const functionName = awsName(args.environment, args.functionName);
    const tags = defaultTags(args.environment);
    this.functionName = functionName;

    this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
      name: `/aws/lambda/${functionName}`,
      retentionInDays: args.logRetentionDays,
      tags,
    }, { parent: this });

    this.role = new aws.iam.Role(`${name}-role`, {
      name: functionName,
      assumeRolePolicy: servicePrincipalTrust("lambda.amazonaws.com"),
      tags,
    }, { parent: this });

    const policy = new aws.iam.RolePolicy(`${name}-policy`, {
      role: this.role.name,
      policy: policyDocument([
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: pulumi.interpolate`${this.logGroup.arn}:*`,
        },
        ...(args.statements ?? []),
      ]),
    }, { parent: this });

    const bundle = bundleFunction(args.functionName);
    this.function = new aws.lambda.Function(`${name}-function`, {
      name: functionName,
      description: args.description,
      runtime: NODE_RUNTIME,
      architectures: ["arm64"],
      handler: "index.handler",
      code: new pulumi.asset.AssetArchive({
        "index.mjs": new pulumi.asset.StringAsset(bundle.code),
        ...Object.fromEntries(Object.entries(args.files ?? {}).map(([file, text]) => [file, new pulumi.asset.StringAsset(text)])),
      }),
      role: this.role.arn,
      memorySize: args.memorySize ?? 256,
      timeout: args.timeout ?? 30,
      reservedConcurrentExecutions: args.reservedConcurrency ?? 10,
      loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
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
    }, { parent: this, dependsOn: [policy, this.logGroup] });

    this.registerOutputs({ function: this.function, role: this.role, logGroup: this.logGroup });
  }
}

/**
 * The alert topic of an environment: everything that needs a person goes here (alarms, notify's
 * run pages, dispatch's failed syncs, Snowflake task errors), and e-mail subscribers get it.
 *
 * Encryption uses a customer managed KMS key, not the AWS managed `alias/aws/sns`: CloudWatch
 * alarms cannot publish to a topic encrypted with the AWS managed key (its key policy does not
 * let cloudwatch.amazonaws.com use it, and AWS managed key policies cannot be edited). The key
 * policy below mirrors the AWS managed one (any principal of this account, through SNS only) and
 * adds CloudWatch alarms, so publishers need sns:Publish and no KMS permission.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { emailSlug } from "../../config-checks";
import { awsName, defaultTags } from "../lib/naming";
import { alertKeyPolicy } from "./policies";

/** Arguments of {@link Alerts}. */
export interface AlertsArgs {
  /** Environment name, in resource names and tags. */
  readonly environment: string;
  /** Addresses subscribed by e-mail (`notify.emails`), distinct by {@link emailSlug} (config.ts checks it); none by default. */
  readonly emails?: readonly string[];
}

/** The alert topic with its key and e-mail subscriptions. */
export class Alerts extends pulumi.ComponentResource {
  /** ARN of the alert topic. */
  public readonly topicArn: pulumi.Output<string>;
  /** Physical name of the alert topic, `dbt-pipeline-<env>-alerts`. */
  public readonly topicName: string;
  /** ARN of the KMS key encrypting the topic. */
  public readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:observability:Alerts", name, {}, opts);
    const env = args.environment;
    const tags = defaultTags(env);
    const parent = { parent: this };
    const account = aws.getCallerIdentityOutput({}, parent).accountId;
    const region = aws.getRegionOutput({}, parent).region;

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `dbt-pipeline ${env}: encrypts the alert topic (CloudWatch alarms may use it).`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        policy: pulumi.all([account, region]).apply(([a, r]) => JSON.stringify(alertKeyPolicy(a, r))),
        tags,
      },
      parent,
    );
    new aws.kms.Alias(`${name}-key-alias`, { name: `alias/${awsName(env, "alerts")}`, targetKeyId: key.keyId }, parent);

    this.topicName = awsName(env, "alerts");
    const topic = new aws.sns.Topic(
      `${name}-topic`,
      {
        name: this.topicName,
        displayName: `dbt-pipeline ${env}`,
        kmsMasterKeyId: key.arn,
        tags,
      },
      parent,
    );

    for (const email of args.emails ?? []) {
      new aws.sns.TopicSubscription(
        `${name}-email-${emailSlug(email)}`,
        {
          topic: topic.arn,
          protocol: "email",
          endpoint: email,
        },
        parent,
      );
    }

    this.topicArn = topic.arn;
    this.keyArn = key.arn;
    this.registerOutputs({ topicArn: this.topicArn, keyArn: this.keyArn });
  }
}

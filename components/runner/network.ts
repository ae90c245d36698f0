/**
 * Where dbt tasks run. `network.mode: create` builds the cheapest network that works for short
 * batch tasks: a VPC with public subnets only, no NAT gateway (about $32 a month per AZ saved),
 * tasks with a public IP, and a security group with no ingress and HTTPS-only egress.
 * `network.mode: existing` uses the subnets and security groups from config as they are.
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { awsName, defaultTags } from "../lib/naming";

/** The security group's only rule: HTTPS out (Snowflake, ECR, S3, Secrets Manager, CloudWatch Logs). */
export const EGRESS_RULES = [
  {
    protocol: "tcp",
    fromPort: 443,
    toPort: 443,
    cidrBlocks: ["0.0.0.0/0"],
    description: "HTTPS to Snowflake and AWS APIs",
  },
] as const;

/** The task network: subnets and security groups for `awsvpcConfiguration`. */
export interface RunnerNetwork {
  readonly subnetIds: pulumi.Output<string[]>;
  readonly securityGroupIds: pulumi.Output<string[]>;
  /** Whether RunTask must set `assignPublicIp: ENABLED`. */
  readonly assignPublicIp: boolean;
}

/** A network created for the tasks: public subnets only, no NAT gateway. */
export interface CreatedNetworkArgs {
  readonly mode: "create";
  /** CIDR block of the VPC (`network.vpcCidr`). No default. */
  readonly vpcCidr: string;
  /** Availability zones, one public subnet each (`network.availabilityZones`). No default. */
  readonly availabilityZones: number;
  /** Whether tasks get a public IP; without NAT they need one to reach Snowflake (`network.assignPublicIp`). No default. */
  readonly assignPublicIp: boolean;
}

/** Existing subnets and security groups, used as they are. */
export interface ExistingNetworkArgs {
  readonly mode: "existing";
  /** Subnets of `awsvpcConfiguration` (`network.subnetIds`). No default. */
  readonly subnetIds: readonly pulumi.Input<string>[];
  /** Security groups of `awsvpcConfiguration` (`network.securityGroupIds`). No default. */
  readonly securityGroupIds: readonly pulumi.Input<string>[];
  /** Whether RunTask assigns a public IP (`network.assignPublicIp`). No default. */
  readonly assignPublicIp: boolean;
}

/** Where dbt tasks run. */
export type RunnerNetworkArgs = CreatedNetworkArgs | ExistingNetworkArgs;

/**
 * Creates (or adopts, for `existing`) the network, children of `parent`, named `<name>-vpc`, `<name>-sg`.
 * config.ts has checked the combination (`existing` lists subnets and groups; `create` assigns public IPs).
 */
export function createRunnerNetwork(
  name: string,
  environment: string,
  network: RunnerNetworkArgs,
  parent: pulumi.Resource,
): RunnerNetwork {
  if (network.mode === "existing") {
    return {
      subnetIds: pulumi.output([...network.subnetIds]),
      securityGroupIds: pulumi.output([...network.securityGroupIds]),
      assignPublicIp: network.assignPublicIp,
    };
  }
  const tags = defaultTags(environment);
  const vpc = new awsx.ec2.Vpc(
    `${name}-vpc`,
    {
      cidrBlock: network.vpcCidr,
      numberOfAvailabilityZones: network.availabilityZones,
      subnetStrategy: "Auto",
      subnetSpecs: [{ type: "Public", name: "public" }],
      natGateways: { strategy: "None" },
      tags: { ...tags, Name: awsName(environment, "dbt") },
    },
    { parent },
  );
  const sg = new aws.ec2.SecurityGroup(
    `${name}-sg`,
    {
      name: awsName(environment, "dbt-tasks"),
      description: "dbt tasks: no ingress, HTTPS egress only",
      vpcId: vpc.vpcId,
      // An explicit empty list makes the provider remove any ingress rule added by hand.
      ingress: [],
      egress: EGRESS_RULES.map((r) => ({ ...r, cidrBlocks: [...r.cidrBlocks] })),
      tags,
    },
    { parent },
  );
  return {
    subnetIds: vpc.publicSubnetIds,
    securityGroupIds: pulumi.output([sg.id]),
    assignPublicIp: network.assignPublicIp,
  };
}

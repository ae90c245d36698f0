/**
 * The runner's policy documents as pure data: the two task roles' statements, the artifact
 * bucket's policy and lifecycle rules, the ECR lifecycle policy. Every ARN is passed in; nothing
 * here widens a resource to `*` except `ecr:GetAuthorizationToken`, which has no resource type.
 */
import * as pulumi from "@pulumi/pulumi";
import { Statement } from "../lib/iam";

/** Key prefixes of one environment in the artifact bucket. */
export interface ArtifactPrefixes {
  /** `<env>/runs/`: one folder per run id, expired after `dbt.artifactRetentionDays`. */
  readonly runs: string;
  /** `<env>/latest/`: the last successful run's artifacts, the next run's `--state`. */
  readonly latest: string;
  /** `<env>/observed/`: the last freshness observation (`sources.json` of any run whose freshness step ran). */
  readonly observed: string;
}

/** The artifact prefixes of `environment`. */
export function artifactPrefixes(environment: string): ArtifactPrefixes {
  return { runs: `${environment}/runs/`, latest: `${environment}/latest/`, observed: `${environment}/observed/` };
}

/** Days a replaced or deleted object version is kept (a mistaken `latest/` overwrite can be undone). */
export const NONCURRENT_VERSION_DAYS = 30;
/** Days before an unfinished multipart upload is removed. */
export const ABORT_MULTIPART_DAYS = 7;

/** What the execution role (used by ECS itself, before and around the containers) needs. */
export interface ExecutionRoleTargets {
  readonly repositoryArn: pulumi.Input<string>;
  /** The dbt user's private key secret. */
  readonly privateKeySecretArn: pulumi.Input<string>;
  readonly logGroupArn: pulumi.Input<string>;
}

/**
 * Execution role: pull the dbt image from its repository, inject the private key secret, write
 * the task's log streams. The AWS CLI image comes from ECR Public, which needs no permission.
 */
export function executionRoleStatements(t: ExecutionRoleTargets): Statement[] {
  return [
    {
      Sid: "PullDbtImage",
      Effect: "Allow",
      Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
      Resource: t.repositoryArn,
    },
    // GetAuthorizationToken returns a registry-wide token and has no resource type: IAM accepts only "*".
    { Sid: "GetEcrTokenAccountWideByDesign", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
    {
      Sid: "InjectDbtPrivateKey",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: t.privateKeySecretArn,
    },
    {
      Sid: "WriteTaskLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: pulumi.interpolate`${t.logGroupArn}:*`,
    },
  ];
}

/**
 * Task role (the containers' credentials): list and read the previous state under `latest/` and
 * a retried run's artifacts under `runs/`, write this run's artifacts under `runs/` and
 * `latest/`, and the freshness observation `observed/sources.json`. Nothing else in the bucket, no delete: old runs expire by lifecycle, and versioning
 * keeps overwritten `latest/` objects.
 */
export function taskRoleStatements(bucketArn: pulumi.Input<string>, prefixes: ArtifactPrefixes): Statement[] {
  return [
    {
      Sid: "ListPreviousState",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: bucketArn,
      Condition: { StringLike: { "s3:prefix": [`${prefixes.latest}*`, `${prefixes.runs}*`] } },
    },
    {
      Sid: "ReadPreviousState",
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: [
        pulumi.interpolate`${bucketArn}/${prefixes.latest}*`,
        pulumi.interpolate`${bucketArn}/${prefixes.runs}*`,
      ],
    },
    {
      Sid: "WriteRunArtifacts",
      Effect: "Allow",
      Action: "s3:PutObject",
      Resource: [
        pulumi.interpolate`${bucketArn}/${prefixes.runs}*`,
        pulumi.interpolate`${bucketArn}/${prefixes.latest}*`,
        pulumi.interpolate`${bucketArn}/${prefixes.observed}sources.json`,
      ],
    },
  ];
}

/** Bucket policy: refuse every request not made over TLS. */
export function bucketPolicyDocument(bucketArn: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, pulumi.interpolate`${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}

/** One rule of `aws.s3.BucketLifecycleConfiguration` (the fields used here). */
export interface LifecycleRule {
  readonly id: string;
  readonly status: "Enabled";
  readonly filter: { readonly prefix?: string };
  readonly expiration?: { readonly days?: number; readonly expiredObjectDeleteMarker?: boolean };
  readonly noncurrentVersionExpiration?: { readonly noncurrentDays: number };
  readonly abortIncompleteMultipartUpload?: { readonly daysAfterInitiation: number };
}

/** Lifecycle: runs expire, old versions expire, dangling delete markers and uploads go. */
export function bucketLifecycleRules(prefixes: ArtifactPrefixes, artifactRetentionDays: number): LifecycleRule[] {
  return [
    {
      id: "expire-runs",
      status: "Enabled",
      filter: { prefix: prefixes.runs },
      expiration: { days: artifactRetentionDays },
    },
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: {},
      // Expiring a run in a versioned bucket leaves a delete marker; once its versions are gone, remove it too.
      expiration: { expiredObjectDeleteMarker: true },
      noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
    },
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_MULTIPART_DAYS },
    },
  ];
}

/**
 * ECR lifecycle policy that never expires the image this environment runs:
 * 1. the pinned tag (`dbt.imageTag`) is selected by a rule that keeps it (one image per
 *    immutable tag, count more than 1): an image matched by a rule's tag selection cannot be
 *    expired by a lower-priority rule (Amazon ECR User Guide, "How lifecycle policies work");
 * 2. any other image expires once not pulled for `unpulledDays` (`sinceImagePulled`, Amazon ECR
 *    User Guide, "Examples of lifecycle policies"). ECR refreshes an image's last pull time at
 *    least once every 24 hours, so the minimum is 2 days. A run pulls its image, so an image in
 *    use, or pinned by digest, stays. No count rule: a burst of pushes must not expire an image
 *    an environment still runs.
 */
export function ecrLifecyclePolicy(pinnedTag: string, unpulledDays: number): string {
  const pinned = pinnedTag.startsWith("sha256:")
    ? []
    : [
        {
          rulePriority: 1,
          description: `Never expire the pinned image ${pinnedTag}`,
          selection: {
            tagStatus: "tagged",
            tagPatternList: [pinnedTag],
            countType: "imageCountMoreThan",
            countNumber: 1,
          },
          action: { type: "expire" },
        },
      ];
  return JSON.stringify({
    rules: [
      ...pinned,
      {
        rulePriority: 2,
        description: `Expire images not pulled for ${unpulledDays} days`,
        selection: { tagStatus: "any", countType: "sinceImagePulled", countUnit: "days", countNumber: unpulledDays },
        action: { type: "expire" },
      },
    ],
  });
}

/**
 * The artifact bucket: dbt's manifest, run results and sources of every run under
 * `<env>/runs/<run id>/`, and the last run's under `<env>/latest/` (the next run's state).
 * Versioned, encrypted (SSE-S3, so the task role needs no KMS grant), private, TLS only, with
 * lifecycle rules. In a protected stack the bucket is protected and retained on delete, and so
 * are its settings: deleting them would strip a retained bucket of its guards.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { awsName, defaultTags } from "../lib/naming";
import { ArtifactPrefixes, bucketLifecycleRules, bucketPolicyDocument } from "./policies";

/** The bucket and what callers need of it. */
export interface ArtifactBucket {
  readonly bucket: aws.s3.Bucket;
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
}

/** Physical bucket name: `dbt-pipeline-<env>-artifacts-<account id>` (bucket names are global). */
export function artifactBucketName(environment: string, accountId: string): string {
  return awsName(environment, `artifacts-${accountId}`);
}

/** What the bucket is built from. */
export interface ArtifactBucketArgs {
  /** Environment name: the bucket's name and tags. */
  readonly environment: string;
  /** Protect and retain the bucket and its settings; when false the bucket is deleted with its objects. */
  readonly protect: boolean;
  /** Days a run's artifacts are kept under the runs prefix. */
  readonly retentionDays: number;
}

/** Creates the bucket and its settings as children of `parent`, named `<name>-artifacts*`. */
export function createArtifactBucket(
  name: string,
  config: ArtifactBucketArgs,
  prefixes: ArtifactPrefixes,
  accountId: pulumi.Input<string>,
  parent: pulumi.Resource,
): ArtifactBucket {
  const keep: pulumi.CustomResourceOptions = config.protect ? { protect: true, retainOnDelete: true } : {};
  const opts: pulumi.CustomResourceOptions = { parent, ...keep };

  const bucket = new aws.s3.Bucket(
    `${name}-artifacts`,
    {
      bucket: pulumi.output(accountId).apply((id) => artifactBucketName(config.environment, id)),
      // Dev can be torn down with its artifacts; prod never deletes objects with the bucket.
      forceDestroy: !config.protect,
      tags: defaultTags(config.environment),
    },
    opts,
  );

  new aws.s3.BucketOwnershipControls(
    `${name}-artifacts-ownership`,
    {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    },
    opts,
  );
  new aws.s3.BucketPublicAccessBlock(
    `${name}-artifacts-public-access`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  new aws.s3.BucketVersioning(
    `${name}-artifacts-versioning`,
    {
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    },
    opts,
  );
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-artifacts-encryption`,
    {
      bucket: bucket.id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    },
    opts,
  );
  new aws.s3.BucketLifecycleConfiguration(
    `${name}-artifacts-lifecycle`,
    {
      bucket: bucket.id,
      rules: bucketLifecycleRules(prefixes, config.retentionDays),
    },
    opts,
  );
  new aws.s3.BucketPolicy(
    `${name}-artifacts-policy`,
    {
      bucket: bucket.id,
      policy: bucketPolicyDocument(bucket.arn),
    },
    opts,
  );

  return { bucket, name: bucket.bucket, arn: bucket.arn };
}

/**
 * Rules that need the whole stack: S3 buckets with their standalone encryption, versioning and
 * public-access resources (AWS provider v7 splits them out), queues with a dead-letter queue,
 * and prod's stateful resources protected.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { dig, stackOf } from "./util";

const BUCKET = "aws:s3/bucket:Bucket";

/** Resources of `type` whose `bucket` property names `bucket`. */
function attached(resources: PolicyResource[], type: string, bucket: string): PolicyResource[] {
  return resources.filter((r) => r.type === type && r.props.bucket === bucket);
}

/** Buckets are encrypted, versioned and block public access. */
export const s3BucketGuards: StackValidationPolicy = {
  name: "s3-encrypted-versioned-private",
  description: "Every S3 bucket has default encryption, versioning enabled and all four public-access blocks.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const b of args.resources.filter((r) => r.type === BUCKET)) {
      const name: unknown = b.props.bucket;
      if (typeof name !== "string") continue; // Unknown until the bucket exists; checked on the next preview.
      if (
        !attached(
          args.resources,
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          name,
        ).length
      ) {
        report(`bucket ${name} has no BucketServerSideEncryptionConfiguration.`, b.urn);
      }
      const versioning = attached(args.resources, "aws:s3/bucketVersioning:BucketVersioning", name);
      if (!versioning.some((v) => dig(v.props, "versioningConfiguration", "status") === "Enabled"))
        report(`bucket ${name} does not have versioning enabled.`, b.urn);
      const blocks = attached(args.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name);
      const full = blocks.some(
        (p) =>
          p.props.blockPublicAcls &&
          p.props.blockPublicPolicy &&
          p.props.ignorePublicAcls &&
          p.props.restrictPublicBuckets,
      );
      if (!full) report(`bucket ${name} does not block all public access.`, b.urn);
    }
  },
};

/** Every queue has a dead-letter queue, or is one. */
export const sqsHasDeadLetterQueue: StackValidationPolicy = {
  name: "sqs-dead-letter-queue",
  description:
    "Every SQS queue redrives to a dead-letter queue, unless it is the dead-letter queue of a queue, function, schedule or rule.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const referenced = new Set<string>();
    for (const r of args.resources) {
      const text = JSON.stringify(r.props);
      for (const m of text.matchAll(/arn:aws:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+/g)) {
        if (/deadLetter|redrive/i.test(text)) referenced.add(m[0]);
      }
    }
    for (const q of args.resources.filter((r) => r.type === "aws:sqs/queue:Queue")) {
      if (q.props.redrivePolicy) continue;
      const arn: unknown = q.props.arn;
      const name: unknown = q.props.name;
      const isDlq = [...referenced].some(
        (a) => (typeof arn === "string" && a === arn) || (typeof name === "string" && a.endsWith(`:${name}`)),
      );
      if (!isDlq)
        report(
          `queue ${typeof name === "string" ? name : q.name} has no redrivePolicy and is no one's dead-letter queue.`,
          q.urn,
        );
    }
  },
};

/** In protected stacks, the Snowflake database, RAW schema and artifact bucket are protected. */
export const prodStatefulProtected: StackValidationPolicy = {
  name: "prod-stateful-protected",
  description:
    "In the stacks listed in protectedStacks, the Snowflake database, the RAW schema and the artifact bucket carry protect (retainOnDelete is not visible to policies; the test suite enforces it).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      protectedStacks: { type: "array", items: { type: "string" }, default: ["prod"] },
      rawSchemaName: { type: "string", default: "RAW" },
    },
  },
  validateStack: (args, report) => {
    const cfg = args.getConfig<{ protectedStacks?: string[]; rawSchemaName?: string }>();
    const stacks = cfg.protectedStacks ?? ["prod"];
    const raw = cfg.rawSchemaName ?? "RAW";
    for (const r of args.resources) {
      if (!stacks.includes(stackOf(r.urn))) continue;
      const stateful =
        r.type === "snowflake:index/database:Database" ||
        (r.type === "snowflake:index/schema:Schema" && r.props.name === raw) ||
        (r.type === BUCKET && typeof r.props.bucket === "string" && r.props.bucket.includes("-artifacts"));
      if (stateful && !r.opts.protect)
        report(`${r.type} ${r.name} holds state but is not protected; set protect and retainOnDelete.`, r.urn);
    }
  },
};

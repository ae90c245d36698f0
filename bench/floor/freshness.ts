/** Floor of freshness's first call: its AWS call with the SDK alone (no zod, Powertools or own code). */
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";

const s3 = new S3Client({});

export async function handler(): Promise<unknown> {
  const out = await s3.send(
    new GetObjectCommand({ Bucket: process.env.ARTIFACT_BUCKET ?? "", Key: "floor/observed/sources.json" }),
  );
  return { bytes: (await out.Body?.transformToString())?.length ?? 0 };
}

/**
 * Test support for the handler specs: fixtures and small assertions here; the recording logger and
 * metrics, events and local DynamoDB are shared with the benchmarks (sim/lambda-harness.ts).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { z } from "zod";

export {
  type HttpEventOptions,
  type LocalDynamo,
  type LogEntry,
  RecordingLog,
  RecordingMetrics,
  fakeContext,
  fivetranSignature,
  httpEvent,
  snsEvent,
  startLocalDynamo,
} from "../../sim/lambda-harness";

/** The exact text of `test/fixtures/<file>`. */
export function fixtureText(file: string): string {
  return readFileSync(path.join(__dirname, "..", "fixtures", file), "utf8");
}

/**
 * A JSON fixture parsed with `schema`: a spec names (with loose objects) the fields it reads or
 * changes, and every other field stays as the vendor sent it.
 */
export function fixtureJson<T>(file: string, schema: z.ZodType<T>): T {
  return schema.parse(JSON.parse(fixtureText(file)));
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}

/** Lower-case hex sha256 (independent of the code under test). */
export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * Launch's state in DynamoDB, one partition per dbt target:
 *  - `key = "lease"`: who may start the target's next run, and the run it started. Taken with a
 *    conditional write (absent or expired), so two launches can never both hold it; DynamoDB
 *    evaluates the condition and the write as one operation on the item, strongly consistent
 *    (docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate).
 *  - `key = "p#<oldest receivedAt>#<sha256 of the message body>"`: one pending run request. Put
 *    only when absent, so a redelivered SQS message adds nothing.
 *  - `key = "last"`: when the target's latest run started (RunTask returned), for the minimum
 *    interval between the starts of consecutive runs; `key = "load"`: when the latest source
 *    load was accepted; `key = "end"`: the start and dbt outcome of the latest run that ended
 *    (both for the hourly skip).
 *  - `key = "d#<same>"`: the done marker of a request a run served (or that was dead-lettered),
 *    written before the pending item is deleted, with a TTL; a request whose marker exists is a
 *    duplicate. Markers live beside, not inside, the `p#` range, so reading the pending set reads
 *    pending requests only however many were served (TTL may take days to delete an item).
 * Reads that decide a run are strongly consistent (`ConsistentRead`): a request put just before
 * is seen. TTL deletes only done markers; pending items and the lease never carry `expiration`.
 */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  QueryCommandOutput,
  ScanCommand,
  ScanCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import { RunRequest } from "../lib/run-contract";

/** The sort key of the lease item. */
export const LEASE_KEY = "lease";
/** The sort key of the item holding when the target's latest run started. */
export const LAST_START_KEY = "last";
/** The sort key of the item holding when the latest source load was accepted (the hourly skip). */
export const LAST_LOAD_KEY = "load";
/** The sort key of the item holding the start of the latest run that ended and covered everything (the hourly skip). */
export const LAST_COVERED_KEY = "covered";
/** The sort key of the item holding the start of the latest run that ended without dbt's exit code 0 (the hourly skip). */
export const LAST_FAILED_KEY = "failed";
/** Sort-key prefix of pending run requests. */
export const PENDING_PREFIX = "p#";
/** Sort-key prefix of done markers. */
export const DONE_PREFIX = "d#";

/** The done marker's key of pending key `key` (`p#…` → `d#…`). */
export function doneKey(key: string): string {
  return `${DONE_PREFIX}${key.startsWith(PENDING_PREFIX) ? key.slice(PENDING_PREFIX.length) : key}`;
}

/** A run request waiting for the target's next run. */
export interface PendingItem {
  /** Sort key: `p#<oldest trigger receivedAt>#<sha256 of the message body>`, oldest first. */
  readonly key: string;
  readonly request: RunRequest;
}

/** `gathering`: the leading-edge window; `launching`: RunTask under way for `claimed`; `running`: task `taskArn` started. */
export type LeaseState = "gathering" | "launching" | "running";

/** The lease of one target. Times are epoch milliseconds. */
export interface Lease {
  readonly target: string;
  /** Token of the invocation that took it; conditional updates check it. */
  readonly holder: string;
  readonly state: LeaseState;
  /** After this instant anyone may take the lease (after checking ECS). */
  readonly expiresAt: number;
  /** The run, from `launching` on. */
  readonly runId?: string;
  readonly taskArn?: string;
  /** When RunTask returned the task (epoch ms). */
  readonly launchedAt?: number;
  /** Keys of the pending items the run serves. */
  readonly claimed?: readonly string[];
  /** The run builds everything an hourly run would (it serves a schedule, or selects every node). */
  readonly coversAll?: boolean;
}

/** What launch keeps between invocations; one implementation on DynamoDB, one in memory for tests and the bench. */
export interface LaunchStore {
  /**
   * Adds a pending request unless it is pending, or a run served it already; false for a
   * duplicate. A request that was dead-lettered (done marker outcome `dead-letter:…`) is added
   * again: the same body coming back is an operator's redrive of the dead letter (or a later
   * copy of a request that never ran), and it must run.
   */
  addPending(target: string, item: PendingItem): Promise<boolean>;
  /** Pending requests of `target`, oldest first, strongly consistent, at most `limit`. */
  pending(target: string, limit: number): Promise<PendingItem[]>;
  /** The target's lease, strongly consistent. */
  getLease(target: string): Promise<Lease | undefined>;
  /**
   * Takes the lease when there is none or it expired before `now`. Returns whether it was taken
   * and the lease it replaced (an expired one, to be checked against ECS).
   */
  acquire(lease: Lease, now: number): Promise<{ acquired: boolean; previous?: Lease }>;
  /** Replaces the lease if `holder` still holds it; false otherwise. */
  update(lease: Lease): Promise<boolean>;
  /** Deletes the lease if `holder` holds it; false otherwise. */
  release(target: string, holder: string): Promise<boolean>;
  /** Deletes the lease if it is the one of run `runId` (and task `taskArn` when it knows one); returns the deleted lease. */
  releaseRun(target: string, runId: string, taskArn: string): Promise<Lease | undefined>;
  /** Marks requests done (served by a run or dead-lettered), the marker expiring at `expiresAt` (epoch ms), and drops them from the pending set. */
  finish(target: string, keys: readonly string[], outcome: string, expiresAt: number): Promise<void>;
  /** Targets that have a lease or pending requests (for the sweep). */
  targets(): Promise<string[]>;
  /** When the target's latest run started (epoch ms), strongly consistent; undefined before the first. */
  lastStart(target: string): Promise<number | undefined>;
  /** Records when the target's latest run started (only the lease holder launches, so no condition is needed). */
  setLastStart(target: string, at: number): Promise<void>;
  /** Records that a source load (its trigger received at `at`, epoch ms) was accepted; keeps the latest. */
  recordLoad(target: string, at: number): Promise<void>;
  /**
   * Records how the run started at `startedAt` ended: a failure (dbt's exit code not 0, or not
   * known) keeps the latest failed start; a success of a run that covered everything keeps the
   * latest covered start; other successes change nothing (they built only their own selection).
   */
  recordRunEnd(target: string, startedAt: number, ok: boolean, coversAll: boolean): Promise<void>;
  /** What launch knows of the target's recent activity, strongly consistent. */
  activity(target: string): Promise<TargetActivity>;
}

/** A target's recent activity, for the hourly skip. Times are epoch milliseconds. */
export interface TargetActivity {
  /** Receipt of the latest source trigger accepted. */
  readonly lastLoadAt?: number;
  /** Start of the latest run that covered everything and ended with dbt's exit code 0. */
  readonly coveredStart?: number;
  /** Start of the latest run that ended without dbt's exit code 0 (or whose end is not known). */
  readonly failedStart?: number;
}

/** A done marker's outcome of a request that went to the dead-letter queue instead of a run. */
export const isDeadLetterOutcome = (outcome: unknown): boolean =>
  typeof outcome === "string" && outcome.startsWith(DEAD_LETTER_OUTCOME_PREFIX);

/** Outcome prefix of the done marker of a dead-lettered request. */
export const DEAD_LETTER_OUTCOME_PREFIX = "dead-letter:";

const isConditionFailure = (error: unknown) =>
  error instanceof ConditionalCheckFailedException ||
  (error as { name?: string } | undefined)?.name === "ConditionalCheckFailedException";

/** {@link LaunchStore} on a DynamoDB table with hash key `target` (S), range key `key` (S), TTL attribute `expiration`. */
export class DynamoLaunchStore implements LaunchStore {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async addPending(target: string, item: PendingItem): Promise<boolean> {
    // The marker first: a request served (and deleted from the pending set) must not come back.
    const done = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { target, key: doneKey(item.key) }, ConsistentRead: true }),
    );
    if (done.Item && !isDeadLetterOutcome(done.Item.outcome)) return false;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { target, key: item.key, state: "pending", request: JSON.stringify(item.request) },
          ConditionExpression: "attribute_not_exists(#key)",
          ExpressionAttributeNames: { "#key": "key" },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async pending(target: string, limit: number): Promise<PendingItem[]> {
    const items: PendingItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          KeyConditionExpression: "#target = :target AND begins_with(#key, :prefix)",
          ExpressionAttributeNames: { "#target": "target", "#key": "key" },
          ExpressionAttributeValues: { ":target": target, ":prefix": PENDING_PREFIX },
          Limit: limit - items.length,
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of page.Items ?? [])
        items.push({ key: String(raw.key), request: JSON.parse(String(raw.request)) as RunRequest });
      start = page.LastEvaluatedKey;
    } while (start && items.length < limit);
    return items;
  }

  async getLease(target: string): Promise<Lease | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { target, key: LEASE_KEY }, ConsistentRead: true }),
    );
    return out.Item ? leaseOf(out.Item) : undefined;
  }

  async acquire(lease: Lease, now: number): Promise<{ acquired: boolean; previous?: Lease }> {
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: leaseItem(lease),
          ConditionExpression: "attribute_not_exists(#key) OR expiresAt < :now",
          ExpressionAttributeNames: { "#key": "key" },
          ExpressionAttributeValues: { ":now": now },
          ReturnValues: "ALL_OLD",
        }),
      );
      return { acquired: true, previous: out.Attributes ? leaseOf(out.Attributes) : undefined };
    } catch (error) {
      if (isConditionFailure(error)) return { acquired: false };
      throw error;
    }
  }

  async update(lease: Lease): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: leaseItem(lease),
          ConditionExpression: "holder = :holder",
          ExpressionAttributeValues: { ":holder": lease.holder },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async release(target: string, holder: string): Promise<boolean> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { target, key: LEASE_KEY },
          ConditionExpression: "holder = :holder",
          ExpressionAttributeValues: { ":holder": holder },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async releaseRun(target: string, runId: string, taskArn: string): Promise<Lease | undefined> {
    try {
      const out = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { target, key: LEASE_KEY },
          // A lease still `launching` has no task ARN yet: its run id alone identifies the task.
          ConditionExpression: "runId = :runId AND (attribute_not_exists(taskArn) OR taskArn = :taskArn)",
          ExpressionAttributeValues: { ":runId": runId, ":taskArn": taskArn },
          ReturnValues: "ALL_OLD",
        }),
      );
      return out.Attributes ? leaseOf(out.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async finish(target: string, keys: readonly string[], outcome: string, expiresAt: number): Promise<void> {
    for (const key of keys) {
      // Marker before deletion: at every moment the request is pending, done, or both (never neither).
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          // TTL reads epoch seconds (docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html).
          Item: { target, key: doneKey(key), state: "done", outcome, expiration: Math.ceil(expiresAt / 1000) },
        }),
      );
      await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { target, key } }));
    }
  }

  async targets(): Promise<string[]> {
    const found = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const page: ScanCommandOutput = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: "#key = :lease OR #state = :pending",
          ProjectionExpression: "#target",
          ExpressionAttributeNames: { "#target": "target", "#key": "key", "#state": "state" },
          ExpressionAttributeValues: { ":lease": LEASE_KEY, ":pending": "pending" },
          ExclusiveStartKey: start,
        }),
      );
      for (const raw of page.Items ?? []) found.add(String(raw.target));
      start = page.LastEvaluatedKey;
    } while (start);
    return [...found].sort();
  }

  async lastStart(target: string): Promise<number | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { target, key: LAST_START_KEY }, ConsistentRead: true }),
    );
    return out.Item ? Number(out.Item.startedAt) : undefined;
  }

  async setLastStart(target: string, at: number): Promise<void> {
    await this.putLatest(target, LAST_START_KEY, "startedAt", at);
  }

  async recordLoad(target: string, at: number): Promise<void> {
    await this.putLatest(target, LAST_LOAD_KEY, "at", at);
  }

  async recordRunEnd(target: string, startedAt: number, ok: boolean, coversAll: boolean): Promise<void> {
    if (!ok) await this.putLatest(target, LAST_FAILED_KEY, "startedAt", startedAt);
    else if (coversAll) await this.putLatest(target, LAST_COVERED_KEY, "startedAt", startedAt);
  }

  async activity(target: string): Promise<TargetActivity> {
    const get = (key: string) =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { target, key }, ConsistentRead: true }));
    const [load, covered, failed] = await Promise.all([
      get(LAST_LOAD_KEY),
      get(LAST_COVERED_KEY),
      get(LAST_FAILED_KEY),
    ]);
    return {
      ...(typeof load.Item?.at === "number" ? { lastLoadAt: load.Item.at } : {}),
      ...(typeof covered.Item?.startedAt === "number" ? { coveredStart: covered.Item.startedAt } : {}),
      ...(typeof failed.Item?.startedAt === "number" ? { failedStart: failed.Item.startedAt } : {}),
    };
  }

  /**
   * Puts the item `key` with `field` = `at` (and `also`) unless it holds a later value, so a late
   * or duplicated event never moves it back. One item per fact (a conditional Put replaces the
   * whole item), none with a `state`, so the sweep's Scan never lists a target for them.
   */
  private async putLatest(
    target: string,
    key: string,
    field: string,
    at: number,
    also: Record<string, boolean> = {},
  ): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { target, key, [field]: at, ...also },
          ConditionExpression: "attribute_not_exists(#f) OR #f <= :at",
          ExpressionAttributeNames: { "#f": field },
          ExpressionAttributeValues: { ":at": at },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

function leaseItem(lease: Lease): Record<string, unknown> {
  return { ...lease, key: LEASE_KEY, claimed: lease.claimed ? [...lease.claimed] : undefined };
}

function leaseOf(item: Record<string, unknown>): Lease {
  return {
    target: String(item.target),
    holder: String(item.holder),
    state: item.state as LeaseState,
    expiresAt: Number(item.expiresAt),
    ...(typeof item.runId === "string" ? { runId: item.runId } : {}),
    ...(typeof item.taskArn === "string" ? { taskArn: item.taskArn } : {}),
    ...(item.launchedAt !== undefined ? { launchedAt: Number(item.launchedAt) } : {}),
    ...(Array.isArray(item.claimed) ? { claimed: item.claimed.map(String) } : {}),
    ...(typeof item.coversAll === "boolean" ? { coversAll: item.coversAll } : {}),
  };
}

/**
 * The paging rule and the one DynamoDB item that remembers the environment's last outcome.
 *
 * Rule (also in docs/run-events.md):
 * - A failed or not-started run pages when the environment was passing before (the first failure
 *   after a success, or the first run ever), or when its failure signature differs from the
 *   last failing run's (another set of failing nodes, another exit code, another stop code).
 *   The same failure repeated run after run pages once.
 * - A successful run after a failure pages once as a recovery; successes after successes page nothing.
 * - An event older than the last one applied (ECS delivers out of order) changes nothing and
 *   pages nothing: a newer run has already decided the state.
 * - Redelivery of the event that was applied last (a retry after Slack or SNS failed) reuses the
 *   stored decision, so a failed page is retried rather than lost.
 */
import { createHash } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { RunStatus } from "../lib/run-event";

/** What a run asks of the pager. */
export type PageKind = "failure" | "recovery";

/** The environment's last applied outcome. */
export interface RunState {
  readonly status: "passing" | "failing";
  /** Hash of what failed (status, exit/stop code, failing node ids); empty when passing. */
  readonly signature: string;
  readonly consecutiveFailures: number;
  readonly lastTaskArn: string;
  readonly lastRunId: string | null;
  readonly lastEndedAt: string;
  /** The page the last applied run asked for. */
  readonly lastPage: PageKind | null;
  /** Failing runs in a row the last applied run recovered from (0 unless it was a recovery). */
  readonly recoveredAfter: number;
  /** Optimistic-concurrency counter. */
  readonly version: number;
}

/** The outcome of one run, as the rule sees it. */
export interface RunOutcome {
  readonly status: RunStatus;
  readonly signature: string;
  readonly taskArn: string;
  readonly runId: string | null;
  readonly endedAt: string;
}

/** The rule's answer: the state to store (undefined: leave it) and whether to page. */
export interface Decision {
  readonly next?: RunState;
  readonly page: PageKind | null;
  /** Failing runs in a row after this run (from the stored state when the run changes nothing). */
  readonly consecutiveFailures: number;
  /** For a recovery: failing runs in a row before it. */
  readonly previousFailures: number;
  /** Why, for the log. */
  readonly reason:
    "first-failure" | "changed-failure" | "same-failure" | "recovery" | "still-passing" | "out-of-order" | "redelivery";
}

/** The failure signature: equal signatures are "the same failing state". */
export function failureSignature(
  status: RunStatus,
  exitCode: number | null,
  stopCode: string | null,
  failingIds: readonly string[],
): string {
  if (status === "success") return "";
  const basis =
    status === "not_started"
      ? `not_started|${stopCode ?? ""}`
      : `failed|${exitCode ?? ""}|${[...new Set(failingIds)].sort().join("\n")}`;
  return createHash("sha256").update(basis).digest("hex");
}

/** Applies the paging rule to the stored state and a run. */
export function decide(prev: RunState | undefined, run: RunOutcome): Decision {
  if (prev && prev.lastTaskArn === run.taskArn) {
    return {
      page: prev.lastPage,
      consecutiveFailures: prev.consecutiveFailures,
      previousFailures: prev.recoveredAfter,
      reason: "redelivery",
    };
  }
  if (prev && Date.parse(run.endedAt) < Date.parse(prev.lastEndedAt)) {
    return { page: null, consecutiveFailures: prev.consecutiveFailures, previousFailures: 0, reason: "out-of-order" };
  }
  const wasFailing = prev?.status === "failing";
  const base = {
    lastTaskArn: run.taskArn,
    lastRunId: run.runId,
    lastEndedAt: run.endedAt,
    version: (prev?.version ?? 0) + 1,
  };
  if (run.status === "success") {
    const page = wasFailing ? "recovery" : null;
    const previousFailures = wasFailing ? prev.consecutiveFailures : 0;
    return {
      next: {
        ...base,
        status: "passing",
        signature: "",
        consecutiveFailures: 0,
        lastPage: page,
        recoveredAfter: previousFailures,
      },
      page,
      consecutiveFailures: 0,
      previousFailures,
      reason: wasFailing ? "recovery" : "still-passing",
    };
  }
  const consecutiveFailures = (wasFailing ? prev.consecutiveFailures : 0) + 1;
  const same = wasFailing && prev.signature === run.signature;
  const page = same ? null : "failure";
  return {
    next: {
      ...base,
      status: "failing",
      signature: run.signature,
      consecutiveFailures,
      lastPage: page,
      recoveredAfter: 0,
    },
    page,
    consecutiveFailures,
    previousFailures: 0,
    reason: !wasFailing ? "first-failure" : same ? "same-failure" : "changed-failure",
  };
}

/** Reads and conditionally writes the state item. */
export interface RunStateStore {
  get(): Promise<RunState | undefined>;
  /** Writes `next` if the stored version is still `expectedVersion` (0: no item); false when it moved. */
  put(next: RunState, expectedVersion: number): Promise<boolean>;
}

/** Partition key of the state item in the notify table (beside Powertools idempotency records). */
export const STATE_ITEM_ID = "run-state";

/** A {@link RunStateStore} on the notify table (partition key `id`). */
export function dynamoStateStore(client: DynamoDBDocumentClient, tableName: string): RunStateStore {
  return {
    async get() {
      const out = await client.send(
        new GetCommand({ TableName: tableName, Key: { id: STATE_ITEM_ID }, ConsistentRead: true }),
      );
      if (!out.Item) return undefined;
      const { id: _id, ...state } = out.Item;
      return state as RunState;
    },
    async put(next, expectedVersion) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { id: STATE_ITEM_ID, ...next },
            ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(id)" : "version = :v",
            ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ":v": expectedVersion },
          }),
        );
        return true;
      } catch (err) {
        if ((err as { name?: string }).name === "ConditionalCheckFailedException") return false;
        throw err;
      }
    },
  };
}

/** Another writer kept moving the state item. */
export class StateConflictError extends Error {
  constructor(attempts: number) {
    super(`the run state item changed under ${attempts} attempts to update it`);
    this.name = "StateConflictError";
  }
}

/**
 * Reads, decides and writes with optimistic concurrency; retries when another run wrote first.
 * `read`: the state already being read (the caller started it beside another call); the first
 * attempt uses it, a retry reads again.
 */
export async function applyRun(
  store: RunStateStore,
  run: RunOutcome,
  read?: Promise<RunState | undefined>,
  attempts = 5,
): Promise<Decision> {
  for (let i = 0; i < attempts; i++) {
    const prev = i === 0 && read ? await read : await store.get();
    const decision = decide(prev, run);
    if (!decision.next) return decision;
    if (await store.put(decision.next, prev?.version ?? 0)) return decision;
  }
  throw new StateConflictError(attempts);
}

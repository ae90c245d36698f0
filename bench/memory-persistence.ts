/**
 * An in-memory Powertools idempotency persistence layer on the replay's virtual clock.
 *
 * It keeps the semantics of `DynamoDBPersistenceLayer` (Powertools 2.35.0): the put succeeds only
 * when the key is absent, its record has expired, or it is IN_PROGRESS past its in-progress expiry;
 * otherwise it throws `IdempotencyItemAlreadyExistsError` carrying the existing record, exactly as
 * the conditional `PutItem` with `ReturnValuesOnConditionCheckFailure: ALL_OLD` does. Expiry is
 * judged on the virtual clock (Powertools stamps records from `Date.now()`, which in a replay of a
 * day that runs in seconds would never expire anything); records handed back to Powertools carry
 * its own real-time stamps, or a stamp in the past when they have expired in virtual time.
 *
 * Why not dynalite: each dispatch would pay three HTTP round trips to a local emulator, which
 * measures the emulator rather than dispatch, and its expiry runs on the wall clock. The replay
 * can still run on dynalite (`store: "dynalite"`) to cross-check that both give the same outcome.
 */
import {
  IdempotencyItemAlreadyExistsError,
  IdempotencyItemNotFoundError,
  IdempotencyRecordStatus,
} from "@aws-lambda-powertools/idempotency";
import { BasePersistenceLayer, IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";

interface Stored {
  status: string;
  /** Virtual expiry (epoch ms). */
  expiresAt: number;
  /** Virtual in-progress expiry (epoch ms). */
  inProgressUntil?: number;
  /** Powertools' own stamps (real time). */
  expiryTimestamp?: number;
  inProgressExpiryTimestamp?: number;
  responseData?: IdempotencyRecord["responseData"];
  payloadHash?: string;
}

/** Powertools persistence in a Map; `clock` is the virtual time in epoch ms. */
export class MemoryPersistenceLayer extends BasePersistenceLayer {
  private readonly records = new Map<string, Stored>();
  /** Calls per operation, for the report. */
  readonly calls = { put: 0, get: 0, update: 0, delete: 0, conflicts: 0 };

  constructor(private readonly clock: () => number) {
    super();
  }

  /** Records held (expired ones included, as DynamoDB keeps them until TTL deletes them). */
  size(): number {
    return this.records.size;
  }

  protected _putRecord(record: IdempotencyRecord): Promise<void> {
    this.calls.put++;
    const now = this.clock();
    const existing = this.records.get(record.idempotencyKey);
    const free =
      !existing ||
      existing.expiresAt < now ||
      (existing.status === IdempotencyRecordStatus.INPROGRESS &&
        existing.inProgressUntil !== undefined &&
        existing.inProgressUntil < now);
    if (!free) {
      this.calls.conflicts++;
      return Promise.reject(
        new IdempotencyItemAlreadyExistsError(
          `Failed to put record for already existing idempotency key: ${record.idempotencyKey}`,
          this.toRecord(record.idempotencyKey, existing, now),
        ),
      );
    }
    this.records.set(record.idempotencyKey, {
      status: record.getStatus(),
      expiresAt: now + this.expiresAfterSeconds * 1000,
      inProgressUntil:
        record.inProgressExpiryTimestamp === undefined
          ? undefined
          : now + (record.inProgressExpiryTimestamp - Date.now()),
      expiryTimestamp: record.expiryTimestamp,
      inProgressExpiryTimestamp: record.inProgressExpiryTimestamp,
      payloadHash: record.payloadHash,
    });
    return Promise.resolve();
  }

  protected _getRecord(idempotencyKey: string): Promise<IdempotencyRecord> {
    this.calls.get++;
    const existing = this.records.get(idempotencyKey);
    if (!existing) return Promise.reject(new IdempotencyItemNotFoundError());
    return Promise.resolve(this.toRecord(idempotencyKey, existing, this.clock()));
  }

  protected _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.calls.update++;
    const now = this.clock();
    const existing = this.records.get(record.idempotencyKey);
    this.records.set(record.idempotencyKey, {
      ...existing,
      status: record.getStatus(),
      expiresAt: now + this.expiresAfterSeconds * 1000,
      expiryTimestamp: record.expiryTimestamp,
      responseData: record.responseData,
      payloadHash: record.payloadHash ?? existing?.payloadHash,
    });
    return Promise.resolve();
  }

  protected _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.calls.delete++;
    this.records.delete(record.idempotencyKey);
    return Promise.resolve();
  }

  private toRecord(idempotencyKey: string, s: Stored, now: number): IdempotencyRecord {
    return new IdempotencyRecord({
      idempotencyKey,
      status: s.status as (typeof IdempotencyRecordStatus)[keyof typeof IdempotencyRecordStatus],
      // Expired in virtual time: a stamp in the past, so Powertools' own checks agree.
      expiryTimestamp: s.expiresAt < now ? 1 : s.expiryTimestamp,
      inProgressExpiryTimestamp:
        s.inProgressUntil !== undefined && s.inProgressUntil < now ? 1 : s.inProgressExpiryTimestamp,
      responseData: s.responseData,
      payloadHash: s.payloadHash,
    });
  }
}

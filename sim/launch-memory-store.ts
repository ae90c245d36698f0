/**
 * {@link LaunchStore} in memory, with the semantics of {@link DynamoLaunchStore} (the same
 * contract spec runs on both, the DynamoDB one on dynalite): conditional writes are atomic per
 * item, reads are strongly consistent. Every call yields first, so concurrent invocations
 * interleave at each call as they would over the network, and `fail` can make a call throw
 * (throttling) to test that nothing is lost.
 */
import {
  Lease,
  LaunchStore,
  PENDING_PREFIX,
  PendingItem,
  TargetActivity,
  doneKey,
  isDeadLetterOutcome,
} from "../functions/launch/store";

interface Row {
  state: "pending" | "done";
  request?: PendingItem["request"];
  outcome?: string;
  expiration?: number;
}

/** Calls of the store, by name. */
export type StoreCall = keyof LaunchStore;

/** An in-memory launch store; `fail(call)` returning an error makes that call throw it. */
export class MemoryLaunchStore implements LaunchStore {
  private readonly rows = new Map<string, Map<string, Row>>();
  private readonly leases = new Map<string, Lease>();
  private readonly starts = new Map<string, number>();
  private readonly activities = new Map<string, TargetActivity>();
  /** Fault injection: return an error to throw for a call (before it changes anything). */
  public fail: (call: StoreCall) => Error | undefined = () => undefined;

  private async enter(call: StoreCall): Promise<void> {
    await Promise.resolve();
    const error = this.fail(call);
    if (error) throw error;
  }

  private partition(target: string): Map<string, Row> {
    let rows = this.rows.get(target);
    if (!rows) this.rows.set(target, (rows = new Map<string, Row>()));
    return rows;
  }

  async addPending(target: string, item: PendingItem): Promise<boolean> {
    await this.enter("addPending");
    const rows = this.partition(target);
    const done = rows.get(doneKey(item.key));
    if ((done && !isDeadLetterOutcome(done.outcome)) || rows.has(item.key)) return false;
    rows.set(item.key, { state: "pending", request: structuredClone(item.request) });
    return true;
  }

  async pending(target: string, limit: number): Promise<PendingItem[]> {
    await this.enter("pending");
    return [...this.partition(target)]
      .filter(([key]) => key.startsWith(PENDING_PREFIX))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([key, row]) => ({ key, request: structuredClone(row.request!) }));
  }

  async getLease(target: string): Promise<Lease | undefined> {
    await this.enter("getLease");
    const lease = this.leases.get(target);
    return lease && structuredClone(lease);
  }

  async acquire(lease: Lease, now: number): Promise<{ acquired: boolean; previous?: Lease }> {
    await this.enter("acquire");
    const previous = this.leases.get(lease.target);
    if (previous && !(previous.expiresAt < now)) return { acquired: false };
    this.leases.set(lease.target, structuredClone(lease));
    return { acquired: true, previous };
  }

  async update(lease: Lease): Promise<boolean> {
    await this.enter("update");
    if (this.leases.get(lease.target)?.holder !== lease.holder) return false;
    this.leases.set(lease.target, structuredClone(lease));
    return true;
  }

  async release(target: string, holder: string): Promise<boolean> {
    await this.enter("release");
    if (this.leases.get(target)?.holder !== holder) return false;
    this.leases.delete(target);
    return true;
  }

  async releaseRun(target: string, runId: string, taskArn: string): Promise<Lease | undefined> {
    await this.enter("releaseRun");
    const lease = this.leases.get(target);
    if (!lease || lease.runId !== runId || (lease.taskArn !== undefined && lease.taskArn !== taskArn)) return undefined;
    this.leases.delete(target);
    return lease;
  }

  async finish(target: string, keys: readonly string[], outcome: string, expiresAt: number): Promise<void> {
    await this.enter("finish");
    const rows = this.partition(target);
    for (const key of keys) {
      rows.set(doneKey(key), { state: "done", outcome, expiration: Math.ceil(expiresAt / 1000) });
      rows.delete(key);
    }
  }

  async targets(): Promise<string[]> {
    await this.enter("targets");
    const found = new Set([...this.leases.keys()]);
    for (const [target, rows] of this.rows)
      if ([...rows.values()].some((r) => r.state === "pending")) found.add(target);
    return [...found].sort();
  }

  async lastStart(target: string): Promise<number | undefined> {
    await this.enter("lastStart");
    return this.starts.get(target);
  }

  async setLastStart(target: string, at: number): Promise<void> {
    await this.enter("setLastStart");
    if (!((this.starts.get(target) ?? -Infinity) > at)) this.starts.set(target, at);
  }

  async recordLoad(target: string, at: number): Promise<void> {
    await this.enter("recordLoad");
    const now = this.activities.get(target) ?? {};
    if (!((now.lastLoadAt ?? -Infinity) > at)) this.activities.set(target, { ...now, lastLoadAt: at });
  }

  async recordRunEnd(target: string, startedAt: number, ok: boolean, coversAll: boolean): Promise<void> {
    await this.enter("recordRunEnd");
    const now = this.activities.get(target) ?? {};
    if (!ok && !((now.failedStart ?? -Infinity) > startedAt))
      this.activities.set(target, { ...now, failedStart: startedAt });
    else if (ok && coversAll && !((now.coveredStart ?? -Infinity) > startedAt))
      this.activities.set(target, { ...now, coveredStart: startedAt });
  }

  async activity(target: string): Promise<TargetActivity> {
    await this.enter("activity");
    return { ...this.activities.get(target) };
  }

  /** Outcome per request, by its pending key (`p#…`), for assertions: `pending`, or the `finish` outcome. */
  outcomes(target: string): Record<string, string> {
    return Object.fromEntries(
      [...this.partition(target)]
        .map(
          ([key, row]) =>
            [
              `${PENDING_PREFIX}${key.slice(2)}`,
              row.state === "pending" ? "pending" : (row.outcome ?? "done"),
            ] as const,
        )
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }

  /** Pending requests of `target` as stored, read without yielding (the simulated ECS reads what a run claimed). */
  pendingSnapshot(target: string): PendingItem[] {
    return [...this.partition(target)]
      .filter(([, row]) => row.state === "pending")
      .map(([key, row]) => ({ key, request: row.request! }));
  }

  /** Puts a pending request at once, without yielding (a test's stand-in for a concurrent intake). */
  putPendingNow(target: string, item: PendingItem): void {
    this.partition(target).set(item.key, { state: "pending", request: structuredClone(item.request) });
  }

  /** Every target with a partition, read without yielding. */
  targetsSnapshot(): string[] {
    return [...this.rows.keys()];
  }

  /** True when no lease is held and no request is pending. */
  isEmpty(): boolean {
    return (
      this.leases.size === 0 &&
      [...this.rows.values()].every((rows) => [...rows.values()].every((r) => r.state !== "pending"))
    );
  }

  /** The lease as stored (for assertions), or undefined. */
  lease(target: string): Lease | undefined {
    return this.leases.get(target);
  }
}

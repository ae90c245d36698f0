/**
 * A model of an SQS FIFO queue as the runs queue uses it, on a virtual clock (epoch ms):
 *  - messages are ordered per message group; a group with a message in flight (received, not
 *    deleted, visibility not yet expired) delivers nothing else, so one batch per group at a time;
 *  - a receive takes the group's first messages in order (at most `max`), gives each a new
 *    receipt handle and hides it for the queue's visibility timeout;
 *  - ChangeMessageVisibility works only with the latest receipt handle of a message in flight;
 *  - deduplication per message group: the same deduplication id within 5 minutes is accepted and dropped;
 *  - a message received more than `maxReceiveCount` times moves to the dead-letter list (redrive).
 * Pure: no AWS. Documented behaviour: SQS Developer Guide, "FIFO queue message ordering" and
 * "Exactly-once processing" (5-minute deduplication interval).
 */

/** A message on the queue. */
export interface FifoMessage {
  readonly messageId: string;
  readonly group: string;
  readonly body: string;
  readonly dedupeId: string;
  readonly sequence: number;
  readonly sentAt: number;
  /** When the message is (again) visible; before its first receive, `sentAt`. */
  visibleAt: number;
  receiveCount: number;
  receiptHandle?: string;
}

/** What a receive hands the consumer. */
export interface Received {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly group: string;
  readonly dedupeId: string;
  readonly sequence: number;
  readonly sentAt: number;
  readonly receiveCount: number;
}

/** Queue settings. */
export interface FifoOptions {
  /** The queue's visibility timeout (seconds), applied at every receive. */
  readonly visibilityTimeoutSeconds: number;
  /** Redrive after this many receives. */
  readonly maxReceiveCount: number;
  /** Deduplication interval, seconds (SQS: 300). */
  readonly dedupeIntervalSeconds?: number;
}

/** The FIFO queue model. */
export class FifoQueue {
  private readonly messages: FifoMessage[] = [];
  private readonly dedupe = new Map<string, { messageId: string; until: number }>();
  private sequence = 0;
  private handles = 0;
  /** Messages moved to the dead-letter queue by the redrive policy. */
  readonly redriven: FifoMessage[] = [];
  /** Sends dropped by deduplication. */
  deduplicated = 0;

  constructor(private readonly options: FifoOptions) {}

  /** SendMessage: returns the message id and whether deduplication dropped the message. */
  send(group: string, body: string, dedupeId: string, now: number): { messageId: string; duplicate: boolean } {
    const key = `${group}\u0000${dedupeId}`;
    const seen = this.dedupe.get(key);
    if (seen && seen.until > now) {
      this.deduplicated++;
      return { messageId: seen.messageId, duplicate: true };
    }
    const sequence = ++this.sequence;
    const messageId = `m-${String(sequence).padStart(6, "0")}`;
    this.messages.push({ messageId, group, body, dedupeId, sequence, sentAt: now, visibleAt: now, receiveCount: 0 });
    this.dedupe.set(key, { messageId, until: now + (this.options.dedupeIntervalSeconds ?? 300) * 1000 });
    return { messageId, duplicate: false };
  }

  /** Groups that hold messages, in order of their oldest message. */
  groups(): string[] {
    return [...new Set(this.messages.map((m) => m.group))];
  }

  /** True while a message of `group` is in flight. */
  blocked(group: string, now: number): boolean {
    return this.messages.some((m) => m.group === group && m.receiveCount > 0 && m.visibleAt > now);
  }

  /** When `group` can next deliver (now if it can at once); undefined when it is empty. */
  readyAt(group: string, now: number): number | undefined {
    const mine = this.messages.filter((m) => m.group === group);
    if (!mine.length) return undefined;
    const inFlight = mine.filter((m) => m.receiveCount > 0 && m.visibleAt > now);
    return inFlight.length ? Math.max(...inFlight.map((m) => m.visibleAt)) : now;
  }

  /** The earliest time any group can deliver, or undefined when the queue is empty. */
  nextReadyAt(now: number): number | undefined {
    const times = this.groups()
      .map((g) => this.readyAt(g, now))
      .filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  /** ReceiveMessage for one group: its first messages in order, unless the group is blocked. */
  receive(group: string, now: number, max: number): Received[] {
    if (this.blocked(group, now)) return [];
    const out: Received[] = [];
    for (const m of this.messages.filter((x) => x.group === group).sort((a, b) => a.sequence - b.sequence)) {
      if (out.length >= max) break;
      if (m.receiveCount >= this.options.maxReceiveCount) {
        this.remove(m);
        this.redriven.push(m);
        continue;
      }
      m.receiveCount++;
      m.visibleAt = now + this.options.visibilityTimeoutSeconds * 1000;
      m.receiptHandle = `rh-${++this.handles}-${m.messageId}`;
      out.push({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle,
        body: m.body,
        group: m.group,
        dedupeId: m.dedupeId,
        sequence: m.sequence,
        sentAt: m.sentAt,
        receiveCount: m.receiveCount,
      });
    }
    return out;
  }

  /** ChangeMessageVisibility; false when the handle is not the latest of a message in flight. */
  changeVisibility(receiptHandle: string, seconds: number, now: number): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m || m.visibleAt <= now) return false;
    m.visibleAt = now + seconds * 1000;
    return true;
  }

  /** DeleteMessage; false when no message has this receipt handle. */
  delete(receiptHandle: string): boolean {
    const m = this.messages.find((x) => x.receiptHandle === receiptHandle);
    if (!m) return false;
    this.remove(m);
    return true;
  }

  /** Messages still on the queue. */
  size(): number {
    return this.messages.length;
  }

  /** A copy of the messages still on the queue. */
  remaining(): FifoMessage[] {
    return this.messages.map((m) => ({ ...m }));
  }

  private remove(m: FifoMessage): void {
    this.messages.splice(this.messages.indexOf(m), 1);
  }
}

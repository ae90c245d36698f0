/**
 * A day of the trigger path after dispatch, on a virtual clock, through the REAL launch core:
 *  - the runs FIFO queue (bench/fifo.ts) and its event source: a group delivers its first ≤ 10
 *    messages when none of it is in flight; what launch reports failed comes back after the
 *    visibility timeout;
 *  - launch's DynamoDB state: {@link MemoryLaunchStore} (same contract as the DynamoDB store,
 *    checked on dynalite); every call yields, so concurrent invocations interleave;
 *  - ECS as weak as the real one: RunTask throttles, reports no capacity or rejects (seeded);
 *    a repeated clientToken returns the task it started; a new task is invisible to ListTasks and
 *    DescribeTasks (MISSING) for `listTasksDelayMs`; each task lives as long as `taskSeconds` says;
 *    its RUNNING and STOPPED events reach launch after a delay, or twice, or never;
 *  - EventBridge invokes launch asynchronously: a failed invocation is retried twice (1 and 2 min);
 *  - the sweep schedule every `sweepSeconds`.
 * Concurrent Lambda invocations really run concurrently (promises on one clock), so races between
 * an SQS batch, a STOPPED event and the sweep are exercised, not serialised.
 */
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  RunTaskCommandInput,
} from "@aws-sdk/client-ecs";
import { SQSClient, SendMessageCommand, SendMessageCommandInput } from "@aws-sdk/client-sqs";
import { FifoQueue } from "../bench/fifo";
import { Rng } from "../bench/stats";
import { LaunchDeps, LaunchResult, launch } from "../functions/launch/core";
import type { LaunchSettings } from "../functions/launch/settings";
import type { Log, MetricSink } from "../functions/lib/observability";
import { RunRequest, parseRunRequest } from "../functions/lib/run-contract";
import { MemoryLaunchStore } from "./launch-memory-store";

/** Faults and delays of the simulated AWS. Rates are shares of calls or events, 0–1. */
export interface SimFaults {
  readonly throttleRate: number;
  readonly capacityRate: number;
  /** A non-retryable RunTask error: the batch is dead-lettered (counted apart from lost). */
  readonly rejectRate: number;
  /**
   * RunTask starts the task, then the call times out before the answer arrives (the SDK's
   * TimeoutError): ECS acted, launch cannot know. Optional, 0 by default.
   */
  readonly timeoutAfterStartRate?: number;
  readonly listTasksDelayMs: number;
  readonly lostStopRate: number;
  readonly duplicateStopRate: number;
  /** STOPPED events arrive 0..this many ms after the task stopped. */
  readonly stopDelayMaxMs: number;
}

/** No faults, no delays. */
export const NO_FAULTS: SimFaults = {
  throttleRate: 0,
  capacityRate: 0,
  rejectRate: 0,
  listTasksDelayMs: 0,
  lostStopRate: 0,
  duplicateStopRate: 0,
  stopDelayMaxMs: 0,
};

/** Simulation settings. */
export interface SimOptions {
  readonly seed: number;
  readonly settings?: Partial<LaunchSettings>;
  readonly faults?: Partial<SimFaults>;
  /** Seconds from RunTask to the task stopping, for a run of `request` (default 90 + 180 + 20 per source). */
  readonly taskSeconds?: (request: RunRequest) => number;
  /** Sweep period (default 300). */
  readonly sweepSeconds?: number;
  /** Lambda timeout of launch (default 120). */
  readonly timeoutSeconds?: number;
}

/** A run ECS started. */
export interface SimRun {
  readonly runId: string;
  readonly target: string;
  readonly taskArn: string;
  readonly launchedAt: number;
  readonly stoppedAt: number;
  /** `kind:id` of the triggers it serves. */
  readonly triggers: readonly string[];
  /** `<lane>|<kind>:<id>` of the requests it serves (a fast-lane request may ride in a normal run). */
  readonly requestKeys: readonly string[];
  readonly sources: readonly string[];
  readonly fullRefresh: boolean;
  readonly selectsAll: boolean;
  readonly lane: "normal" | "fast";
}

/** What a simulated day produced. */
export interface SimResult {
  readonly runs: readonly SimRun[];
  /**
   * Requests that reached the queue, by `<lane>|<kind>:<id>` of each trigger (a source's load
   * can have a normal and a fast-lane request with the same trigger), with the time sent.
   */
  readonly sent: ReadonlyMap<string, number>;
  /** `<lane>|<kind>:<id>` forwarded to the dead-letter queue by launch. */
  readonly deadLettered: ReadonlySet<string>;
  /** Messages still on the runs queue, and requests still pending, at the end. */
  readonly queueAtEnd: number;
  readonly pendingAtEnd: number;
  /** Pairs of runs of one target that were alive at the same time. */
  readonly overlaps: number;
  readonly invocations: {
    readonly sqs: number;
    /** Task-state events (RUNNING and STOPPED) delivered to launch. */
    readonly stopped: number;
    readonly sweep: number;
    readonly failed: number;
  };
  readonly runTaskCalls: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** When the simulation stopped (epoch ms). */
  readonly endedAt: number;
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void | Promise<void>;
}

interface SimTask {
  readonly arn: string;
  /** RunTask's overrides, which the task-state events carry. */
  readonly overrides: RunTaskCommandInput["overrides"];
  readonly clientToken: string;
  readonly createdAt: number;
  readonly stopAt: number;
  readonly run: SimRun;
}

const keyOf = (t: { kind: string; id: string }) => `${t.kind}:${t.id}`;
/** A request's trigger as the results count it: `<lane>|<kind>:<id>`. */
export const laneKey = (lane: string, t: { kind: string; id: string }) => `${lane}|${keyOf(t)}`;
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
const quiet: Log = { debug() {}, info() {}, warn() {}, error() {} };

/** One simulated world; `send` enqueues, `at` schedules, `run` plays it to the end. */
export class LaunchSim {
  clock: number;
  readonly store = new MemoryLaunchStore();
  readonly queue = new FifoQueue({ visibilityTimeoutSeconds: 720, maxReceiveCount: 500 });
  private readonly timers: Timer[] = [];
  private seq = 0;
  private readonly rng: Rng;
  private readonly faults: SimFaults;
  private readonly settings: LaunchSettings;
  private readonly tasks: SimTask[] = [];
  private readonly sent = new Map<string, number>();
  private readonly deadLettered = new Set<string>();
  private readonly counts: Record<string, number> = {};
  private readonly invocations = { sqs: 0, stopped: 0, sweep: 0, failed: 0 };
  private readonly inFlight = new Set<string>();
  private runTaskCalls = 0;
  private busy = 0;
  private tokens = 0;

  constructor(
    start: number,
    private readonly options: SimOptions,
  ) {
    this.clock = start;
    this.rng = new Rng(options.seed);
    this.faults = { ...NO_FAULTS, ...options.faults };
    this.settings = {
      clusterArn: "arn:aws:ecs:eu-west-1:123456789012:cluster/sim",
      taskDefinition: "sim-dbt",
      subnetIds: ["subnet-a"],
      securityGroupIds: ["sg-a"],
      assignPublicIp: "DISABLED",
      burstWindowSeconds: 10,
      minRunIntervalSeconds: 0,
      hourlySkipWhenIdle: false,
      maxLaunchAttempts: 5,
      dlqUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/sim-dlq.fifo",
      tableName: "sim-launch",
      leaseSeconds: 3600,
      doneSeconds: 172800,
      ...options.settings,
    };
  }

  /** Runs `fn` at virtual time `at` (not before now); a promise it returns is awaited before the clock moves on. */
  at(at: number, fn: () => void | Promise<void>): void {
    this.timers.push({ at: Math.max(at, this.clock), seq: ++this.seq, fn });
  }

  /** Dispatch's SendMessage: a run request onto the runs queue (deduplicated as SQS FIFO does). */
  send(body: string, dedupeId: string): void {
    const request = parseRunRequest(JSON.parse(body));
    const out = this.queue.send(request.target, body, dedupeId, this.clock);
    if (!out.duplicate)
      for (const t of request.triggers)
        if (!this.sent.has(laneKey(request.lane, t))) this.sent.set(laneKey(request.lane, t), this.clock);
  }

  /** Age (s) of every run request on the queue or pending in launch's store now, by its oldest trigger. */
  waitingAges(): number[] {
    const oldest = (r: RunRequest) => Math.min(...r.triggers.map((t) => Date.parse(t.receivedAt)));
    const requests = [
      ...this.queue.remaining().map((m) => parseRunRequest(JSON.parse(m.body))),
      ...this.store.targetsSnapshot().flatMap((t) => this.store.pendingSnapshot(t).map((p) => p.request)),
    ];
    return requests.map((r) => (this.clock - oldest(r)) / 1000);
  }

  /** Plays the world until nothing is left to do after `until` (or `horizon` passes). */
  async run(until: number, horizon: number): Promise<SimResult> {
    const sweepMs = (this.options.sweepSeconds ?? 300) * 1000;
    const sweepAt = (t: number) =>
      this.at(t, () => {
        this.invoke("sweep", { kind: "sweep" });
        if (this.clock < horizon && !this.finished(until)) sweepAt(this.clock + sweepMs);
      });
    sweepAt(this.clock + sweepMs);
    for (;;) {
      this.poll();
      await settle();
      if (this.finished(until)) break;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const first = this.timers[0];
      if (!first || first.at > horizon) break;
      this.clock = Math.max(this.clock, first.at);
      // Everything due at this instant starts together, so invocations interleave at every await.
      const end = this.timers.findIndex((t) => t.at > first.at);
      const due = this.timers.splice(0, end === -1 ? this.timers.length : end);
      await Promise.all(due.map((timer) => Promise.resolve(timer.fn())));
      await settle();
    }
    const pendingAtEnd = (
      await Promise.all((await this.store.targets()).map((t) => this.store.pending(t, 1_000_000)))
    ).flat().length;
    const runs = this.tasks.map((t) => t.run).sort((a, b) => a.launchedAt - b.launchedAt);
    return {
      runs,
      sent: this.sent,
      deadLettered: this.deadLettered,
      queueAtEnd: this.queue.size(),
      pendingAtEnd,
      overlaps: countOverlaps(runs),
      invocations: { ...this.invocations },
      runTaskCalls: this.runTaskCalls,
      metrics: { ...this.counts },
      endedAt: this.clock,
    };
  }

  private finished(until: number): boolean {
    if (this.clock < until || this.busy > 0 || this.queue.size() > 0) return false;
    return !this.tasks.some((t) => t.stopAt > this.clock) && this.store.isEmpty();
  }

  /** The event source: each group with visible messages and none in flight gets a batch. */
  private poll(): void {
    for (const group of this.queue.groups()) {
      if (this.inFlight.has(group) || this.queue.readyAt(group, this.clock) !== this.clock) continue;
      const records = this.queue.receive(group, this.clock, 10);
      if (!records.length) continue;
      this.inFlight.add(group);
      const event = {
        Records: records.map((r) => ({
          messageId: r.messageId,
          receiptHandle: r.receiptHandle,
          body: r.body,
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:sim-runs.fifo",
          attributes: {
            MessageGroupId: r.group,
            ApproximateReceiveCount: String(r.receiveCount),
            MessageDeduplicationId: r.dedupeId,
          },
        })),
      };
      void this.call(event).then((result) => {
        this.inFlight.delete(group);
        const failed = new Set(
          result && "batchItemFailures" in result
            ? result.batchItemFailures.map((f) => f.itemIdentifier)
            : records.map((r) => r.messageId),
        );
        for (const r of records) if (!failed.has(r.messageId)) this.queue.delete(r.receiptHandle);
        // Failed messages come back when their visibility expires: look again then.
        const ready = this.queue.nextReadyAt(this.clock);
        if (ready !== undefined) this.at(ready, () => undefined);
      });
      this.invocations.sqs++;
    }
  }

  /** An asynchronous invocation (EventBridge, Scheduler): retried twice on error, 1 and 2 minutes later. */
  private invoke(kind: "stopped" | "sweep", event: unknown, attempt = 0): void {
    this.invocations[kind]++;
    void this.call(event).then((result) => {
      if (result === undefined && attempt < 2)
        this.at(this.clock + (attempt + 1) * 60_000, () => this.invoke(kind, event, attempt + 1));
    });
  }

  private async call(event: unknown): Promise<LaunchResult | undefined> {
    this.busy++;
    const deadline = this.clock + (this.options.timeoutSeconds ?? 120) * 1000;
    try {
      return await launch(event, this.deps(deadline));
    } catch {
      this.invocations.failed++;
      return undefined;
    } finally {
      this.busy--;
    }
  }

  private deps(deadline: number): LaunchDeps {
    const metrics: MetricSink = {
      addMetric: (name, _unit, value) => void (this.counts[name] = (this.counts[name] ?? 0) + value),
    };
    return {
      settings: this.settings,
      ecs: { send: (command: unknown) => this.ecs(command) } as unknown as ECSClient,
      sqs: { send: (command: unknown) => this.sqs(command) } as unknown as SQSClient,
      store: this.store,
      logger: quiet,
      metrics,
      now: () => new Date(this.clock),
      sleep: (ms) => new Promise<void>((resolve) => this.at(this.clock + ms, resolve)),
      token: () => `holder-${++this.tokens}`,
      remainingMs: () => deadline - this.clock,
    };
  }

  private async sqs(command: unknown): Promise<unknown> {
    await Promise.resolve();
    if (!(command instanceof SendMessageCommand)) throw new Error(`sim: unexpected SQS command ${String(command)}`);
    const input: SendMessageCommandInput = command.input;
    try {
      const parsed = JSON.parse(input.MessageBody ?? "") as unknown;
      for (const r of Array.isArray(parsed) ? parsed : [parsed]) {
        const request = parseRunRequest(r);
        for (const t of request.triggers) this.deadLettered.add(laneKey(request.lane, t));
      }
    } catch {
      // poison: no triggers to count
    }
    return { MessageId: `dlq-${this.deadLettered.size}` };
  }

  private async ecs(command: unknown): Promise<unknown> {
    await Promise.resolve();
    const visible = (t: SimTask) => t.createdAt + this.faults.listTasksDelayMs <= this.clock;
    if (command instanceof ListTasksCommand) {
      const startedBy = command.input.startedBy;
      return {
        taskArns: this.tasks
          .filter(
            (t) => visible(t) && t.stopAt > this.clock && (!startedBy || `dbt-pipeline/${t.run.runId}` === startedBy),
          )
          .map((t) => t.arn),
      };
    }
    if (command instanceof DescribeTasksCommand) {
      const arns = command.input.tasks ?? [];
      const found = this.tasks.filter((t) => arns.includes(t.arn) && visible(t));
      return {
        tasks: found.map((t) => ({ taskArn: t.arn, lastStatus: t.stopAt <= this.clock ? "STOPPED" : "RUNNING" })),
        failures: arns.filter((a) => !found.some((t) => t.arn === a)).map((arn) => ({ arn, reason: "MISSING" })),
      };
    }
    if (command instanceof RunTaskCommand) return this.runTask(command.input);
    throw new Error(`sim: unexpected ECS command ${String(command)}`);
  }

  private runTask(input: RunTaskCommandInput): unknown {
    this.runTaskCalls++;
    const roll = this.rng.next();
    const f = this.faults;
    if (roll < f.throttleRate)
      throw Object.assign(new Error("Rate exceeded"), {
        name: "ThrottlingException",
        $metadata: { httpStatusCode: 400 },
      });
    if (roll < f.throttleRate + f.capacityRate)
      return {
        tasks: [],
        failures: [
          {
            reason: "Capacity is unavailable at this time. Please try again later or in a different availability zone",
          },
        ],
      };
    if (roll < f.throttleRate + f.capacityRate + f.rejectRate)
      throw Object.assign(
        new Error("The specified platform does not satisfy the task definition's required capabilities."),
        { name: "PlatformTaskDefinitionIncompatibilityException" },
      );
    const known = this.tasks.find((t) => t.clientToken === input.clientToken);
    if (known) return { tasks: [{ taskArn: known.arn }], failures: [] };
    const runId = (input.startedBy ?? "").replace(/^dbt-pipeline\//, "");
    const command = input.overrides?.containerOverrides?.find((c) => c.name === "dbt")?.command ?? [];
    const target = command[command.indexOf("--target") + 1] ?? "";
    const lease = this.store.lease(target);
    const claimed = new Set(lease?.runId === runId ? (lease.claimed ?? []) : []);
    const requests = this.store
      .pendingSnapshot(target)
      .filter((p) => claimed.has(p.key))
      .map((p) => p.request);
    const sources = [...new Set(requests.flatMap((r) => r.sources))].sort();
    const merged: RunRequest = {
      ...requests[0],
      sources,
      select: command.includes("--select") ? ["x"] : [],
      fullRefresh: command.includes("--full-refresh"),
    };
    const seconds = this.options.taskSeconds?.(merged) ?? 90 + 180 + 20 * sources.length;
    const arn = `arn:aws:ecs:eu-west-1:123456789012:task/sim/${String(this.tasks.length + 1).padStart(8, "0")}`;
    const run: SimRun = {
      runId,
      target,
      taskArn: arn,
      launchedAt: this.clock,
      stoppedAt: this.clock + seconds * 1000,
      triggers: [...new Set(requests.flatMap((r) => r.triggers.map(keyOf)))],
      requestKeys: [...new Set(requests.flatMap((r) => r.triggers.map((t) => laneKey(r.lane, t))))],
      sources,
      fullRefresh: merged.fullRefresh,
      selectsAll: !command.includes("--select"),
      lane: requests.some((r) => r.lane === "normal") ? "normal" : "fast",
    };
    const task: SimTask = {
      arn,
      overrides: input.overrides,
      clientToken: input.clientToken ?? "",
      createdAt: this.clock,
      stopAt: run.stoppedAt,
      run,
    };
    this.tasks.push(task);
    // ECS sends RUNNING once the containers start (about when dbt would): lost or duplicated like STOPPED.
    this.at(this.clock + Math.min(45_000, (seconds * 1000) / 2), () => this.stateChange(task, "RUNNING"));
    this.at(task.stopAt, () => this.stateChange(task, "STOPPED"));
    const timeoutRate = f.timeoutAfterStartRate ?? 0;
    if (timeoutRate > 0 && this.rng.chance(timeoutRate))
      throw Object.assign(new Error("Connection timed out after 30000 ms"), { name: "TimeoutError" });
    return { tasks: [{ taskArn: arn, lastStatus: "PROVISIONING" }], failures: [] };
  }

  /** The task changed state: its event reaches launch after a delay, twice, or never. */
  private stateChange(task: SimTask, lastStatus: "RUNNING" | "STOPPED"): void {
    if (this.rng.chance(this.faults.lostStopRate)) return;
    const event = {
      version: "0",
      id: `${lastStatus.toLowerCase()}-${task.arn}`,
      "detail-type": "ECS Task State Change",
      source: "aws.ecs",
      account: "123456789012",
      time: new Date(this.clock).toISOString(),
      region: "eu-west-1",
      resources: [task.arn],
      detail: {
        clusterArn: this.settings.clusterArn,
        taskArn: task.arn,
        lastStatus,
        desiredStatus: lastStatus,
        group: "family:sim-dbt",
        startedBy: `dbt-pipeline/${task.run.runId}`,
        ...(lastStatus === "STOPPED" ? { stopCode: "EssentialContainerExited" } : {}),
        containers: [{ name: "dbt", lastStatus, ...(lastStatus === "STOPPED" ? { exitCode: 0 } : {}) }],
        overrides: task.overrides,
      },
    };
    const copies = this.rng.chance(this.faults.duplicateStopRate) ? 2 : 1;
    for (let i = 0; i < copies; i++)
      this.at(this.clock + this.rng.next() * this.faults.stopDelayMaxMs, () => this.invoke("stopped", event));
  }
}

/** Pairs of runs of one target whose lifetimes intersect. */
export function countOverlaps(runs: readonly SimRun[]): number {
  let n = 0;
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      if (
        runs[i].target === runs[j].target &&
        runs[j].launchedAt < runs[i].stoppedAt &&
        runs[i].launchedAt < runs[j].stoppedAt
      )
        n++;
    }
  }
  return n;
}

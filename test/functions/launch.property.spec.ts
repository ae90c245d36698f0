/**
 * Properties of launch over generated days (fast-check), through the real launch core in a
 * simulated AWS (sim/launch-sim.ts): sources 1–100, bursts, duplicates spread over 24 h, dbt runs
 * longer than the window, ListTasks/DescribeTasks blind for 0–5 s after RunTask, RunTask
 * throttling, missing capacity and rejections, STOPPED events delayed, duplicated and lost.
 */
import { expect } from "chai";
import fc from "fast-check";
import { LaunchSim, SimResult } from "../../sim/launch-sim";

const DAY = 24 * 3600_000;
const START = Date.parse("2026-11-23T00:00:00.000Z");

interface Load {
  readonly source: number;
  readonly at: number;
  /** Extra deliveries of the same request, ms after the first (vendor retries, redeliveries). */
  readonly copies: readonly number[];
  readonly fast: boolean;
}

interface Day {
  readonly seed: number;
  readonly sources: number;
  readonly targets: number;
  readonly loads: readonly Load[];
  readonly fullRefreshAt?: number;
  readonly windowSeconds: number;
  /** Minimum interval between the starts of a target's runs. */
  readonly intervalSeconds: number;
  readonly taskMinutes: readonly [number, number];
  readonly faults: {
    readonly throttleRate: number;
    readonly capacityRate: number;
    readonly rejectRate: number;
    readonly timeoutAfterStartRate: number;
    readonly listTasksDelayMs: number;
    readonly lostStopRate: number;
    readonly duplicateStopRate: number;
    readonly stopDelayMaxMs: number;
  };
}

const rate = (max: number) => fc.integer({ min: 0, max: Math.round(max * 100) }).map((n) => n / 100);

/** A day: loads spread over 24 h, some in bursts (several sources in the same second), some delivered again hours later. */
const days: fc.Arbitrary<Day> = fc.integer({ min: 1, max: 100 }).chain((sources) =>
  fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    sources: fc.constant(sources),
    targets: fc.integer({ min: 1, max: 2 }),
    loads: fc
      .array(
        fc.oneof(
          fc.record({
            source: fc.integer({ min: 0, max: sources - 1 }),
            at: fc.integer({ min: 0, max: DAY - 1 }),
            copies: fc.array(fc.integer({ min: 0, max: DAY / 2 }), { maxLength: 2 }),
            fast: fc.boolean(),
          }),
          // A burst: several sources finishing in the same second.
          fc
            .tuple(
              fc.integer({ min: 0, max: DAY - 1 }),
              fc.uniqueArray(fc.integer({ min: 0, max: sources - 1 }), { minLength: 2, maxLength: 8 }),
            )
            .map(([at, list]) => list.map((source) => ({ source, at, copies: [0], fast: false }))),
        ),
        { minLength: 1, maxLength: 40 },
      )
      .map((xs) => xs.flat()),
    fullRefreshAt: fc.option(fc.integer({ min: 0, max: DAY - 1 }), { nil: undefined }),
    windowSeconds: fc.constantFrom(0, 10, 30),
    intervalSeconds: fc.constantFrom(0, 600, 900),
    taskMinutes: fc
      .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 120 }))
      .map(([a, b]) => [a, a + b] as const),
    faults: fc.record({
      throttleRate: rate(0.3),
      capacityRate: rate(0.2),
      rejectRate: rate(0.05),
      // RunTask started the task but the call timed out: launch must not start a second one.
      timeoutAfterStartRate: rate(0.2),
      listTasksDelayMs: fc.integer({ min: 0, max: 5000 }),
      lostStopRate: rate(0.5),
      duplicateStopRate: rate(0.5),
      stopDelayMaxMs: fc.integer({ min: 0, max: 10_000 }),
    }),
  }),
);

/** Plays `day` and returns what happened. */
async function play(day: Day): Promise<SimResult> {
  let lengths = day.seed;
  const sim = new LaunchSim(START, {
    seed: day.seed,
    settings: { burstWindowSeconds: day.windowSeconds, minRunIntervalSeconds: day.intervalSeconds },
    faults: day.faults,
    taskSeconds: () => {
      // A deterministic spread of run lengths in [min, max] minutes.
      lengths = (lengths * 1103515245 + 12345) % 2147483648;
      return (day.taskMinutes[0] + (lengths % (day.taskMinutes[1] - day.taskMinutes[0] + 1))) * 60;
    },
  });
  const target = (source: number) => (day.targets === 2 && source % 2 ? "staging" : "prod");
  const send = (body: object, dedupe: string, at: number) => sim.at(at, () => sim.send(JSON.stringify(body), dedupe));
  day.loads.forEach((load, i) => {
    const name = `s${load.source}`;
    const trigger = {
      kind: "fivetran",
      id: `sync-${i}`,
      source: name,
      receivedAt: new Date(START + load.at).toISOString(),
    };
    const normal = { target: target(load.source), select: [`source:${name}+`], sources: [name], triggers: [trigger] };
    for (const delay of [0, ...load.copies]) {
      send(normal, `n-${i}`, START + load.at + delay);
      if (load.fast)
        send({ ...normal, select: [`source:${name}+,tag:dashboard`], lane: "fast" }, `f-${i}`, START + load.at + delay);
    }
  });
  if (day.fullRefreshAt !== undefined) {
    const trigger = {
      kind: "schedule",
      id: "full-refresh",
      receivedAt: new Date(START + day.fullRefreshAt).toISOString(),
    };
    send({ target: "prod", fullRefresh: true, triggers: [trigger] }, "full-refresh", START + day.fullRefreshAt);
  }
  return sim.run(START + DAY, START + 4 * DAY);
}

describe("launch properties over generated days", () => {
  it("never two runs of a target at once; every request in exactly one run or dead-lettered (again run only when delivered again); nothing left at the end", async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(days, async (day) => {
        const result = await play(day);
        expect(result.overlaps, "overlapping runs").to.equal(0);
        const inRuns = new Map<string, number>();
        for (const run of result.runs) for (const k of run.requestKeys) inRuns.set(k, (inRuns.get(k) ?? 0) + 1);
        const sent = [...result.sent.keys()];
        // Lost: sent, in no run, not dead-lettered. Dead-lettered requests are counted apart, never as served.
        expect(
          sent.filter((k) => !inRuns.has(k) && !result.deadLettered.has(k)),
          "lost",
        ).to.deep.equal([]);
        expect(
          [...inRuns].filter(([, n]) => n > 1).map(([k]) => k),
          "in more than one run",
        ).to.deep.equal([]);
        // A dead-lettered request runs only when its body comes back later (a redrive, or a copy
        // delivered after the FIFO queue's five-minute deduplication): never from one delivery.
        const deliveredAgain = new Set(
          day.loads.flatMap((load, i) =>
            load.copies.some((delay) => delay > 300_000)
              ? [`normal|fivetran:sync-${i}`, `fast|fivetran:sync-${i}`]
              : [],
          ),
        );
        expect(
          sent.filter((k) => inRuns.has(k) && result.deadLettered.has(k) && !deliveredAgain.has(k)),
          "both run and dead-lettered from one delivery",
        ).to.deep.equal([]);
        expect(
          [...inRuns.keys()].filter((k) => !result.sent.has(k)),
          "runs of requests never sent",
        ).to.deep.equal([]);
        expect({ queue: result.queueAtEnd, pending: result.pendingAtEnd }).to.deep.equal({ queue: 0, pending: 0 });
        expect(result.endedAt, "the day drained before the horizon").to.be.below(START + 4 * DAY);
      }),
      // endOnFailure: shrinking a simulated day takes longer than the test's timeout; the first
      // counterexample is reported as found.
      { numRuns: 25, seed: 20261123, endOnFailure: true },
    );
  });

  it("a fault-free idle day starts each isolated load's run one window after it arrives", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom(0, 10, 30),
        async (hours, window) => {
          const day: Day = {
            seed: 1,
            sources: 1,
            targets: 1,
            windowSeconds: window,
            // Loads an hour or more apart: the spacing never delays an idle target's leading edge.
            intervalSeconds: 900,
            taskMinutes: [5, 5],
            loads: hours.map((h) => ({ source: 0, at: h * 3600_000, copies: [], fast: false })),
            faults: {
              throttleRate: 0,
              capacityRate: 0,
              rejectRate: 0,
              timeoutAfterStartRate: 0,
              listTasksDelayMs: 0,
              lostStopRate: 0,
              duplicateStopRate: 0,
              stopDelayMaxMs: 0,
            },
          };
          const result = await play(day);
          const expected = [...hours].sort((a, b) => a - b).map((h) => START + h * 3600_000 + window * 1000);
          expect(result.runs.map((r) => r.launchedAt)).to.deep.equal(expected);
        },
      ),
      { numRuns: 10, seed: 7 },
    );
  });
});

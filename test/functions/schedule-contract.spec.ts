/**
 * The contract between the schedules the Triggers component declares and what dispatch accepts:
 * each EventBridge Scheduler `input` the component builds, with Scheduler's context attributes
 * filled in as Scheduler fills them, must be parsed by dispatch and queue the run its schedule
 * stands for. A change on either side (an input key renamed, a schedule added on one side only,
 * the schema tightened) fails here.
 */
import { expect } from "chai";
import { scheduleSpecs } from "../../components/triggers/settings";
import { dispatch } from "../../functions/dispatch/core";
import { ScheduleEventSchema } from "../../functions/dispatch/schema";
import { NOW, QUEUE_URL, useDispatchHarness } from "./dispatch-harness";
import { sha256 } from "./support";

/** What `scheduleSpecs` reads of `triggers.*` config (the values are those of a stack file). */
const triggers = {
  hourlyEnabled: true,
  hourlySchedule: "cron(5 * * * ? *)",
  hourlySelect: "source_status:fresher+",
  fullRefreshEnabled: true,
  fullRefreshSchedule: "cron(0 2 * * ? *)",
  fullRefreshSelect: "",
  fullRefreshExclude: "",
  timezone: "UTC",
} as Parameters<typeof scheduleSpecs>[0];

/**
 * Scheduler replaces each `<aws.scheduler.*>` keyword of the input with its value when it invokes
 * the target; `scheduled-time` is e.g. `2022-03-22T18:59:43Z` (EventBridge Scheduler User Guide,
 * "Adding context attributes").
 */
function asSchedulerSends(input: string, scheduledTime: string): unknown {
  const filled = input
    .replaceAll("<aws.scheduler.scheduled-time>", scheduledTime)
    .replaceAll("<aws.scheduler.schedule-arn>", "arn:aws:scheduler:eu-west-1:123456789012:schedule/dbt-pipeline-dev/x")
    .replaceAll("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3")
    .replaceAll("<aws.scheduler.attempt-number>", "1");
  expect(filled, "an input keyword Scheduler does not fill").not.to.match(/<aws\.scheduler\./);
  return JSON.parse(filled);
}

describe("schedule input ↔ dispatch contract", () => {
  const h = useDispatchHarness();
  const specs = scheduleSpecs(triggers);

  it("the component declares exactly the schedules dispatch knows", () => {
    expect(specs.map((s) => s.key)).to.deep.equal(["hourly", "full-refresh"]);
  });

  for (const spec of scheduleSpecs(triggers)) {
    it(`the ${spec.key} input, as Scheduler sends it, is what dispatch's schedule schema accepts`, () => {
      const parsed = ScheduleEventSchema.safeParse(asSchedulerSends(spec.input, "2026-11-22T02:00:00Z"));
      expect(parsed.success, parsed.success ? "" : parsed.error.message).to.equal(true);
      expect(parsed.data).to.deep.equal({
        kind: "schedule",
        schedule: spec.key,
        scheduledTime: "2026-11-22T02:00:00Z",
      });
    });
  }

  const runs: [string, string, Record<string, unknown>][] = [
    [
      "hourly",
      "queued the hourly dbt run scheduled for 2026-11-22T02:00:00Z",
      { select: ["source_status:fresher+"], fullRefresh: false },
    ],
    [
      "full-refresh",
      "queued the full-refresh dbt run scheduled for 2026-11-22T02:00:00Z",
      { select: [], fullRefresh: true },
    ],
  ];
  for (const [key, message, run] of runs) {
    it(`dispatch queues the ${key} run for the component's ${key} input`, async () => {
      // Prepare
      const spec = specs.find((s) => s.key === key);
      expect(spec, `no ${key} schedule declared`).not.to.equal(undefined);
      // Act
      const result = await dispatch(asSchedulerSends(spec!.input, "2026-11-22T02:00:00Z"), h.deps());
      // Assess
      expect(result).to.deep.equal({
        status: "queued",
        delivery: `schedule:${key}:2026-11-22T02:00:00Z`,
        messageId: "msg-1",
        message,
        duplicate: false,
      });
      expect(h.sent()).to.deep.equal([
        {
          QueueUrl: QUEUE_URL,
          MessageBody: JSON.stringify({
            command: "build",
            select: run.select,
            exclude: [],
            vars: {},
            fullRefresh: run.fullRefresh,
            target: "dev",
            defer: false,
            lane: "normal",
            triggers: [{ kind: "schedule", id: `${key}:2026-11-22T02:00:00Z`, receivedAt: NOW }],
            sources: [],
          }),
          MessageGroupId: "dev",
          MessageDeduplicationId: sha256(`schedule:${key}:2026-11-22T02:00:00Z`),
        },
      ]);
    });
  }
});

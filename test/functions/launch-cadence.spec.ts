import { expect } from "chai";
import { dueAt, isHourlyOnly } from "../../functions/launch/cadence";
import type { LaunchSettings } from "../../functions/launch/settings";
import { parseRunRequest } from "../../functions/lib/run-contract";

describe("launch cadence rules", () => {
  const T = Date.parse("2026-11-22T10:00:00.000Z");
  const settings = { burstWindowSeconds: 10, minRunIntervalSeconds: 900 } as LaunchSettings;
  const table: [string, number, number | undefined, number][] = [
    ["an idle target never run: one window after the oldest trigger", T, undefined, T + 10_000],
    ["the previous start long ago: one window after the oldest trigger", T, T - 3600_000, T + 10_000],
    ["the previous start 6 minutes ago: 15 minutes after that start", T, T - 360_000, T + 540_000],
    ["a trigger arriving just before the interval ends: its window wins", T + 895_000, T, T + 905_000],
  ];
  for (const [what, oldest, last, due] of table)
    it(`due: ${what}`, () => expect(dueAt(oldest, last, settings)).to.equal(due));

  it("hourly-only: every trigger an hourly schedule", () => {
    const req = (triggers: { kind: string; id: string }[]) =>
      parseRunRequest({
        target: "prod",
        triggers: triggers.map((t) => ({ ...t, receivedAt: "2026-11-22T10:05:01.000Z" })),
      });
    expect([
      isHourlyOnly(req([{ kind: "schedule", id: "hourly:2026-11-22T10:05:00Z" }])),
      isHourlyOnly(req([{ kind: "schedule", id: "full-refresh:2026-11-22T02:00:00Z" }])),
      isHourlyOnly(
        req([
          { kind: "schedule", id: "hourly:2026-11-22T10:05:00Z" },
          { kind: "manual", id: "alice-1" },
        ]),
      ),
    ]).to.deep.equal([true, false, false]);
  });
});

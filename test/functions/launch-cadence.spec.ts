import { expect } from "chai";
import { coversAll, dueAt, isHourlyOnly } from "../../functions/launch/cadence";
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

  describe("covers everything (a success clears the hourly skip's failed-run mark)", () => {
    const at = "2026-11-22T10:05:01.000Z";
    const rows: [string, Record<string, unknown>, boolean][] = [
      [
        "an hourly run",
        { select: ["source_status:fresher+"], triggers: [{ kind: "schedule", id: "hourly:x", receivedAt: at }] },
        true,
      ],
      [
        "a source run joined with an hourly request",
        {
          select: ["source:stripe+", "source_status:fresher+"],
          triggers: [
            { kind: "schedule", id: "hourly:x", receivedAt: at },
            { kind: "fivetran", id: "s1", source: "stripe", receivedAt: at },
          ],
          sources: ["stripe"],
        },
        true,
      ],
      [
        "a full refresh of every node",
        { fullRefresh: true, triggers: [{ kind: "schedule", id: "full-refresh:x", receivedAt: at }] },
        true,
      ],
      [
        "a full refresh of a selection only",
        {
          select: ["tag:daily"],
          fullRefresh: true,
          triggers: [{ kind: "schedule", id: "full-refresh:x", receivedAt: at }],
        },
        false,
      ],
      [
        "a full refresh of everything but an exclusion",
        {
          exclude: ["tag:heavy"],
          fullRefresh: true,
          triggers: [{ kind: "schedule", id: "full-refresh:x", receivedAt: at }],
        },
        false,
      ],
      [
        "a source run",
        {
          select: ["source:stripe+"],
          triggers: [{ kind: "fivetran", id: "s1", source: "stripe", receivedAt: at }],
          sources: ["stripe"],
        },
        false,
      ],
      ["a manual run of every node", { triggers: [{ kind: "manual", id: "alice-1", receivedAt: at }] }, true],
    ];
    for (const [what, input, expected] of rows)
      it(`${what}: ${expected ? "covers" : "does not cover"}`, () =>
        expect(coversAll(parseRunRequest({ target: "prod", ...input }))).to.equal(expected));
  });
});

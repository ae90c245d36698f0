import { expect } from "chai";
import { parseSourcesDocument } from "../../functions/lib/sources";
import { TRACE_SOURCES, generateTrace, sourcesDocument, summarizeTrace } from "../../bench/trace";

describe("bench trace generator", () => {
  const trace = generateTrace({ seed: 1234 });

  it("is the same for the same seed and differs for another seed", () => {
    expect(generateTrace({ seed: 1234 }).events).to.deep.equal(trace.events);
    expect(generateTrace({ seed: 1235 }).events).to.not.deep.equal(trace.events);
  });

  it("orders deliveries by time within the day and numbers them", () => {
    const ats = trace.events.map((e) => e.at);
    expect(ats).to.deep.equal([...ats].sort((a, b) => a - b));
    expect(trace.events.map((e) => e.seq)).to.deep.equal(trace.events.map((_, i) => i));
    expect(Math.min(...ats)).to.be.at.least(0);
    expect(Math.max(...trace.events.filter((e) => e.attempt === "original").map((e) => e.loadedAt))).to.be.below(
      24 * 3600_000,
    );
  });

  it("has the 24 hourly schedules at the configured minute and one full refresh", () => {
    const schedules = trace.events.filter((e) => e.kind === "schedule" && e.attempt === "original");
    expect(schedules.filter((e) => e.schedule === "hourly").map((e) => e.id.slice(-13))).to.deep.equal(
      Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, "0")}:05:00.000Z`),
    );
    expect(schedules.filter((e) => e.schedule === "full-refresh").map((e) => e.id)).to.deep.equal([
      "full-refresh:2026-11-23T02:00:00.000Z",
    ]);
  });

  it("sends each source's syncs at its cadence, and a notification per RAW table per load", () => {
    const stripe = trace.events.filter(
      (e) => e.source === "stripe" && e.kind === "fivetran" && e.attempt === "original" && e.success,
    );
    const stripeTables = trace.events.filter(
      (e) => e.source === "stripe" && e.kind === "snowflake" && e.attempt === "original",
    );
    expect(stripe).to.have.length.within(94, 96);
    expect(stripeTables).to.have.length(stripe.length * 2);
    expect(trace.events.filter((e) => e.source === "netsuite" && e.attempt === "original")).to.have.length.within(5, 6);
  });

  it("repeats a Fivetran delivery at +0 s and +5 min with the same key, and SNS redeliveries with the same key", () => {
    for (const retry of trace.events.filter((e) => e.attempt === "retry-0s")) {
      const original = trace.events.find((e) => e.key === retry.key && e.attempt === "original")!;
      expect(retry.at).to.equal(original.at);
      expect(trace.events.find((e) => e.key === retry.key && e.attempt === "retry-5min")!.at).to.equal(
        original.at + 300_000,
      );
    }
    for (const again of trace.events.filter((e) => e.attempt === "sns-redelivery")) {
      expect(trace.events.filter((e) => e.key === again.key).map((e) => e.attempt)).to.deep.equal([
        "original",
        "sns-redelivery",
      ]);
    }
    const summary = summarizeTrace(trace);
    expect(summary.byAttempt["retry-0s"]).to.be.greaterThan(0);
    expect(summary.distinctDeliveries).to.equal(summary.byAttempt.original);
  });

  it("uses dispatch's delivery keys, which are also the triggers' kind:id", () => {
    for (const e of trace.events) {
      if (e.kind === "snowflake")
        expect(e.key)
          .to.equal(`snowflake:${e.id}`)
          .and.match(/^snowflake:\d+:[A-Z_]+$/);
      else if (e.success) expect(e.key).to.equal(`${e.kind}:${e.id}`);
      else expect(e.key).to.equal(`${e.kind}:${e.id}:failed`);
    }
  });

  it("has bursts where three or more sources deliver within a minute", () => {
    expect(summarizeTrace(trace).bursts).to.be.greaterThan(10);
  });

  it("writes a sources.json dispatch accepts, mapping every connector and table", () => {
    const index = parseSourcesDocument(sourcesDocument("prod"));
    expect(index.target).to.equal("prod");
    for (const s of TRACE_SOURCES) {
      if (s.vendor === "fivetran") expect(index.byFivetranConnector(s.connector!)?.name).to.equal(s.name);
      if (s.vendor === "airbyte") expect(index.byAirbyteConnection(s.connector!)?.name).to.equal(s.name);
      for (const t of s.rawTables) expect(index.byRawTable(t)?.name).to.equal(s.name);
    }
  });
});

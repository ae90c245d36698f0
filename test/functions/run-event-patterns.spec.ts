/**
 * docs/run-events.md is what another team copies its EventBridge rule from: every pattern it shows
 * must name the bus's source and detail-type, and ask only for detail fields and values that a
 * `dbt.run.completed` event can carry (checked against the detail schema notify publishes with).
 */
import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { RunCompletedDetailSchema } from "../../functions/lib/run-event";

const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "run-events.md"), "utf8");
const section = (title: string) => {
  const start = doc.indexOf(`## ${title}`);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
};

const PatternSchema = z
  .object({
    source: z.array(z.string()),
    "detail-type": z.array(z.string()),
    detail: z.record(z.string(), z.array(z.string())).optional(),
  })
  .strict();

/** The patterns of the Subscribing section: each line of its JSON blocks, and the CLI's `--event-pattern`. */
function documentedPatterns(): { text: string; pattern: z.infer<typeof PatternSchema> }[] {
  const subscribing = section("Subscribing");
  const texts = [
    ...[...subscribing.matchAll(/```json\n([\s\S]*?)\n```/g)].flatMap((m) => m[1].split("\n")),
    ...[...subscribing.matchAll(/--event-pattern '([^']+)'/g)].map((m) => m[1]),
  ];
  return texts.map((text) => ({ text, pattern: PatternSchema.parse(JSON.parse(text)) }));
}

const exampleDetail = (): Record<string, unknown> => {
  const match = /```json\n([\s\S]*?)\n```/.exec(section("Example"));
  if (!match) throw new Error("docs/run-events.md has no JSON example");
  return z.object({ detail: z.record(z.string(), z.unknown()) }).parse(JSON.parse(match[1])).detail;
};

describe("run event patterns in docs/run-events.md", () => {
  const patterns = documentedPatterns();

  it("shows the four patterns of its Subscribing section", () => {
    expect(patterns.map((p) => p.text)).to.deep.equal([
      '{ "source": ["dbt-pipeline"], "detail-type": ["dbt.run.completed"], "detail": { "status": ["success"] } }',
      '{ "source": ["dbt-pipeline"], "detail-type": ["dbt.run.completed"], "detail": { "sources": ["stripe"] } }',
      '{ "source": ["dbt-pipeline"], "detail-type": ["dbt.run.completed"], "detail": { "status": ["failed", "not_started"] } }',
      '{"source":["dbt-pipeline"],"detail-type":["dbt.run.completed"],"detail":{"status":["success"]}}',
    ]);
  });

  it("each names the pipeline's source and detail-type", () => {
    for (const { text, pattern } of patterns) {
      expect(pattern.source, text).to.deep.equal(["dbt-pipeline"]);
      expect(pattern["detail-type"], text).to.deep.equal(["dbt.run.completed"]);
    }
  });

  it("each asks only for values an event's detail can hold (a scalar field equal to it, or a list containing it)", () => {
    const base = exampleDetail();
    for (const { text, pattern } of patterns) {
      for (const [field, values] of Object.entries(pattern.detail ?? {})) {
        expect(Object.keys(RunCompletedDetailSchema.shape), `${text}: ${field}`).to.include(field);
        for (const value of values) {
          const asScalar = RunCompletedDetailSchema.safeParse({ ...base, [field]: value }).success;
          const asList = RunCompletedDetailSchema.safeParse({ ...base, [field]: [value] }).success;
          expect(asScalar || asList, `${text}: ${field} = ${value}`).to.equal(true);
        }
      }
    }
  });

  it("a value the detail cannot hold is caught (the check above can fail)", () => {
    const base = exampleDetail();
    expect(RunCompletedDetailSchema.safeParse({ ...base, status: "succeeded" }).success).to.equal(false);
    expect(RunCompletedDetailSchema.safeParse({ ...base, status: ["succeeded"] }).success).to.equal(false);
  });
});

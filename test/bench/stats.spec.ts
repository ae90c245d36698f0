import { expect } from "chai";
import { Rng, countOverlaps, mean, percentile, summarize, unionLength } from "../../bench/stats";

describe("bench stats", () => {
  describe("percentile (nearest rank)", () => {
    const values = [15, 20, 35, 40, 50];
    const cases: [number, number][] = [
      [5, 15],
      [20, 15],
      [30, 20],
      [40, 20],
      [50, 35],
      [95, 50],
      [100, 50],
    ];
    for (const [p, expected] of cases) {
      it(`p${p} of [15, 20, 35, 40, 50] is ${expected}`, () => expect(percentile(values, p)).to.equal(expected));
    }

    it("does not depend on the input order and leaves the input alone", () => {
      // Prepare
      const shuffled = [40, 15, 50, 20, 35];
      // Act
      const p50 = percentile(shuffled, 50);
      // Assess
      expect(p50).to.equal(35);
      expect(shuffled).to.deep.equal([40, 15, 50, 20, 35]);
    });

    it("is NaN for no values and rejects a percentile outside (0, 100]", () => {
      expect(percentile([], 50)).to.satisfy(Number.isNaN);
      expect(() => percentile([1], 0)).to.throw(RangeError);
      expect(() => percentile([1], 101)).to.throw(RangeError);
    });
  });

  it("summarizes count, mean, p50, p95 and max", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarize(values)).to.deep.equal({ n: 100, mean: 50.5, p50: 50, p95: 95, max: 100 });
    expect(mean([])).to.satisfy(Number.isNaN);
  });

  it("measures the union of intervals once where they overlap", () => {
    expect(
      unionLength([
        [0, 10],
        [5, 15],
        [20, 25],
        [21, 22],
        [30, 30],
      ]),
    ).to.equal(20);
    expect(unionLength([])).to.equal(0);
  });

  it("counts a run that starts before an earlier one stopped as an overlap, touching ends as none", () => {
    expect(
      countOverlaps([
        [0, 10],
        [10, 20],
        [20, 30],
      ]),
    ).to.equal(0);
    expect(
      countOverlaps([
        [0, 10],
        [5, 20],
        [15, 30],
        [40, 50],
      ]),
    ).to.equal(2);
    expect(
      countOverlaps([
        [0, 100],
        [10, 20],
        [30, 40],
      ]),
    ).to.equal(2);
  });

  describe("Rng", () => {
    it("gives the same sequence for the same seed and another for another seed", () => {
      const draw = (seed: number) => {
        const rng = new Rng(seed);
        return Array.from({ length: 5 }, () => rng.next());
      };
      expect(draw(42)).to.deep.equal(draw(42));
      expect(draw(42)).to.not.deep.equal(draw(43));
    });

    it("stays in range", () => {
      const rng = new Rng(7);
      for (let i = 0; i < 1000; i++) {
        const x = rng.next();
        const n = rng.int(3, 5);
        expect(x).to.be.at.least(0).and.below(1);
        expect(n).to.be.oneOf([3, 4, 5]);
      }
      expect(rng.uuid()).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    });
  });
});

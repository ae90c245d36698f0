import { expect } from "chai";
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  makeIdempotent,
} from "@aws-lambda-powertools/idempotency";
import { MemoryPersistenceLayer } from "../../bench/memory-persistence";
import { fakeContext } from "../functions/support";

describe("bench in-memory idempotency persistence (virtual clock)", () => {
  const T0 = Date.parse("2026-11-23T00:00:00Z");

  function harness(expiresAfterSeconds = 3600) {
    let clock = T0;
    const store = new MemoryPersistenceLayer(() => clock);
    let calls = 0;
    let release: () => void = () => undefined;
    let gate: Promise<void> | undefined;
    const work = makeIdempotent(
      async (job: { delivery: string }) => {
        calls++;
        if (gate) await gate;
        return { delivery: job.delivery, n: calls };
      },
      {
        persistenceStore: store,
        config: new IdempotencyConfig({
          eventKeyJmesPath: "delivery",
          expiresAfterSeconds,
          lambdaContext: fakeContext,
        }),
      },
    );
    return {
      store,
      work,
      calls: () => calls,
      advance: (seconds: number) => {
        clock += seconds * 1000;
      },
      hold: () => {
        gate = new Promise((resolve) => {
          release = resolve;
        });
      },
      release: () => {
        gate = undefined;
        release();
      },
    };
  }

  it("runs a delivery once and answers a repeat with the stored result", async () => {
    // Prepare
    const h = harness();
    // Act
    const first = await h.work({ delivery: "fivetran:a" });
    const again = await h.work({ delivery: "fivetran:a" });
    // Assess
    expect(first).to.deep.equal({ delivery: "fivetran:a", n: 1 });
    expect(again).to.deep.equal(first);
    expect(h.calls()).to.equal(1);
    expect(h.store.calls).to.deep.include({ put: 2, conflicts: 1 });
  });

  it("forgets a delivery once it expires on the virtual clock", async () => {
    const h = harness(60);
    await h.work({ delivery: "airbyte:1" });
    h.advance(59);
    await h.work({ delivery: "airbyte:1" });
    expect(h.calls()).to.equal(1);
    h.advance(2);
    expect(await h.work({ delivery: "airbyte:1" })).to.deep.equal({ delivery: "airbyte:1", n: 2 });
  });

  it("refuses a concurrent copy while the first is in progress", async () => {
    // Prepare
    const h = harness();
    h.hold();
    // Act
    const first = h.work({ delivery: "fivetran:b" });
    const copy = h.work({ delivery: "fivetran:b" }).then(
      () => "answered",
      (error: unknown) => error,
    );
    const refused = await copy;
    h.release();
    // Assess
    expect(refused).to.be.instanceOf(IdempotencyAlreadyInProgressError);
    expect(await first).to.deep.equal({ delivery: "fivetran:b", n: 1 });
  });
});

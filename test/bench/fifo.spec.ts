import { expect } from "chai";
import { FifoQueue } from "../../bench/fifo";

describe("bench FIFO queue model", () => {
  const T0 = 1_000_000;
  const queue = (maxReceiveCount = 500) => new FifoQueue({ visibilityTimeoutSeconds: 360, maxReceiveCount });
  const fill = (q: FifoQueue, n: number, group = "prod") =>
    Array.from({ length: n }, (_, i) => q.send(group, `body-${i}`, `dedupe-${group}-${i}`, T0).messageId);

  it("delivers a group's messages in order, at most the batch size", () => {
    // Prepare
    const q = queue();
    const ids = fill(q, 12);
    // Act
    const batch = q.receive("prod", T0, 10);
    // Assess
    expect(batch.map((r) => r.messageId)).to.deep.equal(ids.slice(0, 10));
    expect(batch.every((r) => r.receiveCount === 1)).to.equal(true);
  });

  it("delivers nothing else of a group while one of its messages is in flight", () => {
    // Prepare
    const q = queue();
    fill(q, 3);
    const [first] = q.receive("prod", T0, 1);
    // Act
    const second = q.receive("prod", T0 + 1000, 10);
    // Assess
    expect(second).to.deep.equal([]);
    expect(q.blocked("prod", T0 + 1000)).to.equal(true);
    expect(q.readyAt("prod", T0 + 1000)).to.equal(T0 + 360_000);
    expect(q.delete(first.receiptHandle)).to.equal(true);
    expect(q.receive("prod", T0 + 1000, 10).map((r) => r.body)).to.deep.equal(["body-1", "body-2"]);
  });

  it("lets another group deliver while one is blocked", () => {
    const q = queue();
    fill(q, 2, "prod");
    fill(q, 1, "dev");
    q.receive("prod", T0, 10);
    expect(q.receive("dev", T0, 10).map((r) => r.group)).to.deep.equal(["dev"]);
    expect(q.nextReadyAt(T0)).to.equal(T0 + 360_000);
  });

  it("hides a message for the visibility launch sets, then delivers it again first, with a new receipt handle", () => {
    // Prepare
    const q = queue();
    fill(q, 2);
    const batch = q.receive("prod", T0, 10);
    // Act
    const changed = batch.map((r) => q.changeVisibility(r.receiptHandle, 60, T0));
    // Assess
    expect(changed).to.deep.equal([true, true]);
    expect(q.readyAt("prod", T0)).to.equal(T0 + 60_000);
    const again = q.receive("prod", T0 + 60_000, 10);
    expect(again.map((r) => r.body)).to.deep.equal(["body-0", "body-1"]);
    expect(again.map((r) => r.receiveCount)).to.deep.equal([2, 2]);
    expect(again[0].receiptHandle).to.not.equal(batch[0].receiptHandle);
    expect(q.changeVisibility(batch[0].receiptHandle, 60, T0 + 60_000)).to.equal(false);
  });

  it("drops a send with a deduplication id seen within 5 minutes, and accepts it after", () => {
    const q = queue();
    const first = q.send("prod", "a", "same", T0);
    expect(q.send("prod", "a", "same", T0 + 299_000)).to.deep.equal({ messageId: first.messageId, duplicate: true });
    expect(q.send("prod", "a", "same", T0 + 301_000).duplicate).to.equal(false);
    expect(q.send("dev", "a", "same", T0).duplicate).to.equal(false);
    expect(q.deduplicated).to.equal(1);
    expect(q.size()).to.equal(3);
  });

  it("moves a message to the dead letters once it has been received maxReceiveCount times", () => {
    const q = queue(2);
    fill(q, 1);
    for (let i = 0; i < 2; i++) q.receive("prod", T0 + i * 400_000, 10);
    expect(q.receive("prod", T0 + 800_000, 10)).to.deep.equal([]);
    expect(q.redriven.map((m) => m.body)).to.deep.equal(["body-0"]);
    expect(q.size()).to.equal(0);
  });
});

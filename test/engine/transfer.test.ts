// Two engines back to back in one process (the engine Pair): bulk data both ways at once, checked with
// SHA-256, straight across or through the memory link's seeded loss, reordering, duplication and
// corruption, the virtual clock jumping to the next deadline or delivery whenever the wire is quiet.
import { describe, expect, it } from "vitest";
import type { EngineConfig } from "../../src/core/settings.js";
import { Pair, type PairOptions } from "../fixtures/pair.js";

/**
 * `bytes` each way at once through a new pair (straight across, or through the memory link's seeded
 * faults), then the engines' pool compared with what each held before the connection.
 */
async function transfer(bytes: number, config: EngineConfig, link: PairOptions["link"], seed: number) {
  const pair = await Pair.create({ config, link, seed });
  const base = [pair.a.engine.memoryInUse(), pair.b.engine.memoryInUse()];
  const r = pair.transfer(bytes, bytes);
  return {
    ...r,
    lost: (r.linkAtoB?.lost ?? 0) + (r.linkBtoA?.lost ?? 0),
    memory: [pair.a.engine.memoryInUse() - base[0]!, pair.b.engine.memoryInUse() - base[1]!],
    live: [pair.a.engine.liveConnections(), pair.b.engine.liveConnections()],
    retransmits: r.retransmits.a + r.retransmits.b,
  };
}

/** Both directions arrived whole: as many bytes as were sent, with the sender's SHA-256. */
function intact(r: Awaited<ReturnType<typeof transfer>>, bytes: number): void {
  for (const d of [r.aToB, r.bToA]) {
    expect(d.firstMismatch).toBe(-1);
    expect(d.bytes).toBe(bytes);
    expect(d.receivedSha256).toBe(d.sentSha256);
  }
}

const MiB = 1 << 20;

describe("two engines back to back", () => {
  it("16 MiB each way at once, SHA-256 equal, both ends closed and freed", async () => {
    const r = await transfer(16 * MiB, {}, undefined, 1);
    intact(r, 16 * MiB);
    expect(r.retransmits).toBe(0);
    expect(r.live).toEqual([0, 0]);
    expect(r.memory).toEqual([0, 0]);
  });
  it("2% loss and 2% reordering with SACK, timestamps and window scaling: every byte intact", async () => {
    const r = await transfer(2 * MiB, {}, { loss: 0.02, reorder: 0.02 }, 7);
    intact(r, 2 * MiB);
    expect(r.lost).toBeGreaterThan(0);
    expect(r.retransmits).toBeGreaterThan(0);
    expect(r.live).toEqual([0, 0]);
  });
  for (const seed of [1, 2, 3]) {
    it(`10% loss, 5% reordering, 1% duplication, 0.5% corruption (seed ${seed}): every byte intact`, async () => {
      const r = await transfer(512 * 1024, {}, { loss: 0.1, reorder: 0.05, duplicate: 0.01, corrupt: 0.005 }, seed);
      intact(r, 512 * 1024);
      expect(r.live).toEqual([0, 0]);
      expect(r.memory).toEqual([0, 0]);
    });
  }
  for (const seed of [19, 23]) {
    it(`10% loss without SACK, timestamps or window scaling (seed ${seed}): every byte intact`, async () => {
      const config = { sack: false, timestamps: false, windowScaling: false, recvBuffer: 65536 };
      const r = await transfer(1 * MiB, config, { loss: 0.1, reorder: 0.05, duplicate: 0.01, corrupt: 0.005 }, seed);
      intact(r, 1 * MiB);
      expect(r.live).toEqual([0, 0]);
    });
  }
  it("5% loss without SACK or timestamps (NewReno and RTO only): every byte intact", async () => {
    const r = await transfer(1 * MiB, { sack: false, timestamps: false }, { loss: 0.05 }, 3);
    intact(r, 1 * MiB);
    expect(r.live).toEqual([0, 0]);
  });
});

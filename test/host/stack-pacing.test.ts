// Pacing seen from the host (assembly/engine/pacing.ts): two stacks on the virtual clock over a link
// that serialises at a limited rate behind a short queue, as a relay or a NIC does. The stack's one
// timer follows the engine's deadline, pacing time included, so a paced sender keeps going on its own.
import { describe, expect, it } from "vitest";
import { StackPair } from "../fixtures/stack-pair.js";
import { accepted, collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";

const WINDOW = 25_000;
const ROUNDS = 12;

/**
 * ROUNDS writes of a window (25,000 octets, the path's bandwidth-delay product: 10 Mbit/s, 10 ms
 * each way) from client to server, each after the last was received and 50 ms of quiet, over 20 KiB
 * of queue.
 */
async function bursts(pacing: boolean) {
  const p = await StackPair.create({
    config: { pacing, recvBuffer: WINDOW, windowScaling: false },
    link: { delay: 10, rate: 1_250_000, queueLimit: 20 * 1024 },
  });
  const server = accepted(p.b, 80);
  const client = p.a.openConnection({ remote: "10.0.0.2", remotePort: 80 });
  await p.wait(connected(client), "connected");
  const s = await p.wait(server, "accepted");
  const got = collect(s);
  const payload = data(WINDOW * ROUNDS, 3);
  const received = () => got.chunks.reduce((n, c) => n + c.length, 0);
  for (let r = 0; r < ROUNDS; r++) {
    await p.wait(writeAll(client, payload.subarray(r * WINDOW, (r + 1) * WINDOW), r === ROUNDS - 1), `write ${r}`);
    await p.runUntil(() => received() >= (r + 1) * WINDOW, `round ${r} received`, 10_000);
    await p.advance(50);
  }
  await p.wait(got.ended, "end");
  const result = { intact: sha(got.chunks) === sha([payload]), overflowed: p.la.stats.overflowed, retransmits: p.a.counters().retransmits };
  p.close();
  return result;
}

describe("pacing over a rate-limited link with a short queue", () => {
  it("a window written after a quiet spell leaves spread over the round trip and fits a queue its unpaced burst overflows", async () => {
    const paced = await bursts(true);
    const unpaced = await bursts(false);
    expect(paced.intact).toBe(true);
    expect(unpaced.intact).toBe(true);
    // Unpaced, each window leaves at once and 25,000 octets do not fit 20 KiB of queue.
    expect(unpaced.overflowed).toBeGreaterThan(0);
    // Paced at twice cwnd per SRTT (slow start), the window leaves over about half the round trip:
    // the queue holds what the link has not yet drained, about half the window.
    expect(paced.overflowed).toBe(0);
    expect(paced.retransmits).toBe(0);
  });
});

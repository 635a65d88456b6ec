// Two engines back to back in one process (STYLE.md rule 12): bulk data both ways at once, checked
// with SHA-256, the virtual clock jumping to the next deadline whenever the wire is quiet.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Engine, type EngineConfig } from "../../src/engine.js";
import { prng } from "../fixtures/engine-host.js";

/** A seeded xorshift32 stream: test data and the wire's loss decisions. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  const v = new Uint32Array(out.buffer, 0, n >>> 2);
  const next = prng(seed);
  for (let i = 0; i < v.length; i++) v[i] = next();
  return out;
}

interface Wire {
  /** Probabilities (0..1) per packet: lost, held back behind the next, delivered twice, one byte flipped. */
  loss: number;
  reorder: number;
  duplicate?: number;
  corrupt?: number;
  seed: number;
}

interface Side {
  engine: Engine;
  id: number;
  data: Uint8Array;
  sent: number;
  closed: boolean;
  hash: ReturnType<typeof createHash>;
  received: number;
  peerFin: boolean;
  done: boolean;
}

async function transfer(bytes: number, config: EngineConfig, wire: Wire) {
  const a = await Engine.create({ flavor: "debug", secret: new Uint8Array(32).fill(1), config });
  const b = await Engine.create({ flavor: "debug", secret: new Uint8Array(32).fill(2), config });
  const baseA = a.memoryInUse();
  const baseB = b.memoryInUse();
  let now = 0;
  const listener = b.listen({ port: 80 });
  const client = a.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 }, now);
  const sides: Side[] = [
    { engine: a, id: client, data: randomBytes(bytes, 11), sent: 0, closed: false, hash: createHash("sha256"), received: 0, peerFin: false, done: false },
    { engine: b, id: 0, data: randomBytes(bytes, 22), sent: 0, closed: false, hash: createHash("sha256"), received: 0, peerFin: false, done: false },
  ];
  const rand = prng(wire.seed);
  const chance = (p: number) => p > 0 && rand() / 2 ** 32 < p;
  let held: [number, Uint8Array] | null = null;
  let lost = 0;
  let steps = 0;
  let jumps = 0;

  const host = (side: Side) => {
    for (const ev of side.engine.events()) {
      if (ev.type === "accepted") side.id = ev.id;
      if (ev.type === "peerFin") side.peerFin = true;
      if (ev.type === "reset" || ev.type === "timedOut" || ev.type === "error") throw new Error(`${ev.type} ${ev.error}`);
    }
    if (side.id === 0) return;
    if (side.sent < side.data.length) side.sent += side.engine.send(side.id, side.data.subarray(side.sent), now);
    else if (!side.closed && side.engine.state(side.id) !== "SYN-SENT") {
      side.engine.close(side.id, now);
      side.closed = true;
    }
    for (;;) {
      const chunk = side.engine.recv(side.id, now, 1 << 20);
      if (chunk.length === 0) break;
      side.hash.update(chunk);
      side.received += chunk.length;
    }
  };

  while (!(sides[0]!.peerFin && sides[1]!.peerFin && sides[0]!.closed && sides[1]!.closed)) {
    if (++steps > 2_000_000) throw new Error("transfer did not finish");
    for (const s of sides) host(s);
    let moved = 0;
    for (const [from, to] of [[a, b], [b, a]] as const) {
      const batch: Uint8Array[] = [];
      from.drainOutput(now, (p) => {
        if (chance(wire.loss)) {
          lost++;
          return;
        }
        const copy = p.slice();
        if (chance(wire.corrupt ?? 0)) copy[rand() % copy.length]! ^= 1 << (rand() % 8);
        if (chance(wire.duplicate ?? 0)) batch.push(copy.slice());
        if (!held && chance(wire.reorder)) {
          held = [to === b ? 1 : 0, copy];
          return;
        }
        batch.push(copy);
      });
      if (held && held[0] === (to === b ? 1 : 0) && batch.length > 0) {
        batch.push(held[1]);
        held = null;
      }
      moved += batch.length;
      if (batch.length) to.input(batch, now);
    }
    if (moved === 0) {
      if (held) {
        (held[0] === 1 ? b : a).input([held[1]], now);
        held = null;
        continue;
      }
      const next = Math.min(a.nextDeadline(), b.nextDeadline());
      if (next === Infinity) {
        for (const s of sides) host(s);
        if (a.output(now).length === 0 && b.output(now).length === 0 &&
            !(sides[0]!.peerFin && sides[1]!.peerFin && sides[0]!.closed && sides[1]!.closed)) {
          throw new Error(`stalled at ${now} ms: ${JSON.stringify([a.status(client), b.status(sides[1]!.id)])}`);
        }
        continue;
      }
      now = Math.max(now, next);
      jumps++;
      a.timers(now);
      b.timers(now);
    }
  }
  for (const s of sides) host(s);
  const expected = sides.map((s) => createHash("sha256").update(s.data).digest("hex"));
  const got = sides.map((s) => s.hash.digest("hex"));
  // Let both ends finish: TIME-WAIT on the side that closed first, LAST-ACK on the other.
  for (let i = 0; i < 100 && (a.nextDeadline() < Infinity || b.nextDeadline() < Infinity); i++) {
    const out = a.output(now);
    const back = b.output(now);
    b.input(out, now);
    a.input(back, now);
    if (out.length === 0 && back.length === 0) {
      now = Math.min(a.nextDeadline(), b.nextDeadline());
      if (now === Infinity) break;
      a.timers(now);
      b.timers(now);
    }
  }
  a.events();
  b.events();
  a.release(client, now);
  b.release(sides[1]!.id, now);
  b.release(listener, now);
  return {
    expected, got, received: sides.map((s) => s.received), lost, now, jumps,
    memory: [a.memoryInUse() - baseA, b.memoryInUse() - baseB],
    live: [a.liveConnections(), b.liveConnections()],
    retransmits: a.counters().retransmits + b.counters().retransmits,
  };
}

const MiB = 1 << 20;

describe("two engines back to back", () => {
  it("16 MiB each way at once, SHA-256 equal, both ends closed and freed", async () => {
    const r = await transfer(16 * MiB, {}, { loss: 0, reorder: 0, seed: 1 });
    expect(r.received).toEqual([16 * MiB, 16 * MiB]);
    expect(r.got).toEqual([r.expected[1], r.expected[0]]);
    expect(r.retransmits).toBe(0);
    expect(r.live).toEqual([0, 0]);
    expect(r.memory).toEqual([0, 0]);
  });
  it("2% loss and 2% reordering with SACK, timestamps and window scaling: every byte intact", async () => {
    const r = await transfer(2 * MiB, {}, { loss: 0.02, reorder: 0.02, seed: 7 });
    expect(r.got).toEqual([r.expected[1], r.expected[0]]);
    expect(r.lost).toBeGreaterThan(0);
    expect(r.retransmits).toBeGreaterThan(0);
    expect(r.live).toEqual([0, 0]);
  });
  for (const seed of [1, 2, 3]) {
    it(`10% loss, 5% reordering, 1% duplication, 0.5% corruption (seed ${seed}): every byte intact`, async () => {
      const r = await transfer(512 * 1024, {}, { loss: 0.1, reorder: 0.05, duplicate: 0.01, corrupt: 0.005, seed });
      expect(r.got).toEqual([r.expected[1], r.expected[0]]);
      expect(r.live).toEqual([0, 0]);
      expect(r.memory).toEqual([0, 0]);
    });
  }
  for (const seed of [19, 23]) {
    it(`10% loss without SACK, timestamps or window scaling (seed ${seed}): every byte intact`, async () => {
      const config = { sack: false, timestamps: false, windowScaling: false, recvBuffer: 65536 };
      const r = await transfer(1 * MiB, config, { loss: 0.1, reorder: 0.05, duplicate: 0.01, corrupt: 0.005, seed });
      expect(r.got).toEqual([r.expected[1], r.expected[0]]);
      expect(r.live).toEqual([0, 0]);
    });
  }
  it("5% loss without SACK or timestamps (NewReno and RTO only): every byte intact", async () => {
    const r = await transfer(1 * MiB, { sack: false, timestamps: false }, { loss: 0.05, reorder: 0, seed: 3 });
    expect(r.got).toEqual([r.expected[1], r.expected[0]]);
    expect(r.live).toEqual([0, 0]);
  });
});

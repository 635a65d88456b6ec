// Memory bounds of issue 3 item 6, measured with the engine's own pool accounting
// (engineMemoryInUse: every byte the engine takes from its heap goes through assembly/engine/pool.ts).
// - An idle established connection, before its buffers are touched, costs at most 2 KiB: its own
//   pool bytes (the TCB with its inline records) plus its share of the per-slot tables sized at
//   engineInit (connection table, timer queue, slot array).
// - A million open / 1 KiB each way / close cycles on the release build leave the pool where it
//   started, and linear memory stops growing once the first cycles have warmed the allocator up.
import { describe, expect, it } from "vitest";
import { Engine } from "../src/engine.js";
import { Pair, SERVER_PORT } from "./pair.js";

const IDLE_BOUND = 2048;

describe("memory per idle established connection (debug build)", () => {
  it("is at most 2 KiB including the per-slot tables, on both ends", async () => {
    // Per-slot tables: the pool's size right after engineInit grows linearly with maxConnections.
    const small = await Engine.create({ flavor: "debug", config: { maxConnections: 1024 } });
    const large = await Engine.create({ flavor: "debug", config: { maxConnections: 16384 } });
    const perSlot = (large.memoryInUse() - small.memoryInUse()) / (16384 - 1024);
    expect(perSlot).toBeGreaterThan(0);

    const pair = await Pair.create({ flavor: "debug", config: { maxConnections: 1024 } });
    const listener = pair.b.engine.listen({ port: SERVER_PORT, backlog: 1024 });
    const baseA = pair.a.engine.memoryInUse();
    const baseB = pair.b.engine.memoryInUse();
    const n = 256;
    const ids: { client: number; server: number }[] = [];
    for (let i = 0; i < n; i++) ids.push(pair.open(listener));
    for (const { client, server } of ids) {
      expect(pair.a.engine.state(client)).toBe("ESTABLISHED");
      expect(pair.b.engine.state(server)).toBe("ESTABLISHED");
    }
    const client = (pair.a.engine.memoryInUse() - baseA) / n;
    const server = (pair.b.engine.memoryInUse() - baseB) / n;
    // The TCB is one allocation holding everything an idle connection needs: no ring, reassembly or
    // scoreboard storage before data moves.
    expect(client).toBe(pair.a.engine.tcbSize());
    expect(server).toBe(pair.b.engine.tcbSize());
    expect(client + perSlot).toBeLessThanOrEqual(IDLE_BOUND);
    expect(server + perSlot).toBeLessThanOrEqual(IDLE_BOUND);
  });
});

describe("a million open / transfer / close cycles (release build)", () => {
  it("leave the pool where it started and linear memory no larger than after the first 10,000", async () => {
    // 16 KiB rings (the defaults are 256 KiB): the rings are allocated and freed on every cycle
    // either way, and zero-filling 4 x 256 KiB per connection would make this test take minutes.
    const pair = await Pair.create({
      flavor: "simd",
      config: { sendBuffer: 16384, recvBuffer: 16384, stateEvents: false, maxConnections: 4096 },
    });
    const a = pair.a.engine;
    const b = pair.b.engine;
    const poolA = a.memoryInUse();
    const poolB = b.memoryInUse();
    const total = 1_000_000;
    const chunk = 100_000;
    // 100 connections at a time, TIME-WAIT (2 MSL of virtual time) expiring every 1,000.
    expect(pair.churn(10_000, { concurrency: 100 })).toBe(10_000);
    const warmA = a.memory.memory.buffer.byteLength;
    const warmB = b.memory.memory.buffer.byteLength;
    expect(a.memoryInUse()).toBe(poolA);
    expect(b.memoryInUse()).toBe(poolB);
    let done = 10_000;
    while (done < total) {
      const n = Math.min(chunk, total - done);
      expect(pair.churn(n, { concurrency: 100 })).toBe(n);
      done += n;
      expect(a.liveConnections()).toBe(0);
      expect(b.liveConnections()).toBe(0);
      expect(a.memoryInUse()).toBe(poolA);
      expect(b.memoryInUse()).toBe(poolB);
    }
    expect(a.memory.memory.buffer.byteLength).toBe(warmA);
    expect(b.memory.memory.buffer.byteLength).toBe(warmB);
    const c = a.counters();
    expect(c.resetsSent + c.resetsReceived + b.counters().resetsSent).toBe(0);
  }, 600_000);
});

describe("TIME-WAIT with unread data (debug build)", () => {
  it("keeps the receive ring only until the host has read it, then returns it to the pool", async () => {
    const pair = await Pair.create({ flavor: "debug", config: { sendBuffer: 65536, recvBuffer: 65536 } });
    const { client, server } = pair.open();
    const a = pair.a.engine;
    const b = pair.b.engine;
    // A closes first (FIN-WAIT-1 → FIN-WAIT-2); B sends 1000 bytes and its FIN; A reads nothing yet.
    a.close(client, pair.now);
    pair.advanceTo(pair.now + 5);
    expect(a.state(client)).toBe("FIN-WAIT-2");
    expect(b.send(server, new Uint8Array(1000).fill(7), pair.now)).toBe(1000);
    b.close(server, pair.now);
    pair.runUntil(() => a.state(client) === "TIME-WAIT", undefined, "A in TIME-WAIT");
    const status = a.status(client);
    expect(status.recvQueued).toBe(1000);
    const held = a.memoryInUse();
    // Reading the last byte in TIME-WAIT frees the ring's storage (64 KiB) at once, not 2 MSL later.
    const data = a.recv(client, pair.now);
    expect(data.length).toBe(1000);
    expect(data.every((x) => x === 7)).toBe(true);
    expect(a.state(client)).toBe("TIME-WAIT");
    expect(held - a.memoryInUse()).toBe(65536);
  });
});

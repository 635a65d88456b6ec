// Resource bounds over many connections: open, 1 KiB each way, close, release, over
// and over on the release build. Every byte goes back to the pool, the connection count returns to
// the listener alone, and linear memory stops growing once the first rounds warmed the allocator.
// The tables grow with the connections in use and keep their high-water size: the
// connections' bytes (the pool less the tables) come back to the listener's alone, and the tables
// stay within one doubling of their size after the warm-up rounds.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import { takeEvents } from "../fixtures/engine-io.js";
import { ADDRESS_A, ADDRESS_B, Pair, SERVER_PORT } from "../fixtures/pair.js";

describe("connection churn", () => {
  it("200,000 open/transfer/close cycles give back every connection's bytes and stop growing after warm-up", async () => {
    const config = { sendBuffer: 16384, recvBuffer: 16384, mslMs: 1 };
    const pair = await Pair.create({ flavor: "simd", config, seed: 8 });
    const a = pair.a.engine;
    const b = pair.b.engine;
    b.listen({ port: SERVER_PORT, backlog: 1024 });
    const kib = new Uint8Array(1024);
    const held = (e: Engine) => e.memoryInUse() - e.tableMemory();
    let tablesA = 0;
    let tablesB = 0;

    let done = 0;
    let received = 0;
    let pagesAfterWarmup = 0;
    const rounds = 2000;
    // Lets the last closes and TIME-WAITs (2 MSL = 2 ms) run out.
    const quiesce = () => {
      for (let i = 0; i < 10; i++) {
        pair.now += 10;
        a.timers(pair.now);
        b.timers(pair.now);
        pair.exchange();
        for (const e of takeEvents(a)) if (e.type === "closed") { a.release(e.id, pair.now); done++; }
        for (const e of takeEvents(b)) if (e.type === "closed") b.release(e.id, pair.now);
      }
    };
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < 100; i++) a.connect({ local: ADDRESS_A, remote: ADDRESS_B, remotePort: SERVER_PORT }, pair.now);
      for (let step = 0; step < 10; step++) {
        pair.exchange();
        for (const e of takeEvents(a)) {
          if (e.type === "connected") a.send(e.id, kib, pair.now);
          else if (e.type === "readable") {
            received += a.recv(e.id, pair.now).length;
            a.close(e.id, pair.now);
          } else if (e.type === "closed") {
            a.release(e.id, pair.now);
            done++;
          }
        }
        for (const e of takeEvents(b)) {
          if (e.type === "readable") {
            received += b.recv(e.id, pair.now).length;
            b.send(e.id, kib, pair.now);
          } else if (e.type === "peerFin") b.close(e.id, pair.now);
          else if (e.type === "closed") b.release(e.id, pair.now);
        }
        pair.now += 1;
        a.timers(pair.now);
        b.timers(pair.now);
      }
      if (round === 200) {
        quiesce();
        expect([a.liveConnections(), b.liveConnections()]).toEqual([0, 1]);
        expect([held(a), held(b)]).toEqual([0, b.tcbSize()]);
        tablesA = a.tableMemory();
        tablesB = b.tableMemory();
        pagesAfterWarmup = a.memory.memory.buffer.byteLength + b.memory.memory.buffer.byteLength;
      }
    }
    quiesce();
    expect(done).toBe(rounds * 100);
    expect(received).toBe(2 * 1024 * rounds * 100);
    expect([a.liveConnections(), b.liveConnections()]).toEqual([0, 1]);
    expect([held(a), held(b)]).toEqual([0, b.tcbSize()]);
    expect(a.tableMemory()).toBeLessThanOrEqual(2 * tablesA);
    expect(b.tableMemory()).toBeLessThanOrEqual(2 * tablesB);
    expect(a.memory.memory.buffer.byteLength + b.memory.memory.buffer.byteLength).toBe(pagesAfterWarmup);
  });
});

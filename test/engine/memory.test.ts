// Memory bounds of an engine (per connection, per idle stack, per byte in flight), measured with the engine's own pool accounting
// (engineMemoryInUse: every byte the engine takes from its heap goes through assembly/engine/pool.ts)
// and with the size of its WebAssembly memory (memory.buffer.byteLength, which never shrinks).
// - An idle stack holds at most 2 MiB of WebAssembly memory: the tables start small and grow with the
//   connections in use, up to maxConnections.
// - An idle established connection, before its buffers are touched, costs at most 2 KiB: its own
//   pool bytes (the TCB with its inline records) plus its share of the tables grown for it
//   (connection table, timer queue, slot arrays).
// - Growth to N connections and back: the pool returns to what the tables grew to, and N connections
//   again take exactly as much as the first N and no more WebAssembly memory.
// - At the maxConnections limit, or when the pool's limit refuses a table's growth, opening a
//   connection fails with ENOBUFS and the engine goes on.
// - A million open / 1 KiB each way / close cycles on the release build give every connection's
//   bytes back (engineTableMemory splits the tables' share off the pool), the tables stay within one
//   doubling of their size after the first 10,000, and linear memory stops growing once warm.
import { describe, expect, it } from "vitest";
import { Engine } from "../../src/core/engine.js";
import { TcpwasmError } from "../../src/core/errors.js";
import { createStack } from "../../src/tcp/stack.js";
import { loadWire } from "../../src/core/wire.js";
import { Pair, SERVER_PORT } from "../fixtures/pair.js";
import { takeOutput } from "../fixtures/engine-io.js";
import { createMemoryLinkPair } from "../../src/net/memory-link.js";

const MiB = 1 << 20;
const SYN = 0x02;
const RST = 0x04;
const IDLE_BOUND = 2048;

describe("WebAssembly memory of an idle engine: the tables start small and grow with use", () => {
  it("an idle stack with one link, and a bare engine, hold at most 2 MiB", async () => {
    const engine = await Engine.create();
    expect(engine.memory.memory.buffer.byteLength).toBeLessThanOrEqual(2 * MiB);
    const [link, other] = createMemoryLinkPair();
    const stack = await createStack({ addresses: ["10.0.0.1/24"] });
    stack.attach(link);
    expect(stack.engine.memory.memory.buffer.byteLength).toBeLessThanOrEqual(2 * MiB);
    stack.close();
    other.close();
  });
});

describe("memory per idle established connection (debug build)", () => {
  it("is at most 2 KiB including the tables grown for it, on both ends; again, exactly its TCB", async () => {
    const pair = await Pair.create({ flavor: "debug" });
    const a = pair.a.engine;
    const b = pair.b.engine;
    const listener = b.listen({ port: SERVER_PORT, backlog: 1024 });
    const baseA = a.memoryInUse();
    const baseB = b.memoryInUse();
    const n = 256;
    const openAll = () => {
      const ids: { client: number; server: number }[] = [];
      for (let i = 0; i < n; i++) ids.push(pair.open(listener));
      for (const { client, server } of ids) {
        expect(a.state(client)).toBe("ESTABLISHED");
        expect(b.state(server)).toBe("ESTABLISHED");
      }
      return ids;
    };
    const ids = openAll();
    const client = (a.memoryInUse() - baseA) / n;
    const server = (b.memoryInUse() - baseB) / n;
    expect(client).toBeGreaterThan(a.tcbSize());
    expect(client).toBeLessThanOrEqual(IDLE_BOUND);
    expect(server).toBeLessThanOrEqual(IDLE_BOUND);
    closeAll(pair, ids);
    // The tables kept their size: the same number of connections again costs their TCBs alone, one
    // allocation each holding everything an idle connection needs (no ring, reassembly or
    // scoreboard storage before data moves).
    const tablesA = a.memoryInUse();
    const tablesB = b.memoryInUse();
    openAll();
    expect((a.memoryInUse() - tablesA) / n).toBe(a.tcbSize());
    expect((b.memoryInUse() - tablesB) / n).toBe(b.tcbSize());
  });
});

/** Aborts A's ends (a few hundred at a time: each RST waits in the control queue) and runs until B has let go too. */
function closeAll(pair: Pair, ids: { client: number }[]): void {
  const a = pair.a.engine;
  const b = pair.b.engine;
  const host = () => {
    let n = pair.a.take(() => true).length;
    for (const e of pair.b.take(() => true)) {
      n++;
      if (e.type === "closed") b.release(e.id, pair.now);
    }
    return n;
  };
  ids.forEach(({ client }, i) => {
    a.abort(client, pair.now);
    a.release(client, pair.now);
    if (i % 500 === 499) pair.poll(host);
  });
  pair.runUntil(() => a.liveConnections() === 0 && b.liveConnections() === 1, host, "all connections closed");
}

describe("growth to 10,000 connections and back (release build, default configuration)", () => {
  it("grows in proportion to the connections, returns to the grown tables, and reuses them", async () => {
    const pair = await Pair.create({ flavor: "simd" });
    const a = pair.a.engine;
    const b = pair.b.engine;
    const listener = b.listen({ port: SERVER_PORT, backlog: 1024 });
    const bytes = () => [a.memory.memory.buffer.byteLength, b.memory.memory.buffer.byteLength];
    const pool = () => [a.memoryInUse(), b.memoryInUse()];
    const idlePool = pool();
    const idleBytes = bytes();
    const n = 10_000;
    const openAll = () => {
      const ids: { client: number }[] = [];
      for (let i = 0; i < n; i++) ids.push(pair.open(listener));
      expect([a.liveConnections(), b.liveConnections()]).toEqual([n, n + 1]);
      return ids;
    };
    let ids = openAll();
    const grownPool = pool();
    const grownBytes = bytes();
    for (let end = 0; end < 2; end++) {
      // At most 2 KiB of pool per connection, TCB and tables; WebAssembly memory at most four times
      // that: TLSF grows memory by doubling it, and a table that doubles leaves its old array to
      // smaller blocks.
      const perConnection = grownPool[end]! - idlePool[end]!;
      expect(perConnection / n).toBeLessThanOrEqual(IDLE_BOUND);
      expect(grownBytes[end]!).toBeLessThanOrEqual(idleBytes[end]! + 4 * perConnection);
    }
    closeAll(pair, ids);
    const backPool = pool();
    // What stays is the tables grown for 10,000 connections: no TCB but the listener's, no ring.
    expect([a.memoryInUse() - a.tableMemory(), b.memoryInUse() - b.tableMemory()]).toEqual([0, b.tcbSize()]);
    ids = openAll();
    expect(pool()).toEqual(grownPool);
    expect(bytes()).toEqual(grownBytes);
    closeAll(pair, ids);
    expect(pool()).toEqual(backPool);
    expect(bytes()).toEqual(grownBytes);
  });
});

describe("the maxConnections limit and the pool's limit", () => {
  const target = { local: "10.0.0.1", remote: "10.0.0.2", remotePort: 80 };
  /** Opens connections (SYN-SENT: no peer) until ENOBUFS; returns their ids. */
  const fill = (e: Engine, now: number) => {
    const ids: number[] = [];
    for (;;) {
      try {
        ids.push(e.connect(target, now));
      } catch (err) {
        expect(err).toBeInstanceOf(TcpwasmError);
        expect((err as TcpwasmError).code).toBe("ENOBUFS");
        return ids;
      }
      if (ids.length > 1_000_000) throw new Error("no limit");
    }
  };

  it("at maxConnections (1000: the tables grew from 64 slots past powers of two) opening is ENOBUFS, and a freed slot opens again", async () => {
    const e = await Engine.create({ flavor: "debug", config: { maxConnections: 1000 } });
    const ids = fill(e, 0);
    expect(ids).toHaveLength(1000);
    expect(e.liveConnections()).toBe(1000);
    expect(() => e.listen({ port: 80 })).toThrow(/ENOBUFS/);
    for (const id of ids.slice(0, 500)) {
      e.abort(id, 0);
      e.release(id, 0);
    }
    takeOutput(e, 0);
    expect(fill(e, 1)).toHaveLength(500);
    expect(e.state(ids[999]!)).toBe("SYN-SENT");
  });

  it("past maxConnections a listener drops the SYN (counted) and keeps its 99 connections", async () => {
    const pair = await Pair.create({ flavor: "debug", config: { maxConnections: 100 } });
    const listener = pair.b.engine.listen({ port: SERVER_PORT, backlog: 1024 });
    for (let i = 0; i < 99; i++) pair.open(listener);
    expect(pair.b.engine.liveConnections()).toBe(100);
    pair.a.engine.connect({ local: "10.0.0.1", remote: "10.0.0.2", remotePort: SERVER_PORT }, pair.now);
    pair.poll();
    expect(pair.b.engine.counters().synDroppedNoSlot).toBe(1);
    expect(pair.b.engine.liveConnections()).toBe(100);
  });

  it("a table growth the pool's limit refuses is ENOBUFS: nothing leaks and the engine goes on", async () => {
    const e = await Engine.create({ flavor: "debug", config: { memoryLimit: 64 * 1024 } });
    const idle = e.memoryInUse();
    const ids = fill(e, 0);
    // The limit, not a slot count: 64 KiB holds the idle tables and a few dozen TCBs.
    expect(ids.length).toBeGreaterThan(16);
    expect(ids.length).toBeLessThan(100);
    expect(e.memoryInUse()).toBeLessThanOrEqual(64 * 1024);
    for (const id of ids) expect(e.state(id)).toBe("SYN-SENT");
    const held = e.memoryInUse();
    for (const id of ids) {
      e.abort(id, 0);
      e.release(id, 0);
    }
    takeOutput(e, 0);
    expect(e.liveConnections()).toBe(0);
    // Every TCB went back (SYN-SENT holds no ring); the tables keep what they grew to.
    expect(e.memoryInUse()).toBe(held - ids.length * e.tcbSize());
    expect(e.memoryInUse()).toBeGreaterThan(idle);
    // The same number opens again, from the tables as they grew.
    expect(fill(e, 1)).toHaveLength(ids.length);
  });
});

describe("the output queue, sized to the slots in use", () => {
  it("drops the ids of connections freed while queued when it fills, so a live one is never left out", async () => {
    const e = await Engine.create({ flavor: "debug" });
    const wire = await loadWire({ flavor: "debug" });
    e.listen({ port: 80 });
    const seg = (srcPort: number, flags: number, seq: number) =>
      wire.encodePacket({ src: "10.0.0.2", dst: "10.0.0.1", srcPort, dstPort: 80, seq, ack: 0, flags });
    // One batch: 200 SYNs each reset at once (SYN-RECEIVED back to LISTEN, RFC 9293 3.10.7.4: the
    // child is freed with its id still queued for its SYN,ACK), then 10 SYNs that stay. The same two
    // slots serve every child, so the queue (64 ids) fills with stale ids three times over.
    const batch: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) batch.push(seg(2000 + i, SYN, 1000), seg(2000 + i, RST, 1001));
    for (let i = 0; i < 10; i++) batch.push(seg(3000 + i, SYN, 5000));
    e.input(batch, 0);
    expect(e.liveConnections()).toBe(11);
    const out = takeOutput(e, 0).map((p) => wire.parsePacket(p) as { dstPort: number; flags: { syn: boolean; ack: boolean } });
    // Every live child's SYN,ACK leaves in this output call, not at its retransmission timeout.
    expect(out.filter((p) => p.flags.syn && p.flags.ack).map((p) => p.dstPort).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => 3000 + i),
    );
  });
});

describe("a million open / transfer / close cycles (release build)", () => {
  it("give back every connection's bytes; the tables and linear memory stay where the first 10,000 left them", async () => {
    // 16 KiB rings (the defaults are 256 KiB): the rings are allocated and freed on every cycle
    // either way, and zero-filling 4 x 256 KiB per connection would make this test take minutes.
    const pair = await Pair.create({
      flavor: "simd",
      config: { sendBuffer: 16384, recvBuffer: 16384, stateEvents: false, maxConnections: 4096 },
    });
    const a = pair.a.engine;
    const b = pair.b.engine;
    const total = 1_000_000;
    const chunk = 100_000;
    // 100 connections at a time, TIME-WAIT (2 MSL of virtual time) expiring every 1,000. The first
    // 10,000 grow the tables to what this load needs; they keep that size.
    expect(pair.churn(10_000, { concurrency: 100 })).toBe(10_000);
    const warmA = a.memory.memory.buffer.byteLength;
    const warmB = b.memory.memory.buffer.byteLength;
    // Connections' bytes (the pool less the tables): none, every connection and the listener are gone.
    const held = (e: typeof a) => e.memoryInUse() - e.tableMemory();
    expect([held(a), held(b)]).toEqual([0, 0]);
    const tablesA = a.tableMemory();
    const tablesB = b.tableMemory();
    let done = 10_000;
    while (done < total) {
      const n = Math.min(chunk, total - done);
      expect(pair.churn(n, { concurrency: 100 })).toBe(n);
      done += n;
      expect(a.liveConnections()).toBe(0);
      expect(b.liveConnections()).toBe(0);
      expect([held(a), held(b)]).toEqual([0, 0]);
      // The tables follow the peak of live connections (about 1,100 with TIME-WAIT), which varies a
      // little from one 100,000 to the next: one more doubling at most.
      expect(a.tableMemory()).toBeLessThanOrEqual(2 * tablesA);
      expect(b.tableMemory()).toBeLessThanOrEqual(2 * tablesB);
    }
    expect(a.memory.memory.buffer.byteLength).toBe(warmA);
    expect(b.memory.memory.buffer.byteLength).toBe(warmB);
    const c = a.counters();
    expect(c.resetsSent + c.resetsReceived + b.counters().resetsSent).toBe(0);
  }, 600_000);
});

describe("a freed TCB's block, reused for the next connection (tcb.ts keeps freed blocks)", () => {
  it("starts from zero: nothing of the previous connection carries over, and the pool counts it as freed", async () => {
    const e = await Engine.create({ flavor: "debug" });
    const idle = e.memoryInUse();
    const first = e.create({ sendBuffer: 4096, recvBuffer: 8192, noDelay: true, tos: 0x20 });
    expect(e.memoryInUse()).toBe(idle + e.tcbSize());
    expect(e.status(first).sendBuffer).toBe(4096);
    e.release(first, 0);
    expect(e.memoryInUse()).toBe(idle);
    // The next TCB comes from the same block (last in, first out).
    const second = e.create();
    expect(second).not.toBe(first);
    expect(e.memoryInUse()).toBe(idle + e.tcbSize());
    const fresh = await Engine.create({ flavor: "debug" });
    const defaults = fresh.status(fresh.create());
    expect(e.status(second)).toEqual(defaults);
  });
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

// Links: the in-memory pair (ordering, every fault reproducible for a seed and near its configured
// rate, delay and rate limit on a virtual clock) and the UDP link (loopback round trips, errors, and
// the kernel's ping through a real TUN + socat relay when this machine can make a namespace).
import dgram from "node:dgram";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TcpwasmError } from "../../src/core/errors.js";
import { Prng } from "../../src/core/prng.js";
import { canRunNetns, createTunNetns, type TunNetns } from "../fixtures/interop/netns.js";
import { createMemoryLinkPair, type MemoryLink, type MemoryLinkOptions } from "../../src/net/memory-link.js";
import { createUdpLink, parseEndpoint, type UdpLink } from "../../src/net/udp-link.js";
import { checksumRef, pseudoHeaderSumV6Ref } from "../fixtures/checksum-reference.js";

/** Packet i: 4-byte big-endian index, then `size - 4` bytes derived from it. */
function numbered(i: number, size = 100): Uint8Array {
  const p = new Uint8Array(size);
  new DataView(p.buffer).setUint32(0, i);
  for (let j = 4; j < size; j++) p[j] = (i * 31 + j) & 0xff;
  return p;
}
const indexOf = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset).getUint32(0);

/** A manual-clock pair and a helper that jumps time from event to event until nothing is in flight. */
function virtualPair(options: MemoryLinkOptions = {}) {
  const clock = { t: 0 };
  const [a, b] = createMemoryLinkPair({ ...options, clock: "manual", now: () => clock.t });
  const atA: { t: number; p: Uint8Array }[] = [];
  const atB: { t: number; p: Uint8Array }[] = [];
  a.onReceive((ps) => ps.forEach((p) => atA.push({ t: clock.t, p })));
  b.onReceive((ps) => ps.forEach((p) => atB.push({ t: clock.t, p })));
  /** Moves the clock to `target`, delivering every arrival on the way at its own time. */
  const advanceTo = (target: number) => {
    for (;;) {
      const next = Math.min(a.nextDeliveryTime(), b.nextDeliveryTime());
      if (next > target) break;
      clock.t = Math.max(clock.t, next);
      a.deliverDue(clock.t);
      b.deliverDue(clock.t);
    }
    clock.t = Math.max(clock.t, target);
  };
  /** Jumps from arrival to arrival until nothing is in flight. */
  const runUntilIdle = () => {
    for (let next = Math.min(a.nextDeliveryTime(), b.nextDeliveryTime()); next !== Infinity; next = Math.min(a.nextDeliveryTime(), b.nextDeliveryTime())) {
      advanceTo(next);
    }
  };
  return { clock, a, b, atA, atB, advanceTo, runUntilIdle };
}

/** Sends `count` numbered packets a -> b, one per ms of virtual time, and runs the link dry. */
function scenario(options: MemoryLinkOptions, count: number, size = 100) {
  const v = virtualPair(options);
  for (let i = 0; i < count; i++) {
    v.advanceTo(i);
    v.a.send([numbered(i, size)]);
  }
  v.runUntilIdle();
  return v;
}

const summary = (v: ReturnType<typeof scenario>) => ({
  stats: { ...v.a.stats },
  arrivals: v.atB.map(({ t, p }) => [t, Array.from(p).join(",")].join(":")),
});

function bitDistance(x: Uint8Array, y: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < x.length; i++) for (let d = x[i] ^ y[i]; d; d &= d - 1) bits++;
  return bits;
}

describe("memory link pair, no faults", () => {
  it("delivers every packet in order, as copies taken during send(), never inside send()", async () => {
    const [a, b] = createMemoryLinkPair();
    const got: Uint8Array[] = [];
    const batches: number[] = [];
    const done = new Promise<void>((resolve) =>
      b.onReceive((ps) => {
        batches.push(ps.length);
        got.push(...ps);
        if (got.length === 300) resolve();
      }),
    );
    const sent = Array.from({ length: 300 }, (_, i) => numbered(i));
    // copiesOnSend: what the sender does to its packets after send() does not reach the wire.
    a.send(sent.slice(0, 100));
    a.send(sent.slice(100, 250));
    for (const p of sent.slice(0, 250)) p.fill(0xee);
    expect(got).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1));
    a.send(sent.slice(250));
    await done;
    expect(a.copiesOnSend).toBe(true);
    expect(got.map(indexOf)).toEqual(sent.map((_, i) => i));
    got.forEach((p, i) => {
      expect(p).not.toBe(sent[i]);
      expect(p).toEqual(numbered(i));
    });
    // What was sent in one task arrives in one batch.
    expect(batches[0]).toBe(250);
    expect(a.stats).toMatchObject({ sent: 300, delivered: 300, bytesSent: 30000, bytesDelivered: 30000, lost: 0 });
    a.close();
    b.close();
  });

  it("reuses the memory of delivered packets only for a handler registered with { copies: true }", async () => {
    const exchange = async (copies: boolean) => {
      const [a, b] = createMemoryLinkPair();
      const batches: Uint8Array[][] = [];
      const snapshots: number[][] = [];
      b.onReceive((ps) => {
        batches.push(ps);
        snapshots.push(ps.map(indexOf));
      }, { copies });
      // Far more than one slab of memory, over many turns.
      for (let round = 0; round < 40; round++) {
        a.send(Array.from({ length: 100 }, (_, i) => numbered(round * 100 + i, 1000)));
        await new Promise((r) => setTimeout(r, 0));
      }
      a.close();
      b.close();
      return { batches, snapshots };
    };
    // A handler that keeps its packets finds them as they arrived, however much came after.
    const kept = await exchange(false);
    expect(kept.batches.flat().map(indexOf)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    // A handler that copies got each packet right during its call; the memory was used again later.
    const lent = await exchange(true);
    expect(lent.snapshots.flat()).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    const buffers = new Set(lent.batches.flat().map((p) => p.buffer));
    expect(buffers.size).toBeLessThan(4);
    expect(lent.batches.flat().map(indexOf)).not.toEqual(lent.snapshots.flat());
  });

  it("delivers zero-delay packets in the turn that sent them, before the event loop runs a task", async () => {
    const [a, b] = createMemoryLinkPair();
    const order: string[] = [];
    b.onReceive(() => order.push("delivered"));
    // Queued before the send: a link delivering on a task of its own would come after it.
    setImmediate(() => order.push("macrotask"));
    a.send([numbered(0)]);
    expect(order).toEqual([]);
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(["delivered", "macrotask"]);
    a.close();
    b.close();
  });

  it("an exchange that keeps answering itself still lets timers and I/O run", async () => {
    const [a, b] = createMemoryLinkPair();
    let hops = 0;
    let hopsWhenTaskRan = -1;
    const bounce = (from: MemoryLink) => (ps: Uint8Array[]) => {
      if (++hops < 2000) from.send(ps);
    };
    a.onReceive(bounce(a));
    b.onReceive(bounce(b));
    setImmediate(() => (hopsWhenTaskRan = hops));
    a.send([numbered(0)]);
    await new Promise<void>((resolve) => {
      const wait = () => (hops >= 2000 ? resolve() : setTimeout(wait, 1));
      wait();
    });
    // A task queued before the exchange began ran long before it ended.
    expect(hopsWhenTaskRan).toBeGreaterThan(0);
    expect(hopsWhenTaskRan).toBeLessThan(200);
    a.close();
    b.close();
  });

  it("works both ways at once; on a manual clock nothing moves until deliverDue", () => {
    const v = virtualPair();
    v.a.send([numbered(1)]);
    v.b.send([numbered(2), numbered(3)]);
    expect(v.atA.length + v.atB.length).toBe(0);
    expect(v.a.nextDeliveryTime()).toBe(0);
    expect(v.b.nextDeliveryTime()).toBe(0);
    expect(v.b.deliverDue(0)).toBe(1);
    expect(v.a.deliverDue(0)).toBe(2);
    expect(v.atB.map((r) => indexOf(r.p))).toEqual([1]);
    expect(v.atA.map((r) => indexOf(r.p))).toEqual([2, 3]);
    expect(v.a.nextDeliveryTime()).toBe(Infinity);
  });

  it("in timers mode never delivers a delayed packet before its time", async () => {
    const [a, b] = createMemoryLinkPair({ delay: 15 });
    const sentAt = performance.now();
    const receivedAt = await new Promise<number>((resolve) => {
      b.onReceive(() => resolve(performance.now()));
      a.send([numbered(0)]);
    });
    expect(receivedAt - sentAt).toBeGreaterThanOrEqual(15);
    a.close();
    b.close();
  });

  it("declares segmentation offload (offloadMtu 65535) only when it simulates no network", () => {
    const big = numbered(0, 60000);
    const plain = virtualPair();
    expect(plain.a.offloadMtu).toBe(65535);
    plain.a.send([big]);
    plain.runUntilIdle();
    expect(plain.atB.map((r) => r.p.length)).toEqual([60000]);
    // An MTU, a fault or Ethernet framing: the pair carries that network's packets only.
    for (const options of [{ mtu: 1500 }, { loss: 0.01 }, { delay: 1 }, { framing: "ethernet" }, { aToB: { mtu: 9000 } }] as MemoryLinkOptions[]) {
      const v = virtualPair(options);
      expect(v.a.offloadMtu).toBeUndefined();
      v.a.send([big]);
      v.runUntilIdle();
      expect(v.a.stats.tooBig).toBe(1);
    }
    expect(virtualPair({ offloadMtu: 0 }).a.offloadMtu).toBeUndefined();
    expect(virtualPair({ mtu: 1500, offloadMtu: 16384 }).b.offloadMtu).toBe(16384);
    expect(() => createMemoryLinkPair({ mtu: 9000, offloadMtu: 4000 })).toThrowError(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
    expect(() => createMemoryLinkPair({ offloadMtu: 70000 })).toThrowError(expect.objectContaining({ code: "ERR_OUT_OF_RANGE" }));
  });

  it("drops packets over the MTU and counts them", () => {
    const v = virtualPair({ mtu: 1280 });
    v.a.send([numbered(0, 1280), numbered(1, 1281)]);
    v.runUntilIdle();
    expect(v.atB.map((r) => r.p.length)).toEqual([1280]);
    expect(v.a.stats).toMatchObject({ sent: 2, tooBig: 1, delivered: 1 });
  });

  it("close() ends both directions for that end: nothing more is sent or received", () => {
    const v = virtualPair({ delay: 5 });
    v.a.send([numbered(0)]);
    v.b.close();
    v.a.send([numbered(1)]);
    v.b.send([numbered(2)]);
    v.runUntilIdle();
    expect(v.atB).toHaveLength(0);
    expect(v.atA).toHaveLength(0);
    expect(v.a.stats).toMatchObject({ sent: 2, delivered: 0, undelivered: 2 });
    expect(v.b.stats.sent).toBe(0);
    v.b.close(); // idempotent
  });

  it("rejects impossible options with Node's argument codes (test/faces/api-misuse.test.ts has the rest)", () => {
    const bad: [MemoryLinkOptions, string][] = [
      [{ loss: 1.5 }, "ERR_OUT_OF_RANGE"],
      [{ duplicate: -0.1 }, "ERR_OUT_OF_RANGE"],
      [{ delay: -1 }, "ERR_OUT_OF_RANGE"],
      [{ corruptBits: 0 }, "ERR_OUT_OF_RANGE"],
      [{ clock: "manual" }, "ERR_INVALID_ARG_TYPE"],
      [{ aToB: { reorder: Number.NaN } }, "ERR_OUT_OF_RANGE"],
    ];
    for (const [options, code] of bad) {
      expect(() => createMemoryLinkPair(options)).toThrowError(expect.objectContaining({ code }));
    }
  });
});

describe("memory link pair, seeded faults", () => {
  const N = 20000;
  // With a fixed seed each count below is one fixed number; the bounds are ~5 standard deviations of
  // Binomial(20000, p) either side of the configured rate, so a wrong rate cannot pass.
  const near = (observed: number, p: number) => {
    const sd = Math.sqrt(N * p * (1 - p));
    expect(observed).toBeGreaterThan(N * p - 5 * sd);
    expect(observed).toBeLessThan(N * p + 5 * sd);
  };

  it.each([
    ["loss", { loss: 0.1 }],
    ["duplicate", { duplicate: 0.05 }],
    ["reorder", { reorder: 0.2 }],
    ["corrupt", { corrupt: 0.02, corruptBits: 3 }],
    ["everything", { loss: 0.05, duplicate: 0.05, reorder: 0.05, corrupt: 0.05, delay: 3, rate: 1e6 }],
  ] as [string, MemoryLinkOptions][])("%s: the same seed gives the same run, another seed another", (_, faults) => {
    const first = summary(scenario({ ...faults, seed: 7 }, 500));
    const again = summary(scenario({ ...faults, seed: 7 }, 500));
    const other = summary(scenario({ ...faults, seed: 8 }, 500));
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it("loss: the observed rate is near the configured one, and only lost packets are missing", () => {
    const v = scenario({ loss: 0.1, seed: 11 }, N);
    near(v.a.stats.lost, 0.1);
    expect(v.atB).toHaveLength(N - v.a.stats.lost);
    expect(v.a.stats.delivered).toBe(N - v.a.stats.lost);
    const indices = v.atB.map((r) => indexOf(r.p));
    expect(indices).toEqual([...indices].sort((x, y) => x - y)); // loss alone never reorders
  });

  it("duplicate: each duplicate is an equal copy arriving right after its original", () => {
    const v = scenario({ duplicate: 0.05, seed: 12 }, N);
    near(v.a.stats.duplicated, 0.05);
    expect(v.atB).toHaveLength(N + v.a.stats.duplicated);
    let pairs = 0;
    for (let i = 1; i < v.atB.length; i++) {
      if (indexOf(v.atB[i].p) === indexOf(v.atB[i - 1].p)) {
        pairs++;
        expect(v.atB[i].p).toEqual(v.atB[i - 1].p);
        expect(v.atB[i].p).not.toBe(v.atB[i - 1].p); // its own buffer: the receiver owns both
      }
    }
    expect(pairs).toBe(v.a.stats.duplicated);
  });

  it("corrupt: corrupted packets differ from what was sent in exactly corruptBits bits", () => {
    const v = scenario({ corrupt: 0.02, corruptBits: 3, seed: 13 }, N);
    near(v.a.stats.corrupted, 0.02);
    expect(v.atB).toHaveLength(N);
    // Corruption alone keeps the order, so the k-th arrival is packet k (whose index bits may be hit).
    const distances = v.atB.map(({ p }, k) => bitDistance(p, numbered(k)));
    expect(distances.filter((d) => d !== 0 && d !== 3)).toEqual([]);
    expect(distances.filter((d) => d === 3)).toHaveLength(v.a.stats.corrupted);
  });

  it("reorder: held-back packets arrive reorderDelay late, overtaken by the ones sent after them", () => {
    const v = scenario({ reorder: 0.2, reorderDelay: 4.5, delay: 2, seed: 14 }, N);
    near(v.a.stats.reordered, 0.2);
    expect(v.atB).toHaveLength(N);
    let late = 0;
    for (const { t, p } of v.atB) {
      const sentAt = indexOf(p);
      expect([2, 6.5]).toContain(t - sentAt);
      if (t - sentAt === 6.5) late++;
    }
    expect(late).toBe(v.a.stats.reordered);
    const indices = v.atB.map((r) => indexOf(r.p));
    expect(indices).not.toEqual([...indices].sort((x, y) => x - y));
    expect([...indices].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
  });

  it("faults can differ per direction", () => {
    const v = virtualPair({ aToB: { loss: 1 }, bToA: { delay: 9 } });
    v.a.send([numbered(0)]);
    v.b.send([numbered(1)]);
    v.runUntilIdle();
    expect(v.atB).toHaveLength(0);
    expect(v.atA.map((r) => r.t)).toEqual([9]);
  });
});

describe("memory link pair on a virtual clock: delay and rate limit", () => {
  it("holds a packet for exactly the configured delay", () => {
    const v = virtualPair({ delay: 30 });
    v.clock.t = 100;
    v.a.send([numbered(0)]);
    expect(v.b.nextDeliveryTime()).toBe(130);
    expect(v.b.deliverDue(129.999)).toBe(0);
    expect(v.b.deliverDue(130)).toBe(1);
    expect(v.b.nextDeliveryTime()).toBe(Infinity);
  });

  it("serialises packets at the configured rate, then adds the delay", () => {
    // 1000-byte packets at 100 kB/s: 10 ms each on the wire.
    const v = virtualPair({ rate: 100_000, delay: 5 });
    v.a.send([numbered(0, 1000), numbered(1, 1000), numbered(2, 1000)]);
    v.clock.t = 12;
    v.a.send([numbered(3, 1000)]);
    v.clock.t = 100;
    v.a.send([numbered(4, 500)]);
    const arrivals: number[] = [];
    for (let next = v.b.nextDeliveryTime(); next !== Infinity; next = v.b.nextDeliveryTime()) {
      arrivals.push(next);
      v.b.deliverDue(next);
    }
    expect(arrivals).toEqual([15, 25, 35, 45, 110]);
  });

  it("delivers a long overload at the rate, dropping what the bounded queue cannot hold", () => {
    // Offered 2 MB/s for one virtual second into a 1 MB/s link with a 20 kB queue.
    const v = virtualPair({ rate: 1_000_000, queueLimit: 20_000 });
    for (let t = 0; t < 1000; t += 0.5) {
      v.advanceTo(t);
      v.a.send([numbered(t * 2, 1000)]);
    }
    const end = v.clock.t;
    v.runUntilIdle();
    const s = v.a.stats;
    expect(s.sent).toBe(2000);
    expect(s.overflowed + s.delivered).toBe(2000);
    // The wire moves 1000 bytes per ms; the last packet leaves no later than the queue allows.
    expect(s.bytesDelivered).toBeGreaterThanOrEqual(999_000);
    expect(s.bytesDelivered).toBeLessThanOrEqual(1_000_000 + 20_000);
    expect(v.atB.at(-1)!.t).toBeLessThanOrEqual(end + 20 + 1);
    // Never more than queueLimit bytes waiting: each arrival is at most 21 ms after its send.
    for (const { t, p } of v.atB) expect(t - indexOf(p) / 2).toBeLessThanOrEqual(21);
  });

  it("tail-drops when the queue is full", () => {
    const v = virtualPair({ rate: 100_000, queueLimit: 3000 });
    v.a.send(Array.from({ length: 10 }, (_, i) => numbered(i, 1000)));
    v.runUntilIdle();
    expect(v.atB.map((r) => [indexOf(r.p), r.t])).toEqual([[0, 10], [1, 20], [2, 30]]);
    expect(v.a.stats.overflowed).toBe(7);
  });
});

/** Two UDP sockets bound to free loopback ports, so each link can name the other as its peer. */
async function boundSockets(type: "udp4" | "udp6", host: string): Promise<[dgram.Socket, dgram.Socket]> {
  const bind = () =>
    new Promise<dgram.Socket>((resolve, reject) => {
      const s = dgram.createSocket(type);
      s.once("error", reject);
      s.bind(0, host, () => resolve(s));
    });
  return [await bind(), await bind()];
}

function collect(link: UdpLink, count: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  return new Promise((resolve) =>
    link.onReceive((ps) => {
      got.push(...ps);
      if (got.length >= count) resolve(got);
    }),
  );
}

describe("UDP link", () => {
  const open: UdpLink[] = [];
  afterEach(() => {
    for (const l of open.splice(0)) l.close();
  });

  it.each([
    ["udp4", "127.0.0.1"],
    ["udp6", "::1"],
  ] as const)("round-trips packets over %s loopback, one datagram each, in batches", async (type, host) => {
    const [sa, sb] = await boundSockets(type, host);
    const a = await createUdpLink({ socket: sa, peer: { host, port: sb.address().port } });
    const b = await createUdpLink({ socket: sb, peer: { host, port: sa.address().port } });
    open.push(a, b);
    const prng = new Prng(3);
    const sent = Array.from({ length: 40 }, (_, i) => {
      const p = prng.fill(new Uint8Array(20 + prng.nextInt(1480)));
      p[0] = i;
      return p;
    });
    const atB = collect(b, sent.length);
    a.send(sent.map((p) => p.slice()));
    const got = await atB;
    got.sort((x, y) => x[0] - y[0]); // loopback keeps order in practice; UDP does not promise it
    expect(got.map((p) => Array.from(p))).toEqual(sent.map((p) => Array.from(p)));
    const atA = collect(a, 1);
    b.send([Uint8Array.of(0x45, 1, 2, 3)]);
    expect(Array.from((await atA)[0])).toEqual([0x45, 1, 2, 3]);
    expect(a.stats).toMatchObject({ sent: 40, received: 1, foreign: 0 });
  });

  it("binds from a HOST:PORT string and ignores datagrams from anyone but the peer", async () => {
    const [peerSocket, stranger] = await boundSockets("udp4", "127.0.0.1");
    const link = await createUdpLink({ bind: "127.0.0.1:0", peer: `127.0.0.1:${peerSocket.address().port}` });
    open.push(link);
    const port = link.local.port;
    expect(port).toBeGreaterThan(0);
    const got = collect(link, 1);
    await new Promise<void>((r) => stranger.send(Uint8Array.of(9, 9), port, "127.0.0.1", () => r()));
    await new Promise<void>((r) => peerSocket.send(Uint8Array.of(1, 2), port, "127.0.0.1", () => r()));
    expect(Array.from((await got)[0])).toEqual([1, 2]);
    expect(link.stats.foreign).toBe(1);
    const echoed = new Promise<Buffer>((r) => peerSocket.once("message", r));
    link.send([Uint8Array.of(7)]);
    expect(Array.from(await echoed)).toEqual([7]);
    peerSocket.close();
    stranger.close();
  });

  it("with framing \"ethernet\" carries whole frames: the MTU is the payload's, 14 octets of header on top", async () => {
    const [sa, sb] = await boundSockets("udp4", "127.0.0.1");
    const a = await createUdpLink({ socket: sa, peer: { host: "127.0.0.1", port: sb.address().port }, framing: "ethernet" });
    const b = await createUdpLink({ socket: sb, peer: { host: "127.0.0.1", port: sa.address().port } });
    open.push(a, b);
    expect(a.framing).toBe("ethernet");
    expect(b.framing).toBe("ip");
    expect(a.mtu).toBe(1500);
    const atB = collect(b, 2);
    // 1514 octets: a full-MTU frame. 1515 is one past it; a raw-IP link drops anything past 1500.
    a.send([new Uint8Array(1514).fill(1), new Uint8Array(1515), new Uint8Array(60).fill(2)]);
    b.send([new Uint8Array(1501)]);
    expect((await atB).map((p) => p.length)).toEqual([1514, 60]);
    expect(a.stats).toMatchObject({ sent: 2, tooBig: 1 });
    expect(b.stats).toMatchObject({ sent: 0, tooBig: 1 });
  });

  it("checks framing and an Ethernet link's MTU", async () => {
    await expect(createUdpLink({ peer: "127.0.0.1:9", framing: "tap" as never })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    // One datagram holds 65507 octets: an Ethernet link's MTU stops 14 below.
    await expect(createUdpLink({ peer: "127.0.0.1:9", framing: "ethernet", mtu: 65494 })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    const max = await createUdpLink({ peer: "127.0.0.1:9", framing: "ethernet", mtu: 65493 });
    open.push(max);
    expect(max.mtu).toBe(65493);
  });

  it("surfaces bind failures as TcpwasmError with Node's codes", async () => {
    const first = await createUdpLink({ bind: "127.0.0.1:0", peer: "127.0.0.1:9" });
    open.push(first);
    const taken = `127.0.0.1:${first.local.port}`;
    await expect(createUdpLink({ bind: taken, peer: "127.0.0.1:9" })).rejects.toSatisfy(
      (e: unknown) => e instanceof TcpwasmError && e.code === "EADDRINUSE",
    );
    // 192.0.2.1 (TEST-NET-1) is on no interface here.
    await expect(createUdpLink({ bind: "192.0.2.1:0", peer: "127.0.0.1:9" })).rejects.toSatisfy(
      (e: unknown) => e instanceof TcpwasmError && e.code === "EADDRNOTAVAIL",
    );
    await expect(createUdpLink({ bind: "::1:0", peer: "127.0.0.1:9" })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    await expect(createUdpLink({ bind: "[::1]:0", peer: "127.0.0.1:9" })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    await expect(createUdpLink({ peer: "127.0.0.1:0" })).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    await expect(createUdpLink({ peer: "127.0.0.1:70000" })).rejects.toMatchObject({ code: "ERR_OUT_OF_RANGE" });
    await expect(createUdpLink({ peer: "no-such-host.invalid:5" })).rejects.toMatchObject({ code: "EINVAL" });
  });

  it("parses endpoints", () => {
    expect(parseEndpoint("10.0.0.1:7000", "x")).toEqual({ host: "10.0.0.1", port: 7000 });
    expect(parseEndpoint("[fd77::1]:7001", "x")).toEqual({ host: "fd77::1", port: 7001 });
    expect(parseEndpoint("localhost:1", "x")).toEqual({ host: "localhost", port: 1 });
    expect(() => parseEndpoint("fd77::1", "x")).toThrowError(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
  });
});

// The framing socat uses between a TUN and UDP-DATAGRAM: the kernel pings an address behind the
// relay, the ICMP echo request arrives here through a UdpLink, and the reply sent back through the
// link completes the ping.
const netns = canRunNetns(["ping"]);
if (!netns.ok) console.warn(`UDP link against socat's TUN relay SKIPPED: ${netns.reason}`);

describe.skipIf(!netns.ok)("UDP link behind socat's TUN relay", () => {
  let t: TunNetns;
  let link: UdpLink;
  beforeAll(async () => {
    t = await createTunNetns();
    link = await createUdpLink({ socket: t.link, peer: { host: t.relay.relayHost, port: t.relay.relayPort } });
    link.onReceive((packets) => {
      const replies = packets.map(echoReply).filter((r): r is Uint8Array => r !== null);
      if (replies.length) link.send(replies);
    });
  });
  afterAll(async () => {
    await t?.destroy(); // closes the handed-over socket, and with it the link's transport
  });

  it("answers the kernel's IPv4 and IPv6 pings", async () => {
    const v4 = await t.ns.exec("ping", ["-c2", "-i0.2", "-W3", t.peerV4]);
    expect(v4.stdout).toContain("2 received");
    const v6 = await t.ns.exec("ping", ["-6", "-c2", "-i0.2", "-W3", t.peerV6]);
    expect(v6.stdout).toContain("2 received");
    expect(link.stats.received).toBeGreaterThanOrEqual(4);
    expect(link.stats.foreign).toBe(0);
  });
});

/** An ICMP (RFC 792) or ICMPv6 (RFC 4443) echo reply for an echo request, else null. */
function echoReply(request: Uint8Array): Uint8Array | null {
  const r = request.slice();
  const dv = new DataView(r.buffer);
  const swap = (at: number, len: number) => {
    const src = r.slice(at, at + len);
    r.copyWithin(at, at + len, at + 2 * len);
    r.set(src, at + len);
  };
  if (r[0] >> 4 === 4) {
    const ihl = (r[0] & 0x0f) * 4;
    if (r[9] !== 1 || r[ihl] !== 8) return null;
    swap(12, 4);
    r[8] = 64;
    dv.setUint16(10, 0);
    dv.setUint16(10, checksumRef(r.subarray(0, ihl)));
    r[ihl] = 0;
    dv.setUint16(ihl + 2, 0);
    dv.setUint16(ihl + 2, checksumRef(r.subarray(ihl)));
    return r;
  }
  if (r[0] >> 4 === 6) {
    if (r[6] !== 58 || r[40] !== 128) return null;
    swap(8, 16);
    r[7] = 64;
    r[40] = 129;
    dv.setUint16(42, 0);
    const pseudo = pseudoHeaderSumV6Ref(r.subarray(8, 24), r.subarray(24, 40), 58, r.length - 40);
    dv.setUint16(42, checksumRef(r.subarray(40), pseudo));
    return r;
  }
  return null;
}

// The Ethernet bridge (src/net/bridge.ts): stacks on bridge ports reach each other with no server,
// the table learns and ages, floods only what it must, and stays bounded when a port sends from
// random MACs. On the virtual clock except where noted.
import { describe, expect, it } from "vitest";
import { createBridge } from "../../src/net/bridge.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { accepted, collect, connected, data, sha, writeAll } from "../fixtures/stack-util.js";
import { createGateway } from "../../src/gateway/gateway.js";

const MiB = 1 << 20;

function frame(dst: number[], src: number[], length = 60): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x08;
  return f;
}

describe("bridge", () => {
  it("two guests on bridge ports move 16 MiB each way with SHA-256 intact; unicast after learning goes to one port", async () => {
    const net = new VirtualNet();
    const bridge = createBridge({ now: net.clock.read });
    const a = await net.stack({ addresses: ["10.1.0.1/24", "fd01::1/64"], flavor: "auto" });
    const b = await net.stack({ addresses: ["10.1.0.2/24", "fd01::2/64"], flavor: "auto" });
    const c = await net.stack({ addresses: ["10.1.0.3/24"], flavor: "auto" });
    const portC = bridge.port();
    let toC = 0;
    const cOnReceive = portC.onReceive.bind(portC);
    a.attach(bridge.port(), { mac: "02:00:00:00:01:01" });
    b.attach(bridge.port(), { mac: "02:00:00:00:01:02" });
    c.attach({ ...portC, onReceive: (h) => cOnReceive((frames) => { toC += frames.length; h(frames); }) }, { mac: "02:00:00:00:01:03" });
    try {
      const up = data(16 * MiB, 1);
      const down = data(16 * MiB, 2);
      const server = accepted(b, 9000);
      const conn = a.openConnection({ remote: "10.1.0.2", remotePort: 9000 });
      await net.wait(connected(conn), "connect");
      const s = await net.wait(server, "accept");
      const atB = collect(s);
      const atA = collect(conn);
      const cBefore = toC;
      await net.wait(Promise.all([writeAll(conn, up, true), writeAll(s, down, true)]), "writes");
      await net.wait(Promise.all([atA.ended, atB.ended]), "ends");
      expect(sha(atB.chunks)).toBe(sha([up]));
      expect(sha(atA.chunks)).toBe(sha([down]));
      // Learned: the bulk transfer was never flooded to the third port.
      expect(toC - cBefore).toBeLessThan(10);
      expect(bridge.counters.forwarded).toBeGreaterThan(2 * 16 * MiB / 1500);
      expect(bridge.addresses).toBe(3);
    } finally {
      bridge.close();
      net.close();
    }
  }, 120_000);

  it("IPv6 across the bridge: neighbour discovery by multicast flood, then TCP", async () => {
    const net = new VirtualNet();
    const bridge = createBridge({ now: net.clock.read });
    const a = await net.stack({ addresses: ["fd01::1/64"] });
    const b = await net.stack({ addresses: ["fd01::2/64"] });
    a.attach(bridge.port(), { mac: "02:00:00:00:02:01" });
    b.attach(bridge.port(), { mac: "02:00:00:00:02:02" });
    const server = accepted(b, 80);
    const conn = a.openConnection({ remote: "fd01::2", remotePort: 80 });
    await net.wait(connected(conn), "connect");
    const s = await net.wait(server, "accept");
    const got = collect(s);
    await net.wait(writeAll(conn, data(100_000, 3), true), "write");
    await net.wait(got.ended, "end");
    expect(sha(got.chunks)).toBe(sha([data(100_000, 3)]));
    expect(bridge.counters.flooded).toBeGreaterThan(0);
    bridge.close();
    net.close();
  });

  it("the gateway stack as one more port: two guests on the bridge reach each other and, through the gateway, any address", async () => {
    const net = new VirtualNet();
    const bridge = createBridge({ now: net.clock.read });
    const gw = await createGateway({
      link: bridge.port({ mtu: 9000 }),
      dhcp: false,
      dns: false,
      // The far side: an echo (a TransformStream) for every destination.
      connect: () => new TransformStream<Uint8Array, Uint8Array>(),
      stack: { now: net.clock.read, timers: net.clock },
    });
    const a = await net.stack({ addresses: ["10.0.2.15/24"] });
    const b = await net.stack({ addresses: ["10.0.2.16/24"] });
    a.attach(bridge.port({ mtu: 9000 }), { gateway: "10.0.2.2" });
    b.attach(bridge.port({ mtu: 9000 }), { gateway: "10.0.2.2" });
    try {
      const server = accepted(b, 7);
      const direct = a.openConnection({ remote: "10.0.2.16", remotePort: 7 });
      await net.wait(connected(direct), "guest to guest");
      await net.wait(server, "accept");
      const out = a.openConnection({ remote: "198.51.100.1", remotePort: 7 });
      await net.wait(connected(out), "guest to the world");
      // MSS from the ports' 9000-byte MTU (less 12 bytes of timestamps when they are on).
      expect(out.status().sendMss).toBeGreaterThanOrEqual(9000 - 40 - 12);
      const back = collect(out);
      await net.wait(writeAll(out, data(300_000, 4), true), "write");
      await net.wait(back.ended, "echo end");
      expect(sha(back.chunks)).toBe(sha([data(300_000, 4)]));
      expect(gw.forwarder.counters.spliced).toBe(1);
    } finally {
      gw.close();
      bridge.close();
      net.close();
    }
  });

  it("floods unknown and broadcast destinations to every other port, never back to the one they came from; drops what goes back where it came from", async () => {
    let now = 0;
    const bridge = createBridge({ now: () => now, ageingMs: 1000 });
    const got: Uint8Array[][] = [[], [], []];
    const ports = [0, 1, 2].map((i) => {
      const p = bridge.port();
      p.onReceive((frames) => got[i]!.push(...frames));
      return p;
    });
    const settle = () => new Promise((r) => setTimeout(r, 0));
    const A = [2, 0, 0, 0, 0, 0xa];
    const B = [2, 0, 0, 0, 0, 0xb];
    ports[0]!.send([frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], A)]);
    await settle();
    expect(got.map((g) => g.length)).toEqual([0, 1, 1]);
    // B unknown: flooded; then B speaks from port 1 and A's frames to B go to port 1 only.
    ports[0]!.send([frame(B, A)]);
    await settle();
    expect(got.map((g) => g.length)).toEqual([0, 2, 2]);
    ports[1]!.send([frame(A, B)]);
    await settle();
    expect(got.map((g) => g.length)).toEqual([1, 2, 2]);
    ports[0]!.send([frame(B, A)]);
    await settle();
    expect(got.map((g) => g.length)).toEqual([1, 3, 2]);
    // A frame to a station on the port it came from is filtered.
    ports[1]!.send([frame(B, [2, 0, 0, 0, 0, 0xc])]);
    await settle();
    expect(bridge.counters.filtered).toBe(1);
    // Aged out: B not heard from for over a second is unknown again (flooded).
    now = 2000;
    ports[0]!.send([frame(B, A)]);
    await settle();
    expect(got.map((g) => g.length)).toEqual([1, 4, 3]);
    // Bad input is counted: too short, a group source MAC, too long for the port.
    ports[0]!.send([new Uint8Array(10), frame(B, [3, 0, 0, 0, 0, 1]), frame(B, A, 1515)]);
    await settle();
    expect(bridge.counters.invalid).toBe(3);
    bridge.close();
  });

  it("hostile: 100,000 frames from random source MACs keep the table at its bound", async () => {
    const bridge = createBridge({ maxAddresses: 256 });
    const p0 = bridge.port();
    const p1 = bridge.port();
    p1.onReceive(() => {});
    let x = 1;
    for (let batch = 0; batch < 100; batch++) {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 1000; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        frames.push(frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [2, x >>> 24, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff, batch]));
      }
      p0.send(frames);
    }
    expect(bridge.addresses).toBe(256);
    expect(bridge.counters.evicted).toBeGreaterThan(99_000);
    bridge.close();
  });
});

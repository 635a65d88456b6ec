// UDP floods from a hostile host on the link: datagrams to closed ports from spoofed sources (ICMP
// port unreachable stays within its token bucket, RFC 4443 2.4 (f): the stack cannot be turned into a
// reflector), and a flood at a socket whose reader has stopped (the Web face's queue stays at its
// high-water mark, the rest is dropped and counted, memory does not move). Real stacks on the hub's
// virtual clock (test/fixtures/hostile.ts); datagrams built by test/fixtures/udp-packets.ts.
import { afterEach, describe, expect, it } from "vitest";
import "../../../src/faces/web-udp.js";
import { Hub, SERVER, CLIENT, memoryOf, settle } from "../../fixtures/hostile.js";
import { udpPacket } from "../../fixtures/udp-packets.js";

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

/** `n` datagrams to `port` of the server from spoofed sources 10.0.0.100..199 and random ports. */
function spoofed(n: number, port: number, from: number, payload = 32): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => udpPacket({
    src: `10.0.0.${100 + ((from + i) % 100)}`, dst: SERVER, srcPort: 1024 + ((from + i) % 60000), dstPort: port,
    payload: new Uint8Array(payload).fill(i & 0xff),
  }));
}

describe("UDP floods", () => {
  it("100,000 datagrams to closed ports over 10 s: port unreachable errors stay within the token bucket, memory stays put, a real socket still answers", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER, { config: { udpUnreachableRate: 100, udpUnreachableBurst: 10 } });
    const client = await hub.stack(CLIENT);
    const echo = server.openUdp({ localPort: 7 }, (m) => echo.send(m.data, m.remoteAddress, m.remotePort));
    hub.keepInbox = false;
    const before = memoryOf(server);
    const total = 100_000;
    const batch = 1000;
    for (let sent = 0; sent < total; sent += batch) {
      hub.inject(spoofed(batch, 9 + (sent % 50), sent));
      await settle();
      // 100 ms of virtual time per batch: 10 s in all.
      await hub.advanceTo(hub.clock.now + 100);
    }
    const c = server.counters();
    expect(c.udpNoPort).toBe(total);
    // The burst, then 100 a second for 10 s (the first batch at time 0 takes the burst).
    expect(c.udpUnreachableSent).toBeLessThanOrEqual(10 + 100 * 10);
    expect(c.udpUnreachableSent).toBeGreaterThanOrEqual(100 * 9);
    expect(c.udpUnreachableSent + c.udpUnreachableRateLimited).toBe(total);
    expect(hub.stats.toRaw).toBe(c.udpUnreachableSent);
    expect(memoryOf(server)).toEqual(before);
    // The real socket is served throughout.
    const answers: string[] = [];
    const sock = client.openUdp({}, (m) => answers.push(new TextDecoder().decode(m.data)));
    sock.send(new TextEncoder().encode("still there?"), SERVER, 7);
    await hub.runUntil(() => answers.length === 1, "the echo");
    expect(answers).toEqual(["still there?"]);
  });

  it("200,000 datagrams at a socket whose reader stopped: the queue holds its high-water mark, the rest is dropped and counted, memory stays put", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const socket = server.openUDPSocket({ localAddress: SERVER, localPort: 5000, readableHighWaterMark: 32 });
    const { readable } = await socket.opened;
    hub.keepInbox = false;
    // One batch first: the engine's regions are taken on the first bind, the stream's queue fills.
    hub.inject(spoofed(100, 5000, 0));
    await settle();
    const before = memoryOf(server);
    const total = 200_000;
    const batch = 2000;
    for (let sent = 0; sent < total; sent += batch) {
      hub.inject(spoofed(batch, 5000, sent, 512));
      await settle();
    }
    expect(memoryOf(server)).toEqual(before);
    const c = server.counters();
    expect(c.udpDelivered).toBe(total + 100);
    expect(c.udpReceiveRegionFull).toBe(0);
    expect(socket.droppedMessages).toBe(total + 100 - 32);
    // Nothing was answered: the port is open.
    expect(hub.stats.toRaw).toBe(0);
    // The reader comes back: the 32 queued, then new datagrams again.
    const reader = readable.getReader();
    for (let i = 0; i < 32; i++) expect((await reader.read()).value!.data.length).toBe(32);
    hub.inject(spoofed(1, 5000, 7, 9));
    await settle();
    expect((await reader.read()).value!.data.length).toBe(9);
  });
});

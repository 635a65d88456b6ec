// A hostile guest against gateway mode: SYNs to random addresses and ports from random source ports,
// written by hand on the guest's end of the Ethernet link, while the policy never answers (every
// connection stays held). What the gateway holds stays bounded by the half-open caps (RFC 4987 3.1);
// past them it answers with SYN cookies (RFC 4987 3.6), and its memory stops growing. Virtual clock.
import { describe, expect, it } from "vitest";
import { createGateway } from "../../src/gateway/gateway.js";
import { VirtualNet } from "../fixtures/stack-pair.js";
import { buildPacket } from "../fixtures/wire-reference.js";
import { Prng } from "../../src/core/prng.js";

const GATEWAY_MAC = [2, 0, 0, 0, 0, 2];
const GUEST_MAC = [0x52, 0x54, 0, 0x12, 0x34, 0x56];

function inFrame(packet: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + packet.length);
  f.set(GATEWAY_MAC, 0);
  f.set(GUEST_MAC, 6);
  f[12] = 0x08;
  f.set(packet, 14);
  return f;
}

/** An ARP request from the guest for the gateway: the gateway learns the guest's MAC (RFC 826). */
function arp(): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(GUEST_MAC, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 12);
  f.set(GUEST_MAC, 22);
  f.set([10, 0, 2, 15], 28);
  f.set([10, 0, 2, 2], 38);
  return f;
}

describe("hostile guest: a SYN flood to random destinations", () => {
  it("20,000 SYNs held by a policy that never answers: held connections stay at the backlog, the rest get SYN cookies, memory flat", async () => {
    const net = new VirtualNet();
    const [guest, gatewayEnd] = net.linkPair({ framing: "ethernet" });
    const pending = new Promise<never>(() => {});
    const gw = await createGateway({
      link: gatewayEnd,
      mac: "02:00:00:00:00:02",
      dhcp: false,
      dns: false,
      connect: () => pending,
      stack: { now: net.clock.read, timers: net.clock, flavor: "auto" },
    });
    let synAcks = 0;
    guest.onReceive((frames) => {
      for (const f of frames) if (f[12] === 0x08 && f[14 + 9] === 6 && (f[14 + 20 + 13]! & 0x12) === 0x12) synAcks++;
    });
    guest.send([arp()]);
    await net.advance(10);
    // Random words from the project's PRNG (a plain LCG's low bits repeat and would resend 4-tuples).
    const words = new Uint32Array(new Prng(7).fill(new Uint8Array(4 * 4 * 20_000)).buffer);
    let w = 0;
    const rand = () => words[w++]!;
    let memoryAfterFirst = 0;
    for (let batch = 0; batch < 40; batch++) {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 500; i++) {
        const r = rand();
        frames.push(inFrame(buildPacket({
          src: Uint8Array.of(10, 0, 2, 15),
          dst: Uint8Array.of(1 + (r >>> 25), (r >>> 16) & 0xff, (r >>> 8) & 0xff, 1 + (r & 0x7f)),
          srcPort: 1024 + (rand() % 60000),
          dstPort: 1 + (rand() % 65000),
          seq: rand(),
          flags: 0x02,
          window: 65535,
          options: Uint8Array.of(2, 4, 5, 0xb4),
        })));
      }
      guest.send(frames);
      await net.advance(5);
      if (batch === 3) memoryAfterFirst = gw.stack.engine.memoryInUse();
    }
    const c = gw.stack.counters();
    const held = gw.forwarder.counters.requested;
    // Held connections: the listener's backlog at most, the engine's live connections with them.
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(1024);
    expect(gw.forwarder.counters.open).toBe(held);
    // Every SYN was held or answered with a cookie (batches of 500 fit the control queue).
    expect(c.synCookiesSent + held).toBe(20_000);
    // None of the held SYNs was answered: only cookies went out.
    expect(synAcks).toBe(c.synCookiesSent);
    expect(gw.stack.engine.memoryInUse()).toBe(memoryAfterFirst);
    gw.close();
    net.close();
  }, 60_000);
});

// Whatever a link delivers reaches the stack from the far side of a WebSocket, a data channel or an
// emulator: a frame the stack cannot use is counted (linkDropped) and dropped, never thrown out of the
// link's callback, and the rest of its batch still arrives.
import { describe, expect, it } from "vitest";
import { createStack, type Stack } from "../../src/tcp/stack.js";
import { parseIpv4, parseIpv6 } from "../../src/core/wire.js";
import { echoRequest } from "../fixtures/stack-util.js";
import type { Link, PacketHandler } from "../../src/net/link.js";
import { VirtualNet } from "../fixtures/stack-pair.js";

/** A link the test drives by hand: `deliver` calls the stack's handler as a transport would. */
class HandLink implements Link {
  readonly sent: Uint8Array[] = [];
  private handler: PacketHandler | undefined;
  send(packets: Uint8Array[]): void {
    this.sent.push(...packets);
  }
  onReceive(handler: PacketHandler): void {
    this.handler = handler;
  }
  close(): void {
    this.handler = undefined;
  }
  deliver(batch: unknown): void {
    this.handler!(batch as Uint8Array[]);
  }
}

const US = parseIpv4("10.0.0.1")!;
const PEER = parseIpv4("10.0.0.2")!;

/** A stack on a virtual clock (test/fixtures/stack-pair.ts) with a link the test drives by hand. */
async function stackOn(): Promise<{ net: VirtualNet; stack: Stack; link: HandLink }> {
  const net = new VirtualNet();
  const stack = await net.stack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
  const link = new HandLink();
  stack.attach(link);
  return { net, stack, link };
}

/** Echo replies the stack sent, by their identifier. */
function replyIds(link: HandLink): number[] {
  return link.sent.map((p) => (p[0]! >> 4 === 4 ? (p[24]! << 8) | p[25]! : (p[44]! << 8) | p[45]!));
}

describe("bad frames from a link", () => {
  it("a 2 MiB packet (beyond the RX region) is counted and dropped, not thrown", async () => {
    const { stack, link } = await stackOn();
    const huge = new Uint8Array(2 << 20);
    huge.set(echoRequest(PEER, US));
    expect(() => link.deliver([huge])).not.toThrow();
    expect(stack.stackCounters.linkDropped).toBe(1);
    expect(stack.counters().packetsIn).toBe(0);
    stack.close();
  });

  it("an empty packet, things that are not a Uint8Array and a batch that is not an array are counted and dropped", async () => {
    const { net, stack, link } = await stackOn();
    const echo = echoRequest(PEER, US);
    const junk: unknown[] = [
      new Uint8Array(0), "a string", 42, null, undefined, {}, echo.buffer, Array.from(echo), new Uint16Array(echo.length),
      new DataView(echo.buffer),
    ];
    expect(() => link.deliver(junk)).not.toThrow();
    expect(stack.stackCounters.linkDropped).toBe(junk.length);
    for (const batch of [undefined, null, "batch", 7, echo]) expect(() => link.deliver(batch)).not.toThrow();
    expect(stack.stackCounters.linkDropped).toBe(junk.length + 5);
    await net.advance(10);
    expect(link.sent).toEqual([]);
    expect(stack.counters().packetsIn).toBe(0);
    stack.close();
  });

  it("a bad frame in the middle of a batch: the good ones around it still arrive", async () => {
    const { net, stack, link } = await stackOn();
    const peer6 = parseIpv6("fd00::2")!;
    const us6 = parseIpv6("fd00::1")!;
    // An IPv4 version nibble, our address as the destination, and nonsense everywhere else.
    const garbage = new Uint8Array(60).fill(0x45);
    garbage.set(US, 16);
    link.deliver([
      echoRequest(PEER, US, 1), new Uint8Array(3 << 20), echoRequest(peer6, us6, 2), "junk", new Uint8Array(0),
      garbage, echoRequest(PEER, US, 3),
    ]);
    await net.runUntil(() => link.sent.length >= 3, "three echo replies");
    expect(replyIds(link).sort()).toEqual([1, 2, 3]);
    expect(stack.stackCounters.linkDropped).toBe(3);
    // The garbage reached the engine and was refused there, by reason.
    const c = stack.counters();
    expect(c.packetsIn).toBe(4);
    expect(c.icmpEchoReplies).toBe(3);
    expect(c.dropsByReason.reduce((a, b) => a + b, 0)).toBe(1);
    stack.close();
  });
});

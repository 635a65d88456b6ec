// Whatever a link delivers (nothing a peer sends may throw; bad input is counted and dropped):
// frames far larger than any MTU, empty and truncated ones, random bytes behind a valid destination address, and real
// segments of a live connection with bits flipped. None may throw out of the link's callback (a
// WebSocket or WebRTC link would crash the process: an uncaught exception), none may reach the
// connection's stream, and the connection goes on as if nothing had come.
import { afterEach, describe, expect, it } from "vitest";
import { Prng } from "../../../src/core/prng.js";
import { Hub, RawTcp, SERVER, bytes, hashingServer, settle, sha256 } from "../../fixtures/hostile.js";

let hub: Hub | undefined;
afterEach(() => {
  hub?.close();
  hub = undefined;
});

/** A packet of `size` random bytes that reads as IPv4 to SERVER, so the stack takes it in. */
function randomForServer(rng: Prng, size: number): Uint8Array {
  const p = rng.fill(new Uint8Array(size));
  if (size >= 20) {
    p[0] = 0x45;
    p.set([10, 0, 0, 2], 16);
  }
  return p;
}

describe("garbage from the link", () => {
  it("oversized, empty, truncated and random frames and bit-flipped segments: nothing throws, nothing gets into the stream", async () => {
    hub = await Hub.create();
    const server = await hub.stack(SERVER);
    const sides = hashingServer(server);
    const raw = new RawTcp(hub, { srcPort: 44000, timestamps: true });
    await raw.open();
    const first = bytes(3000, 1);
    raw.sendData(first);
    await settle();
    raw.replies();
    const rng = new Prng(99);
    const frames: Uint8Array[] = [
      randomForServer(rng, 2 << 20), // a 2 MiB frame: what a WebSocket or WebRTC link can hand over
      randomForServer(rng, 70_000), // larger than any IPv4 packet
      new Uint8Array(0),
      new Uint8Array(1),
      randomForServer(rng, 19),
      randomForServer(rng, 20),
      randomForServer(rng, 39),
    ];
    for (let i = 0; i < 2000; i++) frames.push(randomForServer(rng, 20 + rng.nextInt(1500)));
    // Real segments of the live connection (in window, right numbers) with one bit flipped in the
    // TCP header or payload: the TCP checksum catches every single-bit error (several flips can
    // cancel out in a ones'-complement sum, so those would test the checksum, not the stack).
    for (let i = 0; i < 2000; i++) {
      const seg = raw.segment({ payload: bytes(200, 1000 + i) });
      const bit = 20 * 8 + rng.nextInt((seg.length - 20) * 8);
      seg[bit >> 3]! ^= 1 << (bit & 7);
      frames.push(seg);
    }
    for (let i = 0; i < frames.length; i += 100) {
      expect(() => hub!.injectAt(SERVER, frames.slice(i, i + 100))).not.toThrow();
      await settle();
    }
    expect(() => hub!.injectAt(SERVER, [frames[0]!])).not.toThrow();
    await settle();
    raw.replies();
    expect(sides[0]!.bytes).toBe(first.length);
    expect(sides[0]!.closed).toBe(false);

    // The connection is untouched: more data and the end arrive intact.
    const more = bytes(50_000, 2);
    raw.tick();
    raw.sendData(more);
    raw.send({ flags: { ack: true, fin: true } });
    raw.sndNxt = (raw.sndNxt + 1) >>> 0;
    await hub.runUntil(() => sides[0]!.ended, "the stream after the garbage");
    const all = Buffer.concat([first, more]);
    expect(sides[0]!.bytes).toBe(all.length);
    expect(sides[0]!.hash.digest("hex")).toBe(sha256(all));
  });
});

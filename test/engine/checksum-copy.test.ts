// Packet scripts for the TCP checksum verified while the payload is copied into the receive ring
// (assembly/engine/rxsum.ts, RFC 1071 4.1): a segment that fails the check is dropped before anything
// in it is acted on (no ACK, no data, no state), whether its payload was copied on the way or not,
// and out-of-order data held in the ring is never overwritten by a segment that has not verified.
import { describe, expect, it } from "vitest";
import { ACK, LOCAL, LOCAL_PORT, REMOTE, REMOTE_PORT, Script, bytes, established } from "../fixtures/engine-script.js";
import { REASON_NAMES } from "../../src/core/reasons.js";

const TCP_CHECKSUM = REASON_NAMES.indexOf("TCP_CHECKSUM");

/** A data segment from the peer whose TCP checksum no longer verifies (its last payload byte changed after it was summed). */
function corrupted(s: Script, seq: number, payload: string): Uint8Array {
  const packet = s.wire.encodePacket({
    src: REMOTE, dst: LOCAL, srcPort: REMOTE_PORT, dstPort: LOCAL_PORT, seq, ack: s.l(1), flags: ACK, window: 65535,
    payload: bytes(payload),
  });
  packet[packet.length - 1]! ^= 0x5a;
  return packet;
}

describe("the TCP checksum verified in the copy to the receive ring", () => {
  it("an in-order segment that fails the check: dropped and counted, no ACK, nothing readable; its good copy then arrives intact", async () => {
    const s = await established();
    // A first segment makes the ring's storage exist, so the next in-order one is copied as it is summed.
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "a".repeat(100) });
    s.advance(40);
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(101), window: 65535 - 100 });
    s.sendRaw(corrupted(s, s.r(101), "X".repeat(1460)));
    s.recvNothing();
    expect(s.engine.counters().dropsByReason[TCP_CHECKSUM]).toBe(1);
    expect(s.engine.status(s.id)).toMatchObject({ rcvNxt: s.r(101), recvQueued: 100 });
    s.send({ flags: ACK, seq: s.r(101), ack: s.l(1), payload: "b".repeat(1460) });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("a".repeat(100) + "b".repeat(1460));
  });

  it("out-of-order data held past RCV.NXT is untouched by a failing segment that overlaps it", async () => {
    const s = await established();
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: "a".repeat(100) });
    s.send({ flags: ACK, seq: s.r(1561), ack: s.l(1), payload: "c".repeat(1460) });
    expect(s.engine.status(s.id).oooBytes).toBe(1460);
    s.sendRaw(corrupted(s, s.r(101), "X".repeat(2920)));
    expect(s.engine.counters().dropsByReason[TCP_CHECKSUM]).toBe(1);
    s.send({ flags: ACK, seq: s.r(101), ack: s.l(1), payload: "b".repeat(1460) });
    expect(new TextDecoder().decode(s.engine.recv(s.id, s.now))).toBe("a".repeat(100) + "b".repeat(1460) + "c".repeat(1460));
  });
});

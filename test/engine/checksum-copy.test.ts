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

/** Takes one segment the engine sent, if any. */
function takeOne(s: Script): boolean {
  try {
    s.next();
    return true;
  } catch {
    return false;
  }
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

  it("a payload split by the ring's wrap at an odd offset sums right both ways (RFC 1071 2(B) byte swap)", async () => {
    // 4096-byte rings and 1365-byte segments: the fourth starts at 4095, one byte before the wrap.
    const s = await established({ recvBuffer: 4096, sendBuffer: 4096 });
    // Bytes that differ from their neighbours: a sum taken with the wrong byte pairing differs too.
    const piece = (i: number) => Array.from({ length: 1365 }, (_, k) => String.fromCharCode(0x41 + ((i * 7 + k * 5) % 26))).join("");
    let got = "";
    for (let i = 0; i < 4; i++) {
      s.send({ flags: ACK, seq: s.r(1 + i * 1365), ack: s.l(1), payload: piece(i) });
      got += new TextDecoder().decode(s.engine.recv(s.id, s.now));
      // Reading reopens the window: its update goes out (after the delayed ACK) before the next segment.
      s.advance(40);
      while (takeOne(s));
    }
    expect(s.engine.counters().dropsByReason[TCP_CHECKSUM]).toBe(0);
    expect(got).toBe(piece(0) + piece(1) + piece(2) + piece(3));
    // Our side: the fourth segment comes out of the send ring across the same odd wrap; the script
    // parses what the engine sends with checksum verification on.
    s.events();
    let ack = 1 + 4 * 1365;
    for (let i = 0; i < 4; i++) {
      expect(s.engine.send(s.id, bytes(piece(i)), s.now)).toBe(1365);
      const g = s.next();
      expect({ seq: g.seq, payload: g.payload }).toEqual({ seq: s.l(1 + i * 1365), payload: piece(i) });
      s.send({ flags: ACK, seq: s.r(ack), ack: s.l(1 + (i + 1) * 1365) });
      s.recvNothing();
    }
  });
});


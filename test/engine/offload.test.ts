// Packet scripts for segmentation offload (assembly/engine/offload.ts): a connection over a link that
// takes packets above its MTU (engineInput's and connConnectMs's linkOffloadMtu) sends packets of whole
// segments up to that size, while its MSS, congestion control and the peer's ACK rule stay the path's;
// without the link's word it never sends a packet above the MTU. Then two engines on a virtual clock
// (test/fixtures/pair.ts): SHA-256-checked transfers, and a lost 64 KiB packet repaired.
import { describe, expect, it } from "vitest";
import { ACK, LOCAL, REMOTE, REMOTE_PORT, REMOTE_SEQ, SYN, Script, established } from "../fixtures/engine-script.js";
import { Pair } from "../fixtures/pair.js";
import { loadWire, type ParsedPacket } from "../../src/core/wire.js";

const MSS = 1460;

/** ESTABLISHED (active open over a link of MTU 1500 with offload MTU `offload`, 0: none); the peer's MSS is 1460. */
async function openOver(offload: number, options: { noDelay?: boolean } = {}): Promise<Script> {
  const s = await Script.create({ sendBuffer: 262144 });
  s.localPort = 40000;
  s.id = s.engine.connect(
    { local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort: 40000, linkMtu: 1500, linkOffloadMtu: offload },
    s.now, options.noDelay ? { noDelay: true } : {});
  const syn = s.next();
  s.iss = syn.seq;
  // Our SYN advertises the MSS of the MTU, not of the offload size (RFC 9293 3.7.1).
  expect(syn.mss).toBe(MSS);
  s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: MSS });
  s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
  return s;
}

/** Every segment the engine has queued, as [offset after the SYN, payload length]. */
function sent(s: Script): Array<[number, number]> {
  return s.drain().map((g): [number, number] => [(g.seq - s.l(1)) >>> 0, g.payload.length]);
}

describe("segmentation offload: the sender", () => {
  it("sends its initial window (10 segments, RFC 6928) as one packet on a link with offload, as ten without", async () => {
    const with_ = await openOver(65535);
    with_.engine.send(with_.id, new Uint8Array(65536).fill(0x61), with_.now);
    expect(sent(with_)).toEqual([[0, 10 * MSS]]);
    expect(with_.engine.status(with_.id)).toMatchObject({ sendMss: MSS, localMss: MSS, cwnd: 10 * MSS });

    const without = await openOver(0);
    without.engine.send(without.id, new Uint8Array(65536).fill(0x61), without.now);
    expect(sent(without)).toEqual(Array.from({ length: 10 }, (_, i) => [i * MSS, MSS]));
  });

  it("packets are whole segments up to the offload size: 3 segments each under an offload MTU of 4420", async () => {
    const s = await openOver(3 * MSS + 40);
    s.engine.send(s.id, new Uint8Array(65536).fill(0x61), s.now);
    expect(sent(s)).toEqual([[0, 3 * MSS], [3 * MSS, 3 * MSS], [6 * MSS, 3 * MSS], [9 * MSS, MSS]]);
  });

  it("only while segments are as large as the MTU makes them: a peer MSS of 1400 turns offload off", async () => {
    // A link that cuts at its MTU would otherwise cut 1460-byte pieces for a peer that takes 1400.
    const s = await Script.create({ sendBuffer: 262144 });
    s.localPort = 40000;
    s.id = s.engine.connect({ local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort: 40000, linkMtu: 1500, linkOffloadMtu: 65535 }, s.now);
    s.iss = s.next().seq;
    s.send({ flags: SYN | ACK, seq: REMOTE_SEQ, ack: s.l(1), mss: 1400 });
    s.recv({ flags: ACK, seq: s.l(1), ack: s.r(1) });
    s.engine.send(s.id, new Uint8Array(4 * 1400).fill(0x61), s.now);
    expect(sent(s)).toEqual([[0, 1400], [1400, 1400], [2800, 1400], [4200, 1400]]);
  });

  it("slow start counts the ACK of one packet as of one transmission: the next packet is twice the first", async () => {
    // RFC 3465's L = 2 SMSS would grow cwnd by 2 segments for the 10 this ACK covers.
    const s = await openOver(65535);
    s.engine.send(s.id, new Uint8Array(65536).fill(0x61), s.now);
    expect(sent(s)).toEqual([[0, 10 * MSS]]);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 10 * MSS) });
    expect(sent(s)).toEqual([[10 * MSS, 20 * MSS]]);
    expect(s.engine.status(s.id).cwnd).toBe(20 * MSS);
  });

  it("a short last segment rides along only when Nagle (RFC 9293 3.7.4, Minshall's change) would send it alone", async () => {
    const nagle = await openOver(65535);
    nagle.engine.send(nagle.id, new Uint8Array(3 * MSS + 700).fill(0x61), nagle.now);
    expect(sent(nagle)).toEqual([[0, 3 * MSS + 700]]);
    // The 700 bytes are a short segment in flight: the next write's short tail waits for their ACK,
    // its full segments do not.
    nagle.engine.send(nagle.id, new Uint8Array(3 * MSS + 500).fill(0x62), nagle.now);
    expect(sent(nagle)).toEqual([[3 * MSS + 700, 3 * MSS]]);
    nagle.send({ flags: ACK, seq: nagle.r(1), ack: nagle.l(1 + 3 * MSS + 700) });
    expect(sent(nagle)).toEqual([[6 * MSS + 700, 500]]);

    const noDelay = await openOver(65535, { noDelay: true });
    noDelay.engine.send(noDelay.id, new Uint8Array(3 * MSS + 700).fill(0x61), noDelay.now);
    expect(sent(noDelay)).toEqual([[0, 3 * MSS + 700]]);
  });

  it("a lost packet of 10 segments: the timeout resends one segment (cwnd is 1 SMSS, RFC 5681 3.1), then whole segments as cwnd grows", async () => {
    const s = await openOver(65535);
    s.engine.send(s.id, new Uint8Array(10 * MSS).fill(0x61), s.now);
    expect(sent(s)).toEqual([[0, 10 * MSS]]);
    s.advanceToDeadline();
    expect(sent(s)).toEqual([[0, MSS]]);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + MSS) });
    expect(sent(s)).toEqual([[MSS, 2 * MSS]]);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1 + 3 * MSS) });
    expect(sent(s)).toEqual([[3 * MSS, 4 * MSS]]);
    expect(s.engine.status(s.id)).toMatchObject({ retransmits: 3 });
  });
});

describe("segmentation offload: the receiver", () => {
  it("takes a segment above its MSS whole and ACKs it at once; a full-sized segment for the ACK rule stays its MSS", async () => {
    // RFC 9293 3.8.6.3: ACK at least every second full-sized segment. Counting a 10-segment packet as
    // "full-sized" would delay the ACK of the next 20 segments.
    const s = await established();
    const big = "x".repeat(10 * MSS);
    s.send({ flags: ACK, seq: s.r(1), ack: s.l(1), payload: big });
    const ack1 = s.next();
    expect({ flags: ack1.flags, ack: ack1.ack }).toEqual({ flags: ACK, ack: s.r(1 + 10 * MSS) });
    s.send({ flags: ACK, seq: s.r(1 + 10 * MSS), ack: s.l(1), payload: "y".repeat(MSS) });
    s.recvNothing();
    s.send({ flags: ACK, seq: s.r(1 + 11 * MSS), ack: s.l(1), payload: "z".repeat(MSS) });
    const ack2 = s.next();
    expect({ flags: ack2.flags, ack: ack2.ack }).toEqual({ flags: ACK, ack: s.r(1 + 12 * MSS) });
  });
});

describe("segmentation offload: two engines on a virtual clock", () => {
  const MiB = 1 << 20;

  /** A pair whose wire records what A sends (parsed) and may drop some of it. */
  async function recordedPair(offloadMtu: number, dropIf?: (p: ParsedPacket) => boolean) {
    const wire = await loadWire({ flavor: "debug" });
    const fromA: Array<{ seq: number; len: number; bytes: number; dropped: boolean }> = [];
    const pair = await Pair.create({
      flavor: "debug",
      offloadMtu,
      link: { delay: 5 },
      drop: (from, packet) => {
        if (from !== "A") return false;
        const p = wire.parsePacket(packet);
        if ("error" in p) throw new Error(`A sent an invalid packet: ${p.error}`);
        const dropped = dropIf?.(p) ?? false;
        fromA.push({ seq: p.seq, len: p.payloadLength, bytes: packet.length, dropped });
        return dropped;
      },
    });
    pair.setBudget({ steps: 100_000, virtualMs: 600_000 });
    return { pair, fromA };
  }

  it("4 MiB over a link with offload MTU 65535 at MTU 1500: intact, packets up to 65535 bytes of whole segments", async () => {
    const { pair, fromA } = await recordedPair(65535);
    const r = pair.transfer(4 * MiB, 0);
    expect(r.aToB.receivedSha256).toBe(r.aToB.sentSha256);
    expect(r.statusA).toMatchObject({ localMss: 1460, peerMss: 1460, sendMss: 1448 });
    const data = fromA.filter((p) => p.len > 0);
    expect(Math.max(...data.map((p) => p.bytes))).toBe(45 * 1448 + 52);
    // A packet of several segments holds whole segments of the path's SMSS (1448 with timestamps), but
    // for the last bytes of the stream (a lone short segment is what a connection without offload
    // sends too, when it is all the send ring holds).
    expect(data.slice(0, -1).filter((p) => p.len > 1448 && p.len % 1448 !== 0)).toEqual([]);
    expect(r.retransmits.a).toBe(0);
  });

  it("without offload the same wire never carries a packet above the MTU", async () => {
    const { pair, fromA } = await recordedPair(0);
    const r = pair.transfer(MiB, 0);
    expect(r.aToB.receivedSha256).toBe(r.aToB.sentSha256);
    expect(Math.max(...fromA.map((p) => p.bytes))).toBe(1500);
  });

  it("a lost 65160-byte packet (45 segments): SACK recovery resends exactly its range, one segment first, then whole segments within cwnd", async () => {
    let lost: { seq: number; len: number } | undefined;
    const { pair, fromA } = await recordedPair(65535, (p) => {
      if (lost || p.payloadLength !== 45 * 1448) return false;
      lost = { seq: p.seq, len: p.payloadLength };
      return true;
    });
    const r = pair.transfer(4 * MiB, 0);
    expect(r.aToB.receivedSha256).toBe(r.aToB.sentSha256);
    expect(lost).toBeDefined();
    const at = fromA.findIndex((p) => p.dropped);
    const again = fromA.slice(at + 1).filter((p) => ((p.seq - lost!.seq) >>> 0) < lost!.len && p.len > 0);
    // RFC 6675 5 step 4.3: the first retransmission is one segment whatever pipe says; the rest go
    // as cwnd - pipe allows, in whole segments, and together cover the lost range exactly once.
    expect(again[0]).toMatchObject({ seq: lost!.seq, len: 1448 });
    expect(again.slice(1).every((p) => p.len % 1448 === 0 && p.len <= 45 * 1448)).toBe(true);
    expect(again.reduce((n, p) => n + p.len, 0)).toBe(lost!.len);
    expect(r.retransmits.a).toBe(again.length);
    expect(r.countersA.fastRetransmits).toBe(again.length);
  });
});

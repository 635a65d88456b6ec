// TIME-WAIT (RFC 9293 3.10.7.4, 3.6.1; RFC 6191; RFC 1337) kept in compact records outside the
// connection slots (assembly/engine/timewait.ts), and new incarnations of a 4-tuple in TIME-WAIT:
// taken at once, on either side, each starting beyond the old one in sequence number and timestamp.
import { describe, expect, it } from "vitest";
import type { ParsedPacket } from "../../src/core/wire.js";
import { Script, listening, type Seg, ACK, FIN, RST, SYN, LOCAL, REMOTE, LOCAL_PORT, REMOTE_PORT, REMOTE_SEQ, establishedWithOptions } from "../fixtures/engine-script.js";
import { takeOutput, takeEvents } from "../fixtures/engine-io.js";

/** a after b in sequence space (RFC 9293 3.4). */
const after = (a: number, b: number) => ((a - b) | 0) > 0;

const PEER_TS = 5000;

/** The peer's side of one connection on its own port (the script's send/next use REMOTE_PORT only). */
class Peer {
  constructor(readonly s: Script, readonly port: number) {}

  send(flags: number, seq: number, ack: number, extra: { timestamps?: { value: number; echo: number }; payload?: string } = {}): void {
    const packet = this.s.wire.encodePacket({
      src: REMOTE, dst: LOCAL, srcPort: this.port, dstPort: LOCAL_PORT, seq: seq >>> 0, ack: ack >>> 0, flags,
      payload: new TextEncoder().encode(extra.payload ?? ""),
      options: { mss: flags & SYN ? 1460 : null, timestamps: extra.timestamps ?? null },
    });
    this.s.engine.input([packet], this.s.now);
  }
}

function drain(s: Script): ParsedPacket[] {
  return takeOutput(s.engine, s.now).map((p) => {
    const parsed = s.wire.parsePacket(p);
    if ("error" in parsed) throw new Error(parsed.error);
    return parsed;
  });
}

/** A passive connection from `peer` (no options but MSS), accepted; returns its id and our ISS. */
function accept(s: Script, peer: Peer, isn: number): { id: number; iss: number } {
  peer.send(SYN, isn, 0);
  const [synAck] = drain(s);
  expect(synAck).toMatchObject({ flagBits: SYN | ACK, ack: (isn + 1) >>> 0, dstPort: peer.port });
  peer.send(ACK, isn + 1, synAck!.seq + 1);
  const accepted = takeEvents(s.engine).find((e) => e.type === "accepted");
  expect(accepted).toBeDefined();
  return { id: accepted!.id, iss: synAck!.seq };
}

/** We close first, the peer acknowledges and closes: TIME-WAIT here. */
function closeFirst(s: Script, peer: Peer, c: { id: number; iss: number }, isn: number): void {
  s.engine.close(c.id, s.now);
  expect(drain(s)).toMatchObject([{ flagBits: FIN | ACK, seq: (c.iss + 1) >>> 0 }]);
  peer.send(FIN | ACK, isn + 1, c.iss + 2);
  expect(drain(s)).toMatchObject([{ flagBits: ACK, seq: (c.iss + 2) >>> 0, ack: (isn + 2) >>> 0 }]);
  expect(s.engine.state(c.id)).toBe("TIME-WAIT");
}

/**
 * A passive connection with timestamps that we closed first, the peer's FIN (TSval `finTsVal`)
 * acknowledged and the id released: the 4-tuple waits in TIME-WAIT. Returns our FIN as sent.
 */
async function timeWaitWithTimestamps(finTsVal: number): Promise<{ s: Script; fin: Seg }> {
    const s = await establishedWithOptions({ timestamps: true }, { tsVal: PEER_TS });
    const id = s.id;
    s.engine.close(id, s.now);
    const fin = s.next();
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: fin.seq + 1, timestamps: { value: finTsVal, echo: fin.timestamps!.value } });
    s.next();
    s.engine.release(id, s.now);
    s.transitions();
  return { s, fin };
}

describe("a SYN for a 4-tuple we hold in TIME-WAIT (we closed first)", () => {
  it("with the peer's clock standing still: 50 reuses in a row, each beyond the last in ISS and TSval", async () => {
    const s = await listening({ timestamps: true });
    let peerSeq = REMOTE_SEQ;
    let old: { sndNxt: number; tsVal: number } | undefined;
    for (let i = 0; i < 50; i++) {
      // The peer's TSval equals TS.Recent and its ISN is one past its old FIN (RFC 6191 2: honoured).
      s.send({ flags: SYN, seq: peerSeq, mss: 1460, timestamps: { value: PEER_TS, echo: 0 } });
      const synAck = s.next();
      expect(synAck).toMatchObject({ flags: SYN | ACK, ack: (peerSeq + 1) >>> 0 });
      if (old) {
        expect(after(synAck.seq, old.sndNxt)).toBe(true);
        expect(after(synAck.timestamps!.value, old.tsVal)).toBe(true);
      }
      const ts = (echo: number) => ({ value: PEER_TS, echo });
      s.send({ flags: ACK, seq: peerSeq + 1, ack: synAck.seq + 1, timestamps: ts(synAck.timestamps!.value) });
      const id = s.events().find((e) => e.type === "accepted")!.id;
      s.engine.close(id, s.now);
      const fin = s.next();
      expect(fin).toMatchObject({ flags: FIN | ACK, seq: (synAck.seq + 1) >>> 0 });
      s.send({ flags: FIN | ACK, seq: peerSeq + 1, ack: fin.seq + 1, timestamps: ts(fin.timestamps!.value) });
      const last = s.recv({ flags: ACK, seq: fin.seq + 1, ack: peerSeq + 2, window: 65534,
        timestamps: { value: fin.timestamps!.value, echo: PEER_TS } });
      s.engine.release(id, s.now);
      old = { sndNxt: (fin.seq + 1) >>> 0, tsVal: last.timestamps!.value };
      peerSeq = (peerSeq + 2) >>> 0;
    }
    expect(s.engine.counters().timeWaitReused).toBe(49);
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(s.engine.liveConnections()).toBe(1); // the listener
  });

  it("an older TSval (PAWS) or, at the same TSval, an old sequence number is answered, not taken", async () => {
    const { s, fin } = await timeWaitWithTimestamps(PEER_TS + 1);
    const answer = { flags: ACK, seq: fin.seq + 1, ack: s.r(2), window: 65534, timestamps: { value: fin.timestamps!.value, echo: PEER_TS + 1 } };
    s.send({ flags: SYN, seq: s.r(100000), mss: 1460, timestamps: { value: PEER_TS, echo: 0 } });
    s.recv(answer);
    s.send({ flags: SYN, seq: s.r(1), mss: 1460, timestamps: { value: PEER_TS + 1, echo: 0 } });
    s.recv(answer);
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(s.transitions()).toEqual([]);
    // A newer TSval is taken whatever its sequence number (RFC 6191 2, first rule).
    s.send({ flags: SYN, seq: s.r(0), mss: 1460, timestamps: { value: PEER_TS + 2, echo: 0 } });
    expect(s.next()).toMatchObject({ flags: SYN | ACK, ack: s.r(1) });
    expect(s.transitions()).toEqual(["TIME-WAIT>CLOSED", "LISTEN>SYN-RECEIVED"]);
  });

  it("without timestamps, a sequence number past the old FIN is taken (RFC 9293 3.10.7.4, 3.6.1)", async () => {
    const s = await listening();
    const peer = new Peer(s, REMOTE_PORT);
    const c = accept(s, peer, REMOTE_SEQ);
    closeFirst(s, peer, c, REMOTE_SEQ);
    s.engine.release(c.id, s.now);
    peer.send(SYN, REMOTE_SEQ + 1, 0); // its FIN's own sequence number: old
    expect(drain(s)).toMatchObject([{ flagBits: ACK, seq: (c.iss + 2) >>> 0, ack: REMOTE_SEQ + 2 }]);
    peer.send(SYN, REMOTE_SEQ + 2, 0);
    const [synAck] = drain(s);
    expect(synAck).toMatchObject({ flagBits: SYN | ACK, ack: REMOTE_SEQ + 3 });
    // A whole unscaled window beyond everything the old incarnation sent.
    expect(after(synAck!.seq, c.iss + 2 + 65535)).toBe(true);
  });
});

describe("our connect onto a 4-tuple we hold in TIME-WAIT (tcp_tw_reuse for the local side)", () => {
  /** Active open from `localPort` (0: ephemeral), handshake, we close first: TIME-WAIT here. */
  function activeToTimeWait(s: Script, localPort: number, peerIsn: number) {
    const id = s.engine.connect({ local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort }, s.now);
    s.localPort = s.engine.status(id).localPort;
    const syn = s.next();
    expect(syn.flags).toBe(SYN);
    const ts = (echo: number) => ({ value: PEER_TS, echo });
    s.send({ flags: SYN | ACK, seq: peerIsn, ack: syn.seq + 1, mss: 1460, timestamps: ts(syn.timestamps!.value) });
    s.next(); // the ACK of the peer's SYN
    s.engine.close(id, s.now);
    const fin = s.next();
    s.send({ flags: FIN | ACK, seq: peerIsn + 1, ack: fin.seq + 1, timestamps: ts(fin.timestamps!.value) });
    const last = s.next();
    expect(last).toMatchObject({ flags: ACK, seq: (fin.seq + 1) >>> 0, ack: (peerIsn + 2) >>> 0 });
    expect(s.engine.state(id)).toBe("TIME-WAIT");
    s.engine.release(id, s.now);
    return { id, syn, port: s.localPort, sndNxt: (fin.seq + 1) >>> 0, tsVal: last.timestamps!.value };
  }

  it("from the same port, 20 times at once: each SYN beyond the old incarnation's SND.NXT and TSval", async () => {
    const s = await Script.create({ timestamps: true });
    let old = activeToTimeWait(s, 40000, REMOTE_SEQ);
    for (let i = 1; i < 20; i++) {
      const next = activeToTimeWait(s, 40000, REMOTE_SEQ + i * 1000);
      expect(after(next.syn.seq, old.sndNxt)).toBe(true);
      expect(after(next.syn.timestamps!.value, old.tsVal)).toBe(true);
      old = next;
    }
    expect(s.engine.counters().timeWaitReused).toBe(19);
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(s.engine.liveConnections()).toBe(0);
  });

  it("an ephemeral pick prefers a free 4-tuple, and reuses one in TIME-WAIT when none is free", async () => {
    const s = await Script.create({ timestamps: true, ephemeralLow: 40000, ephemeralHigh: 40001 });
    const first = activeToTimeWait(s, 0, REMOTE_SEQ);
    const second = activeToTimeWait(s, 0, REMOTE_SEQ + 1000);
    expect(second.port).not.toBe(first.port);
    expect(s.engine.timeWaitCount()).toBe(2);
    const third = activeToTimeWait(s, 0, REMOTE_SEQ + 2000);
    const old = third.port === first.port ? first : second;
    expect(after(third.syn.seq, old.sndNxt)).toBe(true);
    expect(after(third.syn.timestamps!.value, old.tsVal)).toBe(true);
    expect(s.engine.timeWaitCount()).toBe(2);
  });
});

describe("compact TIME-WAIT", () => {
  it("a full table, closed gracefully, takes new connections at once", async () => {
    const s = await listening({ maxConnections: 9 });
    const conns = [];
    for (let i = 0; i < 8; i++) conns.push({ peer: new Peer(s, 2000 + i), ...accept(s, new Peer(s, 2000 + i), REMOTE_SEQ) });
    // Full: a ninth SYN finds no slot, and the host is told what is full.
    new Peer(s, 2100).send(SYN, REMOTE_SEQ, 0);
    expect(drain(s)).toEqual([]);
    expect(s.engine.counters().synDroppedNoSlot).toBe(1);
    expect(() => s.engine.connect({ local: LOCAL, remote: REMOTE, remotePort: 7 }, s.now))
      .toThrow("ENOBUFS: create: connection table full (9 slots)");
    for (const c of conns) {
      closeFirst(s, c.peer, c, REMOTE_SEQ);
      s.engine.release(c.id, s.now);
    }
    expect(s.engine.liveConnections()).toBe(1);
    expect(s.engine.timeWaitCount()).toBe(8);
    for (let i = 0; i < 8; i++) accept(s, new Peer(s, 3000 + i), REMOTE_SEQ);
    expect(s.engine.liveConnections()).toBe(9);
    expect(s.engine.timeWaitCount()).toBe(8);
  });

  it("when the store is full the oldest entry gives way (its end is still reported)", async () => {
    const s = await listening({ timeWaitMax: 2 });
    const peers = [new Peer(s, 2000), new Peer(s, 2001), new Peer(s, 2002)];
    const ids: number[] = [];
    for (const peer of peers) {
      const c = accept(s, peer, REMOTE_SEQ);
      closeFirst(s, peer, c, REMOTE_SEQ);
      s.engine.release(c.id, s.now);
      ids.push(c.id);
      s.advance(1000);
    }
    expect(s.engine.timeWaitCount()).toBe(2);
    expect(s.engine.counters().timeWaitRecycled).toBe(1);
    const ends = s.events(true).filter((e) => e.type === "state" && e.to === "CLOSED").map((e) => e.id);
    expect(ends).toEqual([ids[0]]);
    // The first 4-tuple is forgotten (its retransmitted FIN meets no connection: RST); the others answer.
    peers[0]!.send(FIN | ACK, REMOTE_SEQ + 1, 12345);
    expect(drain(s)).toMatchObject([{ flagBits: RST, seq: 12345 }]);
    peers[1]!.send(FIN | ACK, REMOTE_SEQ + 1, 12345);
    expect(drain(s)).toMatchObject([{ flagBits: ACK, ack: REMOTE_SEQ + 2 }]);
    // The rest expire 2 MSL after they began, or after the retransmitted FIN restarted the wait.
    expect(s.advanceToDeadline()).toBe(2000 + 60000 - 3000);
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(s.advanceToDeadline()).toBe(1000);
    expect(s.engine.timeWaitCount()).toBe(0);
    expect(s.engine.nextDeadline()).toBe(Infinity);
  });

  it("a retransmitted FIN is acknowledged with timestamps and restarts 2 MSL; a RST is ignored (RFC 1337)", async () => {
    const { s, fin } = await timeWaitWithTimestamps(PEER_TS);
    s.advance(10000);
    s.send({ flags: FIN | ACK, seq: s.r(1), ack: fin.seq + 1, timestamps: { value: PEER_TS + 7, echo: fin.timestamps!.value } });
    // TS.Recent is the old one (the FIN is a duplicate, RFC 7323 4.3); our clock moved 10 s.
    s.recv({ flags: ACK, seq: fin.seq + 1, ack: s.r(2), window: 65534, timestamps: { value: fin.timestamps!.value + 10000, echo: PEER_TS } });
    expect(s.engine.nextDeadline()).toBe(70000);
    s.send({ flags: RST, seq: s.r(2), ack: 0, timestamps: { value: PEER_TS + 8, echo: 0 } });
    s.recvNothing();
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(s.advanceToDeadline()).toBe(60000);
    expect(s.engine.timeWaitCount()).toBe(0);
    expect(s.transitions()).toEqual(["TIME-WAIT>CLOSED"]);
  });

  it("a held id stays in TIME-WAIT with its unread data until the record ends, then CLOSED, and releases cleanly", async () => {
    const s = await listening();
    const peer = new Peer(s, REMOTE_PORT);
    const c = accept(s, peer, REMOTE_SEQ);
    peer.send(ACK, REMOTE_SEQ + 1, c.iss + 1, { payload: "unread" });
    takeEvents(s.engine);
    closeFirst(s, peer, { id: c.id, iss: c.iss }, REMOTE_SEQ + 6);
    expect(s.engine.liveConnections()).toBe(2);
    expect(s.engine.timeWaitCount()).toBe(1);
    expect(s.engine.status(c.id)).toMatchObject({ state: "TIME-WAIT", recvQueued: 6 });
    // A new incarnation ends the old one's wait: the held id reports CLOSED, its data still readable.
    takeEvents(s.engine);
    peer.send(SYN, REMOTE_SEQ + 100000, 0);
    expect(drain(s)).toMatchObject([{ flagBits: SYN | ACK }]);
    expect(s.engine.state(c.id)).toBe("CLOSED");
    expect(takeEvents(s.engine).filter((e) => e.id === c.id).map((e) => e.type)).toEqual(["state", "closed"]);
    expect(new TextDecoder().decode(s.engine.recv(c.id, s.now))).toBe("unread");
    s.engine.release(c.id, s.now);
    expect(() => s.engine.state(c.id)).toThrow(/EBADF/);
    expect(s.engine.liveConnections()).toBe(2); // the listener and the new half-open connection
    expect(s.engine.timeWaitCount()).toBe(0);
  });
});

describe("a held id in TIME-WAIT aborted by the host", () => {
  it("reports CLOSED once; the 4-tuple still waits out 2 MSL, silently", async () => {
    const s = await listening();
    const peer = new Peer(s, REMOTE_PORT);
    const c = accept(s, peer, REMOTE_SEQ);
    closeFirst(s, peer, c, REMOTE_SEQ);
    takeEvents(s.engine);
    s.engine.abort(c.id, s.now);
    expect(drain(s)).toEqual([]);
    expect(takeEvents(s.engine).map((e) => (e.type === "state" ? `${e.from}>${e.to}` : e.type))).toEqual(["TIME-WAIT>CLOSED", "closed"]);
    s.engine.release(c.id, s.now);
    expect(s.engine.timeWaitCount()).toBe(1);
    peer.send(FIN | ACK, REMOTE_SEQ + 1, c.iss + 2);
    expect(drain(s)).toMatchObject([{ flagBits: ACK, ack: REMOTE_SEQ + 2 }]);
    s.now += 60000;
    s.engine.timers(s.now);
    expect(s.engine.timeWaitCount()).toBe(0);
    expect(takeEvents(s.engine)).toEqual([]);
  });
});

describe("a full table turned over between two outputs", () => {
  it("connections opened and ended before any output leave no stale entry in the way of the next SYN", async () => {
    const s = await Script.create({ maxConnections: 2 });
    s.localPort = 40000;
    const to = { local: LOCAL, remote: REMOTE, remotePort: REMOTE_PORT, localPort: 40000 };
    // Each open queues the connection for output; each abort ends it before any output ran.
    for (let i = 0; i < 4; i++) {
      const id = s.engine.connect(to, s.now);
      s.engine.abort(id, s.now);
      s.engine.release(id, s.now);
    }
    s.engine.connect(to, s.now);
    expect(s.next()).toMatchObject({ flags: SYN, mss: 1460 });
  });
});

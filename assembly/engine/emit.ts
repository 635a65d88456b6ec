// Segments out: the segment builder (headers from the TCB, options, the window we advertise, payload
// straight from the send ring into the TX packet and summed on the way, the checksums completed over
// the headers), the TX region the host drains and the control queue for packets that belong to no
// connection.
//
// TX region layout (txPtr(), config TX_REGION bytes): records [u32 length][u32 meta][16 bytes of
// headroom][length bytes of data] each padded to a multiple of 4, as many as output() reported.
// meta TX_META_IP: the data is an IP packet the host routes by destination. meta TX_META_FRAME +
// ifIndex: a ready Ethernet frame for interface ifIndex whose 14-byte header sits in the headroom just
// before the data (the frame is length + 14 bytes). meta TX_META_HELD: the core kept the packet
// (waiting for neighbour resolution) and the host skips the record. The headroom lets a link-layer
// header go in front of an IP packet without moving it. The control queue holds packets that belong
// to no connection (RSTs to closed ports, SYN cookies, ICMP echo replies, ARP and neighbour discovery)
// in the same record format until output() copies them to the TX region ahead of connection traffic.
// Nothing outside this file writes a TX record.
import { Segment, emitHeaders, headersLen, finishChecksums, finishChecksumsSummed } from "../wire/packet";
import { seqGt, seqLt } from "../wire/seq";
import { Tcb, State, Due, Opt, hasFlag, tcbKey, sndRing, rcvRing, tcbTimers, tcbOoo } from "./tcb";
import { ringCopyOutSum } from "./ring";
import { TimerKind, timerClear } from "./timers";
import { oooSackBlocks } from "./reassembly";
import { dsackPending, dsackFirst, dsackSent } from "./dsack";
import { rngNext } from "./rng";
import { traceSegment, EventType, SendKind, traceSendKind, setTraceSendKind } from "./events";
import { count, Counter } from "./counters";
import { FLG_ACK, FLG_FIN, FLG_RST, FLG_SYN } from "../wire/tcp";
import * as config from "./config";
import { sendUnit } from "./offload";

const TTL: u8 = 64;

// One Segment for everything we emit: filled, emitted, forgotten (no allocation per segment).
export const outSeg = changetype<Segment>(memory.data(offsetof<Segment>(), 8));

let txBuf: usize = 0;
let txCap: u32 = 0;
let txUsed: u32 = 0;
let txRecords: u32 = 0;

let ctrlBuf: usize = 0;
let ctrlCap: u32 = 0;
let ctrlUsed: u32 = 0;
let ctrlRead: u32 = 0;

export function emitInit(): void {
  txCap = config.txRegionBytes;
  txBuf = heap.alloc(txCap);
  ctrlCap = config.controlQueueBytes;
  ctrlBuf = heap.alloc(ctrlCap);
}

export function txPtr(): usize {
  return txBuf;
}

export function txCapacity(): u32 {
  return txCap;
}

/** Bytes before a TX record's data: its length, its meta word and the headroom. */
export const TX_RECORD_HEADER: u32 = 24;
/** Offset of the meta word in a TX record. */
export const TX_META: usize = 4;
/** Headroom bytes before the data: room for an Ethernet header (14) with the data kept 4-aligned. */
export const TX_HEADROOM: u32 = 16;
export const TX_META_IP: u32 = 0;
/** TX_META_FRAME + ifIndex: a frame for interface ifIndex. */
export const TX_META_FRAME: u32 = 1;
export const TX_META_HELD: u32 = 0xffffffff;

@inline function recordBytes(dataLen: u32): u32 {
  return TX_RECORD_HEADER + ((dataLen + 3) & ~3);
}

// ---- The segment builder ----

/** Our timestamp clock: milliseconds (RFC 7323 5.4 allows 1 ms to 1 s per tick) plus a per-connection offset. */
@inline export function tsNow(t: Tcb, nowUs: i64): u32 {
  return tsClock(nowUs, t.tsOffset);
}

@inline export function tsClock(nowUs: i64, offset: u32): u32 {
  return <u32>(nowUs / 1000) + offset;
}

/** Bytes the timestamp option takes in every segment once negotiated (RFC 7323 3.2, NOP-aligned). */
const TIMESTAMP_OPTION_BYTES: u32 = 12;

/**
 * Largest segment payload with no options (RFC 9293 3.7.1): the peer's MSS option, bounded by what
 * the path carries (our own MSS from the link MTU, lowered by Path MTU Discovery, pmtu.ts). RFC 6691:
 * the MSS excludes options, so the sender subtracts what it puts there.
 */
@inline function mssLimit(t: Tcb): u32 {
  return t.peerMss < t.pathMss ? t.peerMss : t.pathMss;
}

/**
 * SMSS (RFC 5681 2): the payload of a full-sized segment, the MSS less the options every segment
 * carries (RFC 6691 2; with timestamps, RFC 7323 3.2, 12 bytes; Linux's mss_cache). Congestion
 * control, the Nagle and SWS "full-sized segment" tests and the SACK NextSeg sizes count in it; SACK
 * blocks come and go with out-of-order data and only shrink the segment that carries them (payloadRoom).
 */
@inline export function sendMss(t: Tcb): u32 {
  const base = mssLimit(t);
  return hasFlag(t.options, Opt.TS_OK) && base > TIMESTAMP_OPTION_BYTES + 1 ? base - TIMESTAMP_OPTION_BYTES : base;
}

/** IP fields of everything we send: TTL 64, DF set, no flow label, a random IPv4 id; TOS 0 unless a connection set one. */
function ipDefaults(seg: Segment): void {
  seg.ttl = TTL;
  seg.tos = 0;
  seg.ipId = <u16>rngNext();
  seg.dontFragment = true;
  seg.flowLabel = 0;
  seg.urgent = 0;
}

/** The IP and TCP addressing of a connection's segment, and its TOS / Traffic Class (ConnOption.TOS). */
function fillAddresses(seg: Segment, t: Tcb): void {
  const key = tcbKey(t);
  ipDefaults(seg);
  seg.tos = <u8>t.tos;
  seg.ipVersion = <u8>key.ipVersion;
  seg.srcA = key.localA;
  seg.srcB = key.localB;
  seg.dstA = key.remoteA;
  seg.dstB = key.remoteB;
  seg.srcPort = <u16>key.localPort;
  seg.dstPort = <u16>key.remotePort;
}

function noOptions(seg: Segment): void {
  seg.mss = 0;
  seg.wscale = -1;
  seg.sackPermitted = false;
  seg.hasTimestamps = false;
  seg.sackCount = 0;
}

/**
 * The right edge the free receive space lets us offer now: RCV.NXT + (field << shift), the field being
 * the free space scaled down and capped at 16 bits (RFC 7323 2.3; RFC 9293 3.1 for no scaling). This is
 * exactly what the peer reads from a window field, so the edge we record (RCV.ADV) never lies beyond
 * what it was told: the truncating shift leaves up to 2^shift - 1 free bytes unoffered, and without
 * scaling a ring larger than 65,535 bytes is offered 65,535 of them.
 */
export function offerableEdge(t: Tcb, shift: u32): u32 {
  const r = rcvRing(t);
  let field = (r.cap - r.len) >> shift;
  if (field > 0xffff) field = 0xffff;
  return t.rcvNxt + (field << shift);
}

/**
 * The window field we advertise. The right edge (RCV.ADV) moves right only by at least
 * min(buffer / 2, MSS) (RFC 9293 3.8.6.2.2 receiver SWS avoidance), and only to an edge the field can
 * say exactly (offerableEdge). It never moves left (RFC 9293 3.8.6 discourages shrinking the window):
 * when RCV.NXT has advanced by a number of bytes that is not a multiple of 2^shift, the kept edge is
 * not a multiple away and the field rounds down, an apparent retraction of less than 2^shift that
 * RFC 7323 2.4 anticipates; the acceptability test still honours the kept edge, as 2.4 requires. In a
 * SYN the window is never scaled (RFC 7323 2.2).
 */
export function windowField(t: Tcb, syn: bool): u16 {
  const shift = syn ? 0 : t.rcvShift;
  if (edgeWouldOpen(t, shift)) t.rcvAdv = offerableEdge(t, shift);
  const wnd = seqGt(t.rcvAdv, t.rcvNxt) ? (t.rcvAdv - t.rcvNxt) >> shift : 0;
  return wnd > 0xffff ? 0xffff : <u16>wnd;
}

/**
 * Whether the next window field would move the advertised right edge by at least
 * min(buffer / 2, MSS): the receiver side of SWS avoidance (RFC 9293 3.8.6.2.2), measured on the edge
 * the field can offer (offerableEdge), not on the raw free space.
 */
export function windowWouldOpen(t: Tcb): bool {
  return edgeWouldOpen(t, t.rcvShift);
}

/**
 * RCV.BUFF of the SWS rule is the most the window field can offer, not the ring: without scaling a
 * 256 KiB ring is offered 65,535 bytes, and with an MSS near 64 KiB (MTU 65535) a threshold of one MSS
 * would hold the edge until the sender's override timeout.
 */
function edgeWouldOpen(t: Tcb, shift: u32): bool {
  const edge = offerableEdge(t, shift);
  if (!seqGt(edge, t.rcvAdv)) return false;
  const maxField: u32 = <u32>0xffff << shift;
  const cap = rcvRing(t).cap;
  let threshold = (cap < maxField ? cap : maxField) >> 1;
  if (t.localMss < threshold) threshold = t.localMss;
  return edge - t.rcvAdv >= threshold;
}

/** Bytes of TCP options a non-SYN segment of `t` carries now (timestamps, SACK blocks). */
export function fillOptions(seg: Segment, t: Tcb, nowUs: i64): void {
  noOptions(seg);
  seg.hasTimestamps = hasFlag(t.options, Opt.TS_OK);
  if (seg.hasTimestamps) {
    seg.tsVal = tsNow(t, nowUs);
    seg.tsEcr = t.tsRecent;
  }
  if (hasFlag(t.options, Opt.SACK_OK) && (tcbOoo(t).count != 0 || dsackPending(t))) {
    // RFC 2018 4: the first block is the most recent; 3 blocks fit beside timestamps, 4 without.
    // RFC 2883 4: a D-SACK block goes first, the regular blocks after it.
    const max: u32 = seg.hasTimestamps ? 3 : 4;
    let blocks = changetype<usize>(seg) + offsetof<Segment>("sackL0");
    let n: u32 = 0;
    if (dsackPending(t)) {
      dsackFirst(t, blocks);
      blocks += 8;
      n = 1;
    }
    n += oooSackBlocks(tcbOoo(t), blocks, max - n);
    seg.sackCount = <u8>n;
  }
}

/** Bytes of TCP options fillOptions put in `outSeg`. */
@inline function outOptionBytes(t: Tcb): u32 {
  return headersLen(outSeg) - (tcbKey(t).ipVersion == 6 ? 60 : 40);
}

/** Payload that fits in one segment beside the options fillOptions put in `outSeg` (RFC 6691 2). */
@inline export function payloadRoom(t: Tcb): u32 {
  const optionBytes = outOptionBytes(t);
  const mss = mssLimit(t);
  return mss > optionBytes + 1 ? mss - optionBytes : 1;
}

/**
 * Payload one packet carries beside the options in `outSeg`: one segment's (payloadRoom), or whole
 * segments of it up to the offload size on a link with segmentation offload (offload.ts). Only while
 * segments are as large as the link's MTU makes them (neither the peer's MSS nor Path MTU Discovery
 * lowered them): a link that cuts packets at its MTU then cuts them into exactly these segments.
 */
export function packetRoom(t: Tcb): u32 {
  const room = payloadRoom(t);
  if (t.offloadMss == 0 || mssLimit(t) != t.localMss) return room;
  return sendUnit(t, room, outOptionBytes(t));
}

/**
 * Emits one segment of `t` into the TX region: `seq`, `flags`, `len` payload bytes from the send ring
 * at `ringOffset`. Options are those already in outSeg for SYNs (caller filled), else timestamps and
 * SACK blocks. Returns false when the TX region has no room (nothing written).
 */
export function emitSegment(t: Tcb, seq: u32, flags: u32, ringOffset: u32, len: u32, nowUs: i64): bool {
  const seg = outSeg;
  const syn = (flags & FLG_SYN) != 0;
  fillAddresses(seg, t);
  if (!syn) fillOptions(seg, t, nowUs);
  seg.seq = seq;
  seg.flags = <u16>flags;
  seg.ack = (flags & FLG_ACK) != 0 ? t.rcvNxt : 0;
  seg.window = windowField(t, syn);
  const hl = headersLen(seg);
  const total = hl + len;
  if (txUsed + recordBytes(total) > txCap) return false;
  const rec = txBuf + txUsed;
  const p = rec + TX_RECORD_HEADER;
  emitHeaders(p, seg, len);
  // The payload is summed as it is copied (RFC 1071 4.1): only the headers are read again.
  const payloadSum = ringCopyOutSum(sndRing(t), ringOffset, p + hl, len, 0);
  finishChecksumsSummed(p, total, hl, payloadSum);
  store<u32>(rec, total);
  store<u32>(rec + TX_META, TX_META_IP);
  txUsed += recordBytes(total);
  txRecords++;
  count(Counter.SEGMENTS_OUT);
  if ((flags & FLG_ACK) != 0) {
    // Every ACK we send answers all that is pending (RFC 9293 3.8.6.3).
    t.due &= ~Due.ACK_NOW;
    timerClear(tcbTimers(t), TimerKind.DelayedAck);
    t.unackedBytes = 0;
    t.lastAckSent = t.rcvNxt;
    if (dsackPending(t)) {
      // One D-SACK per ACK (dsack.ts): another ACK follows for the next.
      dsackSent(t);
      if (dsackPending(t)) t.due |= Due.ACK_NOW;
    }
  }
  if (config.trace) {
    // Data or a FIN below SND.MAX went out before: this is the go-back after a retransmission timeout
    // (RFC 6298 5.4), which resends through the ordinary send path.
    const again = !syn && traceSendKind == SendKind.NEW && (len != 0 || (flags & FLG_FIN) != 0) && seqLt(seq, t.sndMax);
    if (again) setTraceSendKind(SendKind.REPAIR);
    traceSegment(EventType.SEGMENT_OUT, t.id, seg, len);
    if (again) setTraceSendKind(SendKind.NEW);
  }
  return true;
}

/** SYN or SYN,ACK with our options (RFC 9293 3.10.1 / 3.10.7.2; RFC 7323 2.2, 3.2; RFC 2018 2). */
export function emitSyn(t: Tcb, nowUs: i64): bool {
  const seg = outSeg;
  const active = t.state == State.SYN_SENT;
  seg.mss = <u16>t.localMss;
  // In a SYN,ACK an option may be sent only if the peer's SYN carried it.
  seg.wscale = (active ? config.offerWindowScaling : hasFlag(t.options, Opt.WS_OK)) ? <i8>t.rcvShift : -1;
  if (seg.wscale >= 0) t.options |= Opt.SENT_WS;
  seg.sackPermitted = active ? config.offerSack : hasFlag(t.options, Opt.SACK_OK);
  seg.hasTimestamps = active ? config.offerTimestamps : hasFlag(t.options, Opt.TS_OK);
  seg.tsVal = tsNow(t, nowUs);
  seg.tsEcr = active ? 0 : t.tsRecent;
  seg.sackCount = 0;
  return emitSegment(t, t.iss, active ? FLG_SYN : FLG_SYN | FLG_ACK, 0, 0, nowUs);
}

// ---- The control queue: packets for no connection ----

@inline export function controlRoom(): usize {
  return ctrlCap - ctrlUsed;
}

/**
 * The largest packet (or frame payload) the control queue takes now: controlWritePtr() has this many
 * bytes, and for a frame controlWritePtr() - 14 holds the Ethernet header.
 */
@inline export function controlPacketRoom(): u32 {
  const room = ctrlCap - ctrlUsed;
  return room > TX_RECORD_HEADER + 3 ? room - TX_RECORD_HEADER - 3 : 0;
}

/** Where the next control packet goes (after its record header, in front of which is the headroom). */
@inline export function controlWritePtr(): usize {
  return ctrlBuf + ctrlUsed + TX_RECORD_HEADER;
}

/** Queues the `len`-byte IP packet written at controlWritePtr(); the host routes it by destination. */
export function controlCommit(len: u32): void {
  commitRecord(len, TX_META_IP);
}

/**
 * Queues a ready Ethernet frame for interface `ifIndex`: its header written in the 14 bytes before
 * controlWritePtr(), its payload (`len` bytes, padding included) at controlWritePtr().
 */
export function controlCommitFrame(len: u32, ifIndex: u32): void {
  commitRecord(len, TX_META_FRAME + ifIndex);
}

@inline function commitRecord(len: u32, meta: u32): void {
  const rec = ctrlBuf + ctrlUsed;
  store<u32>(rec, len);
  store<u32>(rec + TX_META, meta);
  ctrlUsed += recordBytes(len);
}

/**
 * A RST answering segment `inSeg` (RFC 9293 3.10.7.1): <SEQ=seq><CTL=RST> or, with `withAck`,
 * <SEQ=0><ACK=ack><CTL=RST,ACK>. Addresses and ports are the segment's, reversed.
 */
export function queueReset(inSeg: Segment, seq: u32, ack: u32, withAck: bool): void {
  if (queueReply(inSeg, seq, withAck ? ack : 0, withAck ? FLG_RST | FLG_ACK : FLG_RST, 0, 0)) count(Counter.RESETS_SENT);
}

/**
 * A segment answering `inSeg` that belongs to no connection (a RST, or a SYN,ACK carrying a SYN
 * cookie), through the control queue; `mss` 0 means no options. Returns false when the queue is full.
 */
export function queueReply(inSeg: Segment, seq: u32, ack: u32, flags: u32, window: u32, mss: u32): bool {
  const seg = outSeg;
  ipDefaults(seg);
  seg.ipVersion = inSeg.ipVersion;
  seg.srcA = inSeg.dstA;
  seg.srcB = inSeg.dstB;
  seg.dstA = inSeg.srcA;
  seg.dstB = inSeg.srcB;
  seg.srcPort = inSeg.dstPort;
  seg.dstPort = inSeg.srcPort;
  seg.seq = seq;
  seg.ack = ack;
  seg.flags = <u16>flags;
  seg.window = <u16>window;
  noOptions(seg);
  seg.mss = <u16>mss;
  return queueOutSeg(0);
}

/** A RST for a connection (ABORT, RFC 9293 3.10.5): <SEQ=SND.NXT><CTL=RST>, through the control queue. */
export function queueConnectionReset(t: Tcb): void {
  const seg = outSeg;
  fillAddresses(seg, t);
  seg.seq = t.sndNxt;
  seg.ack = 0;
  seg.flags = <u16>FLG_RST;
  seg.window = 0;
  noOptions(seg);
  if (queueOutSeg(t.id)) count(Counter.RESETS_SENT);
}

/**
 * A RST refusing the SYN of a held connection (forward.ts) as if no listener had been there (RFC 9293
 * 3.10.7.1): <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>, through the control queue.
 */
export function queueSynRefusal(t: Tcb): void {
  const seg = outSeg;
  fillAddresses(seg, t);
  seg.seq = 0;
  seg.ack = t.rcvNxt;
  seg.flags = <u16>(FLG_RST | FLG_ACK);
  seg.window = 0;
  noOptions(seg);
  if (queueOutSeg(t.id)) count(Counter.RESETS_SENT);
}

/**
 * An ACK of a connection in compact TIME-WAIT (timewait.ts), its 4-tuple at `keyBytes` as
 * flowKeyBytes writes it: <SEQ=seq><ACK=ack><CTL=ACK> with the window field as last advertised and,
 * when the connection used them, timestamps (RFC 7323 3.2), with the connection's TOS, through the
 * control queue. Traced under `id`. Returns false when the queue is full.
 */
export function queueFlowAck(keyBytes: usize, seq: u32, ack: u32, window: u32, ts: bool, tsVal: u32, tsEcr: u32,
  id: u32, tos: u32): bool {
  const seg = outSeg;
  ipDefaults(seg);
  seg.tos = <u8>tos;
  seg.ipVersion = <u8>load<u32>(keyBytes, 36);
  seg.srcA = load<u64>(keyBytes);
  seg.srcB = load<u64>(keyBytes, 8);
  seg.dstA = load<u64>(keyBytes, 16);
  seg.dstB = load<u64>(keyBytes, 24);
  const ports = load<u32>(keyBytes, 32);
  seg.srcPort = <u16>(ports >>> 16);
  seg.dstPort = <u16>ports;
  seg.seq = seq;
  seg.ack = ack;
  seg.flags = <u16>FLG_ACK;
  seg.window = <u16>window;
  noOptions(seg);
  seg.hasTimestamps = ts;
  seg.tsVal = tsVal;
  seg.tsEcr = tsEcr;
  if (!queueOutSeg(id)) return false;
  count(Counter.SEGMENTS_OUT);
  return true;
}

/** outSeg, without payload, into the control queue. */
function queueOutSeg(id: u32): bool {
  const len = headersLen(outSeg);
  if (<usize>recordBytes(len) > controlRoom()) {
    count(Counter.CONTROL_DROPPED);
    return false;
  }
  const p = controlWritePtr();
  emitHeaders(p, outSeg, 0);
  finishChecksums(p, len);
  controlCommit(len);
  if (config.trace) traceSegment(EventType.SEGMENT_OUT, id, outSeg, 0);
  return true;
}

// ---- Draining into the TX region ----

/** output() starts filling the TX region from its beginning. */
export function txReset(): void {
  txUsed = 0;
  txRecords = 0;
}

export function txRecordCount(): u32 {
  return txRecords;
}

// The link-layer post-pass (frames.ts) walks this output()'s records through these: a record is named
// by its offset in the TX region; its data starts TX_RECORD_HEADER bytes in, the headroom before it.

/** The offset of the record after the one at `off`. */
@inline export function txNextRecord(off: u32): u32 {
  return off + recordBytes(load<u32>(txBuf + off));
}

@inline export function txRecordData(off: u32): usize {
  return txBuf + off + TX_RECORD_HEADER;
}

@inline export function txRecordLen(off: u32): u32 {
  return load<u32>(txBuf + off);
}

@inline export function txRecordMeta(off: u32): u32 {
  return load<u32>(txBuf + off + TX_META);
}

@inline export function txSetRecordMeta(off: u32, meta: u32): void {
  store<u32>(txBuf + off + TX_META, meta);
}

/** Copies queued control packets into the TX region; false when it filled up first. */
export function drainControl(): bool {
  while (ctrlRead < ctrlUsed) {
    const len = load<u32>(ctrlBuf + ctrlRead);
    const rec = recordBytes(len);
    if (txUsed + rec > txCap) return false;
    memory.copy(txBuf + txUsed, ctrlBuf + ctrlRead, rec);
    txUsed += rec;
    txRecords++;
    ctrlRead += rec;
  }
  ctrlRead = 0;
  ctrlUsed = 0;
  return true;
}

export function controlPending(): bool {
  return ctrlUsed != 0;
}

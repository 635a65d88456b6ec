// Events the host drains: fixed-size records appended to one buffer in linear memory.
//
// Record layout (EVENT_SIZE = 64 bytes, little-endian; unused fields are 0):
//   +0  u16 type   (EventType)
//   +2  u16 code   error code (RESET, TIMED_OUT, ERROR) / old state (STATE) / TCP flags (SEGMENT_*)
//   +4  u32 id     connection id (0 for a segment that matched no connection)
//   +8  u32 a      listener id (ACCEPTED) / new state (STATE) / SEG.SEQ
//   +12 u32 b      SEG.ACK
//   +16 u32 c      SEG.WND as on the wire (unscaled)
//   +20 u32 d      payload length
//   +24 u32 e      options present: 1 MSS, 2 window scale, 4 SACK-permitted, 8 timestamps; bits 8-11
//                  the window scale shift, bits 12-14 the number of SACK blocks recorded at +40,
//                  bits 16-17 why an outgoing segment was sent (SendKind: new, repair, probe)
//   +28 u32 f      MSS option value
//   +32 u32 TSval, +36 u32 TSecr
//   +40 three SACK blocks as (u32 left, u32 right) pairs (SEGMENT_*) / an address (ADDRESS_CONFLICT)
// The buffer only grows while the host leaves events in it (eventsPtr may move: read it after every
// call); past config.eventLimit records further events are dropped and counted (Counter.EVENTS_DROPPED).
import { Segment } from "../wire/packet";
import { eventLimit } from "./config";
import { count, Counter } from "./counters";
import { heapCanAlloc } from "./pool";
import { zeroSmall } from "../wire/small";

export const EVENT_SIZE: u32 = 64;

export const enum EventType {
  /** Active OPEN reached ESTABLISHED. */
  CONNECTED = 1,
  /** A passive connection reached ESTABLISHED; a = the listener's id. The host now holds `id`. */
  ACCEPTED = 2,
  /** New in-order data in the receive ring (sent again after the host next calls recvConsume). */
  READABLE = 3,
  /** Room in the send ring again after sendSpace/sendCommit found it full. */
  WRITABLE = 4,
  /** The peer's FIN arrived in order: no more data will come (RFC 9293 3.10.7.4, eighth check). */
  PEER_FIN = 5,
  /** The connection reached CLOSED; the host should release its handle. */
  CLOSED = 6,
  /** The peer reset the connection: code = ECONNRESET or ECONNREFUSED. */
  RESET = 7,
  /** A timeout ended the connection (code = ETIMEDOUT). */
  TIMED_OUT = 8,
  /** The engine ended the connection for a local reason (code, e.g. ENOBUFS). */
  ERROR = 9,
  /** State transition: code = old state, a = new state. */
  STATE = 10,
  /** Trace (config TRACE): a segment accepted for processing. */
  SEGMENT_IN = 11,
  /** Trace (config TRACE): a segment written to the TX region or the control queue. */
  SEGMENT_OUT = 12,
  /**
   * Another node holds one of our addresses (RFC 4862 5.4.5 duplicate address detection): code = IP
   * version, a = interface index, the address in the 16 bytes at +40 (IPv4 in the first 4).
   */
  ADDRESS_CONFLICT = 13,
  /** An ICMP error about a datagram a connected UDP socket sent (udp.ts): id = the socket, code = ECONNREFUSED. */
  UDP_ERROR = 14,
  /**
   * A SYN for the any-destination listener (forward.ts): a connection held in SYN-RECEIVED, a = the
   * listener's id. The host now holds `id` and answers with connAcceptHeld or connRefuseHeld.
   */
  SYN_HELD = 15,
}

let buf: usize = 0;
let capacityRecords: u32 = 0;
let countRecords: u32 = 0;

export function eventsInit(initialRecords: u32): void {
  capacityRecords = initialRecords;
  buf = heap.alloc(<usize>initialRecords * EVENT_SIZE);
  countRecords = 0;
}

/** A zeroed record at the end of the buffer (grown up to the configured limit), or 0 when full. */
function reserve(): usize {
  if (countRecords == capacityRecords) {
    if (capacityRecords >= eventLimit) {
      count(Counter.EVENTS_DROPPED);
      return 0;
    }
    let next = capacityRecords << 1;
    if (next > eventLimit) next = eventLimit;
    // TLSF traps when memory cannot grow: past what wasm32 can hold, drop as past the limit.
    if (!heapCanAlloc(<usize>next * EVENT_SIZE)) {
      count(Counter.EVENTS_DROPPED);
      return 0;
    }
    buf = heap.realloc(buf, <usize>next * EVENT_SIZE);
    capacityRecords = next;
  }
  const p = buf + <usize>countRecords * EVENT_SIZE;
  zeroSmall(p, EVENT_SIZE);
  countRecords++;
  return p;
}

/** Appends one record with its first fields; returns it (0 when it was dropped). */
export function emitEvent(type: u32, code: u32, id: u32, a: u32, b: u32, c: u32, d: u32): usize {
  const p = reserve();
  if (p == 0) return 0;
  store<u16>(p, <u16>type);
  store<u16>(p, <u16>code, 2);
  store<u32>(p, id, 4);
  store<u32>(p, a, 8);
  store<u32>(p, b, 12);
  store<u32>(p, c, 16);
  store<u32>(p, d, 20);
  return p;
}

@inline export function emitSimple(type: u32, code: u32, id: u32, a: u32): void {
  emitEvent(type, code, id, a, 0, 0, 0);
}

export function eventsPtr(): usize {
  return buf;
}

/** Records waiting at eventsPtr(). */
export function eventCount(): u32 {
  return countRecords;
}

/** The host has read every record: the buffer starts again from the beginning. */
export function eventsClear(): void {
  countRecords = 0;
}

/** Why a traced outgoing segment was sent; the trace shows a learner which arrows are retransmissions. */
export const enum SendKind {
  /** First transmission (or a pure ACK, or control). */
  NEW = 0,
  /** Data sent again to repair a loss: RTO (RFC 6298 5.4), fast retransmit or SACK recovery (RFC 6675). */
  REPAIR = 1,
  /** The tail loss probe (RFC 8985 7.3). */
  PROBE = 2,
}

/** What the segment being emitted is (SendKind), set by the retransmit path around its emit. */
export let traceSendKind: u32 = SendKind.NEW;

/** Sets traceSendKind; output.ts resets it to NEW once the segment is out. */
export function setTraceSendKind(kind: u32): void {
  traceSendKind = kind;
}

/** A SEGMENT_IN / SEGMENT_OUT trace record of `seg` with `len` payload bytes. */
export function traceSegment(type: u32, id: u32, seg: Segment, len: u32): void {
  const p = emitEvent(type, seg.flags, id, seg.seq, seg.ack, seg.window, len);
  if (p == 0) return;
  let opts: u32 = 0;
  if (seg.mss != 0) opts |= 1;
  if (seg.wscale >= 0) opts |= 2 | (<u32>seg.wscale << 8);
  if (seg.sackPermitted) opts |= 4;
  if (seg.hasTimestamps) opts |= 8;
  let blocks = <u32>seg.sackCount;
  if (blocks > 3) blocks = 3;
  opts |= blocks << 12;
  if (type == EventType.SEGMENT_OUT) opts |= traceSendKind << 16;
  store<u32>(p, opts, 24);
  store<u32>(p, seg.mss, 28);
  store<u32>(p, seg.tsVal, 32);
  store<u32>(p, seg.tsEcr, 36);
  memory.copy(p + 40, changetype<usize>(seg) + offsetof<Segment>("sackL0"), <usize>blocks << 3);
}

/** An ADDRESS_CONFLICT record for our address (a, b) of `version` on interface `ifIndex`. */
export function emitAddressConflict(ifIndex: u32, version: u32, a: u64, b: u64): void {
  const p = emitEvent(EventType.ADDRESS_CONFLICT, version, 0, ifIndex, 0, 0, 0);
  if (p == 0) return;
  store<u64>(p, a, 40);
  store<u64>(p, b, 48);
}

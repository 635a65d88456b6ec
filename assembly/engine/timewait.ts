// TIME-WAIT in compact form (RFC 9293 3.3.2, 3.10.7.4): once a connection reaches TIME-WAIT nothing
// is left to send or receive, and what the 2 MSL wait needs (RFC 9293 3.6.1, RFC 1337, RFC 6191) fits
// in a small record: the 4-tuple, SND.NXT, RCV.NXT and the receive window, the peer's TS.Recent and our
// timestamp offset, the window field to ACK with, the expiry and an ACK limiter. The full TCB (and its
// connection slot) goes back to the engine at once, or when the host releases its id.
//
// Contract
// - The store is its own: records outside the MAX_CONNECTIONS budget, at most config TIME_WAIT_MAX
//   (0: as many as MAX_CONNECTIONS), taken from the pool as they are needed (16, then doubling),
//   reused while any is in use and given back when the last one ends. Lookup by 4-tuple is a hash
//   table of record numbers (hashtab.ts) under the connection table's bucket hash (table.ts flowHash:
//   SipHash-1-3 under a key derived from the host secret), so a tuple the table missed is not hashed
//   again here.
// - Every (re)start of the wait sets expiry = now + 2 MSL, which is never earlier than any expiry
//   already set (the clock only moves forward), so the records form one list in expiry order: the
//   head is both the next to expire (twNextDeadline) and the oldest, the one recycled when the store
//   is full. If MSL is changed while entries wait, a shorter wait expires no earlier than its deadline
//   and no later than the entries ahead of it.
// - A record keeps the id of the connection it came from. While the host still holds that id, the
//   TCB stays in TIME-WAIT (state, STATUS, unread data), out of every table; when the record ends
//   (expiry, a new incarnation, recycling) that TCB goes to CLOSED with the usual events. When the
//   host no longer holds it, the record itself reports TIME-WAIT -> CLOSED, so traces look the same.
import { Segment } from "../wire/packet";
import { seqLt, seqGt, segmentAcceptable } from "../wire/seq";
import { Tcb, State, Life, Due, Opt, hasFlag, tcbKey, sndRing, rcvRing, tcbOoo, tcbSb, tcbFromId, tcbFree } from "./tcb";
import { FlowKey, flowKeyBytes, FLOW_KEY_BYTES, FLOW_KEY_VERSION } from "../wire/flowkey";
import { flowHash } from "./table";
import { HashTab, tabAllocIndex, tabMoveRecords, tabFree, tabFind, tabInsert, tabDelete, tabValue } from "./hashtab";
import { poolAlloc, poolFree } from "./pool";
import { NEVER } from "./timers";
import { ringRelease } from "./ring";
import { oooRelease } from "./reassembly";
import { sbRelease } from "./scoreboard";
import { dsackRelease } from "./dsack";
import { emitSimple, traceSegment, EventType } from "./events";
import { count, Counter } from "./counters";
import * as config from "./config";
import { connectionDone, detach } from "./conn";
import { Outcome } from "./errors";
import { FLG_ACK, FLG_FIN, FLG_RST, FLG_SYN, segLength } from "../wire/tcp";
import { queueFlowAck, windowField, tsClock } from "./emit";
import { ackAllowed } from "./ackrate";

// Record layout. The key is flowKeyBytes' 40 bytes; its version word (at 36) is 0 in a free record.
const R_VERSION: usize = FLOW_KEY_VERSION;
const R_HASH: usize = 40;
const R_SND_NXT: usize = 44;
const R_RCV_NXT: usize = 48;
const R_RCV_WND: usize = 52;
const R_TS_RECENT: usize = 56;
const R_TS_OFFSET: usize = 60;
const R_ID: usize = 64;
/** Expiry list links: record number + 1, 0 for none. A free record's R_NEXT links the free list. */
const R_PREV: usize = 68;
const R_NEXT: usize = 72;
/** The window field of our ACKs (already scaled), u16; then u16 flags. */
const R_WINDOW: usize = 76;
const R_FLAGS: usize = 78;
const R_EXPIRY: usize = 80;
/** ACK limiter (ackrate.ts): i64 window start, u32 count. */
const R_LIMITER: usize = 88;
/** The connection's TOS / Traffic Class (ConnOption.TOS), u8: its ACKs keep carrying it. */
const R_TOS: usize = 100;
export const TW_RECORD_BYTES: usize = 104;

/** R_FLAGS: the connection used timestamps (RFC 7323 3.2: every segment carries them). */
const TWF_TS: u16 = 1;

let records: usize = 0;
let capacity: u32 = 0;
let used: u32 = 0;
let bound: u32 = 0;
let freeHead: u32 = 0;
let head: u32 = 0;
let tail: u32 = 0;
const index = changetype<HashTab>(memory.data(offsetof<HashTab>(), 8));

const probe = memory.data(<i32>FLOW_KEY_BYTES, 8);
// A record for a connection that found no room at all (no memory): it ACKs and ends at once.
const spare = memory.data(104, 8);

@inline function rec(i: u32): usize {
  return records + <usize>i * TW_RECORD_BYTES;
}

/** Sizes the store from the configuration. */
export function twInit(): void {
  bound = config.timeWaitMax != 0 ? config.timeWaitMax : config.maxConnections;
}

/** Frees every record (engine teardown; the pool-accounting tests need it). */
export function twRelease(): void {
  if (records != 0) poolFree(records, <usize>capacity * TW_RECORD_BYTES);
  tabFree(index);
  records = 0;
  capacity = 0;
  used = 0;
  freeHead = 0;
  head = 0;
  tail = 0;
}

export function twCount(): u32 {
  return used;
}

// @ts-ignore: decorator
@inline function keyHash(key: usize): u32 {
  return flowHash(key);
}

/** Takes record i (its key and hash written) out of the index. */
function indexDelete(i: u32): void {
  const r = rec(i);
  const e = tabFind(index, r, load<u32>(r, R_HASH));
  if (DEBUG) assert(e != 0, "timewait: record not in the index");
  if (e != 0) tabDelete(index, e);
}

/** Twice the records (16 at first, at most `bound`); false when the pool refuses. */
function grow(): bool {
  let want: u32 = capacity == 0 ? 16 : capacity * 2;
  if (want > bound) want = bound;
  if (want <= capacity) return false;
  const r = poolAlloc(<usize>want * TW_RECORD_BYTES);
  if (r == 0) return false;
  if (index.entries == 0 && !tabAllocIndex(index, bound, r, <u32>TW_RECORD_BYTES)) {
    poolFree(r, <usize>want * TW_RECORD_BYTES);
    return false;
  }
  if (records != 0) {
    memory.copy(r, records, <usize>capacity * TW_RECORD_BYTES);
    poolFree(records, <usize>capacity * TW_RECORD_BYTES);
  }
  records = r;
  tabMoveRecords(index, r);
  for (let i = want; i > capacity; i--) {
    store<u32>(rec(i - 1), freeHead, R_NEXT);
    freeHead = i;
  }
  capacity = want;
  return true;
}

// ---- The expiry list ----

function listAppend(i: u32): void {
  const r = rec(i);
  store<u32>(r, tail, R_PREV);
  store<u32>(r, 0, R_NEXT);
  if (tail != 0) store<u32>(rec(tail - 1), i + 1, R_NEXT);
  else head = i + 1;
  tail = i + 1;
}

function listUnlink(i: u32): void {
  const r = rec(i);
  const prev = load<u32>(r, R_PREV);
  const next = load<u32>(r, R_NEXT);
  if (prev != 0) store<u32>(rec(prev - 1), next, R_NEXT);
  else head = next;
  if (next != 0) store<u32>(rec(next - 1), prev, R_PREV);
  else tail = prev;
}

/** (Re)starts the 2 MSL wait (RFC 9293 3.10.7.4 eighth check): the record moves to the list's end. */
function restart(i: u32, nowUs: i64): void {
  store<i64>(rec(i), nowUs + 2 * config.mslUs, R_EXPIRY);
  listUnlink(i);
  listAppend(i);
}

// ---- Entering, lookup, ending ----

/** The record of `key` in TIME-WAIT, or -1. */
export function twLookup(key: FlowKey): i32 {
  if (used == 0) return -1;
  flowKeyBytes(key, probe);
  const e = tabFind(index, probe, keyHash(probe));
  return e == 0 ? -1 : <i32>tabValue(e);
}

/** A free record, growing the store or recycling its oldest entry; -1 only when none can be had. */
function take(): i32 {
  if (freeHead == 0 && (used >= bound || !grow())) {
    if (head == 0) return -1;
    count(Counter.TIME_WAIT_RECYCLED);
    endRecord(head - 1);
  }
  const i = freeHead - 1;
  freeHead = load<u32>(rec(i), R_NEXT);
  used++;
  return <i32>i;
}

/**
 * `t` just entered TIME-WAIT (the STATE event is out): the ACK it owes goes out now, its 4-tuple moves
 * into a record, and the TCB leaves every table; it is freed unless the host holds its id.
 */
export function twEnter(t: Tcb, nowUs: i64): void {
  let slot = take();
  const r = slot >= 0 ? rec(<u32>slot) : spare;
  const key = tcbKey(t);
  flowKeyBytes(key, r);
  store<u32>(r, keyHash(r), R_HASH);
  // Everything we sent was acknowledged: SND.MAX is SND.NXT and where a new incarnation must start beyond.
  store<u32>(r, t.sndMax, R_SND_NXT);
  store<u32>(r, t.rcvNxt, R_RCV_NXT);
  store<u16>(r, windowField(t, false), R_WINDOW);
  store<u32>(r, seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0, R_RCV_WND);
  store<u32>(r, t.tsRecent, R_TS_RECENT);
  store<u32>(r, t.tsOffset, R_TS_OFFSET);
  store<u16>(r, hasFlag(t.options, Opt.TS_OK) ? TWF_TS : 0, R_FLAGS);
  store<u8>(r, <u8>t.tos, R_TOS);
  store<u32>(r, t.id, R_ID);
  // The limiter carries over: a peer cannot earn a fresh budget by making us enter TIME-WAIT.
  store<i64>(r, t.ackLimitWindowUs, R_LIMITER);
  store<u32>(r, t.ackLimitCount, R_LIMITER + 8);
  store<i64>(r, nowUs + 2 * config.mslUs, R_EXPIRY);
  // The ACK of the peer's FIN, if that is what brought us here.
  if (hasFlag(t.due, Due.ACK_NOW)) sendAck(r, nowUs);
  detach(t);
  ringRelease(sndRing(t));
  if (rcvRing(t).len == 0) ringRelease(rcvRing(t));
  oooRelease(tcbOoo(t));
  sbRelease(tcbSb(t));
  dsackRelease(t);
  if (slot >= 0 && !tabInsert(index, r, load<u32>(r, R_HASH), <u32>slot)) {
    freeRecord(<u32>slot);
    slot = -1;
  }
  if (slot < 0) {
    // No room and nothing to recycle: the wait is skipped, as when it ends.
    connectionDone(t, Outcome.CLOSED);
    return;
  }
  listAppend(<u32>slot);
  if (!hasFlag(t.life, Life.HOST_HELD)) tcbFree(t);
}

/**
 * The record's wait is over (expiry, a new incarnation): TIME-WAIT -> CLOSED for the TCB the host
 * still holds, or for the record itself. The last record out gives the store's memory back.
 */
export function twEnd(i: u32): void {
  endRecord(i);
  if (used == 0) twRelease();
}

/** Puts record i (out of the index and the expiry list) on the free list. */
function freeRecord(i: u32): void {
  const r = rec(i);
  store<u32>(r, 0, R_VERSION);
  store<u32>(r, freeHead, R_NEXT);
  freeHead = i + 1;
  used--;
}

function endRecord(i: u32): void {
  const r = rec(i);
  const id = load<u32>(r, R_ID);
  indexDelete(i);
  listUnlink(i);
  freeRecord(i);
  if (id == 0) return;
  const t = tcbFromId(id);
  if (t != null) {
    if (t.state == State.TIME_WAIT) connectionDone(t, Outcome.CLOSED);
  } else if (config.stateEvents) {
    emitSimple(EventType.STATE, State.TIME_WAIT, id, State.CLOSED);
  }
}

/**
 * The host aborted the held TCB of a connection in TIME-WAIT (it reported CLOSED already): the
 * 4-tuple still waits out 2 MSL, silently.
 */
export function twDisown(key: FlowKey): void {
  const i = twLookup(key);
  if (i >= 0) store<u32>(rec(<u32>i), 0, R_ID);
}

/** Ends every wait due at `nowUs` (RFC 9293 3.10.8, time-wait timeout). */
export function twExpire(nowUs: i64): void {
  while (head != 0 && load<i64>(rec(head - 1), R_EXPIRY) <= nowUs) twEnd(head - 1);
}

export function twNextDeadline(): i64 {
  return head == 0 ? NEVER : load<i64>(rec(head - 1), R_EXPIRY);
}

/** SND.NXT of the old incarnation and its timestamp offset: a new one must start beyond both. */
export function twSndNxt(i: u32): u32 {
  return load<u32>(rec(i), R_SND_NXT);
}

export function twTsOffset(i: u32): u32 {
  return load<u32>(rec(i), R_TS_OFFSET);
}

// ---- Segments for a record ----

/** Our ACK, as the connection would have sent it: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. */
function sendAck(r: usize, nowUs: i64): void {
  const ts = (load<u16>(r, R_FLAGS) & TWF_TS) != 0;
  queueFlowAck(r, load<u32>(r, R_SND_NXT), load<u32>(r, R_RCV_NXT), load<u16>(r, R_WINDOW), ts,
    tsClock(nowUs, load<u32>(r, R_TS_OFFSET)), load<u32>(r, R_TS_RECENT), load<u32>(r, R_ID), load<u8>(r, R_TOS));
}

/** An ACK a segment asks for without moving anything forward: within the RFC 5961 7 budget. */
function throttledAck(r: usize, nowUs: i64): void {
  if (ackAllowed(r + R_LIMITER, nowUs)) sendAck(r, nowUs);
  else count(Counter.ACKS_RATE_LIMITED);
}

/**
 * Whether a SYN may start a new incarnation of record i's 4-tuple (RFC 9293 3.6.1 and 3.10.7.4 for
 * TIME-WAIT; RFC 6191 2): with timestamps on both incarnations, a TSval newer than TS.Recent, or the
 * same TSval and a sequence number beyond the old incarnation's; without, a sequence number beyond
 * the old incarnation's (RCV.NXT is one past its FIN, the last sequence number it used).
 */
export function twTakesSyn(i: u32, seg: Segment): bool {
  if ((seg.flags & (FLG_SYN | FLG_ACK | FLG_RST)) != FLG_SYN) return false;
  const r = rec(i);
  const rcvNxt = load<u32>(r, R_RCV_NXT);
  const seqNewer = !seqLt(seg.seq, rcvNxt);
  if ((load<u16>(r, R_FLAGS) & TWF_TS) != 0 && seg.hasTimestamps && config.offerTimestamps) {
    const recent = load<u32>(r, R_TS_RECENT);
    return seqGt(seg.tsVal, recent) || (seg.tsVal == recent && seqNewer);
  }
  return seqNewer;
}

/**
 * RFC 9293 3.10.7.4 in TIME-WAIT, for a segment twTakesSyn did not take: PAWS (RFC 7323 5.3), then the
 * sequence number check; a RST is ignored (RFC 1337), a SYN gets a challenge ACK (RFC 5961 4.2), a
 * retransmitted FIN is acknowledged and restarts the wait (eighth check); text is ignored (seventh).
 */
export function twSegmentArrives(i: u32, seg: Segment, nowUs: i64): void {
  const r = rec(i);
  const flags = seg.flags;
  const rst = (flags & FLG_RST) != 0;
  const fin = (flags & FLG_FIN) != 0;
  if (config.trace) traceSegment(EventType.SEGMENT_IN, load<u32>(r, R_ID), seg, seg.payloadLen);
  if ((load<u16>(r, R_FLAGS) & TWF_TS) != 0 && !rst) {
    if (!seg.hasTimestamps) {
      count(Counter.TS_MISSING_DROPPED);
      return;
    }
    if (seqLt(seg.tsVal, load<u32>(r, R_TS_RECENT))) {
      count(Counter.PAWS_DROPPED);
      throttledAck(r, nowUs);
      return;
    }
  }
  const len = segLength(seg);
  const rcvWnd = load<u32>(r, R_RCV_WND);
  const acceptable = segmentAcceptable(seg.seq, len, load<u32>(r, R_RCV_NXT), rcvWnd);
  if (rst) return;
  if (!acceptable) count(Counter.OUT_OF_WINDOW);
  if (!acceptable || (flags & FLG_SYN) != 0) {
    if (fin && !acceptable) restart(i, nowUs);
    throttledAck(r, nowUs);
    return;
  }
  if ((flags & FLG_ACK) == 0) return;
  if (fin) {
    restart(i, nowUs);
    throttledAck(r, nowUs);
  }
}

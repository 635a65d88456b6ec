// Connection lifecycle shared by input, output, timeouts and user calls: state changes (with their
// events), the output queue, timer scheduling, and the end of a connection (RFC 9293 3.10: "delete
// the TCB, enter CLOSED"). A TCB is freed when the protocol is done AND the host released it.
import { Tcb, State, Life, Member, Due, hasFlag, tcbKey, tcbTimers, tcbOoo, tcbSb, sndRing, rcvRing,
  tcbFromId, tcbAlloc, tcbFree, slotOf, slotsFree, slotsNextCapacity, slotsGrow } from "./tcb";
import { tableRemove, listenerRemove } from "./table";
import { timersReset, timersEarliest, tqSet, tqRemove, tqReserve } from "./timers";
import { poolAlloc, poolFree } from "./pool";
import { ringRelease } from "./ring";
import { oooClear } from "./reassembly";
import { sbClear } from "./scoreboard";
import { emitSimple, EventType } from "./events";
import { stateEvents } from "./config";
import { Err, Outcome, outcomeError } from "./errors";

// ---- Output queue: connections with something to send, FIFO of ids (stale ids are skipped) ----
//
// Its capacity follows the slot capacity (connAlloc), so the live connections always fit; stale ids
// (of connections freed or detached while queued) take room too, and a full queue drops them in place.

let txqBuf: usize = 0;
let txqCap: u32 = 0;
let txqHead: u32 = 0;
let txqLen: u32 = 0;

/** An empty queue for `capacity` ids; false when the pool refuses. */
export function txqInit(capacity: u32): bool {
  txqHead = 0;
  txqLen = 0;
  txqCap = 0;
  txqBuf = 0;
  return txqReserve(capacity);
}

/** Raises the capacity to at least `capacity` ids, keeping their order; false when the pool refuses. */
function txqReserve(capacity: u32): bool {
  if (capacity <= txqCap) return true;
  const p = poolAlloc(<usize>capacity << 2);
  if (p == 0) return false;
  for (let i: u32 = 0; i < txqLen; i++) {
    store<u32>(p + (<usize>i << 2), load<u32>(txqBuf + (<usize>((txqHead + i) % txqCap) << 2)));
  }
  poolFree(txqBuf, <usize>txqCap << 2);
  txqBuf = p;
  txqCap = capacity;
  txqHead = 0;
  return true;
}

/**
 * Drops the stale ids (freed connections, ids queued twice) in place, keeping the order: afterwards
 * the queue holds at most one id per live connection, which the capacity always has room for.
 */
function txqCompact(): void {
  let kept: u32 = 0;
  for (let i: u32 = 0; i < txqLen; i++) {
    const id = load<u32>(txqBuf + (<usize>((txqHead + i) % txqCap) << 2));
    const t = tcbFromId(id);
    if (t == null || !hasFlag(t.member, Member.IN_TXQ)) continue;
    // Cleared while compacting so that a second copy of the same id is dropped; set again below.
    t.member &= ~Member.IN_TXQ;
    store<u32>(txqBuf + (<usize>((txqHead + kept) % txqCap) << 2), id);
    kept++;
  }
  txqLen = kept;
  for (let i: u32 = 0; i < kept; i++) {
    const t = changetype<Tcb>(tcbFromId(load<u32>(txqBuf + (<usize>((txqHead + i) % txqCap) << 2))));
    t.member |= Member.IN_TXQ;
  }
}

/** Pool bytes the output queue holds now. */
export function txqBytes(): usize {
  return <usize>txqCap << 2;
}

/** Queues `t` for output() (at most once). */
export function wantOutput(t: Tcb): void {
  if (hasFlag(t.member, Member.IN_TXQ)) return;
  // One live entry per connection fits; entries of connections that ended since the last output()
  // (freed, or taken out of the queue by detach) stay until output() skips them, so a full table
  // closed and opened again between two outputs fills the queue with them: drop them first.
  if (txqLen == txqCap) txqCompact();
  if (DEBUG) assert(txqLen < txqCap, "conn: output queue full of live connections");
  if (txqLen == txqCap) return;
  t.member |= Member.IN_TXQ;
  store<u32>(txqBuf + (<usize>((txqHead + txqLen) % txqCap) << 2), t.id);
  txqLen++;
}

/** An ACK is due now, not delayed (RFC 9293 3.8.6.3 lists when). */
@inline export function ackNow(t: Tcb): void {
  t.due |= Due.ACK_NOW;
  wantOutput(t);
}

// ---- New connections ----

/**
 * A zeroed TCB in a fresh slot with a fresh id (tcb.ts tcbAlloc), or null: every slot up to
 * config.maxConnections is taken, or the pool refuses (the caller reports ENOBUFS). When no slot is
 * free, the slots, the timer queue and the output queue first double together, so memory follows the
 * connections in use. This is the one place they grow: a connection is being created, never per segment.
 */
export function connAlloc(): Tcb | null {
  if (slotsFree() == 0) {
    const n = slotsNextCapacity();
    // Each reserve keeps what it got if a later one fails: the next attempt starts from there.
    if (n == 0 || !tqReserve(n) || !txqReserve(n) || !slotsGrow(n)) return null;
  }
  return tcbAlloc();
}

/** The connection at the front of the output queue, or null after skipping stale entries. */
export function txqFront(): Tcb | null {
  while (txqLen != 0) {
    const t = tcbFromId(load<u32>(txqBuf + (<usize>txqHead << 2)));
    if (t != null && hasFlag(t.member, Member.IN_TXQ)) return t;
    txqPop();
  }
  return null;
}

export function txqPop(): void {
  txqHead = (txqHead + 1) % txqCap;
  txqLen--;
}

// ---- Timers ----

/** Puts the connection's earliest deadline into the engine's timer queue. Call after timer changes. */
@inline export function reschedule(t: Tcb): void {
  tqSet(slotOf(t.id), timersEarliest(tcbTimers(t)));
}

// ---- Half-open accounting (RFC 4987 2.3) ----

export let halfOpenTotal: u32 = 0;

export function enterHalfOpen(t: Tcb, listener: Tcb): void {
  t.member |= Member.HALF_OPEN;
  listener.halfOpen++;
  halfOpenTotal++;
}

export function leaveHalfOpen(t: Tcb): void {
  if (!hasFlag(t.member, Member.HALF_OPEN)) return;
  t.member &= ~Member.HALF_OPEN;
  halfOpenTotal--;
  const l = tcbFromId(t.listenerId);
  if (l != null && l.halfOpen > 0) l.halfOpen--;
}

// ---- States and the end of a connection ----

export function setState(t: Tcb, s: u32): void {
  const old = t.state;
  if (old == s) return;
  t.state = s;
  if (old == State.SYN_RECEIVED) leaveHalfOpen(t);
  if (stateEvents) emitSimple(EventType.STATE, old, t.id, s);
}

/** An event about `t` for the host: only once the host holds the id. */
@inline export function notify(t: Tcb, type: u32, code: u32): void {
  if (hasFlag(t.life, Life.HOST_HELD)) emitSimple(type, code, t.id, 0);
}

/** The event that says why a connection ended (with outcomeError's code), or 0 for none. */
function outcomeEvent(o: Outcome): u32 {
  switch (o) {
    case Outcome.REFUSED:
    case Outcome.RESET: return EventType.RESET;
    case Outcome.TIMED_OUT: return EventType.TIMED_OUT;
    case Outcome.NO_BUFFERS:
    case Outcome.HOST_UNREACHABLE: return EventType.ERROR;
    default: return 0;
  }
}

/**
 * The protocol is over: CLOSED, out of the tables, no timers. After any end but an orderly one
 * (Outcome.CLOSED) the queues are flushed (RFC 9293 3.10.7.4 second check, 3.10.5 ABORT) and the
 * host gets the event that says why, unless it asked (ABORTED); after an orderly end data already
 * received stays readable until the host releases the id. Frees the TCB when the host does not hold
 * it: the caller must not touch `t` afterwards.
 */
export function connectionDone(t: Tcb, outcome: Outcome): void {
  leaveHalfOpen(t);
  setState(t, State.CLOSED);
  detach(t);
  ringRelease(sndRing(t));
  oooClear(tcbOoo(t));
  sbClear(tcbSb(t));
  if (outcome != Outcome.CLOSED) {
    ringRelease(rcvRing(t));
    t.life |= Life.ABORTED;
  } else if (rcvRing(t).len == 0) {
    ringRelease(rcvRing(t));
  }
  if (hasFlag(t.life, Life.HOST_HELD)) {
    const why = outcomeEvent(outcome);
    // RFC 1122 4.2.3.9: a soft error seen before the timeout is what the host is told.
    let code = outcomeError(outcome);
    if (outcome == Outcome.TIMED_OUT && hasFlag(t.life, Life.SOFT_REFUSED)) code = Err.ECONNREFUSED;
    else if (outcome == Outcome.TIMED_OUT && hasFlag(t.life, Life.SOFT_UNREACHABLE)) code = Err.EHOSTUNREACH;
    if (why != 0) emitSimple(why, code, t.id, 0);
    emitSimple(EventType.CLOSED, 0, t.id, 0);
  } else {
    tcbFree(t);
  }
}

/**
 * Out of the connection and listener tables, the timer queue and the output queue: no segment, timer
 * or output reaches the TCB any more (the end of a connection, or its move to compact TIME-WAIT).
 */
export function detach(t: Tcb): void {
  const key = tcbKey(t);
  if (hasFlag(t.member, Member.IN_TABLE)) {
    tableRemove(key);
    t.member &= ~Member.IN_TABLE;
  }
  if (hasFlag(t.member, Member.LISTENING)) {
    listenerRemove(key.ipVersion, key.localA, key.localB, key.localPort);
    t.member &= ~Member.LISTENING;
  }
  timersReset(tcbTimers(t));
  tqRemove(slotOf(t.id));
  t.member &= ~Member.IN_TXQ;
  t.due &= ~(Due.ACK_NOW | Due.NEED_SYN | Due.RTX_ONE | Due.PROBE_NOW | Due.FORCE_SEND);
}

/**
 * The host gave up its id: free now if the protocol is done, else when it is. A TCB in TIME-WAIT is
 * done too: the 4-tuple lives on in compact form (timewait.ts), which never needed the TCB.
 */
export function hostReleased(t: Tcb): void {
  t.life &= ~Life.HOST_HELD;
  if (t.state == State.CLOSED || t.state == State.TIME_WAIT) tcbFree(t);
}

// User calls (RFC 9293 3.10.1 - 3.10.5): OPEN (active and passive), SEND, RECEIVE, CLOSE, ABORT and
// the host's release of an id. STATUS and per-connection options are in status.ts, the set-up a new
// connection shares with passive OPEN in handshake.ts. Ids come from connCreate (a socket-like handle
// in CLOSED) or from an ACCEPTED event; every call checks the id's generation first.
//
// Parameter region (paramPtr(), 64 bytes): addresses go in as 16 raw network-order bytes each, IPv4 in
// the first 4: [0, 16) local address, [16, 32) remote address. engineInit reads [0, 32) as the ISN
// secret (two u64) and the PRNG seed (four u32) instead.
import { ANY_PORT, refuseHeldSyn } from "./forward";
import { Tcb, State, Life, Member, Due, hasFlag, tcbKey, sndRing, rcvRing, tcbTimers, tcbRtt, tcbCc,
  tcbFromId, slotOf, unopened } from "./tcb";
import { tableLookup, tableInsert, listenerAdd, listenerConflict, listenerRemove } from "./table";
import { allocEphemeralPort } from "./ports";
import { twLookup, twEnd, twSndNxt, twTsOffset, twDisown } from "./timewait";
import { count, Counter } from "./counters";
import { ringEnsure, ringWritePtr, ringWriteContig, ringCommit, ringReadPtr, ringReadContig, ringConsume,
  ringSpace, ringRelease } from "./ring";
import { TimerKind, timerSet } from "./timers";
import { ccOnIdleRestart } from "./congestion";
import { Err, Outcome } from "./errors";
import * as config from "./config";
import { setState, connectionDone, hostReleased, connAlloc, wantOutput, reschedule } from "./conn";
import { queueConnectionReset, windowWouldOpen } from "./emit";
import { applyDefaults, initConnection, startAfterTimeWait } from "./handshake";
import { sndSpaceAdjust } from "./autosize";

const params = memory.data(64, 16);

export function paramPtr(): usize {
  return params;
}

@inline function loadAddress(at: usize, ipVersion: u32, high: bool): u64 {
  if (ipVersion == 4) return high ? <u64>load<u32>(at) : 0;
  return load<u64>(at + (high ? 0 : 8));
}

// ---- OPEN ----

/** A new connection handle in CLOSED (like socket()): set options, then connConnect or connListen. */
export function connCreate(): i32 {
  const t = connAlloc();
  if (t == null) return -Err.ENOBUFS;
  t.life |= Life.HOST_HELD;
  applyDefaults(t);
  return <i32>t.id;
}

/**
 * Active OPEN (RFC 9293 3.10.1): local address at paramPtr()+0, remote at +16. localPort 0 picks a
 * random ephemeral port (RFC 6056 3.3.1). Returns 0; the SYN goes out with the next output() and
 * CONNECTED (or RESET / TIMED_OUT) follows as an event.
 *
 * On a listening handle this is the state diagram's LISTEN --SEND / snd SYN--> SYN-SENT arrow (RFC
 * 9293 3.10.2, LISTEN: "if the remote socket is specified, then change the connection from passive
 * to active, select an ISS"): the listener's port stays (localPort must be 0 or that port), its
 * address stays when it was bound to one (the parameter may then be zero or the same address), and
 * the listener entry goes away. Its half-open connections are reset when they complete, as after
 * CLOSE on a listener.
 */
export function connConnect(id: u32, ipVersion: u32, localPort: u32, remotePort: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const listening = t.state == State.LISTEN && hasFlag(t.member, Member.LISTENING);
  if (!listening && !unopened(t)) return -Err.EISCONN;
  if ((ipVersion != 4 && ipVersion != 6) || remotePort == 0 || remotePort > 65535 || localPort > 65535) return -Err.EINVAL;
  const key = tcbKey(t);
  let localA = loadAddress(params, ipVersion, true);
  let localB = loadAddress(params, ipVersion, false);
  const remoteA = loadAddress(params + 16, ipVersion, true);
  const remoteB = loadAddress(params + 16, ipVersion, false);
  if ((remoteA | remoteB) == 0) return -Err.EINVAL;
  if (listening) {
    if (ipVersion != key.ipVersion || (localPort != 0 && localPort != key.localPort)) return -Err.EINVAL;
    const bound = (key.localA | key.localB) != 0;
    if (bound && (localA | localB) == 0) {
      localA = key.localA;
      localB = key.localB;
    } else if (bound && (localA != key.localA || localB != key.localB)) {
      return -Err.EINVAL;
    }
    localPort = key.localPort;
  }
  if ((localA | localB) == 0) return -Err.EADDRNOTAVAIL;
  // The listener is found by its own (maybe wildcard) address: remember it before the key changes.
  const listenA = key.localA;
  const listenB = key.localB;
  key.ipVersion = ipVersion;
  key.localA = localA;
  key.localB = localB;
  key.remoteA = remoteA;
  key.remoteB = remoteB;
  key.remotePort = remotePort;
  let err: i32 = 0;
  if (localPort == 0) {
    if (allocEphemeralPort(key) < 0) err = -Err.EADDRNOTAVAIL;
  } else {
    key.localPort = localPort;
    if (tableLookup(key) >= 0) err = -Err.EADDRINUSE;
  }
  if (err == 0 && !tableInsert(key, slotOf(t.id))) err = -Err.ENOBUFS;
  // A 4-tuple we hold in TIME-WAIT (an explicit port, or an ephemeral pick when every free tuple was
  // taken) is reused at once, as Linux's tcp_tw_reuse does: the new incarnation starts beyond the old.
  const tw = err == 0 ? twLookup(key) : -1;
  if (err != 0) {
    if (listening) {
      key.localA = listenA; // still listening, as it was
      key.localB = listenB;
    }
    return err;
  }
  if (listening) {
    listenerRemove(ipVersion, listenA, listenB, key.localPort);
    t.member &= ~Member.LISTENING;
  }
  t.member |= Member.IN_TABLE;
  t.life |= Life.OPENED;
  initConnection(t, nowUs);
  if (tw >= 0) {
    startAfterTimeWait(t, twSndNxt(<u32>tw), twTsOffset(<u32>tw));
    count(Counter.TIME_WAIT_REUSED);
    twEnd(<u32>tw);
  }
  setState(t, State.SYN_SENT);
  t.due |= Due.NEED_SYN;
  wantOutput(t);
  reschedule(t);
  return 0;
}

/**
 * Passive OPEN (RFC 9293 3.10.1): listen on `port` at the local address at paramPtr()+0 (all zero:
 * every address). `backlog` bounds the listener's half-open connections (with config
 * MAX_HALF_OPEN_PER_LISTENER). Each connection that completes the handshake arrives as ACCEPTED.
 */
export function connListen(id: u32, ipVersion: u32, port: u32, backlog: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (!unopened(t)) return -Err.EISCONN;
  if ((ipVersion != 4 && ipVersion != 6) || port == 0 || port > 65535) return -Err.EINVAL;
  return listenOn(t, ipVersion, loadAddress(params, ipVersion, true), loadAddress(params, ipVersion, false), port, backlog);
}

/**
 * Passive OPEN of the any-destination listener of `ipVersion` (forward.ts): SYNs to destinations that
 * are not ours, arriving on a gateway interface, that no other listener takes. One per IP version.
 * Its connections arrive held (SYN_HELD events), then as ACCEPTED once the host accepted them.
 */
export function connListenAny(id: u32, ipVersion: u32, backlog: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (!unopened(t)) return -Err.EISCONN;
  if (ipVersion != 4 && ipVersion != 6) return -Err.EINVAL;
  return listenOn(t, ipVersion, 0, 0, ANY_PORT, backlog);
}

function listenOn(t: Tcb, ipVersion: u32, a: u64, b: u64, port: u32, backlog: u32): i32 {
  const key = tcbKey(t);
  key.ipVersion = ipVersion;
  key.localA = a;
  key.localB = b;
  key.localPort = port;
  if (listenerConflict(ipVersion, key.localA, key.localB, port)) return -Err.EADDRINUSE;
  if (!listenerAdd(ipVersion, key.localA, key.localB, port, slotOf(t.id))) return -Err.ENOBUFS;
  t.member |= Member.LISTENING;
  t.life |= Life.OPENED;
  const cap = config.maxHalfOpenPerListener;
  t.backlog = backlog == 0 || backlog > cap ? cap : backlog;
  setState(t, State.LISTEN);
  return 0;
}

// ---- SEND ----

/** Where the host writes data to send: contiguous free space of the send ring (see connSendSpace). */
export function connSendPtr(id: u32): usize {
  const t = tcbFromId(id);
  if (t == null || !ringEnsure(sndRing(t))) return 0;
  return ringWritePtr(sndRing(t));
}

@inline function canSend(t: Tcb): i32 {
  if (hasFlag(t.life, Life.USER_CLOSED)) return -Err.EPIPE;
  const s = t.state;
  if (s == State.SYN_SENT || s == State.SYN_RECEIVED || s == State.ESTABLISHED || s == State.CLOSE_WAIT) return 0;
  if (s == State.LISTEN || !hasFlag(t.life, Life.OPENED)) return -Err.ENOTCONN;
  return -Err.EPIPE;
}

/**
 * Contiguous bytes the host may write at connSendPtr(id) now (0: the ring is full, and WRITABLE
 * follows when the peer acknowledges data), or -error.
 */
export function connSendSpace(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const e = canSend(t);
  if (e != 0) return e;
  const r = sndRing(t);
  if (!ringEnsure(r)) return -Err.ENOBUFS;
  let n = ringWriteContig(r);
  if (n == 0) {
    sndSpaceAdjust(t);
    n = ringWriteContig(r);
  }
  if (n == 0) t.life |= Life.WRITE_BLOCKED;
  return <i32>n;
}

/**
 * SEND (RFC 9293 3.10.2): the host wrote `n` bytes at connSendPtr(id). Queued data goes out with the
 * next output() as window, cwnd and Nagle allow. Returns 0 or -error.
 */
export function connSendCommit(id: u32, n: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const e = canSend(t);
  if (e != 0) return e;
  const r = sndRing(t);
  if (r.buf == 0 || n > ringWriteContig(r)) return -Err.EINVAL;
  if (n == 0) return 0;
  // RFC 5681 4.1: after an idle period longer than RTO, restart from the initial window.
  if (t.sndUna == t.sndMax && r.len == 0 && t.state == State.ESTABLISHED &&
      nowUs - t.lastRecvUs > tcbRtt(t).rtoUs) ccOnIdleRestart(tcbCc(t));
  ringCommit(r, n);
  if (ringSpace(r) == 0) t.life |= Life.WRITE_BLOCKED;
  if (t.state >= <u32>State.ESTABLISHED) {
    wantOutput(t);
    reschedule(t);
  }
  return 0;
}

// ---- RECEIVE ----

/** Where the host reads received data: contiguous readable bytes of the receive ring. */
export function connRecvPtr(id: u32): usize {
  const t = tcbFromId(id);
  if (t == null || rcvRing(t).buf == 0) return 0;
  return ringReadPtr(rcvRing(t));
}

/** Contiguous readable bytes at connRecvPtr(id) (0: none now), or -error. */
export function connRecvAvail(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const r = rcvRing(t);
  if (r.buf == 0) return 0;
  return <i32>ringReadContig(r);
}

/**
 * RECEIVE (RFC 9293 3.10.3): the host consumed `n` bytes. When that opens the window by enough
 * (receiver SWS avoidance, RFC 9293 3.8.6.2.2) a window update is queued: call output() after.
 */
export function connRecvConsume(id: u32, n: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const r = rcvRing(t);
  if (r.buf == 0 || n > ringReadContig(r)) return -Err.EINVAL;
  ringConsume(r, n);
  t.life &= ~Life.READABLE_SENT;
  // TIME-WAIT and CLOSED keep the receive ring only while it holds unread data (enterTimeWait,
  // connectionDone): once the host has read it all, the storage goes back to the pool.
  if (r.len == 0 && (t.state == State.TIME_WAIT || t.state == State.CLOSED)) {
    ringRelease(r);
    return 0;
  }
  if (t.state >= <u32>State.ESTABLISHED && t.state != State.TIME_WAIT && !hasFlag(t.life, Life.PEER_FIN)) {
    if (windowWouldOpen(t)) {
      t.due |= Due.ACK_NOW;
      wantOutput(t);
    }
  }
  return 0;
}

// ---- CLOSE, ABORT, release ----

/**
 * CLOSE (RFC 9293 3.10.4): no more data from us; a FIN follows what is queued. Reading goes on until
 * the peer's FIN (half-close). Closing again is a no-op.
 */
export function connClose(id: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  return userClose(t);
}

function userClose(t: Tcb): i32 {
  switch (t.state) {
    case State.CLOSED:
      return hasFlag(t.life, Life.ABORTED) || !unopened(t) ? 0 : -Err.ENOTCONN;
    case State.LISTEN:
    case State.SYN_SENT:
      connectionDone(t, Outcome.CLOSED);
      return 0;
    case State.SYN_RECEIVED:
      t.life |= Life.USER_CLOSED;
      // RFC 9293 3.10.4: with SENDs queued the FIN waits for ESTABLISHED (becomeEstablished);
      // with nothing to send it is formed now and we enter FIN-WAIT-1, our SYN still in flight.
      if (sndRing(t).len != 0) return 0;
      t.life |= Life.SYN_UNACKED;
      setState(t, State.FIN_WAIT_1);
      break;
    case State.ESTABLISHED:
      t.life |= Life.USER_CLOSED;
      setState(t, State.FIN_WAIT_1);
      break;
    case State.CLOSE_WAIT:
      t.life |= Life.USER_CLOSED;
      setState(t, State.LAST_ACK);
      break;
    default:
      return 0; // already closing
  }
  wantOutput(t);
  reschedule(t);
  return 0;
}

/** ABORT (RFC 9293 3.10.5): RST to the peer if it is synchronized, queues flushed, CLOSED. */
export function connAbort(id: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  userAbort(t);
  return 0;
}

function userAbort(t: Tcb): void {
  const s = t.state;
  if (s == State.CLOSED) return;
  // A held SYN (forward.ts) was never answered: it is refused as from a closed port.
  if (hasFlag(t.life, Life.SYN_HELD)) {
    refuseHeldSyn(t, 0);
    return;
  }
  if (s == State.SYN_RECEIVED || s == State.ESTABLISHED || s == State.FIN_WAIT_1 || s == State.FIN_WAIT_2 ||
      s == State.CLOSE_WAIT) {
    queueConnectionReset(t);
  }
  if (s == State.TIME_WAIT) twDisown(tcbKey(t));
  connectionDone(t, Outcome.ABORTED);
}

/**
 * The host lets go of `id`. A connection still open is closed first (a FIN after queued data), or
 * reset when received data was never read (RFC 2525 2.17, as Linux does); the engine finishes the
 * protocol on its own (TIME-WAIT outlives the handle) and frees everything when it is done.
 */
export function connRelease(id: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (hasFlag(t.life, Life.SYN_HELD)) {
    // Released before an answer: refused, or it would wait for one forever.
    refuseHeldSyn(t, 0);
  } else if (t.state != State.CLOSED && t.state != State.TIME_WAIT) {
    if (rcvRing(t).len != 0 && isOpenForData(t.state)) {
      userAbort(t);
    } else {
      userClose(t);
      if (t.state == State.FIN_WAIT_2) timerSet(tcbTimers(t), TimerKind.TimeWait, nowUs + 2 * config.mslUs);
    }
  }
  hostReleased(t);
  if (tcbFromId(id) != null) reschedule(t);
  return 0;
}

@inline function isOpenForData(s: u32): bool {
  return s == State.ESTABLISHED || s == State.FIN_WAIT_1 || s == State.FIN_WAIT_2 || s == State.CLOSE_WAIT;
}

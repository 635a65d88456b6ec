// User calls (RFC 9293 3.10.1 - 3.10.6): OPEN (active and passive), SEND, RECEIVE, CLOSE, ABORT,
// STATUS, and per-connection options. Ids come from connCreate (a socket-like handle in CLOSED) or
// from an ACCEPTED event; every call checks the id's generation first.
//
// Parameter region (paramPtr(), 64 bytes): addresses go in as 16 raw network-order bytes each, IPv4 in
// the first 4: [0, 16) local address, [16, 32) remote address. engineInit reads [0, 32) as the ISN
// secret (two u64) and the PRNG seed (four u32) instead.
import { seqGt, seqLt } from "../wire/seq";
import { Tcb, State, F, hasFlag, setFlag, clearFlag, tcbKey, sndRing, rcvRing, tcbTimers, tcbRtt, tcbCc,
  tcbOoo, tcbFromId, slotOf } from "./tcb";
import { tableLookup, tableInsert, listenerAdd, listenerConflict, listenerRemove, allocEphemeralPort } from "./table";
import { isnFor, tsOffsetFor } from "./isn";
import { twLookup, twEnd, twSndNxt, twTsOffset, twDisown } from "./timewait";
import { count, Counter } from "./counters";
import { ringSetCapacity, ringEnsure, ringWritePtr, ringWriteContig, ringCommit, ringReadPtr,
  ringReadContig, ringConsume, ringSpace, ringRelease } from "./ring";
import { TimerKind, timerSet } from "./timers";
import { rttInit } from "./rtt";
import { ccInit, CcAlgo, ccOnIdleRestart } from "./congestion";
import { rackReoWnd } from "./rack";
import { oooClear, oooBytes } from "./reassembly";
import { Err } from "./errors";
import * as config from "./config";
import { setState, connectionDone, hostReleased, connAlloc, wantOutput, reschedule, LOCAL_ABORT } from "./conn";
import { queueConnectionReset, sendMss, windowWouldOpen } from "./emit";
import { linkMss } from "./pmtu";

const params = memory.data(64, 16);

export function paramPtr(): usize {
  return params;
}

@inline function loadAddress(at: usize, ipVersion: u32, high: bool): u64 {
  if (ipVersion == 4) return high ? <u64>load<u32>(at) : 0;
  return load<u64>(at + (high ? 0 : 8));
}

// ---- Connection set-up shared with input.ts ----

/** Options a new connection starts with: the engine defaults. */
function applyDefaults(t: Tcb): void {
  t.sndBuf = config.sendBufferDefault;
  t.rcvBuf = config.recvBufferDefault;
  if (!config.nagleDefault) setFlag(t, F.NAGLE_OFF);
  if (config.keepaliveDefault) setFlag(t, F.KEEPALIVE);
  t.keepIdleUs = config.keepaliveIdleUs;
  t.keepIntervalUs = config.keepaliveIntervalUs;
  t.keepCount = config.keepaliveCount;
  t.userTimeoutUs = config.userTimeoutUs;
}

/** A passive connection takes its listener's options (set on the listener before accept). */
export function inheritOptions(t: Tcb, l: Tcb): void {
  t.flags |= l.flags & (F.NAGLE_OFF | F.KEEPALIVE);
  t.sndBuf = l.sndBuf;
  t.rcvBuf = l.rcvBuf;
  t.keepIdleUs = l.keepIdleUs;
  t.keepIntervalUs = l.keepIntervalUs;
  t.keepCount = l.keepCount;
  t.userTimeoutUs = l.userTimeoutUs;
}

/**
 * Sequence and buffer state of a connection about to send its SYN or SYN,ACK: ISS (RFC 6528), ring
 * capacities (storage comes later), our MSS from the MTU (RFC 9293 3.7.1), our window scale from the
 * receive buffer (RFC 7323 2.3), RTO (RFC 6298 2.1), the timestamp offset of the 4-tuple (RFC 7323 5.4).
 */
export function initConnection(t: Tcb, nowUs: i64): void {
  const key = tcbKey(t);
  ringSetCapacity(sndRing(t), t.sndBuf);
  ringSetCapacity(rcvRing(t), t.rcvBuf);
  t.localMss = linkMss(key.ipVersion);
  t.pathMss = t.localMss;
  t.peerMss = key.ipVersion == 6 ? 1220 : 536;
  let shift: u32 = 0;
  const cap = rcvRing(t).cap;
  while (shift < 14 && (cap >> shift) > 0xffff) shift++;
  t.rcvShift = shift;
  t.tsOffset = tsOffsetFor(key);
  rttInit(tcbRtt(t), config.rtoInitialUs, config.rtoMinUs, config.rtoMaxUs);
  ccInit(tcbCc(t), CcAlgo.NewReno, sendMss(t));
  setIss(t, isnFor(key, nowUs));
  oooClear(tcbOoo(t));
  t.lastRecvUs = nowUs;
  t.quickAcks = config.quickAcks;
}

function setIss(t: Tcb, iss: u32): void {
  t.iss = iss;
  t.sndUna = iss;
  t.sndNxt = iss;
  t.sndMax = iss;
  tcbCc(t).recover = iss;
}

/** The largest window a SYN can offer (RFC 7323 2.2: a SYN's window is never scaled), plus one. */
const UNSCALED_WINDOW_SPAN: u32 = 65536;

/**
 * A new incarnation of a 4-tuple that was in TIME-WAIT here: its ISS lies beyond everything the old one
 * sent (RFC 9293 3.6.1, RFC 1122 4.2.2.13), by a whole unscaled window so that an old duplicate cannot
 * land in the new one's first window, and its TSvals beyond any the old one sent (RFC 6191 2, PAWS):
 * the same 4-tuple has the same offset (tsOffsetFor), so within the same millisecond it moves one on.
 */
export function startAfterTimeWait(t: Tcb, oldSndNxt: u32, oldTsOffset: u32): void {
  const floor = oldSndNxt + UNSCALED_WINDOW_SPAN;
  if (seqLt(t.iss, floor)) setIss(t, floor);
  if (!seqGt(t.tsOffset, oldTsOffset)) t.tsOffset = oldTsOffset + 1;
}

// ---- OPEN ----

/** A new connection handle in CLOSED (like socket()): set options, then connConnect or connListen. */
export function connCreate(): i32 {
  const t = connAlloc();
  if (t == null) return -Err.ENOBUFS;
  setFlag(t, F.HOST_HELD);
  applyDefaults(t);
  return <i32>t.id;
}

/** A fresh handle: never opened (RFC 9293 3.10.1 "connection already exists" otherwise). */
@inline function unopened(t: Tcb): bool {
  return t.state == State.CLOSED && !hasFlag(t, F.OPENED);
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
  const listening = t.state == State.LISTEN && hasFlag(t, F.LISTENING);
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
    clearFlag(t, F.LISTENING);
  }
  setFlag(t, F.IN_TABLE | F.OPENED);
  initConnection(t, nowUs);
  if (tw >= 0) {
    startAfterTimeWait(t, twSndNxt(<u32>tw), twTsOffset(<u32>tw));
    count(Counter.TIME_WAIT_REUSED);
    twEnd(<u32>tw);
  }
  setState(t, State.SYN_SENT);
  setFlag(t, F.NEED_SYN);
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
  const key = tcbKey(t);
  key.ipVersion = ipVersion;
  key.localA = loadAddress(params, ipVersion, true);
  key.localB = loadAddress(params, ipVersion, false);
  key.localPort = port;
  if (listenerConflict(ipVersion, key.localA, key.localB, port)) return -Err.EADDRINUSE;
  if (!listenerAdd(ipVersion, key.localA, key.localB, port, slotOf(t.id))) return -Err.ENOBUFS;
  setFlag(t, F.LISTENING | F.OPENED);
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
  if (hasFlag(t, F.USER_CLOSED)) return -Err.EPIPE;
  const s = t.state;
  if (s == State.SYN_SENT || s == State.SYN_RECEIVED || s == State.ESTABLISHED || s == State.CLOSE_WAIT) return 0;
  if (s == State.LISTEN || !hasFlag(t, F.OPENED)) return -Err.ENOTCONN;
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
  const n = ringWriteContig(r);
  if (n == 0) setFlag(t, F.WRITE_BLOCKED);
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
  if (ringSpace(r) == 0) setFlag(t, F.WRITE_BLOCKED);
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
  clearFlag(t, F.READABLE_SENT);
  // TIME-WAIT and CLOSED keep the receive ring only while it holds unread data (enterTimeWait,
  // connectionDone): once the host has read it all, the storage goes back to the pool.
  if (r.len == 0 && (t.state == State.TIME_WAIT || t.state == State.CLOSED)) {
    ringRelease(r);
    return 0;
  }
  if (t.state >= <u32>State.ESTABLISHED && t.state != State.TIME_WAIT && !hasFlag(t, F.PEER_FIN)) {
    if (windowWouldOpen(t)) {
      setFlag(t, F.ACK_NOW);
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
      return hasFlag(t, F.ABORTED) || !unopened(t) ? 0 : -Err.ENOTCONN;
    case State.LISTEN:
    case State.SYN_SENT:
      connectionDone(t, 0, 0);
      return 0;
    case State.SYN_RECEIVED:
      setFlag(t, F.USER_CLOSED);
      // RFC 9293 3.10.4: with SENDs queued the FIN waits for ESTABLISHED (becomeEstablished);
      // with nothing to send it is formed now and we enter FIN-WAIT-1, our SYN still in flight.
      if (sndRing(t).len != 0) return 0;
      setFlag(t, F.SYN_UNACKED);
      setState(t, State.FIN_WAIT_1);
      break;
    case State.ESTABLISHED:
      setFlag(t, F.USER_CLOSED);
      setState(t, State.FIN_WAIT_1);
      break;
    case State.CLOSE_WAIT:
      setFlag(t, F.USER_CLOSED);
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
  if (s == State.SYN_RECEIVED || s == State.ESTABLISHED || s == State.FIN_WAIT_1 || s == State.FIN_WAIT_2 ||
      s == State.CLOSE_WAIT) {
    queueConnectionReset(t);
  }
  if (s == State.TIME_WAIT) twDisown(tcbKey(t));
  connectionDone(t, LOCAL_ABORT, 0);
}

/**
 * The host lets go of `id`. A connection still open is closed first (a FIN after queued data), or
 * reset when received data was never read (RFC 2525 2.17, as Linux does); the engine finishes the
 * protocol on its own (TIME-WAIT outlives the handle) and frees everything when it is done.
 */
export function connRelease(id: u32, nowUs: i64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (t.state != State.CLOSED && t.state != State.TIME_WAIT) {
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

// ---- STATUS and options ----

/** The state of `id` (State numbering), or -EBADF. */
export function connState(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  return <i32>t.state;
}

export const STATUS_SIZE: u32 = 192;
const statusRegion = memory.data(STATUS_SIZE, 16);

export function statusPtr(): usize {
  return statusRegion;
}

/**
 * STATUS (RFC 9293 3.10.6) written at statusPtr(), little-endian (u32 unless noted):
 *   0 state, 4 flags, 8 ISS, 12 SND.UNA, 16 SND.NXT, 20 SND.MAX, 24 SND.WND, 28 SND.WL1, 32 SND.WL2,
 *   36 MAX.SND.WND, 40 IRS, 44 RCV.NXT, 48 RCV.WND, 52 send shift, 56 receive shift, 60 send MSS,
 *   64 cwnd, 68 ssthresh, 72 retransmitted segments, 76 consecutive timeouts, 80 bytes queued to send
 *   (sent or not), 84 bytes readable, 88 out-of-order bytes held, 92 duplicate ACKs, 96 f64 SRTT ms,
 *   104 f64 RTTVAR ms, 112 f64 RTO ms, 120 peer MSS, 124 our MSS, 128 local port, 132 remote port,
 *   136 send buffer, 140 receive buffer, 144 local address (16), 160 remote address (16),
 *   176 IP version, 180 TCB bytes, 184 f64 RACK reordering window ms (RFC 8985 6.2 step 4).
 */
export function connStatus(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const p = statusRegion;
  const key = tcbKey(t);
  const rtt = tcbRtt(t);
  const cc = tcbCc(t);
  store<u32>(p, t.state, 0);
  store<u32>(p, t.flags, 4);
  store<u32>(p, t.iss, 8);
  store<u32>(p, t.sndUna, 12);
  store<u32>(p, t.sndNxt, 16);
  store<u32>(p, t.sndMax, 20);
  store<u32>(p, t.sndWnd, 24);
  store<u32>(p, t.sndWl1, 28);
  store<u32>(p, t.sndWl2, 32);
  store<u32>(p, t.maxSndWnd, 36);
  store<u32>(p, t.irs, 40);
  store<u32>(p, t.rcvNxt, 44);
  store<u32>(p, seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0, 48);
  store<u32>(p, t.sndShift, 52);
  store<u32>(p, t.rcvShift, 56);
  store<u32>(p, sendMss(t), 60);
  store<u32>(p, cc.cwnd, 64);
  store<u32>(p, cc.ssthresh, 68);
  store<u32>(p, t.totalRetransmits, 72);
  store<u32>(p, t.retries, 76);
  store<u32>(p, sndRing(t).len, 80);
  store<u32>(p, rcvRing(t).len, 84);
  store<u32>(p, oooBytes(tcbOoo(t)), 88);
  store<u32>(p, t.dupAcks, 92);
  store<f64>(p, <f64>rtt.srttUs / 1000.0, 96);
  store<f64>(p, <f64>rtt.rttvarUs / 1000.0, 104);
  store<f64>(p, <f64>rtt.rtoUs / 1000.0, 112);
  store<u32>(p, t.peerMss, 120);
  store<u32>(p, t.localMss, 124);
  store<u32>(p, key.localPort, 128);
  store<u32>(p, key.remotePort, 132);
  store<u32>(p, sndRing(t).cap != 0 ? sndRing(t).cap : t.sndBuf, 136);
  store<u32>(p, rcvRing(t).cap != 0 ? rcvRing(t).cap : t.rcvBuf, 140);
  storeAddress(p + 144, key.ipVersion, key.localA, key.localB);
  storeAddress(p + 160, key.ipVersion, key.remoteA, key.remoteB);
  store<u32>(p, key.ipVersion, 176);
  store<u32>(p, <u32>offsetof<Tcb>(), 180);
  store<f64>(p, <f64>rackReoWnd(t) / 1000.0, 184);
  return 0;
}

@inline function storeAddress(at: usize, ipVersion: u32, a: u64, b: u64): void {
  if (ipVersion == 4) {
    store<u32>(at, <u32>a);
    store<u32>(at, 0, 4);
    store<u64>(at, 0, 8);
  } else {
    store<u64>(at, a);
    store<u64>(at, b, 8);
  }
}

export const enum ConnOption {
  /** 1: Nagle off (TCP_NODELAY). */
  NO_DELAY = 0,
  KEEPALIVE = 1,
  KEEPALIVE_IDLE_MS = 2,
  KEEPALIVE_INTERVAL_MS = 3,
  KEEPALIVE_COUNT = 4,
  /** RFC 9293 3.8.3 / RFC 5482 user timeout, ms (0: none). */
  USER_TIMEOUT_MS = 5,
  /** Buffer sizes: before connect, or on a listener before connections arrive. */
  SEND_BUFFER = 6,
  RECV_BUFFER = 7,
}

/** Sets a per-connection option. Returns 0 or -error (EINVAL for a bad value or a buffer change too late). */
export function connSetOption(id: u32, option: u32, value: f64): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (!(value >= 0) || value > 4294967295.0) return -Err.EINVAL;
  const u = <u32>value;
  const us = <i64>(value * 1000.0);
  switch (option) {
    case ConnOption.NO_DELAY:
      if (u != 0) setFlag(t, F.NAGLE_OFF); else clearFlag(t, F.NAGLE_OFF);
      if (t.state >= <u32>State.ESTABLISHED) wantOutput(t);
      break;
    case ConnOption.KEEPALIVE:
      if (u != 0) {
        setFlag(t, F.KEEPALIVE);
        if (t.state >= <u32>State.ESTABLISHED) {
          timerSet(tcbTimers(t), TimerKind.Keepalive, t.lastRecvUs + t.keepIdleUs);
          reschedule(t);
        }
      } else {
        clearFlag(t, F.KEEPALIVE);
      }
      break;
    case ConnOption.KEEPALIVE_IDLE_MS: if (u < 1) return -Err.EINVAL; t.keepIdleUs = us; break;
    case ConnOption.KEEPALIVE_INTERVAL_MS: if (u < 1) return -Err.EINVAL; t.keepIntervalUs = us; break;
    case ConnOption.KEEPALIVE_COUNT: if (u < 1) return -Err.EINVAL; t.keepCount = u; break;
    case ConnOption.USER_TIMEOUT_MS: t.userTimeoutUs = us; break;
    case ConnOption.SEND_BUFFER:
    case ConnOption.RECV_BUFFER:
      if (u < 1024 || u > (1 << 30)) return -Err.EINVAL;
      if (!(t.state == State.LISTEN || unopened(t))) return -Err.EINVAL;
      if (option == ConnOption.SEND_BUFFER) t.sndBuf = u; else t.rcvBuf = u;
      break;
    default:
      return -Err.EINVAL;
  }
  return 0;
}

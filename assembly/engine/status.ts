// STATUS (RFC 9293 3.10.6) and the per-connection options: what the host reads about a connection
// and what it may change on it, by id.
import { seqGt } from "../wire/seq";
import { Tcb, State, Opt, hasFlag, tcbKey, sndRing, rcvRing, tcbTimers, tcbRtt, tcbCc, tcbOoo, tcbFromId, unopened } from "./tcb";
import { TimerKind, timerSet } from "./timers";
import { oooBytes } from "./reassembly";
import { rackReoWnd } from "./rack";
import { Err } from "./errors";
import { wantOutput, reschedule } from "./conn";
import { sendMss } from "./emit";
import { sendBufferInitial, recvBufferInitial } from "./autosize";

/** The state of `id` (State numbering), or -EBADF. */
export function connState(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  return <i32>t.state;
}

export const STATUS_SIZE: u32 = 200;
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
 *   176 IP version, 180 TCB bytes, 184 f64 RACK reordering window ms (RFC 8985 6.2 step 4),
 *   192 congestion control (congestion.ts CcAlgo); 196..199 unused, keeping the record 8-byte aligned.
 */
export function connStatus(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  const p = statusRegion;
  const key = tcbKey(t);
  const rtt = tcbRtt(t);
  const cc = tcbCc(t);
  store<u32>(p, t.state, 0);
  store<u32>(p, t.options | t.due | t.member | t.life | t.sender, 4);
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
  store<u32>(p, sndRing(t).cap != 0 ? sndRing(t).cap : sendBufferInitial(t), 136);
  store<u32>(p, rcvRing(t).cap != 0 ? rcvRing(t).cap : recvBufferInitial(t), 140);
  storeAddress(p + 144, key.ipVersion, key.localA, key.localB);
  storeAddress(p + 160, key.ipVersion, key.remoteA, key.remoteB);
  store<u32>(p, key.ipVersion, 176);
  store<u32>(p, <u32>offsetof<Tcb>(), 180);
  store<f64>(p, <f64>rackReoWnd(t) / 1000.0, 184);
  store<u32>(p, t.ccAlgo, 192);
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
  /** The IPv4 TOS byte / IPv6 Traffic Class of the connection's packets (RFC 791 3.1, RFC 8200 7), 0..255. */
  TOS = 8,
  /** 1: pace this connection's data (pacing.ts); 0: send what the windows allow at once. Any time. */
  PACING = 9,
  /** Congestion control, as config CONGESTION_CONTROL (0 NewReno, 1 CUBIC): before connect, or on a listener. */
  CONGESTION_CONTROL = 10,
}

/** Keepalive on an open connection, not yet probing: its timer at the last arrival plus the idle time. */
function rearmKeepalive(t: Tcb): void {
  if (!hasFlag(t.options, Opt.KEEPALIVE) || t.state < <u32>State.ESTABLISHED || t.keepProbes != 0) return;
  timerSet(tcbTimers(t), TimerKind.Keepalive, t.lastRecvUs + t.keepIdleUs);
  reschedule(t);
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
      if (u != 0) t.options |= Opt.NAGLE_OFF; else t.options &= ~Opt.NAGLE_OFF;
      if (t.state >= <u32>State.ESTABLISHED) wantOutput(t);
      break;
    case ConnOption.KEEPALIVE:
      if (u != 0) {
        t.options |= Opt.KEEPALIVE;
        rearmKeepalive(t);
      } else {
        t.options &= ~Opt.KEEPALIVE;
      }
      break;
    case ConnOption.KEEPALIVE_IDLE_MS:
      if (u < 1) return -Err.EINVAL;
      t.keepIdleUs = us;
      // A new idle time counts from the last arrival, whichever order the options came in: the
      // timer armed with the old idle time would otherwise stand (Linux's TCP_KEEPIDLE re-arms too).
      rearmKeepalive(t);
      break;
    case ConnOption.KEEPALIVE_INTERVAL_MS: if (u < 1) return -Err.EINVAL; t.keepIntervalUs = us; break;
    case ConnOption.KEEPALIVE_COUNT: if (u < 1) return -Err.EINVAL; t.keepCount = u; break;
    case ConnOption.USER_TIMEOUT_MS: t.userTimeoutUs = us; break;
    case ConnOption.SEND_BUFFER:
    case ConnOption.RECV_BUFFER:
      if (u < 1024 || u > (1 << 30)) return -Err.EINVAL;
      if (!(t.state == State.LISTEN || unopened(t))) return -Err.EINVAL;
      // A size of the user's own: this ring is not auto-sized (autosize.ts), as SO_SNDBUF / SO_RCVBUF.
      if (option == ConnOption.SEND_BUFFER) t.sndBuf = u; else t.rcvBuf = u;
      break;
    // Any time, as IP_TOS / IPV6_TCLASS: the next segment built carries it (emit.ts fillAddresses).
    case ConnOption.TOS: if (u > 255) return -Err.EINVAL; t.tos = u; break;
    case ConnOption.PACING:
      if (u != 0) {
        t.options &= ~Opt.PACING_OFF;
      } else {
        // Whatever waited for its departure time may go now.
        t.options |= Opt.PACING_OFF;
        t.paceNextUs = 0;
        if (t.state >= <u32>State.ESTABLISHED) wantOutput(t);
      }
      break;
    case ConnOption.CONGESTION_CONTROL:
      if (u > 1 || !(t.state == State.LISTEN || unopened(t))) return -Err.EINVAL;
      if (value != <f64>u) return -Err.EINVAL;
      t.ccAlgo = u;
      break;
    default:
      return -Err.EINVAL;
  }
  return 0;
}

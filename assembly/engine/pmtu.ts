// The MTU a connection sends with: the MSS we advertise from the MTU of the link it uses (RFC 9293
// 3.7.1), and Path MTU Discovery lowering what we send when a router says a segment was too big
// (ICMP fragmentation needed, RFC 1191; ICMPv6 packet too big, RFC 8201), with RFC 5927's checks
// against forged errors.
//
// Which link: the host says, per call, with numbers (no per-segment state crosses the boundary).
// engineInput(count, now, mtu) gives the MTU of the link its packets arrived on, which a passive
// connection (or a SYN cookie) takes from its SYN or its cookie's ACK; connConnectMs(..., mtu) gives
// the MTU of the link the route to the peer chose. 0 means the engine-wide config MTU.
//
// A connection keeps two numbers: localMss, what we advertised in our SYN (the link's MTU less the IP
// and TCP headers), and pathMss, the largest segment (TCP options and payload) the path is known to
// carry, which starts equal to localMss and only ever goes down (emit.ts sends with the smaller of it
// and the peer's MSS).
import { Segment } from "../wire/segment";
import { seqGe, seqLt } from "../wire/seq";
import { icmpTooBig, QuotedTcp, TooBig } from "../wire/icmp";
import { Tcb, State, Snd, Due, tcbCc, tcbAtSlot, isSynchronized } from "./tcb";
import { tableLookup } from "./table";
import { count, Counter } from "./counters";
import { wantOutput, reschedule } from "./conn";
import { sendMss } from "./emit";
import * as config from "./config";

/** IPv6's minimum link MTU (RFC 8200 5): every IPv6 link carries 1280-byte packets whole. */
export const IPV6_MIN_MTU: u32 = 1280;
/**
 * The smallest IPv4 path MTU believed from an ICMP error: Linux's min_pmtu default. Routers report
 * less only on paths nobody runs TCP over, and a forged error with a tiny MTU would make a connection
 * send a few bytes per segment (RFC 5927 7, the PMTUD attack).
 */
export const IPV4_MIN_PMTU: u32 = 552;

/** IP and TCP headers without options (RFC 9293 3.7.1: the MSS counts neither). */
@inline function headerBytes(ipVersion: u32): u32 {
  return ipVersion == 6 ? 60 : 40;
}

// The MTU of the link the current engine call works for (see the top of the file); 0: config.mtu.
let currentLinkMtu: u32 = 0;

/** Called by engineInput and connConnectMs with the host's link MTU (0: the config MTU). */
export function setLinkMtu(mtu: u32): void {
  currentLinkMtu = mtu <= 65535 ? mtu : 65535;
}

/**
 * Our MSS on the current link for `ipVersion` (RFC 9293 3.7.1): the MTU less 40 or 60 bytes. IPv6
 * counts at least 1280 (RFC 8200 5): a host does not route IPv6 over a narrower link (src/tcp/stack.ts).
 */
export function linkMss(ipVersion: u32): u32 {
  let mtu = currentLinkMtu != 0 ? currentLinkMtu : config.mtu;
  if (ipVersion == 6 && mtu < IPV6_MIN_MTU) mtu = IPV6_MIN_MTU;
  return mtu - headerBytes(ipVersion);
}

const quoted = changetype<QuotedTcp>(memory.data(offsetof<QuotedTcp>(), 8));

/**
 * An ICMP or ICMPv6 packet (parsePacket said NOT_TCP) that may be a "too big" error. Returns false
 * when it is not one (the caller goes on to echo requests); true when it was, used or ignored, and
 * counted either way.
 */
export function tooBigArrives(ptr: usize, len: u32, seg: Segment): bool {
  const q = quoted;
  const kind = icmpTooBig(ptr, len, seg, q);
  if (kind == TooBig.NONE) return false;
  if (kind == TooBig.OK && lowerPathMtu(q)) count(Counter.ICMP_TOO_BIG);
  else count(Counter.ICMP_TOO_BIG_IGNORED);
  return true;
}

/**
 * RFC 1191 3 / RFC 8201 4: lower the estimate to the reported MTU, after RFC 5927's checks. Returns
 * false when the error is not believed or changes nothing.
 */
function lowerPathMtu(q: QuotedTcp): bool {
  const slot = tableLookup(q);
  if (slot < 0) return false;
  const t = tcbAtSlot(<u32>slot);
  if (t == null) return false;
  const s = t.state;
  if (s == State.CLOSED || s == State.LISTEN || s == State.TIME_WAIT) return false;
  // RFC 5927 4.1: the quoted segment must be one in flight, SND.UNA <= SEG.SEQ < SND.MAX (SND.MAX: our
  // highest sequence number sent; SND.NXT may have gone back after a timeout). A blind attacker has
  // to guess it as for an injected RST.
  if (!seqGe(q.seq, t.sndUna) || !seqLt(q.seq, t.sndMax)) return false;
  // RFC 8201 4: a PTB below 1280 is discarded. IPv4: RFC 1191 3 allows 68, but see IPV4_MIN_PMTU.
  const floor = q.ipVersion == 6 ? IPV6_MIN_MTU : IPV4_MIN_PMTU;
  if (q.mtu < floor) return false;
  const mss = q.mtu - headerBytes(q.ipVersion);
  // RFC 1191 3 / RFC 8201 4: an error never raises the estimate (probing would; we do not probe).
  if (mss >= t.pathMss) return false;
  t.pathMss = mss;
  // Congestion control counts in SMSS; the window in bytes stays (the path is smaller, not congested).
  tcbCc(t).mss = sendMss(t);
  if (isSynchronized(s) && t.sndUna != t.sndMax) retransmitAtNewSize(t);
  return true;
}

/**
 * RFC 1191 6.4 / RFC 8201 5.4 (TCP layer actions): the segment that was too big is lost, and
 * everything sent after it at the old size likely too. Send it all again now, cut to the new size,
 * with no congestion response: a go-back to SND.UNA as after a timeout, without the timeout's backoff
 * and cwnd cut (what Linux calls a simple retransmit). The SACK scoreboard stays: what the peer
 * SACKed it holds.
 */
function retransmitAtNewSize(t: Tcb): void {
  t.sndNxt = t.sndUna;
  t.dupAcks = 0;
  t.limitedTransmitBytes = 0;
  // Karn (RFC 6298 3): the range timed may now go out twice.
  t.sender &= ~Snd.RTT_TIMING;
  t.due &= ~(Due.RTX_ONE | Due.TLP_SEND);
  wantOutput(t);
  reschedule(t);
}

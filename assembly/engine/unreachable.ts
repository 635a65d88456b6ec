// ICMP destination unreachable (RFC 792) and ICMPv6 destination unreachable (RFC 4443 3.1) errors
// about our TCP segments: RFC 1122 4.2.3.9 and RFC 5927 4.2 (as Linux behaves).
//
// Which errors act: port and protocol unreachable are hard errors (RFC 1122 4.2.3.9), net and host
// unreachable and the administrative prohibitions soft ones. A connection still opening has nothing
// to lose: one in SYN-SENT ends at once, ECONNREFUSED for a hard error and EHOSTUNREACH for the others
// (a network unreachable is reported as EHOSTUNREACH too: the engine has one unreachable code), rather
// than retrying its SYN into silence for a minute. A synchronized connection is not aborted (RFC 5927
// 4.2: hard errors are treated as soft there): it records the error, and a later timeout reports it
// instead of ETIMEDOUT. Fragmentation needed is pmtu.ts's; source quench and the rest are ignored.
//
// RFC 5927 4.1 / RFC 5961's spirit: the quoted segment must be one in flight (SND.UNA <= SEG.SEQ <
// SND.MAX), so a blind attacker has to guess a sequence number as for an injected RST.
import { Segment } from "../wire/segment";
import { seqGe, seqLt } from "../wire/seq";
import { icmpTcpUnreachable, QuotedTcp, TooBig } from "../wire/icmp";
import { State, Life, tcbAtSlot, isSynchronized, hasFlag } from "./tcb";
import { tableLookup } from "./table";
import { count, Counter } from "./counters";
import { connectionDone } from "./conn";
import { Outcome } from "./errors";

const quoted = changetype<QuotedTcp>(memory.data(offsetof<QuotedTcp>(), 8));

/** What an unreachable code means for TCP. */
const enum Kind {
  /** Not one we act on (source route failed, precedence cutoff, codes yet unassigned). */
  IGNORED = 0,
  /** Port or protocol unreachable: nobody there will take the connection. */
  REFUSED = 1,
  /** Net or host unreachable, or communication administratively prohibited. */
  UNREACHABLE = 2,
}

/** RFC 792 / RFC 1122 3.2.2.1 codes of ICMP type 3 (4, fragmentation needed, is pmtu.ts's). */
function kindV4(code: u32): Kind {
  // 2 protocol, 3 port unreachable.
  if (code == 2 || code == 3) return Kind.REFUSED;
  // 0 net, 1 host unreachable; 6, 7 destination net / host unknown; 9, 10 net / host administratively
  // prohibited; 11, 12 net / host unreachable for the type of service; 13 administratively
  // prohibited (RFC 1812 5.2.7.1).
  if (code <= 1 || code == 6 || code == 7 || (code >= 9 && code <= 13)) return Kind.UNREACHABLE;
  return Kind.IGNORED;
}

/** RFC 4443 3.1 codes of ICMPv6 type 1. */
function kindV6(code: u32): Kind {
  if (code == 4) return Kind.REFUSED;
  // 0 no route, 1 administratively prohibited, 2 beyond the scope of the source address, 3 address
  // unreachable, 5 source address failed policy, 6 reject route.
  if (code <= 6) return Kind.UNREACHABLE;
  return Kind.IGNORED;
}

/**
 * An ICMP or ICMPv6 packet (parsePacket said NOT_TCP) that may be a destination unreachable error
 * quoting a TCP segment. Returns false when it is not one (the caller goes on to UDP's errors and
 * echo requests); true when it was, acted on or ignored, and counted either way.
 */
export function unreachableArrives(ptr: usize, len: u32, seg: Segment): bool {
  const q = quoted;
  const r = icmpTcpUnreachable(ptr, len, seg, q);
  if (r == TooBig.NONE) return false;
  if (r == TooBig.OK && connectionUnreachable(q)) count(Counter.ICMP_UNREACHABLE);
  else count(Counter.ICMP_UNREACHABLE_IGNORED);
  return true;
}

/** Acts on a well-formed error about connection `q`; false when it is not believed or not acted on. */
function connectionUnreachable(q: QuotedTcp): bool {
  const kind = q.ipVersion == 6 ? kindV6(q.code) : kindV4(q.code);
  if (kind == Kind.IGNORED) return false;
  const slot = tableLookup(q);
  if (slot < 0) return false;
  const t = tcbAtSlot(<u32>slot);
  if (t == null) return false;
  const s = t.state;
  if (s == State.CLOSED || s == State.LISTEN || s == State.TIME_WAIT) return false;
  // RFC 5927 4.1: SND.MAX rather than SND.NXT, which goes back after a timeout.
  if (!seqGe(q.seq, t.sndUna) || !seqLt(q.seq, t.sndMax)) return false;
  if (s == State.SYN_SENT) {
    connectionDone(t, kind == Kind.REFUSED ? Outcome.REFUSED : Outcome.HOST_UNREACHABLE);
    return true;
  }
  if (s == State.SYN_RECEIVED && kind == Kind.REFUSED) {
    // Our SYN,ACK was refused. As for a RST here (RFC 9293 3.10.7.4): an active open (simultaneous)
    // is refused, a passive one the host has not taken yet simply ends (Linux drops the request).
    connectionDone(t, !hasFlag(t.life, Life.PASSIVE) ? Outcome.REFUSED : hasFlag(t.life, Life.HOST_HELD) ? Outcome.RESET : Outcome.CLOSED);
    return true;
  }
  if (isSynchronized(s) || s == State.SYN_RECEIVED) {
    t.life |= kind == Kind.REFUSED ? Life.SOFT_REFUSED : Life.SOFT_UNREACHABLE;
    return true;
  }
  return false;
}

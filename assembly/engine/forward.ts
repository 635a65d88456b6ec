// Gateway mode, the shape of slirp and gVisor's TCP forwarder: the stack stands in for every host
// behind it. An interface marked "any destination" takes IP packets for any unicast destination, not
// only our own addresses (frames.ts ipForUs; the host lets them through for a raw-IP link). A SYN
// arriving there that no listener takes, whatever its destination, goes to the any-destination listener of its IP
// version (a listener on port 0, which no ordinary listener can use). Its connections are held in
// SYN-RECEIVED without answering while the host connects the far side, so that the guest sees what a
// direct connection would: the SYN,ACK only once the far side accepted (connAcceptHeld), else a RST
// or an ICMP destination unreachable quoting its SYN (connRefuseHeld).
//
// Bounds: a held connection is half-open (RFC 4987 3.1), counted against the listener's backlog and
// the engine-wide cap like any other; past them the listener answers with SYN cookies (RFC 4987 3.6)
// as input.ts does for every listener, and a connection completed by a cookie arrives ACCEPTED
// without having been held (the host then connects the far side and resets the guest on failure).
// While held, only a RST in window (RFC 9293 3.10.7.4 second check; RCV.NXT exactly, RFC 5961 3.2)
// reaches the connection; retransmitted SYNs are ignored, as the SYN,ACK they ask for is not due yet.
import { Segment } from "../wire/packet";
import { FLG_RST, FLG_SYN } from "../wire/tcp";
import * as ipv4 from "../wire/ipv4";
import * as ipv6 from "../wire/ipv6";
import { icmpDestUnreachable } from "../wire/icmp";
import { Tcb, State, Life, Due, hasFlag, tcbKey, tcbFromId } from "./tcb";
import { ifaceAt, isOwnAnywhere, MAX_IFACES, IfKind } from "./iface";
import { listenerLookup } from "./table";
import { emitSimple, EventType } from "./events";
import { wantOutput, reschedule, connectionDone } from "./conn";
import { queueSynRefusal, controlWritePtr, controlPacketRoom, controlCommit } from "./emit";
import { Err, Outcome } from "./errors";

/** Iface.anyDestination flags. */
export const enum AnyDestination {
  /** IP packets for any unicast destination are taken, TCP SYNs go to the any-destination listener. */
  ACCEPT = 1,
  /** ICMP and ICMPv6 echo requests to any destination are answered (else only to our own addresses). */
  ECHO = 2,
}

/** How connRefuseHeld refuses: a RST, or an ICMP destination unreachable of one of three kinds. */
export const enum Refusal {
  RESET = 0,
  HOST_UNREACHABLE = 1,
  PORT_UNREACHABLE = 2,
  ADMIN_PROHIBITED = 3,
}

/** The port of the any-destination listener in the listener table: port 0 is never listened on otherwise. */
export const ANY_PORT: u32 = 0;

/** Marks interface `ifIndex` as a gateway link (AnyDestination flags; 0 turns it off). Returns 0 or -EINVAL. */
export function ifaceSetAnyDestination(ifIndex: u32, flags: u32): i32 {
  if (ifIndex >= MAX_IFACES || ifaceAt(ifIndex).kind == IfKind.NONE || flags > 3) return -Err.EINVAL;
  ifaceAt(ifIndex).anyDestination = flags;
  return 0;
}

/** The AnyDestination flags of interface `ifIndex` (0 for none, and for the loopback batch). */
@inline export function anyDestinationOf(ifIndex: u32): u32 {
  return ifIndex < MAX_IFACES ? ifaceAt(ifIndex).anyDestination : 0;
}

/**
 * The any-destination listener's slot for a segment from interface `ifIndex` that no listener took,
 * or -1 when the interface is not a gateway one. Our own addresses are included: a port nobody
 * listens on there is the host's to decide too (slirp's "the gateway's address is the host").
 */
export function anyListenerFor(ifIndex: u32, seg: Segment): i32 {
  if ((anyDestinationOf(ifIndex) & AnyDestination.ACCEPT) == 0) return -1;
  return listenerLookup(seg.ipVersion, 0, 0, ANY_PORT);
}

/** Whether an echo request to the packet's destination may be answered on interface `ifIndex`. */
export function echoAllowed(ifIndex: u32, seg: Segment): bool {
  const flags = anyDestinationOf(ifIndex);
  if ((flags & AnyDestination.ACCEPT) == 0 || (flags & AnyDestination.ECHO) != 0) return true;
  return isOwnAnywhere(seg.ipVersion, seg.dstA, seg.dstB);
}

/** A new connection of the any-destination listener `l`: held, and the host told (SYN_HELD). */
export function holdSyn(t: Tcb, l: Tcb): void {
  t.life |= Life.SYN_HELD | Life.HOST_HELD;
  emitSimple(EventType.SYN_HELD, 0, t.id, l.id);
  reschedule(t);
}

/** Whether `l` is an any-destination listener. */
@inline export function isAnyListener(l: Tcb): bool {
  return tcbKey(l).localPort == ANY_PORT;
}

/** A segment for a held connection: a RST at RCV.NXT ends it; anything else waits for the host's answer. */
export function heldArrives(t: Tcb, seg: Segment): void {
  if ((seg.flags & FLG_RST) != 0 && (seg.flags & FLG_SYN) == 0 && seg.seq == t.rcvNxt) connectionDone(t, Outcome.RESET);
}

/** The far side is connected: the SYN,ACK leaves at the next output (RFC 9293 3.10.7.2). Returns 0, -EBADF or -EINVAL. */
export function connAcceptHeld(id: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (!hasFlag(t.life, Life.SYN_HELD) || t.state != State.SYN_RECEIVED) return -Err.EINVAL;
  t.life &= ~Life.SYN_HELD;
  t.due |= Due.NEED_SYN;
  wantOutput(t);
  reschedule(t);
  return 0;
}

/**
 * The far side refused, or the host's policy did: the guest gets `how` (Refusal) and the connection
 * ends (a CLOSED event; the host then releases the id). Returns 0, -EBADF or -EINVAL.
 */
export function connRefuseHeld(id: u32, how: u32): i32 {
  const t = tcbFromId(id);
  if (t == null) return -Err.EBADF;
  if (!hasFlag(t.life, Life.SYN_HELD) || t.state != State.SYN_RECEIVED || how > <u32>Refusal.ADMIN_PROHIBITED) return -Err.EINVAL;
  refuseHeldSyn(t, how);
  return 0;
}

/** Answers a held SYN with refusal `how` and ends the connection (also for ABORT and a release while held). */
export function refuseHeldSyn(t: Tcb, how: u32): void {
  t.life &= ~Life.SYN_HELD;
  if (how == <u32>Refusal.RESET) queueSynRefusal(t);
  else queueUnreachable(t, how);
  connectionDone(t, Outcome.ABORTED);
}

// The guest's SYN, rebuilt from the TCB for the ICMP error to quote (RFC 792: the IP header and the
// first 8 octets, the ports and sequence number the guest matches it by, RFC 5927 4.1).
const quoted = memory.data(64, 8);
const quotedSeg = changetype<Segment>(memory.data(offsetof<Segment>(), 8));
const QUOTED_TCP: u32 = 20;
const IPPROTO_TCP: u32 = 6;

/**
 * RFC 792 codes (1 host, 3 port, 13 communication administratively prohibited, RFC 1812 5.2.7.1) and
 * RFC 4443 3.1 codes (3 address unreachable, 4 port unreachable, 1 administratively prohibited).
 */
function unreachableCode(version: u32, how: u32): u32 {
  if (version == 4) return how == <u32>Refusal.HOST_UNREACHABLE ? 1 : how == <u32>Refusal.PORT_UNREACHABLE ? 3 : 13;
  return how == <u32>Refusal.HOST_UNREACHABLE ? 3 : how == <u32>Refusal.PORT_UNREACHABLE ? 4 : 1;
}

function queueUnreachable(t: Tcb, how: u32): void {
  const key = tcbKey(t);
  const v = key.ipVersion;
  const ipLen: u32 = v == 4 ? 20 : 40;
  memory.fill(quoted, 0, 64);
  if (v == 4) {
    ipv4.writeIpv4(quoted, 0, ipLen + QUOTED_TCP, 0, true, 64, IPPROTO_TCP, <u32>key.remoteA, <u32>key.localA);
    ipv4.fillIpv4Checksum(quoted);
  } else {
    ipv6.writeIpv6(quoted, 0, 0, QUOTED_TCP, IPPROTO_TCP, 64, key.remoteA, key.remoteB, key.localA, key.localB);
  }
  const tcp = quoted + ipLen;
  store<u16>(tcp, bswap<u16>(<u16>key.remotePort));
  store<u16>(tcp + 2, bswap<u16>(<u16>key.localPort));
  store<u32>(tcp + 4, bswap<u32>(t.irs));
  store<u8>(tcp + 12, 5 << 4);
  store<u8>(tcp + 13, <u8>FLG_SYN);
  const seg = quotedSeg;
  seg.ipVersion = <u8>v;
  seg.ipProto = <u8>IPPROTO_TCP;
  seg.srcA = key.remoteA;
  seg.srcB = key.remoteB;
  seg.dstA = key.localA;
  seg.dstB = key.localB;
  seg.payloadOffset = ipLen;
  seg.payloadLen = QUOTED_TCP;
  const n = icmpDestUnreachable(quoted, ipLen + QUOTED_TCP, seg, unreachableCode(v, how), controlWritePtr(), controlPacketRoom());
  if (n != 0) controlCommit(n);
}

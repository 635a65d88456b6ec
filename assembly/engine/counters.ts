// Engine counters: u32 cells in one static region the host reads (countersPtr). Cells 0 to
// REASON_COUNT - 1 count packets parsePacket refused, by Reason (wire/reason.ts); the engine's own
// counters follow at COUNTER_BASE + Counter. Numbers are stable: never renumber, only append.
import { REASON_COUNT } from "../wire/reason";

export const COUNTER_BASE: u32 = 32;

export const enum Counter {
  PACKETS_IN = 0,
  SEGMENTS_IN = 1,
  SEGMENTS_OUT = 2,
  /** RSTs we sent: closed ports, unacceptable ACKs in SYN-SENT / SYN-RECEIVED, ABORT. */
  RESETS_SENT = 3,
  /** Resets that ended a connection. */
  RESETS_RECEIVED = 4,
  RETRANSMITS = 5,
  FAST_RETRANSMITS = 6,
  TIMEOUTS = 7,
  CHALLENGE_ACKS = 8,
  /** Challenge ACKs suppressed by the per-connection rate limit (RFC 5961 7). */
  CHALLENGE_ACKS_LIMITED = 9,
  /** SYNs dropped: half-open cap of the listener or of the engine (RFC 4987). */
  SYN_DROPPED_HALF_OPEN = 10,
  /** SYNs dropped: no free connection slot or no memory for a TCB. */
  SYN_DROPPED_NO_SLOT = 11,
  /** Segments dropped by PAWS (RFC 7323 5.3). */
  PAWS_DROPPED = 12,
  /** Segments outside the receive window (RFC 9293 3.10.7.4 first check). */
  OUT_OF_WINDOW = 13,
  /** Out-of-order segments dropped because the reassembly queue has too many holes. */
  OOO_DROPPED = 14,
  /** Event records dropped past config.eventLimit. */
  EVENTS_DROPPED = 15,
  /** Control packets (RST, ICMP echo reply) dropped because the control queue was full. */
  CONTROL_DROPPED = 16,
  ICMP_ECHO_REPLIES = 17,
  /** Packets for IP protocols we do not handle, and ICMP other than echo requests. */
  NOT_TCP_DROPPED = 18,
  /** ACKs outside SND.UNA - MAX.SND.WND .. SND.NXT (RFC 5961 5.2). */
  BAD_ACK_DROPPED = 19,
  /** Segments to a port nobody listens on (answered with RST unless they carry RST). */
  NO_CONNECTION = 20,
  /** RX records whose length runs past the RX region. */
  RX_RECORD_INVALID = 21,
  ZERO_WINDOW_PROBES = 22,
  KEEPALIVE_PROBES = 23,
  /** Segments without a timestamp on a connection that negotiated timestamps (RFC 7323 3.2). */
  TS_MISSING_DROPPED = 24,
  /** SYN,ACKs sent with a SYN cookie instead of a half-open connection. */
  SYN_COOKIES_SENT = 25,
  /** Connections created from a valid cookie in an ACK. */
  SYN_COOKIES_ACCEPTED = 26,
  /** ACKs not sent for out-of-window, PAWS-stale or unacceptable-ACK segments (RFC 5961 7 throttle). */
  ACKS_RATE_LIMITED = 27,
  /** Compact TIME-WAIT entries ended early to make room for a newer one (the store was full). */
  TIME_WAIT_RECYCLED = 28,
  /** New incarnations of a 4-tuple held in TIME-WAIT: a SYN taken (RFC 6191) or our own connect. */
  TIME_WAIT_REUSED = 29,
  /** ICMP fragmentation-needed / ICMPv6 packet-too-big errors that lowered a connection's MSS (pmtu.ts). */
  ICMP_TOO_BIG = 30,
  /** Those not believed: malformed, no such connection, sequence number not in flight, MTU below the floor or not lower. */
  ICMP_TOO_BIG_IGNORED = 31,
  /** Fast recoveries undone: every retransmission D-SACKed (RFC 3708; undo.ts). */
  SPURIOUS_RECOVERIES = 32,
  /** Retransmission timeouts undone: Eifel (RFC 3522) or D-SACK detection (undo.ts). */
  SPURIOUS_TIMEOUTS = 33,
  /**
   * cwnd reductions for loss: fast recoveries entered (RFC 6675 5 step 4, RFC 6582 3.2), losses a tail
   * loss probe repaired (RFC 8985 7.4.2) and retransmission timeouts (RFC 5681 3.1). Those that stand:
   * this less SPURIOUS_RECOVERIES and SPURIOUS_TIMEOUTS.
   */
  CWND_REDUCTIONS = 34,
  // Ethernet interfaces (frames.ts, resolve.ts, ndisc.ts, neighbour.ts).
  /** Frames taken from Ethernet interfaces. */
  FRAMES_IN = 35,
  /** Frames for another station, or for a group we do not listen to (IEEE 802.3 4.2.4.1.2 address recognition). */
  FRAMES_NOT_FOR_US = 36,
  /** 802.1Q / 802.1ad tagged frames: no interface here is a VLAN member. */
  FRAMES_VLAN_DROPPED = 37,
  /** Frames refused by the Ethernet parser (too short, 802.3 length field, group source) or of an EtherType we do not carry. */
  FRAMES_DROPPED = 38,
  /** IP packets in frames that are not for any of the interface's addresses or groups. */
  IP_NOT_FOR_US = 39,
  ARP_IN = 40,
  /** ARP packets refused by the parser (wire/arp.ts). */
  ARP_DROPPED = 41,
  /** ARP packets whose target is not one of our addresses (learned from when cached, RFC 826). */
  ARP_NOT_FOR_US = 42,
  ARP_REPLIES_SENT = 43,
  /** ARP requests we sent: resolution, probes of the cached address, announcements (RFC 5227 2.3). */
  ARP_REQUESTS_SENT = 44,
  /** Another station claims one of our addresses (RFC 5227 2.4 for ARP; an NA for a preferred address). */
  ADDRESS_CONFLICTS = 45,
  ND_IN = 46,
  /** Neighbour discovery messages refused by the parser (wire/ndp.ts: RFC 4861 6.1, 7.1 validity). */
  ND_DROPPED = 47,
  /** Neighbour solicitations for a target that is not ours. */
  ND_NOT_FOR_US = 48,
  NS_SENT = 49,
  NA_SENT = 50,
  RA_SENT = 51,
  /** Our IPv6 addresses found in use by another node (RFC 4862 5.4.5). */
  DAD_DUPLICATES = 52,
  /** Packets that waited for address resolution. */
  NEIGHBOUR_PENDING = 53,
  /** Packets dropped while waiting: the per-neighbour queue was full (oldest dropped), no slot, or resolution failed. */
  NEIGHBOUR_PENDING_DROPPED = 54,
  /** Resolutions that gave up (RFC 4861 7.3.3: MAX_MULTICAST_SOLICIT / MAX_UNICAST_SOLICIT unanswered). */
  NEIGHBOUR_FAILED = 55,
  /** Idle entries evicted to make room. */
  NEIGHBOUR_EVICTED = 56,
  /** Entries not created: every cell held, or the bound on INCOMPLETE entries reached. */
  NEIGHBOUR_FULL = 57,
  /** ICMP / ICMPv6 destination unreachable errors about a TCP segment in flight, acted on (unreachable.ts). */
  ICMP_UNREACHABLE = 58,
  /** Those ignored: malformed, no such connection, sequence number not in flight, a code we do not act on. */
  ICMP_UNREACHABLE_IGNORED = 59,
  /** Receive rings grown by auto-sizing (autosize.ts). */
  RECV_BUFFER_GROWN = 60,
  /** Send rings grown by auto-sizing. */
  SEND_BUFFER_GROWN = 61,
  /** Growths refused: config BUFFER_BUDGET reached, or no memory. */
  BUFFER_GROWTH_REFUSED = 62,
  /**
   * Tail loss probes sent (RFC 8985 7.3): of new data, or, with none to send, the last segment again;
   * only the latter are also RETRANSMITS.
   */
  TAIL_LOSS_PROBES = 63,
  COUNT = 64,
}

/** The drop reasons, then every Counter: sized from the enum so appending a counter cannot overrun. */
const CELLS: u32 = COUNTER_BASE + <u32>Counter.COUNT;
const region = memory.data(CELLS * 4, 8);

export function countersPtr(): usize {
  return region;
}

export function countersLength(): u32 {
  return CELLS;
}

@inline export function count(c: Counter): void {
  const p = region + ((<usize>COUNTER_BASE + <usize>c) << 2);
  store<u32>(p, load<u32>(p) + 1);
}

@inline export function countReason(reason: u32): void {
  if (reason >= REASON_COUNT) return;
  const p = region + (<usize>reason << 2);
  store<u32>(p, load<u32>(p) + 1);
}

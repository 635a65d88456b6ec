// UDP counters: u32 cells in their own static region (udpCountersPtr), apart from the TCP engine's
// (counters.ts), so that neither numbering moves the other. Stable numbers: never renumber, only append.

export const enum UdpCounter {
  /** UDP datagrams that reached the UDP receive path (well-formed or not). */
  DATAGRAMS_IN = 0,
  /** Datagrams put in the receive region for a socket (a broadcast counts once per socket). */
  DELIVERED = 1,
  /** Refused: fewer than 8 bytes of UDP header in the IP payload. */
  BAD_TRUNCATED = 2,
  /** Refused: UDP length below 8 or beyond the IP payload. */
  BAD_LENGTH = 3,
  /** Refused: the checksum does not verify (RFC 768). */
  BAD_CHECKSUM = 4,
  /** Refused: a zero checksum over IPv6 (RFC 8200 8.1). */
  BAD_ZERO_CHECKSUM_V6 = 5,
  /** Datagrams for a port no socket is bound to (RFC 1122 4.1.3.1). */
  NO_PORT = 6,
  /** ICMP / ICMPv6 port unreachable errors sent about them. */
  UNREACHABLE_SENT = 7,
  /** Errors the token bucket held back (RFC 4443 2.4 (f), RFC 1812 4.3.2.8). */
  UNREACHABLE_RATE_LIMITED = 8,
  /** Errors never due: broadcast or multicast destinations, unanswerable sources (RFC 1122 3.2.2). */
  UNREACHABLE_SUPPRESSED = 9,
  /** Datagrams dropped because the receive region was full (the host had not drained it). */
  RECEIVE_REGION_FULL = 10,
  /** Datagrams built into the output queue. */
  DATAGRAMS_OUT = 11,
  /** Send records refused: stale socket id, wrong IP version, or too large for one IP packet. */
  SEND_INVALID = 12,
  /** Port unreachable errors about our datagrams reported to a connected socket. */
  ICMP_UNREACHABLE_IN = 13,
  /** Port unreachable errors quoting a datagram no connected socket sent, or malformed. */
  ICMP_UNREACHABLE_IGNORED = 14,
  /** Frames for a named interface refused (no Ethernet framing available for that interface). */
  SEND_NO_INTERFACE = 15,
  COUNT = 16,
}

const region = memory.data(<i32>UdpCounter.COUNT * 4, 8);

export function udpCountersPtr(): usize {
  return region;
}

export function udpCountersLength(): u32 {
  return <u32>UdpCounter.COUNT;
}

@inline export function udpCount(c: UdpCounter): void {
  const p = region + (<usize>c << 2);
  store<u32>(p, load<u32>(p) + 1);
}

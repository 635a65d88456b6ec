// Why the wire layer refused a packet. The numbers are stable: they cross the WASM boundary and
// src/core/reasons.ts maps each to a string name once (STYLE.md rule 10). Never renumber; only append.
export const enum Reason {
  OK = 0,
  /** The buffer ends before a fixed header (IPv4 20 bytes, IPv6 40, TCP 20, an extension header). */
  TRUNCATED = 1,
  /** The IP version nibble is neither 4 nor 6. */
  BAD_IP_VERSION = 2,
  /** IPv4 IHL below 5 (a header shorter than 20 bytes). */
  IPV4_IHL = 3,
  /** IPv4 total length below the header length or beyond the buffer. */
  IPV4_TOTAL_LENGTH = 4,
  /** The IPv4 header checksum does not verify. */
  IPV4_HEADER_CHECKSUM = 5,
  /** An IPv4 fragment (MF set or offset != 0) or an IPv6 non-atomic fragment: never reassembled. */
  IP_FRAGMENT = 6,
  /** IPv6 payload length beyond the buffer. */
  IPV6_PAYLOAD_LENGTH = 7,
  /** An IPv6 extension header overruns the payload, is misplaced, routes onwards, or there are too many. */
  IPV6_EXTENSION = 8,
  /** A well-formed IP packet that does not carry TCP; Segment.ipProto says what it carries. */
  NOT_TCP = 9,
  /** TCP data offset below 5 or beyond the segment. */
  TCP_DATA_OFFSET = 10,
  /** A TCP option length of 0 or 1, or a wrong length for a known kind. */
  TCP_OPTION_LENGTH = 11,
  /** A TCP option (or its length byte) runs past the end of the TCP header. */
  TCP_OPTION_OVERRUN = 12,
  /** The TCP checksum (with the pseudo-header) does not verify. */
  TCP_CHECKSUM = 13,
  /** A SYN whose source address and port equal its destination's (CVE-1999-0016). */
  LAND = 14,
}

/** One past the largest Reason: the length of a per-reason counts array. */
export const REASON_COUNT: u32 = 15;

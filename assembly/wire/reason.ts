// Why the wire layer refused a packet. The numbers are stable: they cross the WASM boundary and
// src/core/reasons.ts maps each to a string name once. Never renumber; only append.
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

// Why the wire layer refused an Ethernet frame, an ARP packet, a neighbour discovery message or a UDP
// datagram: the protocols around IP at a network edge, counted in their own array so the TCP path's
// numbers above stay as they are. Stable numbers, append only, like Reason.
export const enum EdgeReason {
  OK = 0,
  /** Shorter than the 14-byte Ethernet header (or than the 802.1Q tag that follows it). */
  ETH_TRUNCATED = 1,
  /** An 802.1Q / 802.1ad VLAN tag: this station is not a VLAN member, the frame is dropped. */
  ETH_VLAN = 2,
  /** Type/length field below 0x0600: an IEEE 802.3 length (LLC, SNAP), not an Ethernet II EtherType. */
  ETH_NOT_ETHERNET_II = 3,
  /** A group (multicast) source address, which IEEE 802 does not allow. */
  ETH_GROUP_SOURCE = 4,
  /** Fewer than the 28 bytes of an ARP packet for IPv4 over Ethernet. */
  ARP_TRUNCATED = 5,
  /** Hardware type, protocol type or address lengths other than Ethernet (1, 6) and IPv4 (0x0800, 4). */
  ARP_FORMAT = 6,
  /** An operation other than request (1) or reply (2). */
  ARP_OPERATION = 7,
  /** A sender that cannot be a neighbour: group hardware address, or multicast / broadcast IPv4 address. */
  ARP_SENDER = 8,
  /** An ICMPv6 message that is not RS, RA, NS or NA, or a packet that is not ICMPv6 at all. */
  ND_NOT_ND = 9,
  /** The message is shorter than its type's fixed part (RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2). */
  ND_TRUNCATED = 10,
  /** IP hop limit other than 255: the message may come from off-link. */
  ND_HOP_LIMIT = 11,
  /** ICMP code other than 0. */
  ND_CODE = 12,
  /** The ICMPv6 checksum (RFC 4443 2.3) does not verify. */
  ND_CHECKSUM = 13,
  /** A multicast target address in NS or NA. */
  ND_TARGET = 14,
  /** An option of length 0, an option that runs past the message, or a known option of the wrong length. */
  ND_OPTION = 15,
  /** Addresses this message may not carry: RA from a non-link-local source, a source link-layer option
   *  from the unspecified address, a DAD probe not sent to a solicited-node address, a solicited NA to
   *  a multicast address. */
  ND_ADDRESS = 16,
  /** Fewer than the 8 bytes of a UDP header in the IP payload. */
  UDP_TRUNCATED = 17,
  /** UDP length below 8 or beyond the IP payload. */
  UDP_LENGTH = 18,
  /** The UDP checksum (with the pseudo-header) does not verify. */
  UDP_CHECKSUM = 19,
  /** A zero (absent) UDP checksum over IPv6, which RFC 8200 8.1 forbids. */
  UDP_ZERO_CHECKSUM_V6 = 20,
  /** An IP packet that does not carry UDP. */
  UDP_NOT_UDP = 21,
}

/** One past the largest EdgeReason: the length of a per-reason counts array. */
export const EDGE_REASON_COUNT: u32 = 22;

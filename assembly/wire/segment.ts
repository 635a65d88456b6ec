// One decoded IP+TCP packet (smoltcp's Repr), laid out in linear memory so the engine keeps one
// instance per batch and never allocates per segment. packet.ts parses into it and emits from it.
//
// Fields are declared in an order that needs no padding surprises; the host never assumes offsets:
// it reads them from the table packet.ts exports (wireSegmentLayout).
@unmanaged export class Segment {
  ipVersion: u8;        // 4 or 6
  ipProto: u8;          // IPv4 protocol / IPv6 final next header (6 TCP, 1 ICMP, 58 ICMPv6, ...)
  ttl: u8;              // TTL / hop limit
  tos: u8;              // IPv4 TOS / IPv6 traffic class (DSCP+ECN)
  ipId: u16;            // IPv4 identification (0 for v6)
  dontFragment: bool;   // IPv4 DF
  sackPermitted: bool;
  flowLabel: u32;       // IPv6 flow label (0 for v4)
  // Addresses as the raw bytes in network order, loaded with load<u64>: IPv6 bytes 0..7 in A, 8..15
  // in B; IPv4 the 4 bytes loaded with load<u32> into A (zero-extended), B = 0. Equality and hashing.
  srcA: u64;
  srcB: u64;
  dstA: u64;
  dstB: u64;
  srcPort: u16;
  dstPort: u16;
  seq: u32;
  ack: u32;
  flags: u16;           // FIN 0x001 SYN 0x002 RST 0x004 PSH 0x008 ACK 0x010 URG 0x020 ECE 0x040 CWR 0x080 AE 0x100
  window: u16;          // raw, unscaled
  urgent: u16;          // raw; never an index (CVE-2019-12255)
  mss: u16;             // 0 = absent
  wscale: i8;           // -1 = absent; parse clamps > 14 to 14 (RFC 7323 2.3)
  hasTimestamps: bool;
  sackCount: u8;        // 0..4 blocks
  land: bool;           // SYN with source address+port == destination (parse also returns Reason.LAND)
  tsVal: u32;
  tsEcr: u32;
  sackL0: u32;          // the blocks are consecutive (L, R) pairs: tcp.ts indexes them from sackL0
  sackR0: u32;
  sackL1: u32;
  sackR1: u32;
  sackL2: u32;
  sackR2: u32;
  sackL3: u32;
  sackR3: u32;
  ipHeaderLen: u16;     // incl. IPv4 options / IPv6 extension headers
  tcpHeaderLen: u16;    // incl. TCP options
  payloadOffset: u32;   // from the start of the packet
  payloadLen: u32;
  packet: usize;        // where the parsed packet starts in linear memory (parsePacket sets it; emit ignores it)
  /** parsePacketPayloadUnsummed: the pseudo-header and TCP header sum, folded; the payload's is the caller's. */
  headerSum: u32;
}

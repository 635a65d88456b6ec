// What a router sends back when a packet is bigger than its next hop carries: an ICMP
// "fragmentation needed and DF set" (RFC 792 type 3 code 4, with RFC 1191's next-hop MTU) or an
// ICMPv6 "packet too big" (RFC 4443 3.2), quoting as much of the packet as RFC 1812 4.3.2.3 (576
// bytes in all) or RFC 4443 2.4 (c) (1280 bytes in all) allow.
import { buildPacket } from "./wire-reference.js";
import { checksumRef, pseudoHeaderSumV6Ref } from "./reference/checksum.js";

export interface TooBigSpec {
  /** The packet that was too big, as its sender sent it. */
  packet: Uint8Array;
  /** The MTU reported. */
  mtu: number;
  /** The router's address (same IP version as the packet). */
  router: Uint8Array;
  /** Bytes of the packet quoted; default as many as the RFCs allow. */
  quote?: number;
  /** Breaks the ICMP checksum. */
  badChecksum?: boolean;
}

export function tooBigError(spec: TooBigSpec): Uint8Array {
  const p = spec.packet;
  const v6 = p[0]! >> 4 === 6;
  const quote = Math.min(p.length, spec.quote ?? (v6 ? 1280 - 48 : 576 - 28));
  const msg = new Uint8Array(8 + quote);
  const dv = new DataView(msg.buffer);
  if (v6) {
    msg[0] = 2; // packet too big
    dv.setUint32(4, spec.mtu);
  } else {
    msg[0] = 3; // destination unreachable
    msg[1] = 4; // fragmentation needed and DF set
    dv.setUint16(6, spec.mtu);
  }
  msg.set(p.subarray(0, quote), 8);
  const to = v6 ? p.subarray(8, 24) : p.subarray(12, 16);
  const sum = checksumRef(msg, v6 ? pseudoHeaderSumV6Ref(spec.router, to, 58, msg.length) : 0);
  dv.setUint16(2, spec.badChecksum ? sum ^ 0x5555 : sum);
  return buildPacket({ v6, src: spec.router, dst: Uint8Array.from(to), ipProto: v6 ? 58 : 1, payload: msg });
}

// Segmentation offload: how much one emitted packet may carry on a link that takes packets larger than
// its MTU. Such a link either carries a large TCP segment whole to a receiver that accepts segments
// above the MSS it advertised (two engines in one process; a kernel's receive offload, GRO) or splits
// it into MTU-sized packets on the way (a NIC's or a kernel's segmentation offload, GSO/TSO, which cuts
// at the MSS and copies the headers into each piece). Either way the connection's MSS stays the
// path's (RFC 9293 3.7.1: we advertise the MTU's, RFC 5681 2: SMSS counts congestion, the receiver's
// every-second-segment ACK rule counts in it); only the size of one transmission grows, and always by
// whole segments of the path's MSS so that a split gives exactly the packets a connection without
// offload would have sent; and only while those segments are the size the link's MTU makes them
// (emit.ts packetRoom), so that a link cutting at its MTU cuts at segment boundaries.
//
// Which link: as for the MTU (pmtu.ts), the host says per call: engineInput and connConnectMs take the
// offload MTU of the link (0: none), and a new connection keeps the payload one packet may carry in
// t.offloadMss (0: no offload, every packet within the path MSS).
import { Tcb, tcbKey } from "./tcb";

// The offload MTU of the link the current engine call works for; 0: the link has none.
let currentOffloadMtu: u32 = 0;

/** Called by engineInput and connConnectMs with the host's offload MTU for the link (0: none). */
export function setLinkOffloadMtu(mtu: u32): void {
  currentOffloadMtu = mtu <= 65535 ? mtu : 65535;
}

/**
 * The TCP segment (options and payload) one packet may carry on the current link with offload:
 * the offload MTU less the IP and TCP headers, or 0 when the link has no offload above `localMss`.
 */
export function linkOffloadMss(ipVersion: u32, localMss: u32): u32 {
  const headers: u32 = ipVersion == 6 ? 60 : 40;
  if (currentOffloadMtu <= headers) return 0;
  const mss = currentOffloadMtu - headers;
  return mss > localMss ? mss : 0;
}

/** A new connection takes the current link's offload (initConnection, after its MSS). */
export function offloadStart(t: Tcb): void {
  t.offloadMss = linkOffloadMss(tcbKey(t).ipVersion, t.localMss);
}

/**
 * The payload one packet carries at most, `room` being one segment's (payloadRoom, the path MSS less
 * the options this packet carries): without offload `room`; with it the most whole segments of `room`
 * that fit in offloadMss beside the same options (at least one).
 */
export function sendUnit(t: Tcb, room: u32, optionBytes: u32): u32 {
  if (t.offloadMss == 0) return room;
  const most = t.offloadMss > optionBytes ? t.offloadMss - optionBytes : 0;
  if (most <= room) return room;
  return (most / room) * room;
}

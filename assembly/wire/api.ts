// Numeric exports of the wire layer for the host (src/core/wire.ts) and for batched throughput.
//
// The host cannot see AssemblyScript classes, so it works through one static Segment (wireSegment)
// and a table of its field offsets (wireSegmentLayout), and hands packets over in the scratch
// region (scratch.ts). Nothing here allocates.
import { REASON_COUNT } from "./reason";
import { Segment, parsePacket } from "./packet";

const staticSegment = memory.data(offsetof<Segment>(), 8);

/** The Segment that wireParse fills and wireEmit reads. */
export function wireSegment(): usize {
  return staticSegment;
}

// Byte offsets of the Segment fields, as u16 in this order (src/core/wire.ts reads them in the same order):
// ipVersion ipProto ttl tos ipId dontFragment flowLabel srcA srcB dstA dstB srcPort dstPort seq ack
// flags window urgent mss wscale sackPermitted hasTimestamps tsVal tsEcr sackCount sackL0 land
// ipHeaderLen tcpHeaderLen payloadOffset payloadLen, then the Segment's size.
const layout = memory.data<u16>([
  <u16>offsetof<Segment>("ipVersion"), <u16>offsetof<Segment>("ipProto"), <u16>offsetof<Segment>("ttl"),
  <u16>offsetof<Segment>("tos"), <u16>offsetof<Segment>("ipId"), <u16>offsetof<Segment>("dontFragment"),
  <u16>offsetof<Segment>("flowLabel"), <u16>offsetof<Segment>("srcA"), <u16>offsetof<Segment>("srcB"),
  <u16>offsetof<Segment>("dstA"), <u16>offsetof<Segment>("dstB"), <u16>offsetof<Segment>("srcPort"),
  <u16>offsetof<Segment>("dstPort"), <u16>offsetof<Segment>("seq"), <u16>offsetof<Segment>("ack"),
  <u16>offsetof<Segment>("flags"), <u16>offsetof<Segment>("window"), <u16>offsetof<Segment>("urgent"),
  <u16>offsetof<Segment>("mss"), <u16>offsetof<Segment>("wscale"), <u16>offsetof<Segment>("sackPermitted"),
  <u16>offsetof<Segment>("hasTimestamps"), <u16>offsetof<Segment>("tsVal"), <u16>offsetof<Segment>("tsEcr"),
  <u16>offsetof<Segment>("sackCount"), <u16>offsetof<Segment>("sackL0"), <u16>offsetof<Segment>("land"),
  <u16>offsetof<Segment>("ipHeaderLen"), <u16>offsetof<Segment>("tcpHeaderLen"),
  <u16>offsetof<Segment>("payloadOffset"), <u16>offsetof<Segment>("payloadLen"), <u16>offsetof<Segment>(),
]);

/** Address of the field-offset table described above. */
export function wireSegmentLayout(): usize {
  return layout;
}

/** parsePacket into the static Segment. */
export function wireParse(ptr: usize, len: u32, verifyChecksums: bool): u32 {
  return parsePacket(ptr, len, changetype<Segment>(staticSegment), verifyChecksums);
}

/**
 * Parses a batch of packets laid out from `ptr` over `byteLen` bytes as records
 * `[u32 little-endian length][length bytes][0..3 bytes of padding to a multiple of 4]`; the first
 * record starts at `ptr`. A record whose length runs past the batch ends the walk. For each record
 * parsed, its Reason (one u8) goes to `reasonsOut` when non-zero, and `countsOut`, when non-zero,
 * receives REASON_COUNT u32 counters, one per Reason (zeroed first). Returns the number of records
 * parsed. Every packet goes through the same parsePacket as single calls, into one Segment.
 */
export function parseBatch(ptr: usize, byteLen: u32, verifyChecksums: bool, reasonsOut: usize, countsOut: usize): u32 {
  const seg = changetype<Segment>(staticSegment);
  if (countsOut) memory.fill(countsOut, 0, REASON_COUNT << 2);
  let off: u32 = 0;
  let n: u32 = 0;
  while (byteLen - off >= 4) {
    const len = load<u32>(ptr + off);
    if (len > byteLen - off - 4) break;
    const reason = parsePacket(ptr + off + 4, len, seg, verifyChecksums);
    if (reasonsOut) store<u8>(reasonsOut + n, <u8>reason);
    if (countsOut) {
      const c = countsOut + (reason << 2);
      store<u32>(c, load<u32>(c) + 1);
    }
    n++;
    off = (off + 4 + len + 3) & ~3;
    if (off > byteLen) break;
  }
  return n;
}

/** Number of Reason values (the length of parseBatch's counts array). */
export function reasonCount(): u32 {
  return REASON_COUNT;
}


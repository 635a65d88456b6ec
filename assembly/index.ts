// tcpwasm core: the export list, and nothing else (STYLE.md rule 7).
//
// Every export takes and returns numbers; bulk data crosses through regions of linear memory that
// the core allocates once and whose addresses the host reads through the exported getters. The
// host caches Uint8Array views over `memory.buffer` and re-creates them when memory grows.

// Build identity: lets the host check it loaded the build it asked for.
export { buildFlags } from "./build";
export { scratchPtr, scratchSize } from "./scratch";
export { onesSum, onesSumScalar, onesSumSimd, finishChecksum, pseudoHeaderSumV4, pseudoHeaderSumV6, updateChecksum16, updateChecksum32 } from "./wire/checksum";
export { parsePacket, headersLen, emitHeaders, finishChecksums } from "./wire/packet";
export { wireSegment, wireSegmentLayout, wireParse, parseBatch, reasonCount } from "./wire/api";
export { icmpEchoReply } from "./wire/icmp";

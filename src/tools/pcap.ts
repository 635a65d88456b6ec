// A pcap writer for any link: the classic libpcap file format (what tshark, Wireshark and tcpdump all
// read) with LINKTYPE_RAW for a raw-IP link, so IPv4 and IPv6 packets share one capture with no fake
// Ethernet header, and LINKTYPE_ETHERNET for an Ethernet link, whose frames are recorded as they are.
// Browser-safe: bytes go to a sink callback, so a page can collect a Blob; src/tools/pcap-file.ts writes a
// file in Node.
import { TcpwasmError } from "../core/errors.js";
import { optionsObject, validateFunction, validateInteger, validateNumber, validateOneOf, validateUint8Array } from "../core/validate.js";
import { checkedFraming, validateLink, type Link, type PacketHandler } from "../net/link.js";

/** Receives the capture as a sequence of chunks; concatenated they are the .pcap file. */
export type PcapSink = (chunk: Uint8Array) => void;

/** LINKTYPE_RAW: each record is a raw IPv4 or IPv6 packet (tcpdump.org/linktypes.html). */
export const LINKTYPE_RAW = 101;
/** LINKTYPE_ETHERNET: each record is an Ethernet II frame without FCS (tcpdump.org/linktypes.html). */
export const LINKTYPE_ETHERNET = 1;
const MAGIC_MICROSECONDS = 0xa1b2c3d4;
const GLOBAL_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

/** Options of PcapWriter and recordLink. */
export interface PcapOptions {
  /** Bytes kept of each packet. Default 65535. */
  snaplen?: number;
  /** Wall-clock time in ms since the Unix epoch for each record. Default performance.timeOrigin + performance.now(). */
  now?: () => number;
  /** What the records are: "ip" (default, LINKTYPE_RAW) or "ethernet" (LINKTYPE_ETHERNET); recordLink takes the link's. */
  framing?: "ip" | "ethernet";
}

function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Writes the global header at once, then one chunk (record header and bytes) per packet. */
export class PcapWriter {
  readonly #sink: PcapSink;
  /** Bytes kept of each packet. */
  readonly snaplen: number;
  /** The capture's link type: LINKTYPE_RAW or LINKTYPE_ETHERNET. */
  readonly linkType: number;
  readonly #now: () => number;
  /** Packets written so far. */
  packets = 0;

  /**
   * Writes the pcap global header to `sink` at once.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for a bad sink or options.
   */
  constructor(
    sink: PcapSink,
    options?: PcapOptions,
  ) {
    this.#sink = sink;
    validateFunction(sink, "sink");
    const o = optionsObject(options, "options");
    if (o.snaplen !== undefined) validateInteger(o.snaplen, "options.snaplen", 1, 0x3ffff);
    if (o.now !== undefined) validateFunction(o.now, "options.now");
    if (o.framing !== undefined) validateOneOf(o.framing, "options.framing", ["ip", "ethernet"]);
    this.linkType = o.framing === "ethernet" ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
    this.snaplen = o.snaplen ?? 65535;
    this.#now = o.now ?? wallClockMs;
    const header = new Uint8Array(GLOBAL_HEADER_LEN);
    const dv = new DataView(header.buffer);
    // Little-endian throughout; readers detect the byte order from the magic number.
    dv.setUint32(0, MAGIC_MICROSECONDS, true);
    dv.setUint16(4, 2, true); // version 2.4
    dv.setUint16(6, 4, true);
    dv.setInt32(8, 0, true); // thiszone: timestamps are UTC
    dv.setUint32(12, 0, true); // sigfigs
    dv.setUint32(16, this.snaplen, true);
    dv.setUint32(20, this.linkType, true);
    sink(header);
  }

  /** Records one packet, stamped `timeMs` (ms since the epoch, default now). */
  write(packet: Uint8Array, timeMs: number = this.#now()): void {
    validateUint8Array(packet, "packet");
    validateNumber(timeMs, "timeMs", 0);
    const kept = Math.min(packet.length, this.snaplen);
    const record = new Uint8Array(RECORD_HEADER_LEN + kept);
    const dv = new DataView(record.buffer);
    const micros = Math.floor(timeMs * 1000);
    dv.setUint32(0, Math.floor(micros / 1e6), true);
    dv.setUint32(4, micros % 1e6, true);
    dv.setUint32(8, kept, true);
    dv.setUint32(12, packet.length, true);
    record.set(packet.subarray(0, kept), RECORD_HEADER_LEN);
    this.packets++;
    this.#sink(record);
  }
}

/**
 * Wraps a link so that every packet it sends and receives is written to `sink` (or an existing
 * writer) as it passes, both directions in one capture, with the link type of the link's framing. Use the returned link in place of the
 * original; closing it closes the original.
 */
export function recordLink(link: Link, sink: PcapSink | PcapWriter, options?: PcapOptions): Link {
  validateLink(link, "link");
  const framing = checkedFraming(link);
  const writer = sink instanceof PcapWriter ? sink : new PcapWriter(sink, { ...options, framing });
  // One capture has one link type: raw IP packets in an Ethernet capture (or frames in a raw one) would all read as malformed.
  if (writer.linkType !== (framing === "ethernet" ? LINKTYPE_ETHERNET : LINKTYPE_RAW)) {
    throw new TcpwasmError("ERR_INVALID_ARG_VALUE", `the writer's link type ${writer.linkType} does not match the link's framing "${framing}"`);
  }
  return {
    mtu: link.mtu,
    offloadMtu: link.offloadMtu,
    framing,
    send(packets: Uint8Array[]): void {
      // Recorded before the link owns them: a link may alter (corrupt) or reuse them afterwards.
      for (const p of packets) writer.write(p);
      link.send(packets);
    },
    onReceive(handler: PacketHandler): void {
      link.onReceive((packets) => {
        for (const p of packets) writer.write(p);
        handler(packets);
      });
    },
    close(): void {
      link.close();
    },
  };
}

// Public wire helpers for users who only want the fast parts: the Internet checksum, and parse /
// encode of one IP+TCP packet, all run by the core's WebAssembly (assembly/wire/). Browser-safe:
// web-platform APIs only.
//
// Bytes that live in JavaScript are copied into the core's scratch region (one TypedArray.set, no
// allocation), bytes in a buffer the core lent (Wire.buffer, wire-buffers.ts) are read where they
// lie; either way one numeric export of the instance runs on them, called directly (no loader
// wrapper). The decoded Segment is read through the field-offset table the core exports
// (wireSegmentLayout), so this file never hard-codes the core's memory layout.
import { loadEngine, type CoreExports, type LoadOptions, type Flavor, type MemoryViews } from "./loader.js";
import { invalidType, invalidValue, optionsObject, outOfRange, validateBoolean, validateInteger, validateObject, validateUint8Array } from "./validate.js";
import { reasonName, type ReasonName } from "./reasons.js";
import { formatIpv4, formatIpv6, parseAddress, parseIpv4, parseIpv6 } from "./address.js";
import { TcpFlag } from "./trace.js";
import { MAX_LENT_BYTES, WireMemory, type LentExports } from "./wire-buffers.js";

interface WireExports extends CoreExports, LentExports {
  scratchPtr(): number;
  scratchSize(): number;
  onesSum(ptr: number, len: number, initial: number): number;
  wireSegment(): number;
  wireSegmentLayout(): number;
  wireParse(ptr: number, len: number, verifyChecksums: number): number;
  headersLen(seg: number): number;
  emitHeaders(ptr: number, seg: number, payloadLen: number): number;
  finishChecksums(ptr: number, totalLen: number): void;
}

/** TCP flags as booleans (RFC 9293 3.1; AE is RFC 9768's accurate-ECN bit). */
export interface TcpFlags {
  /** No more data from the sender (RFC 9293 3.1). */
  fin: boolean;
  /** Synchronize sequence numbers. */
  syn: boolean;
  /** Reset the connection. */
  rst: boolean;
  /** Push function. */
  psh: boolean;
  /** The acknowledgment field is significant. */
  ack: boolean;
  /** The urgent pointer is significant. */
  urg: boolean;
  /** ECN-Echo (RFC 3168 6.1). */
  ece: boolean;
  /** Congestion Window Reduced (RFC 3168 6.1). */
  cwr: boolean;
  /** Accurate ECN flag, formerly NS (RFC 9768). */
  ae: boolean;
}

const FLAG_BITS: ReadonlyArray<[keyof TcpFlags, number]> = [
  ["fin", TcpFlag.FIN], ["syn", TcpFlag.SYN], ["rst", TcpFlag.RST], ["psh", TcpFlag.PSH], ["ack", TcpFlag.ACK],
  ["urg", TcpFlag.URG], ["ece", TcpFlag.ECE], ["cwr", TcpFlag.CWR], ["ae", TcpFlag.AE],
];

/** The TCP timestamps option (RFC 7323 3): the sender's clock and the echoed value. */
export interface TcpTimestamps {
  /** TSval: the sender's timestamp clock. */
  value: number;
  /** TSecr: the TSval echoed back. */
  echo: number;
}

/** The TCP options tcpwasm understands; absent ones are null (sack: empty). */
export interface TcpOptions {
  /** Maximum segment size, bytes (RFC 9293 3.7.1). */
  mss: number | null;
  /** The shift count; values above 14 on the wire read as 14 (RFC 7323 2.3). */
  wscale: number | null;
  /** SACK-permitted (RFC 2018). */
  sackPermitted: boolean;
  /** Timestamps (RFC 7323 3). */
  timestamps: TcpTimestamps | null;
  /** SACK blocks as [left, right) sequence-number pairs, at most 4. */
  sack: Array<[number, number]>;
}

/** An IPv4 or IPv6 packet carrying TCP, decoded by Wire.parsePacket. */
export interface ParsedPacket {
  /** 4 or 6. */
  ipVersion: 4 | 6;
  /** Addresses in standard text form (IPv6 compressed as RFC 5952 recommends). */
  src: string;
  /** Destination address. */
  dst: string;
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number. */
  seq: number;
  /** Acknowledgment number. */
  ack: number;
  /** Control bits by name. */
  flags: TcpFlags;
  /** Control bits as on the wire (TcpFlag). */
  flagBits: number;
  /** Window field as on the wire (unscaled). */
  window: number;
  /** Urgent pointer. */
  urgent: number;
  /** The TCP options. */
  options: TcpOptions;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl: number;
  /** IPv4 identification (0 for IPv6). */
  ipId: number;
  /** IPv4 DF (false for IPv6). */
  dontFragment: boolean;
  /** IPv4 TOS or IPv6 traffic class. */
  tos: number;
  /** IPv6 flow label (0 for IPv4). */
  flowLabel: number;
  /** Bytes before the TCP header: the IP header. */
  ipHeaderLength: number;
  /** TCP header bytes, options included (data offset * 4). */
  tcpHeaderLength: number;
  /** Where the payload starts in the packet, bytes. */
  payloadOffset: number;
  /** Payload bytes. */
  payloadLength: number;
  /** A view of the payload inside the bytes passed to parsePacket (not a copy). */
  payload: Uint8Array;
}

/** Why Wire.parsePacket refused a packet: the same reason the engine would count it under. */
export interface ParseError {
  /** The drop reason's name. */
  error: ReasonName | `UNKNOWN_${number}`;
}

/** What encodePacket needs: the addresses and ports; everything else has a default. */
export interface PacketFields {
  /** Source address, IPv4 or IPv6 (both addresses of one version). */
  src: string;
  /** Destination address. */
  dst: string;
  /** Source port, 0..65535. */
  srcPort: number;
  /** Destination port, 0..65535. */
  dstPort: number;
  /** Sequence number, 0..2^32-1. Default 0. */
  seq?: number;
  /** Acknowledgment number, 0..2^32-1. Default 0. */
  ack?: number;
  /** A number (bits as in flagBits) or booleans; default none. */
  flags?: number | Partial<TcpFlags>;
  /** Default 65535. */
  window?: number;
  /** Urgent pointer (RFC 9293 3.1). Default 0. */
  urgent?: number;
  /** TCP options to write; default none. */
  options?: Partial<TcpOptions>;
  /** Default 64. */
  ttl?: number;
  /** IPv4 only. */
  ipId?: number;
  /** IPv4 only; default true (as Linux sends). */
  dontFragment?: boolean;
  /** IPv4 type of service (IPv6 traffic class), 0..255. Default 0. */
  tos?: number;
  /** IPv6 only. */
  flowLabel?: number;
  /** TCP payload. Default empty. */
  payload?: Uint8Array;
}

/** Options of Wire.parsePacket. */
export interface ParseOptions {
  /** Verify the IPv4 header checksum and the TCP checksum (default true). */
  verifyChecksums?: boolean;
}

/**
 * Packet helpers bound to one loaded core (loadWire): checksums, parsing and encoding of IPv4/IPv6
 * TCP packets by the same code the engine runs, for tools and tests.
 */
export interface Wire {
  /** The build of the core the helpers run on. */
  readonly flavor: Flavor;
  /**
   * The Internet checksum (RFC 1071) of `bytes`: the ones' complement of their ones'-complement sum
   * as big-endian 16-bit words (an odd last byte padded with zero), i.e. the value a header's
   * checksum field holds. Over bytes that include a correct checksum field it returns 0.
   * `initial` is a ones'-complement sum (not complemented) to add, such as a pseudo-header sum; to
   * continue a previous result c over more bytes (after an even number of bytes), pass `~c & 0xffff`.
   *
   * Bytes in a {@link Wire.buffer} (or a subarray of one) are summed where they lie; other bytes are
   * copied into the core first.
   * @throws TcpwasmError ERR_WIRE_BUFFER_FREED or ERR_WIRE_BUFFER_DETACHED for a view of a wire
   * buffer that was freed, or taken before memory grew.
   */
  checksum(bytes: Uint8Array, initial?: number): number;
  /**
   * Parses and validates one IP+TCP packet, or says why it was refused. Bytes in a
   * {@link Wire.buffer} are parsed where they lie (no copy, no size limit) and the result's `payload`
   * is a view into that buffer.
   * @throws TcpwasmError ERR_WIRE_BUFFER_FREED or ERR_WIRE_BUFFER_DETACHED as checksum does.
   */
  parsePacket(bytes: Uint8Array, options?: ParseOptions): ParsedPacket | ParseError;
  /**
   * A zero-filled buffer of `length` bytes that lives in the core's linear memory: write packets into
   * it (or a subarray of it) and checksum / parsePacket read them without a copy.
   *
   * Lifetime: the view is valid until `free(view)`, and until a later `buffer()` call grows linear
   * memory, which detaches every earlier view (its length becomes 0; the bytes stay where they
   * were): `renew(view)` gives a current view of the same bytes. Allocate the buffers you need up
   * front to avoid that. Memory is not reclaimed by garbage collection: free what you allocate.
   * @throws TcpwasmError ERR_OUT_OF_RANGE for a length that is not an integer in 0..2^28 or that
   * linear memory cannot grow to hold.
   */
  buffer(length: number): Uint8Array;
  /**
   * A current view of the buffer `view` came from (a view that `buffer()` or `renew()` returned),
   * for use after memory grew.
   * @throws TcpwasmError ERR_WIRE_FOREIGN_BUFFER for any other view, ERR_WIRE_BUFFER_FREED after free.
   */
  renew(view: Uint8Array): Uint8Array;
  /**
   * Gives a buffer back to the core; every view of it becomes unusable (passing one throws
   * ERR_WIRE_BUFFER_FREED).
   * @throws TcpwasmError ERR_WIRE_FOREIGN_BUFFER for a view that `buffer()` or `renew()` of this
   * Wire did not return, ERR_WIRE_BUFFER_FREED when it was already freed.
   */
  free(view: Uint8Array): void;
  /**
   * Encodes one IP+TCP packet (IPv4 without options or IPv6 without extension headers) with both
   * checksums computed, options in the order Linux writes them. Throws ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE on bad input.
   */
  encodePacket(fields: PacketFields): Uint8Array;
}

// Field order of the core's wireSegmentLayout table (assembly/wire/api.ts).
const LAYOUT_FIELDS = [
  "ipVersion", "ipProto", "ttl", "tos", "ipId", "dontFragment", "flowLabel", "srcA", "srcB", "dstA",
  "dstB", "srcPort", "dstPort", "seq", "ack", "flags", "window", "urgent", "mss", "wscale",
  "sackPermitted", "hasTimestamps", "tsVal", "tsEcr", "sackCount", "sackL0", "land", "ipHeaderLen",
  "tcpHeaderLen", "payloadOffset", "payloadLen", "size",
] as const;
type SegmentLayout = Record<(typeof LAYOUT_FIELDS)[number], number>;

const MAX_OPTIONS_BYTES = 40;

/** Loads a core (see loadEngine's flavors) and returns the wire helpers bound to it. */
export async function loadWire(options: LoadOptions = {}): Promise<Wire> {
  const engine = await loadEngine<WireExports>(options);
  return new WireHelpers(engine.flavor, engine.exports, engine.views);
}

class WireHelpers implements Wire {
  private readonly scratch: number;
  private readonly scratchSize: number;
  private readonly seg: number;
  private readonly at: SegmentLayout;
  private readonly memory: WireMemory;
  // The instance's own export, called with numbers only.
  private readonly onesSum: (ptr: number, len: number, initial: number) => number;

  constructor(readonly flavor: Flavor, private readonly core: WireExports, private readonly views: MemoryViews) {
    // The scratch region is taken first: it may grow memory, and the views below must come after.
    this.scratch = core.scratchPtr();
    this.scratchSize = core.scratchSize();
    this.memory = new WireMemory(core);
    this.onesSum = core.onesSum;
    this.seg = core.wireSegment();
    const table = core.wireSegmentLayout();
    const dv = views.dv;
    const at = {} as SegmentLayout;
    LAYOUT_FIELDS.forEach((name, i) => (at[name] = dv.getUint16(table + 2 * i, true)));
    this.at = at;
  }

  // The hot path of small packets: at 1460 bytes the sum itself takes about as long as everything
  // else here, so this does one set() into the scratch region and one call, and allocates nothing.
  checksum(bytes: Uint8Array, initial = 0): number {
    if (!(bytes instanceof Uint8Array)) validateUint8Array(bytes, "bytes");
    if (typeof initial !== "number" || initial >>> 0 !== initial) checkInt("initial", initial, 0, 0xffffffff);
    const n = bytes.length;
    const view = this.memory.view;
    if (bytes.buffer === view.buffer) return ~this.onesSum(this.memory.addressOf(bytes), n, initial) & 0xffff;
    if (n === 0) this.memory.checkNotDetached(bytes);
    if (n <= this.scratchSize) {
      view.set(bytes, this.scratch);
      return ~this.onesSum(this.scratch, n, initial) & 0xffff;
    }
    // Chunks of the (even-sized) scratch region, each sum carried into the next.
    let sum = initial;
    for (let done = 0; done < n; done += this.scratchSize) {
      const chunk = bytes.subarray(done, Math.min(n, done + this.scratchSize));
      view.set(chunk, this.scratch);
      sum = this.onesSum(this.scratch, chunk.length, sum);
    }
    return ~sum & 0xffff;
  }

  buffer(length: number): Uint8Array {
    checkInt("length", length, 0, MAX_LENT_BYTES);
    return this.memory.lend(length);
  }

  renew(view: Uint8Array): Uint8Array {
    return this.memory.renew(view);
  }

  free(view: Uint8Array): void {
    this.memory.free(view);
  }

  parsePacket(bytes: Uint8Array, options: ParseOptions = {}): ParsedPacket | ParseError {
    validateUint8Array(bytes, "bytes");
    options = optionsObject(options, "options");
    const memory = this.memory;
    let ptr: number;
    if (bytes.buffer === memory.view.buffer) ptr = memory.addressOf(bytes);
    else {
      if (bytes.length === 0) memory.checkNotDetached(bytes);
      if (bytes.length > this.scratchSize) outOfRange("bytes.length", `<= ${this.scratchSize} (the scratch region; a wire.buffer() has no limit)`, bytes.length);
      memory.view.set(bytes, this.scratch);
      ptr = this.scratch;
    }
    const reason = this.core.wireParse(ptr, bytes.length, options.verifyChecksums === false ? 0 : 1);
    if (reason !== 0) return { error: reasonName(reason) };
    const dv = this.views.dv;
    const u8 = this.views.u8;
    const s = this.seg;
    const at = this.at;
    const ipVersion = u8[s + at.ipVersion] === 6 ? 6 : 4;
    const flagBits = dv.getUint16(s + at.flags, true);
    const flags = {} as TcpFlags;
    for (const [name, bit] of FLAG_BITS) flags[name] = (flagBits & bit) !== 0;
    const wscale = dv.getInt8(s + at.wscale);
    const sack: Array<[number, number]> = [];
    for (let i = 0; i < u8[s + at.sackCount]!; i++) {
      sack.push([dv.getUint32(s + at.sackL0 + 8 * i, true), dv.getUint32(s + at.sackL0 + 8 * i + 4, true)]);
    }
    const payloadOffset = dv.getUint32(s + at.payloadOffset, true);
    const payloadLength = dv.getUint32(s + at.payloadLen, true);
    const addr = (a: number) =>
      ipVersion === 4 ? formatIpv4(u8.subarray(s + a, s + a + 4)) : formatIpv6(u8.subarray(s + a, s + a + 16));
    return {
      ipVersion,
      src: addr(at.srcA),
      dst: addr(at.dstA),
      srcPort: dv.getUint16(s + at.srcPort, true),
      dstPort: dv.getUint16(s + at.dstPort, true),
      seq: dv.getUint32(s + at.seq, true),
      ack: dv.getUint32(s + at.ack, true),
      flags,
      flagBits,
      window: dv.getUint16(s + at.window, true),
      urgent: dv.getUint16(s + at.urgent, true),
      options: {
        mss: dv.getUint16(s + at.mss, true) || null,
        wscale: wscale < 0 ? null : wscale,
        sackPermitted: u8[s + at.sackPermitted] !== 0,
        timestamps: u8[s + at.hasTimestamps]
          ? { value: dv.getUint32(s + at.tsVal, true), echo: dv.getUint32(s + at.tsEcr, true) }
          : null,
        sack,
      },
      ttl: u8[s + at.ttl]!,
      ipId: dv.getUint16(s + at.ipId, true),
      dontFragment: u8[s + at.dontFragment] !== 0,
      tos: u8[s + at.tos]!,
      flowLabel: dv.getUint32(s + at.flowLabel, true),
      ipHeaderLength: dv.getUint16(s + at.ipHeaderLen, true),
      tcpHeaderLength: dv.getUint16(s + at.tcpHeaderLen, true),
      payloadOffset,
      payloadLength,
      payload: bytes.subarray(payloadOffset, payloadOffset + payloadLength),
    };
  }

  encodePacket(fields: PacketFields): Uint8Array {
    validateObject(fields, "fields");
    const src = addressField("src", fields.src);
    const dst = addressField("dst", fields.dst);
    if (src.length !== dst.length) invalidValue("fields.dst", fields.dst, "must be of the same IP version as fields.src");
    const v6 = src.length === 16;
    const payload = fields.payload ?? new Uint8Array(0);
    validateUint8Array(payload, "fields.payload");
    const opts = optionsObject(fields.options, "fields.options");
    const sack = opts.sack ?? [];
    if (!Array.isArray(sack)) invalidType("fields.options.sack", "an array of [left, right] pairs", sack);
    if (sack.length > 4) invalidValue("fields.options.sack", sack, "must hold at most 4 blocks");
    const optionBytes = optionsLength(opts, sack.length);
    if (optionBytes > MAX_OPTIONS_BYTES) {
      invalidValue("fields.options", opts, `need ${optionBytes} bytes, more than the ${MAX_OPTIONS_BYTES} a TCP header holds`);
    }
    if (v6) {
      if (fields.ipId !== undefined && fields.ipId !== 0) invalidValue("fields.ipId", fields.ipId, "is IPv4 only");
      if (fields.dontFragment) invalidValue("fields.dontFragment", fields.dontFragment, "is IPv4 only");
    } else if (fields.flowLabel !== undefined && fields.flowLabel !== 0) {
      invalidValue("fields.flowLabel", fields.flowLabel, "is IPv6 only");
    }

    const dv = this.views.dv;
    const u8 = this.views.u8;
    const s = this.seg;
    const at = this.at;
    u8.fill(0, s, s + at.size);
    u8[s + at.ipVersion] = v6 ? 6 : 4;
    u8[s + at.ipProto] = 6;
    u8[s + at.ttl] = checkInt("fields.ttl", fields.ttl ?? 64, 0, 255);
    u8[s + at.tos] = checkInt("fields.tos", fields.tos ?? 0, 0, 255);
    dv.setUint16(s + at.ipId, checkInt("fields.ipId", fields.ipId ?? 0, 0, 0xffff), true);
    u8[s + at.dontFragment] = checkBool("fields.dontFragment", fields.dontFragment ?? !v6) ? 1 : 0;
    dv.setUint32(s + at.flowLabel, checkInt("fields.flowLabel", fields.flowLabel ?? 0, 0, 0xfffff), true);
    u8.set(src, s + at.srcA);
    u8.set(dst, s + at.dstA);
    dv.setUint16(s + at.srcPort, checkInt("fields.srcPort", fields.srcPort, 0, 0xffff), true);
    dv.setUint16(s + at.dstPort, checkInt("fields.dstPort", fields.dstPort, 0, 0xffff), true);
    dv.setUint32(s + at.seq, checkInt("fields.seq", fields.seq ?? 0, 0, 0xffffffff), true);
    dv.setUint32(s + at.ack, checkInt("fields.ack", fields.ack ?? 0, 0, 0xffffffff), true);
    dv.setUint16(s + at.flags, flagsToBits(fields.flags ?? 0), true);
    dv.setUint16(s + at.window, checkInt("fields.window", fields.window ?? 65535, 0, 0xffff), true);
    dv.setUint16(s + at.urgent, checkInt("fields.urgent", fields.urgent ?? 0, 0, 0xffff), true);
    dv.setUint16(s + at.mss, opts.mss == null ? 0 : checkInt("fields.options.mss", opts.mss, 1, 0xffff), true);
    dv.setInt8(s + at.wscale, opts.wscale == null ? -1 : checkInt("fields.options.wscale", opts.wscale, 0, 14));
    u8[s + at.sackPermitted] = checkBool("fields.options.sackPermitted", opts.sackPermitted ?? false) ? 1 : 0;
    if (opts.timestamps != null) {
      if (typeof opts.timestamps !== "object" || opts.timestamps === null) invalidType("fields.options.timestamps", "an object { value, echo }", opts.timestamps);
      u8[s + at.hasTimestamps] = 1;
      dv.setUint32(s + at.tsVal, checkInt("fields.options.timestamps.value", opts.timestamps.value, 0, 0xffffffff), true);
      dv.setUint32(s + at.tsEcr, checkInt("fields.options.timestamps.echo", opts.timestamps.echo, 0, 0xffffffff), true);
    }
    u8[s + at.sackCount] = sack.length;
    sack.forEach((block, i) => {
      if (!Array.isArray(block) || block.length !== 2) invalidType(`fields.options.sack[${i}]`, "a [left, right] pair", block);
      dv.setUint32(s + at.sackL0 + 8 * i, checkInt(`fields.options.sack[${i}][0]`, block[0], 0, 0xffffffff), true);
      dv.setUint32(s + at.sackL0 + 8 * i + 4, checkInt(`fields.options.sack[${i}][1]`, block[1], 0, 0xffffffff), true);
    });

    const headers = this.core.headersLen(s);
    const ipPayload = headers - (v6 ? 40 : 0) + payload.length;
    if (ipPayload > 0xffff) outOfRange("fields.payload.length", "small enough for one IP packet (65535 bytes)", payload.length);
    if (headers + payload.length > this.scratchSize) {
      outOfRange("fields.payload.length", `<= ${this.scratchSize - headers} (the scratch region)`, payload.length);
    }
    this.core.emitHeaders(this.scratch, s, payload.length);
    this.views.u8.set(payload, this.scratch + headers);
    this.core.finishChecksums(this.scratch, headers + payload.length);
    return this.views.u8.slice(this.scratch, this.scratch + headers + payload.length);
  }
}

/** Option bytes the core's writeOptions emits (assembly/wire/tcp.ts optionsLen), unclamped. */
function optionsLength(opts: Partial<TcpOptions>, sackBlocks: number): number {
  let n = 0;
  if (opts.mss != null) n += 4;
  if (opts.timestamps != null) n += 12;
  else if (opts.sackPermitted) n += 4;
  if (opts.wscale != null) n += 4;
  if (sackBlocks > 0) n += 4 + 8 * sackBlocks;
  return n;
}

function flagsToBits(flags: number | Partial<TcpFlags>): number {
  if (typeof flags === "number") return checkInt("fields.flags", flags, 0, 0x1ff);
  if (typeof flags !== "object" || flags === null) invalidType("fields.flags", "a number or an object of booleans", flags);
  let bits = 0;
  for (const name of Object.keys(flags)) {
    const entry = FLAG_BITS.find(([n]) => n === name);
    if (!entry) invalidValue(`fields.flags.${name}`, flags[name as keyof TcpFlags], "is not a TCP flag");
    if (checkBool(`fields.flags.${name}`, flags[name as keyof TcpFlags])) bits |= entry[1];
  }
  return bits;
}

function checkInt(name: string, value: unknown, min: number, max: number): number {
  validateInteger(value, name, min, max);
  return value;
}

function checkBool(name: string, value: unknown): boolean {
  validateBoolean(value, name);
  return value;
}

function addressField(name: string, text: unknown): Uint8Array {
  if (typeof text !== "string") invalidType(`fields.${name}`, "of type string (an IPv4 or IPv6 address)", text);
  return parseAddress(text)?.bytes ?? invalidValue(`fields.${name}`, text, "must be an IPv4 or IPv6 address");
}

export { formatIpv4, formatIpv6, parseIpv4, parseIpv6 };
export { REASON_NAMES, reasonName, type ReasonName } from "./reasons.js";

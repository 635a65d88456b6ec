// DNS messages (RFC 1035 4): the header, questions and resource records, parsed from untrusted bytes
// and built with name compression. Parsing never throws: bad input is a refusal with a named reason,
// because every byte of a query or a response comes from the network. Building throws a TcpwasmError
// for names and addresses the caller got wrong. Sans-I/O: no sockets, no clock.
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from "../core/address.js";
import { invalidValue } from "../core/validate.js";

/** Record and query types this module gives meaning to (RFC 1035 3.2.2, RFC 3596 2.1, RFC 6891 6.1.1). */
export const DnsType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41, ANY: 255 } as const;

/** The Internet class (RFC 1035 3.2.4). */
export const DNS_CLASS_IN = 1;

/** Response codes (RFC 1035 4.1.1; BADVERS is RFC 6891 9, carried in the OPT record's upper bits). */
export const DnsRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;

/** The classic UDP payload limit without EDNS0 (RFC 1035 4.2.1). */
export const DNS_UDP_LIMIT = 512;

/** Why bytes are not a DNS message. */
export type DnsRefusal =
  /** Fewer than the 12 bytes of a header (RFC 1035 4.1.1). */
  | "short-header"
  /** A name, question or record runs past the end: a cut message, or counts beyond the data. */
  | "truncated"
  /** A compression pointer at or after itself (RFC 1035 4.1.4 pointers only reach prior data). */
  | "forward-pointer"
  /** A pointer to the very octet it sits at: the shortest loop. */
  | "pointer-loop"
  /** More compression hops than a 255-octet name can need. */
  | "pointer-hops"
  /** A label length byte starting 01 or 10 (RFC 1035 4.1.4 reserves them; RFC 6891 5 retired 01). */
  | "label-type"
  /** A name longer than 255 octets on the wire (RFC 1035 2.3.4). */
  | "name-too-long"
  /** An A record without 4 octets of data, an AAAA record without 16 (RFC 1035 3.4.1, RFC 3596 2.2). */
  | "rdata-length"
  /** A name in CNAME, PTR or NS data that does not end where the data does. */
  | "rdata-name"
  /** Octets after the last record the counts announce. */
  | "trailing-bytes";

/** A question (RFC 1035 4.1.2). Names are text: labels joined by ".", no trailing dot, "" the root. */
export interface DnsQuestion {
  /** The name asked about (escapes as in RFC 1035 5.1: "\\." a dot inside a label, "\\DDD" an octet). */
  name: string;
  /** The query type (DnsType: A 1, AAAA 28, PTR 12, ...). */
  type: number;
  /** The query class (1, IN). */
  class: number;
}

/**
 * A resource record (RFC 1035 4.1.3). `data` is the address text for A and AAAA, the domain name for
 * CNAME, PTR and NS, and the raw RDATA octets for every other type (OPT included).
 */
export interface DnsRecord {
  /** The owner name ("" for the root, as in an OPT record). */
  name: string;
  /** The record type (DnsType). */
  type: number;
  /** The class; in an OPT record the requestor's UDP payload size (RFC 6891 6.1.2). */
  class: number;
  /** Seconds; in an OPT record the extended rcode, version and flags (RFC 6891 6.1.3). */
  ttl: number;
  /** Address text (A, AAAA), a domain name (CNAME, PTR, NS) or the RDATA octets (any other type). */
  data: string | Uint8Array;
}

/** A DNS message (RFC 1035 4.1). */
export interface DnsMessage {
  /** The ID that pairs a response with its query (0..65535). */
  id: number;
  /** A response (true) or a query. */
  qr: boolean;
  /** The kind of query: 0 QUERY; others (IQUERY 1, STATUS 2, NOTIFY 4, UPDATE 5) are not answered. */
  opcode: number;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated: the answer did not fit (RFC 1035 4.2.1). */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** Authentic data (RFC 4035 3.2.3). */
  ad: boolean;
  /** Checking disabled (RFC 4035 3.2.2). */
  cd: boolean;
  /** The low 4 bits of the response code. */
  rcode: number;
  /** The question section (exactly one in practice, RFC 9619). */
  questions: DnsQuestion[];
  /** The answer section. */
  answers: DnsRecord[];
  /** The authority section (an SOA for negative answers, RFC 2308 3). */
  authorities: DnsRecord[];
  /** The additional section, the OPT pseudo-record included (RFC 6891 6.1.1). */
  additionals: DnsRecord[];
}

/** The parse result: a message, or why the bytes are not one (with the id when the header was there). */
export type DnsParseResult = { ok: true; message: DnsMessage } | { ok: false; reason: DnsRefusal; id?: number };

/**
 * The most pointers one name may follow. Backward-only pointers already end every walk, but a chain of
 * pointers to pointers adds no octet to the name, so the 255-octet limit does not bound it; a real name
 * needs at most one pointer per label, and 127 labels fill 255 octets.
 */
const MAX_HOPS = 127;

class Refused {
  constructor(readonly reason: DnsRefusal) {}
}

/** Parses a DNS message; never throws. */
export function parseDnsMessage(bytes: Uint8Array): DnsParseResult {
  if (bytes.length < 12) return { ok: false, reason: "short-header" };
  const id = (bytes[0] << 8) | bytes[1];
  const result = parseBody(bytes);
  return result instanceof Refused ? { ok: false, reason: result.reason, id } : { ok: true, message: result };
}

function parseBody(b: Uint8Array): DnsMessage | Refused {
  const flags = (b[2] << 8) | b[3];
  const counts = [(b[4] << 8) | b[5], (b[6] << 8) | b[7], (b[8] << 8) | b[9], (b[10] << 8) | b[11]];
  const message: DnsMessage = {
    id: (b[0] << 8) | b[1],
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  const cursor = { at: 12 };
  // Each question takes at least 5 octets and each record 11, so the loops end with the data however
  // large the counts claim to be.
  for (let i = 0; i < counts[0]; i++) {
    const name = readName(b, cursor);
    if (name instanceof Refused) return name;
    if (cursor.at + 4 > b.length) return new Refused("truncated");
    message.questions.push({ name, type: u16(b, cursor.at), class: u16(b, cursor.at + 2) });
    cursor.at += 4;
  }
  const sections = [message.answers, message.authorities, message.additionals];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const record = readRecord(b, cursor);
      if (record instanceof Refused) return record;
      sections[s].push(record);
    }
  }
  if (cursor.at !== b.length) return new Refused("trailing-bytes");
  return message;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function readRecord(b: Uint8Array, cursor: { at: number }): DnsRecord | Refused {
  const name = readName(b, cursor);
  if (name instanceof Refused) return name;
  const at = cursor.at;
  if (at + 10 > b.length) return new Refused("truncated");
  const type = u16(b, at);
  const klass = u16(b, at + 2);
  const ttl = ((b[at + 4] << 24) | (b[at + 5] << 16) | (b[at + 6] << 8) | b[at + 7]) >>> 0;
  const length = u16(b, at + 8);
  const start = at + 10;
  const end = start + length;
  if (end > b.length) return new Refused("truncated");
  cursor.at = end;
  let data: string | Uint8Array;
  if (type === DnsType.A) {
    if (length !== 4) return new Refused("rdata-length");
    data = formatIpv4(b.subarray(start, end));
  } else if (type === DnsType.AAAA) {
    if (length !== 16) return new Refused("rdata-length");
    data = formatIpv6(b.subarray(start, end));
  } else if (type === DnsType.CNAME || type === DnsType.PTR || type === DnsType.NS) {
    // The name may point back into the message (RFC 1035 4.1.4), but must not run past the RDATA.
    const inner = { at: start };
    const target = readName(b.subarray(0, end), inner);
    if (target instanceof Refused) return target.reason === "truncated" ? new Refused("rdata-name") : target;
    if (inner.at !== end) return new Refused("rdata-name");
    data = target;
  } else {
    data = b.slice(start, end);
  }
  return { name, type, class: klass, ttl, data };
}

/**
 * Reads a possibly compressed name at cursor.at and moves the cursor past its in-place part. Pointers
 * must point strictly backwards (RFC 1035 4.1.4 "a prior occurrence"), which alone rules out loops;
 * the hop limit and the 255-octet limit (RFC 1035 2.3.4) bound the work regardless.
 */
function readName(b: Uint8Array, cursor: { at: number }): string | Refused {
  let at = cursor.at;
  let jumped = false;
  let hops = 0;
  let wire = 0;
  let text = "";
  for (;;) {
    if (at >= b.length) return new Refused("truncated");
    const len = b[at];
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 1 >= b.length) return new Refused("truncated");
      const target = ((len & 0x3f) << 8) | b[at + 1];
      if (target === at) return new Refused("pointer-loop");
      if (target > at) return new Refused("forward-pointer");
      if (++hops > MAX_HOPS) return new Refused("pointer-hops");
      if (!jumped) cursor.at = at + 2;
      jumped = true;
      at = target;
      continue;
    }
    if (kind !== 0) return new Refused("label-type");
    wire += len + 1;
    if (wire > 255) return new Refused("name-too-long");
    if (len === 0) {
      if (!jumped) cursor.at = at + 1;
      return text;
    }
    if (at + 1 + len > b.length) return new Refused("truncated");
    if (text.length > 0) text += ".";
    text += labelText(b, at + 1, len);
    at += 1 + len;
  }
}

/** A label as text: "." and "\" escaped with "\", octets outside printable ASCII as "\DDD" (RFC 1035 5.1). */
function labelText(b: Uint8Array, from: number, len: number): string {
  let out = "";
  for (let i = from; i < from + len; i++) {
    const c = b[i];
    if (c === 0x2e || c === 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c > 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += "\\" + String(c).padStart(3, "0");
  }
  return out;
}

/** A name's labels as octets, from the text form labelText gives; null when it is no valid name. */
export function nameLabels(name: string): Uint8Array[] | null {
  const text = withoutRootDot(name);
  if (text === "") return [];
  const labels: Uint8Array[] = [];
  let current: number[] = [];
  let wire = 1;
  for (let i = 0; i <= text.length; i++) {
    if (i === text.length || text[i] === ".") {
      if (current.length === 0 || current.length > 63) return null;
      wire += current.length + 1;
      labels.push(Uint8Array.from(current));
      current = [];
      continue;
    }
    let c = text.charCodeAt(i);
    if (c > 0x7e) return null;
    if (c === 0x5c) {
      const digits = /^[0-9]{3}/.exec(text.slice(i + 1, i + 4));
      if (digits) {
        c = Number(digits[0]);
        if (c > 255) return null;
        i += 3;
      } else {
        if (i + 1 >= text.length) return null;
        c = text.charCodeAt(++i);
      }
    }
    current.push(c);
  }
  return wire > 255 ? null : labels;
}

/** The name without the dot that stands for the root: a final "." that no odd run of "\\" escapes. */
function withoutRootDot(name: string): string {
  if (!name.endsWith(".")) return name;
  let slashes = 0;
  for (let i = name.length - 2; i >= 0 && name[i] === "\\"; i--) slashes++;
  return slashes % 2 === 0 ? name.slice(0, -1) : name;
}

/** Names compare without regard to ASCII case (RFC 1035 2.3.3, RFC 4343). */
export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/**
 * A name in one spelling for keys and comparisons: ASCII lower case, no root dot, every octet written
 * the one way labelText writes it ("\\065" and "A" are both "a").
 */
export function canonicalName(name: string): string {
  const labels = nameLabels(name);
  if (labels === null) return withoutRootDot(name).replace(/[A-Z]/g, (c) => c.toLowerCase());
  return labels.map((l) => labelText(l.map((c) => (c >= 0x41 && c <= 0x5a ? c + 32 : c)), 0, l.length)).join(".");
}

/** The requestor's UDP payload size from an OPT record (RFC 6891 6.2.3), or undefined without one. */
export function ednsUdpSize(message: DnsMessage): number | undefined {
  const opt = message.additionals.find((r) => r.type === DnsType.OPT);
  return opt ? opt.class : undefined;
}

/** Options for encodeDnsMessage. */
export interface DnsEncodeOptions {
  /**
   * The most octets the message may take (a UDP limit: 512, or an EDNS0 payload size). Records that
   * do not fit are left out whole: a cut answer or authority section sets TC (RFC 1035 4.2.1, RFC 2181
   * 9); a cut additional section does not. OPT records are always kept. Default: no limit (TCP).
   */
  maxSize?: number;
}

class Writer {
  bytes = new Uint8Array(512);
  length = 0;
  /** Suffix text -> offset of its first occurrence, for compression (RFC 1035 4.1.4). */
  suffixes = new Map<string, number>();

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  u8(v: number): void {
    this.reserve(1);
    this.bytes[this.length++] = v;
  }
  u16(v: number): void {
    this.reserve(2);
    this.bytes[this.length++] = v >>> 8;
    this.bytes[this.length++] = v;
  }
  u32(v: number): void {
    this.u16(v >>> 16);
    this.u16(v & 0xffff);
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }
  name(name: string, what: string): void {
    const labels = nameLabels(name) ?? invalidValue(what, name, "must be a domain name (labels of 1 to 63 octets, at most 255 in all)");
    const keys: string[] = [];
    let key = "";
    for (let i = labels.length - 1; i >= 0; i--) {
      key = key === "" ? labelKey(labels[i]) : `${labelKey(labels[i])}.${key}`;
      keys.unshift(key);
    }
    for (let i = 0; i < labels.length; i++) {
      const known = this.suffixes.get(keys[i]);
      if (known !== undefined) {
        this.u16(0xc000 | known);
        return;
      }
      // Pointers have 14 bits: suffixes beyond 16 KiB are written out, not remembered.
      if (this.length < 0x4000) this.suffixes.set(keys[i], this.length);
      this.u8(labels[i].length);
      this.raw(labels[i]);
    }
    this.u8(0);
  }
  /** Forgets everything written from `length` on (a record that did not fit). */
  rewind(length: number): void {
    this.length = length;
    for (const [key, offset] of this.suffixes) if (offset >= length) this.suffixes.delete(key);
  }
}

/** A label as a key: exact case, because compression must not change how a name is spelled (RFC 4343 4.1). */
function labelKey(label: Uint8Array): string {
  let out = "";
  for (const c of label) out += String.fromCharCode(c).replace(/[.\\]/, "\\$&");
  return out;
}

/** Builds a DNS message; a partial header defaults to zeros and false. */
export function encodeDnsMessage(message: Partial<DnsMessage>, options: DnsEncodeOptions = {}): Uint8Array {
  const w = new Writer();
  const questions = message.questions ?? [];
  const sections = [message.answers ?? [], message.authorities ?? []];
  const additionals = message.additionals ?? [];
  const opts = additionals.filter((r) => r.type === DnsType.OPT);
  const extra = additionals.filter((r) => r.type !== DnsType.OPT);
  w.u16((message.id ?? 0) & 0xffff);
  w.u16(0); // flags, written once truncation is known
  w.u16(questions.length);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  questions.forEach((q, i) => {
    w.name(q.name, `message.questions[${i}].name`);
    w.u16(q.type);
    w.u16(q.class);
  });
  let optSize = 0;
  for (const r of opts) optSize += 11 + (r.data instanceof Uint8Array ? r.data.length : 0);
  const limit = options.maxSize === undefined ? Infinity : options.maxSize - optSize;
  let tc = message.tc ?? false;
  const written = [0, 0, 0];
  let full = w.length > limit;
  if (full) tc = true;
  const names = ["answers", "authorities"];
  for (let s = 0; s < 2 && !full; s++) {
    for (let i = 0; i < sections[s].length; i++) {
      const before = w.length;
      writeRecord(w, sections[s][i], `message.${names[s]}[${i}]`);
      if (w.length > limit) {
        w.rewind(before);
        full = true;
        tc = true;
        break;
      }
      written[s]++;
    }
  }
  // RFC 2181 9: additional data that does not fit is dropped without setting TC.
  for (let i = 0; i < extra.length && !full; i++) {
    const before = w.length;
    writeRecord(w, extra[i], `message.additionals[${i}]`);
    if (w.length > limit) {
      w.rewind(before);
      break;
    }
    written[2]++;
  }
  opts.forEach((r, i) => writeRecord(w, r, `message.additionals[opt ${i}]`));
  written[2] += opts.length;
  const flags =
    (message.qr ? 0x8000 : 0) |
    (((message.opcode ?? 0) & 0xf) << 11) |
    (message.aa ? 0x0400 : 0) |
    (tc ? 0x0200 : 0) |
    (message.rd ? 0x0100 : 0) |
    (message.ra ? 0x0080 : 0) |
    (message.ad ? 0x0020 : 0) |
    (message.cd ? 0x0010 : 0) |
    ((message.rcode ?? 0) & 0xf);
  const out = w.bytes.slice(0, w.length);
  out[2] = flags >>> 8;
  out[3] = flags & 0xff;
  for (let s = 0; s < 3; s++) {
    out[6 + 2 * s] = written[s] >>> 8;
    out[7 + 2 * s] = written[s] & 0xff;
  }
  return out;
}

function writeRecord(w: Writer, r: DnsRecord, what: string): void {
  w.name(r.name, `${what}.name`);
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl >>> 0);
  const lengthAt = w.length;
  w.u16(0);
  const start = w.length;
  if (r.data instanceof Uint8Array) {
    w.raw(r.data);
  } else if (r.type === DnsType.A) {
    w.raw(parseIpv4(r.data) ?? invalidValue(`${what}.data`, r.data, "must be an IPv4 address"));
  } else if (r.type === DnsType.AAAA) {
    w.raw(parseIpv6(r.data) ?? invalidValue(`${what}.data`, r.data, "must be an IPv6 address"));
  } else if (r.type === DnsType.CNAME || r.type === DnsType.PTR || r.type === DnsType.NS) {
    w.name(r.data, `${what}.data`);
  } else {
    invalidValue(`${what}.data`, r.data, "must be a Uint8Array for this record type");
  }
  const length = w.length - start;
  w.bytes[lengthAt] = length >>> 8;
  w.bytes[lengthAt + 1] = length & 0xff;
}

/** An OPT pseudo-record advertising `udpSize` (RFC 6891 6.1.2), version 0, no options. */
export function optRecord(udpSize: number, extendedRcode = 0): DnsRecord {
  return { name: "", type: DnsType.OPT, class: udpSize, ttl: (extendedRcode & 0xff) * 0x100_0000, data: new Uint8Array(0) };
}

// DHCP messages (RFC 2131 2, 3; RFC 2132): the BOOTP header, the magic cookie and the options a
// server reads from a client, and the builder of the server's replies. Untrusted bytes: parseDhcp
// checks every length before reading it and refuses a message it cannot use with a named reason,
// never a throw. IPv4 addresses are unsigned 32-bit numbers in host order. Browser-safe.

/** BOOTP header fields (RFC 2131 2, figure 1). */
const OP = 0;
const HTYPE = 1;
const HLEN = 2;
const HOPS = 3;
const XID = 4;
const SECS = 8;
const FLAGS = 10;
const CIADDR = 12;
const YIADDR = 16;
const SIADDR = 20;
const GIADDR = 24;
const CHADDR = 28;
const COOKIE = 236;
const OPTIONS = 240;

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 2: the leftmost bit of `flags`, the client cannot take unicast before it has an address. */
export const FLAG_BROADCAST = 0x8000;
/** RFC 2131 3: 99.130.83.99. */
const MAGIC_COOKIE = 0x63825363;
/** RFC 1542 2.1: a relay may drop a BOOTP message shorter than 300 octets, so replies are padded. */
const MIN_REPLY = 300;
/** RFC 2131 2: a client must accept 576-octet IP datagrams; less the IP (20) and UDP (8) headers. */
export const MIN_MESSAGE = 576 - 28;

/** RFC 2131 3.1 and RFC 2132 9.6: option 53's values. */
export const DhcpType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** Option codes (RFC 2132). */
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  INTERFACE_MTU: 26,
  BROADCAST_ADDRESS: 28,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MAX_MESSAGE_SIZE: 57,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

/** Why a message was refused; each is a counter of the server's `malformed`. */
export type DhcpRefusal =
  /** Shorter than the fixed header and the magic cookie (240 octets). */
  | "truncated"
  /** op is not BOOTREQUEST: a server's reply, or nonsense. */
  | "not-request"
  /** htype/hlen other than Ethernet (1) with 6-octet addresses. */
  | "bad-hardware"
  /** The four octets after the header are not RFC 2131 3's magic cookie. */
  | "bad-cookie"
  /** An option's length runs past the end of the message. */
  | "option-overrun"
  /** A fixed-size option (53, 50, 54, 57) with the wrong length, or an empty variable one. */
  | "bad-option-length"
  /** The same option twice: RFC 3396 concatenation is not supported. */
  | "duplicate-option"
  /** Option 52: options in the sname/file fields are not read, so the message is refused whole. */
  | "overload"
  /** No option 53: a BOOTP client, which this server does not serve. */
  | "missing-type"
  /** Option 53 names no message a client sends (OFFER, ACK, NAK, or an unknown type). */
  | "bad-type"
  /** A REQUEST that fits none of RFC 2131 4.3.2's client states, a DECLINE without an address, a RELEASE or INFORM without ciaddr. */
  | "bad-request";

/** What a server reads from a client's message. */
export interface DhcpMessage {
  /** Option 53. */
  type: number;
  /** Transaction id, copied into the reply. */
  xid: number;
  /** Seconds since the client began (RFC 2131 2). */
  secs: number;
  /** The flags field; FLAG_BROADCAST is the only defined bit. */
  flags: number;
  /** The client's address, when it has one (RENEWING, REBINDING, INFORM, RELEASE), else 0. */
  ciaddr: number;
  /** The relay agent's address, or 0 for a client on the server's own link. */
  giaddr: number;
  /** The client's 6-octet hardware address (a copy). */
  chaddr: Uint8Array;
  /** Option 50, or -1. */
  requestedIp: number;
  /** Option 54, or -1. */
  serverId: number;
  /** Option 55 (a copy), or null. */
  parameterRequestList: Uint8Array | null;
  /** Option 61 (a copy), or null. */
  clientId: Uint8Array | null;
  /** Option 57, or 0. */
  maxMessageSize: number;
  /** Option 12 as Latin-1 text, or null. */
  hostname: string | null;
}

export type DhcpParse = { ok: true; message: DhcpMessage } | { ok: false; reason: DhcpRefusal };

const refuse = (reason: DhcpRefusal): DhcpParse => ({ ok: false, reason });

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** RFC 2132: the options the server reads, each with its fixed length (0: variable, at least 1 octet). */
// Pure for a bundler (reading a property is not, to it): a page that serves no DHCP does not keep it.
const READ: readonly number[] = /* @__PURE__ */ (() => [Opt.MESSAGE_TYPE, Opt.REQUESTED_IP, Opt.SERVER_ID, Opt.MAX_MESSAGE_SIZE, Opt.OVERLOAD, Opt.PARAMETER_REQUEST_LIST, Opt.CLIENT_ID, Opt.HOSTNAME])();
const READ_LENGTH: readonly number[] = [1, 4, 4, 2, 1, 0, 0, 0];
/** Option code to its index in READ (and its bit in the seen mask), -1 for options the server skips. */
const READ_INDEX = /* @__PURE__ */ (() => {
  const index = new Int8Array(256).fill(-1);
  READ.forEach((code, i) => (index[code] = i));
  return index;
})();

/** A client's message, or the reason it is refused. */
export function parseDhcp(b: Uint8Array): DhcpParse {
  if (b.length < OPTIONS) return refuse("truncated");
  if (b[OP] !== BOOTREQUEST) return refuse("not-request");
  if (b[HTYPE] !== 1 || b[HLEN] !== 6) return refuse("bad-hardware");
  if (u32(b, COOKIE) !== MAGIC_COOKIE) return refuse("bad-cookie");
  const m: DhcpMessage = {
    type: 0,
    xid: u32(b, XID),
    secs: u16(b, SECS),
    flags: u16(b, FLAGS),
    ciaddr: u32(b, CIADDR),
    giaddr: u32(b, GIADDR),
    chaddr: b.slice(CHADDR, CHADDR + 6),
    requestedIp: -1,
    serverId: -1,
    parameterRequestList: null,
    clientId: null,
    maxMessageSize: 0,
    hostname: null,
  };
  let seen = 0;
  // RFC 2132 2: pad (0) and end (255) are one octet; every other option is code, length, data.
  // A message that stops without an end option is read up to its last whole option.
  for (let at = OPTIONS; at < b.length; ) {
    const code = b[at]!;
    if (code === Opt.PAD) {
      at++;
      continue;
    }
    if (code === Opt.END) break;
    if (at + 2 > b.length) return refuse("option-overrun");
    const length = b[at + 1]!;
    const data = at + 2;
    if (data + length > b.length) return refuse("option-overrun");
    at = data + length;
    const index = READ_INDEX[code]!;
    if (index < 0) continue;
    const fixed = READ_LENGTH[index]!;
    if (fixed === 0 ? length === 0 : length !== fixed) return refuse("bad-option-length");
    const bit = 1 << index;
    if (seen & bit) return refuse("duplicate-option");
    seen |= bit;
    switch (code) {
      case Opt.OVERLOAD:
        return refuse("overload");
      case Opt.MESSAGE_TYPE:
        m.type = b[data]!;
        break;
      case Opt.REQUESTED_IP:
        m.requestedIp = u32(b, data);
        break;
      case Opt.SERVER_ID:
        m.serverId = u32(b, data);
        break;
      case Opt.MAX_MESSAGE_SIZE:
        m.maxMessageSize = u16(b, data);
        break;
      case Opt.PARAMETER_REQUEST_LIST:
        m.parameterRequestList = b.slice(data, data + length);
        break;
      case Opt.CLIENT_ID:
        m.clientId = b.slice(data, data + length);
        break;
      case Opt.HOSTNAME:
        m.hostname = String.fromCharCode(...b.subarray(data, data + length));
        break;
    }
  }
  if (m.type === 0) return refuse("missing-type");
  switch (m.type) {
    case DhcpType.DISCOVER:
    case DhcpType.REQUEST:
    case DhcpType.DECLINE:
    case DhcpType.RELEASE:
    case DhcpType.INFORM:
      return { ok: true, message: m };
    default:
      return refuse("bad-type");
  }
}

/** A reply's header fields and options, in the order they are written. */
export interface DhcpReplyFields {
  /** The request's transaction id. */
  xid: number;
  /** The request's broadcast flag. */
  flags: number;
  /** The client's address as the request gave it (ACK to a renewal, INFORM), else 0. */
  ciaddr: number;
  /** The address given to the client ("your" address), 0 in a NAK or an ACK to INFORM. */
  yiaddr: number;
  /** The next server for bootstrap (RFC 2131 2); 0, none. */
  siaddr: number;
  /** The request's relay agent address. */
  giaddr: number;
  /** The client's hardware address, copied from the request. */
  chaddr: Uint8Array;
  /** [code, data] pairs; each data at most 255 octets. */
  options: ReadonlyArray<readonly [number, Uint8Array]>;
  /** The largest message the client takes (RFC 2132 9.10); options that do not fit are left out. */
  maxSize: number;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/** A BOOTREPLY (RFC 2131 2, 4.3.1 table 3): options in order while they fit, then end, padded to 300 octets. */
export function buildReply(f: DhcpReplyFields): Uint8Array {
  let length = OPTIONS;
  const kept: (readonly [number, Uint8Array])[] = [];
  for (const option of f.options) {
    const next = length + 2 + option[1].length;
    if (next + 1 > f.maxSize) continue;
    kept.push(option);
    length = next;
  }
  const b = new Uint8Array(Math.max(length + 1, MIN_REPLY));
  b[OP] = BOOTREPLY;
  b[HTYPE] = 1;
  b[HLEN] = 6;
  b[HOPS] = 0;
  put32(b, XID, f.xid);
  b[FLAGS] = f.flags >>> 8;
  b[FLAGS + 1] = f.flags;
  put32(b, CIADDR, f.ciaddr);
  put32(b, YIADDR, f.yiaddr);
  put32(b, SIADDR, f.siaddr);
  put32(b, GIADDR, f.giaddr);
  b.set(f.chaddr.subarray(0, 16), CHADDR);
  put32(b, COOKIE, MAGIC_COOKIE);
  let at = OPTIONS;
  for (const [code, data] of kept) {
    b[at] = code;
    b[at + 1] = data.length;
    b.set(data, at + 2);
    at += 2 + data.length;
  }
  b[at] = Opt.END;
  return b;
}

/** Option data: IPv4 addresses, 4 octets each. */
export function addressData(addresses: readonly number[]): Uint8Array {
  const b = new Uint8Array(4 * addresses.length);
  addresses.forEach((a, i) => put32(b, 4 * i, a));
  return b;
}

/** Option data: an unsigned 32-bit number. */
export function u32Data(v: number): Uint8Array {
  const b = new Uint8Array(4);
  put32(b, 0, v);
  return b;
}

/** Option data: an unsigned 16-bit number. */
export function u16Data(v: number): Uint8Array {
  return Uint8Array.of(v >>> 8, v & 0xff);
}

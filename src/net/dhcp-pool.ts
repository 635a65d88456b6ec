// The state machine behind createDhcpServer (src/net/dhcp-server.ts): RFC 2131 4.3's answers to
// DISCOVER, REQUEST, DECLINE, RELEASE and INFORM over a fixed pool, and the reply's destination (RFC
// 2131 4.1). It never reads a clock: `handle(bytes, nowMs)` and `expire(nowMs)` take the time.
//
// State is one slot per pool address in typed arrays indexed by the address's offset in the pool, so
// its size is fixed when the server is made and no client can grow it: a flood of DISCOVERs from
// random MACs only recycles offers (at most `maxOffers` of them, the oldest evicted first). Clients
// are found by their identifier (RFC 2131 4.2: option 61, else chaddr) through a chained hash over
// the same slots. Browser-safe.
import { formatIpv4 } from "../core/address.js";
import { validateNumber, validateUint8Array } from "../core/validate.js";
import { buildReply, DhcpType, FLAG_BROADCAST, MIN_MESSAGE, Opt, parseDhcp, type DhcpMessage, type DhcpRefusal } from "./dhcp-message.js";

/** A reply to send: the UDP payload and its destination (RFC 2131 4.1). */
export interface DhcpReply {
  /** The DHCP message (the UDP payload), at least 300 octets. */
  bytes: Uint8Array;
  /** "OFFER", "ACK" or "NAK". */
  type: "OFFER" | "ACK" | "NAK";
  /** The destination IPv4 address as text: "255.255.255.255", the client's address, or the relay's (giaddr). */
  destinationIp: string;
  /** The destination UDP port: 68 to a client, 67 to a relay agent. */
  destinationPort: 67 | 68;
  /**
   * The destination MAC address: ff:ff:ff:ff:ff:ff when `broadcast`, the client's chaddr for a unicast
   * to a client (which may not answer ARP yet), or null for a relay (resolve its address by ARP).
   */
  destinationMac: Uint8Array | null;
  /** Whether the reply goes to the limited broadcast address. */
  broadcast: boolean;
}

/** The state of one pool address in {@link DhcpServer.leases}. */
export type DhcpLeaseState = "offered" | "leased" | "declined";

/** One pool address in use, as {@link DhcpServer.leases} lists it. */
export interface DhcpLease {
  /** The address, IPv4 text. */
  address: string;
  /** Held for an OFFER, leased by an ACK, or out of use after a DECLINE. */
  state: DhcpLeaseState;
  /** The client's identifier: option 61's octets, or for a client without one 0x01 (Ethernet) and its MAC; null for a declined address. Long identifiers are kept as a 16-octet digest. */
  clientId: Uint8Array | null;
  /** When the offer, lease or decline hold ends, in the caller's milliseconds. */
  expiresAtMs: number;
}

/** What the server has seen and done since it was made. */
export interface DhcpServerCounters {
  /** Messages passed to handle(). */
  received: number;
  /** OFFERs sent. */
  offers: number;
  /** ACKs sent (ACKs to INFORM included). */
  acks: number;
  /** NAKs sent. */
  naks: number;
  /** Addresses taken out of use by a DECLINE. */
  declines: number;
  /** Leases ended by a RELEASE. */
  releases: number;
  /** INFORMs answered. */
  informs: number;
  /** DISCOVERs and REQUESTs left unanswered because no address was free. */
  poolExhausted: number;
  /** REQUESTs for another server (RFC 2131 4.3.2 SELECTING) and for clients this server has no record of, left unanswered. */
  ignored: number;
  /** Offers dropped to make room for newer ones (the `maxOffers` bound). */
  offersEvicted: number;
  /** Refused messages, by reason. */
  malformed: Record<DhcpRefusal, number>;
}

/** A DHCP server, made by createDhcpServer. */
export interface DhcpServer {
  /**
   * Handles one UDP payload a client sent to port 67 at `nowMs` (any monotonic milliseconds; the same
   * clock for every call). Returns the reply to send, or null (nothing to send: refused, ignored, or a
   * DECLINE or RELEASE). Never throws on bad bytes: they are counted in `counters.malformed`; a
   * `bytes` that is no Uint8Array or a `nowMs` that is no finite number is ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE.
   */
  handle(bytes: Uint8Array, nowMs: number): DhcpReply | null;
  /** Ends offers, leases and decline holds due by `nowMs`. handle() does so too for the addresses it touches. */
  expire(nowMs: number): void;
  /** The pool addresses in use at `nowMs`. */
  leases(nowMs: number): DhcpLease[];
  /** A copy of the counters. */
  readonly counters: DhcpServerCounters;
  /** Octets of per-address state (the typed arrays), fixed at creation: 42 per pool address. */
  readonly stateBytes: number;
  /** How many addresses the pool holds. */
  readonly poolSize: number;
}

const FREE = 0;
const OFFERED = 1;
const LEASED = 2;
const DECLINED = 3;
const STATE_NAMES: readonly DhcpLeaseState[] = ["offered", "offered", "leased", "declined"];

/** Client identifiers up to this many octets are kept whole; longer ones as a digest of this size. */
const KEY_BYTES = 16;
const NONE = -1;
const FREE_LIST = 0;
const OFFER_LIST = 1;
const BROADCAST_MAC = /* @__PURE__ */ Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

const REFUSALS: readonly DhcpRefusal[] = [
  "truncated", "not-request", "bad-hardware", "bad-cookie", "option-overrun", "bad-option-length",
  "duplicate-option", "overload", "missing-type", "bad-type", "bad-request",
];

function text(a: number): string {
  return formatIpv4(Uint8Array.of(a >>> 24, a >>> 16, a >>> 8, a));
}

/** @internal What createDhcpServer checked and derived from its options. */
export interface PoolConfig {
  first: number;
  size: number;
  server: number;
  onSubnet: (address: number) => boolean;
  reserved: number[];
  /** Options 1, 3, 6, 15, 26, 28 as [code, data], in the order sent when the client asks for none. */
  configured: [number, Uint8Array][];
  serverId: Uint8Array;
  /** Options 51, 58, 59. */
  leaseTimes: [number, Uint8Array][];
  leaseMs: number;
  offerHoldMs: number;
  maxOffers: number;
  declineHoldMs: number;
}

/** @internal A server over the pool `c` describes. */
export function openPool(c: PoolConfig): DhcpServer {
  return new Pool(c.first, c.size, c.server, c.onSubnet, c.reserved, c.configured, c.serverId, c.leaseTimes, c.leaseMs, c.offerHoldMs, c.maxOffers, c.declineHoldMs);
}

class Pool implements DhcpServer {
  // Per-address state, indexed by offset from `first`.
  readonly #state: Uint8Array;
  /** When the offer, lease or decline ends (caller's ms). */
  readonly #expires: Float64Array;
  /** The owning (or last) client's identifier; #keyLength 0: none. */
  readonly #key: Uint8Array;
  readonly #keyLength: Uint8Array;
  /** Chained hash of owners: bucket heads, and the next slot with a key in the same bucket. */
  readonly #buckets: Int32Array;
  readonly #chain: Int32Array;
  /**
   * Two doubly linked lists through the same links, as a slot is in at most one: the free addresses
   * in the order they were freed (the head is the one unused longest, RFC 2131 4.3.1's choice), and
   * the offers in the order made (which is the order they expire).
   */
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  readonly #head = Int32Array.of(NONE, NONE);
  readonly #tail = Int32Array.of(NONE, NONE);
  readonly #count = Int32Array.of(0, 0);
  #nextLeaseExpiry = Infinity;
  readonly #counters: DhcpServerCounters;
  readonly #scratch = new Uint8Array(KEY_BYTES);
  #scratchLength = 0;

  constructor(
    private readonly first: number,
    readonly poolSize: number,
    private readonly server: number,
    private readonly onSubnet: (a: number) => boolean,
    reserved: number[],
    private readonly configured: [number, Uint8Array][],
    private readonly serverId: Uint8Array,
    private readonly leaseTimes: [number, Uint8Array][],
    private readonly leaseMs: number,
    private readonly offerHoldMs: number,
    private readonly maxOffers: number,
    private readonly declineHoldMs: number,
  ) {
    const n = poolSize;
    this.#state = new Uint8Array(n);
    this.#expires = new Float64Array(n);
    this.#key = new Uint8Array(n * KEY_BYTES);
    this.#keyLength = new Uint8Array(n);
    this.#buckets = new Int32Array(n).fill(NONE);
    this.#chain = new Int32Array(n).fill(NONE);
    this.#prev = new Int32Array(n).fill(NONE);
    this.#next = new Int32Array(n).fill(NONE);
    // Never leased: the server's own address and the reserved ones, held as declined forever.
    this.#state.fill(DECLINED);
    this.#expires.fill(Infinity);
    const never = new Set([server, ...reserved]);
    for (let i = 0; i < n; i++) if (!never.has(first + i)) this.#move(i, FREE);
    const malformed = {} as Record<DhcpRefusal, number>;
    for (const r of REFUSALS) malformed[r] = 0;
    this.#counters = {
      received: 0, offers: 0, acks: 0, naks: 0, declines: 0, releases: 0, informs: 0, poolExhausted: 0, ignored: 0, offersEvicted: 0, malformed,
    };
  }

  get counters(): DhcpServerCounters {
    return { ...this.#counters, malformed: { ...this.#counters.malformed } };
  }

  get stateBytes(): number {
    return [this.#state, this.#expires, this.#key, this.#keyLength, this.#buckets, this.#chain, this.#prev, this.#next]
      .reduce((sum, a) => sum + a.byteLength, 0);
  }

  handle(bytes: Uint8Array, nowMs: number): DhcpReply | null {
    validateUint8Array(bytes, "bytes");
    validateNumber(nowMs, "nowMs");
    this.#counters.received++;
    const parsed = parseDhcp(bytes);
    if (!parsed.ok) return this.#refuse(parsed.reason);
    const m = parsed.message;
    this.#expireOffers(nowMs);
    if (nowMs >= this.#nextLeaseExpiry) this.expire(nowMs);
    this.#clientKey(m);
    switch (m.type) {
      case DhcpType.DISCOVER:
        return this.#discover(m, nowMs);
      case DhcpType.REQUEST:
        return this.#request(m, nowMs);
      case DhcpType.DECLINE:
        return this.#decline(m, nowMs);
      case DhcpType.RELEASE:
        return this.#release(m);
      default:
        return this.#inform(m);
    }
  }

  expire(nowMs: number): void {
    validateNumber(nowMs, "nowMs");
    this.#expireOffers(nowMs);
    let next = Infinity;
    for (let i = 0; i < this.poolSize; i++) {
      const state = this.#state[i]!;
      if (state === LEASED || state === DECLINED) {
        if (this.#expires[i]! <= nowMs) {
          // An ended lease keeps its owner, so the client is offered the same address again
          // (RFC 2131 4.3.1) until another client needs it.
          this.#move(i, FREE);
        } else if (this.#expires[i]! < next) next = this.#expires[i]!;
      }
    }
    this.#nextLeaseExpiry = next;
  }

  leases(nowMs: number): DhcpLease[] {
    this.expire(nowMs);
    const out: DhcpLease[] = [];
    for (let i = 0; i < this.poolSize; i++) {
      const state = this.#state[i]!;
      if (state === FREE || this.#expires[i] === Infinity) continue;
      const length = this.#keyLength[i]!;
      out.push({
        address: text(this.first + i),
        state: STATE_NAMES[state]!,
        clientId: length ? this.#key.slice(i * KEY_BYTES, i * KEY_BYTES + length) : null,
        expiresAtMs: this.#expires[i]!,
      });
    }
    return out;
  }

  #refuse(reason: DhcpRefusal): null {
    this.#counters.malformed[reason]++;
    return null;
  }

  // RFC 2131 4.2: the client is its option 61, else its chaddr (kept as 0x01, the Ethernet hardware
  // type, and the MAC, the form RFC 2132 9.14 suggests for option 61 itself).
  #clientKey(m: DhcpMessage): void {
    const s = this.#scratch;
    s.fill(0);
    if (!m.clientId) {
      s[0] = 1;
      s.set(m.chaddr, 1);
      this.#scratchLength = 7;
    } else if (m.clientId.length <= KEY_BYTES) {
      s.set(m.clientId);
      this.#scratchLength = m.clientId.length;
    } else {
      // A long identifier (a DUID) is kept as a 128-bit digest: four FNV-1a lanes with different seeds.
      for (let lane = 0; lane < 4; lane++) {
        let h = (0x811c9dc5 ^ Math.imul(lane + 1, 0x9e3779b9)) >>> 0;
        for (const byte of m.clientId) h = Math.imul(h ^ byte, 0x01000193);
        s[lane * 4] = h >>> 24;
        s[lane * 4 + 1] = h >>> 16;
        s[lane * 4 + 2] = h >>> 8;
        s[lane * 4 + 3] = h;
      }
      this.#scratchLength = KEY_BYTES;
    }
  }

  #bucketOf(key: Uint8Array, at: number, length: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < length; i++) h = Math.imul(h ^ key[at + i]!, 0x01000193);
    return (h >>> 0) % this.poolSize;
  }

  /** The slot the current client owns, or NONE. */
  #owned(): number {
    const length = this.#scratchLength;
    for (let i = this.#buckets[this.#bucketOf(this.#scratch, 0, length)]!; i !== NONE; i = this.#chain[i]!) {
      if (this.#keyLength[i] === length && this.#sameKey(i)) return i;
    }
    return NONE;
  }

  #sameKey(i: number): boolean {
    const at = i * KEY_BYTES;
    for (let j = 0; j < this.#scratchLength; j++) if (this.#key[at + j] !== this.#scratch[j]) return false;
    return true;
  }

  #ownedByClient(i: number): boolean {
    return this.#keyLength[i] === this.#scratchLength && this.#sameKey(i);
  }

  #unbind(i: number): void {
    const length = this.#keyLength[i]!;
    if (length === 0) return;
    const b = this.#bucketOf(this.#key, i * KEY_BYTES, length);
    if (this.#buckets[b] === i) this.#buckets[b] = this.#chain[i]!;
    else {
      let j = this.#buckets[b]!;
      while (this.#chain[j] !== i) j = this.#chain[j]!;
      this.#chain[j] = this.#chain[i]!;
    }
    this.#chain[i] = NONE;
    this.#keyLength[i] = 0;
  }

  /** Gives slot i to the current client (one slot per client: its other binding is dropped). */
  #bind(i: number): void {
    if (this.#keyLength[i] && this.#ownedByClient(i)) return;
    const previous = this.#owned();
    if (previous !== NONE) {
      if (this.#state[previous] !== DECLINED) this.#move(previous, FREE);
      this.#unbind(previous);
    }
    this.#unbind(i);
    this.#key.set(this.#scratch, i * KEY_BYTES);
    this.#keyLength[i] = this.#scratchLength;
    const b = this.#bucketOf(this.#scratch, 0, this.#scratchLength);
    this.#chain[i] = this.#buckets[b]!;
    this.#buckets[b] = i;
  }

  /** Moves slot i to `state`, keeping the free and offer lists in step. */
  #move(i: number, state: number): void {
    const from = this.#state[i]!;
    if (from === state) return;
    if (from === FREE || from === OFFERED) this.#unlink(from === FREE ? FREE_LIST : OFFER_LIST, i);
    if (state === FREE || state === OFFERED) this.#append(state === FREE ? FREE_LIST : OFFER_LIST, i);
    this.#state[i] = state;
  }

  #append(list: number, i: number): void {
    const tail = this.#tail[list]!;
    this.#prev[i] = tail;
    this.#next[i] = NONE;
    if (tail === NONE) this.#head[list] = i;
    else this.#next[tail] = i;
    this.#tail[list] = i;
    this.#count[list]++;
  }

  #unlink(list: number, i: number): void {
    const prev = this.#prev[i]!;
    const next = this.#next[i]!;
    if (prev === NONE) this.#head[list] = next;
    else this.#next[prev] = next;
    if (next === NONE) this.#tail[list] = prev;
    else this.#prev[next] = prev;
    this.#prev[i] = NONE;
    this.#next[i] = NONE;
    this.#count[list]--;
  }

  /** An offer ends: the address is free again, still remembered for its client. */
  #endOffer(i: number): void {
    this.#move(i, FREE);
  }

  #expireOffers(nowMs: number): void {
    for (let i = this.#head[OFFER_LIST]!; i !== NONE && this.#expires[i]! <= nowMs; i = this.#head[OFFER_LIST]!) this.#endOffer(i);
  }

  /** Whether slot i can go to the current client: free and not remembered for anyone else, or already its own. */
  #availableToClient(i: number): boolean {
    const state = this.#state[i]!;
    if (this.#keyLength[i] && this.#ownedByClient(i)) return state !== DECLINED;
    return state === FREE && this.#keyLength[i] === 0;
  }

  #slotOf(address: number): number {
    const i = address - this.first;
    return i >= 0 && i < this.poolSize ? i : NONE;
  }

  // RFC 2131 4.3.1: the client's current or last address, else the one it asks for if free, else any.
  #discover(m: DhcpMessage, nowMs: number): DhcpReply | null {
    let i = this.#owned();
    if (i === NONE && m.requestedIp >= 0) {
      const asked = this.#slotOf(m.requestedIp);
      if (asked !== NONE && this.#availableToClient(asked)) i = asked;
    }
    if (i === NONE) i = this.#head[FREE_LIST]!;
    if (i === NONE && this.#head[OFFER_LIST] !== NONE) {
      // No free address: the oldest offer is worth less than a client asking now.
      i = this.#head[OFFER_LIST]!;
      this.#counters.offersEvicted++;
    }
    if (i === NONE) {
      this.#counters.poolExhausted++;
      return null;
    }
    if (this.#state[i] !== LEASED) {
      this.#bind(i);
      // Re-offering moves the offer to the back of the list: its hold starts again.
      if (this.#state[i] === OFFERED) this.#move(i, FREE);
      if (this.#count[OFFER_LIST]! >= this.maxOffers) {
        this.#endOffer(this.#head[OFFER_LIST]!);
        this.#counters.offersEvicted++;
      }
      this.#move(i, OFFERED);
      this.#expires[i] = nowMs + this.offerHoldMs;
    }
    this.#counters.offers++;
    return this.#reply(m, DhcpType.OFFER, this.first + i, true);
  }

  // RFC 2131 4.3.2: which state the client is in follows from option 54, option 50 and ciaddr.
  #request(m: DhcpMessage, nowMs: number): DhcpReply | null {
    if (m.serverId >= 0) {
      // SELECTING: the client answers one OFFER; a REQUEST naming another server frees ours.
      if (m.serverId !== this.server) {
        const i = this.#owned();
        if (i !== NONE && this.#state[i] === OFFERED) this.#endOffer(i);
        this.#counters.ignored++;
        return null;
      }
      if (m.requestedIp < 0 || m.ciaddr !== 0) return this.#refuse("bad-request");
      const i = this.#slotOf(m.requestedIp);
      if (i === NONE || !this.#availableToClient(i)) return this.#nak(m);
      return this.#commit(m, i, nowMs);
    }
    if (m.requestedIp >= 0) {
      // INIT-REBOOT: a wrong network gets a NAK; an address this server has no record of for the
      // client gets silence (another server may know it).
      if (m.ciaddr !== 0) return this.#refuse("bad-request");
      if (!this.onSubnet(m.requestedIp)) return this.#nak(m);
      const i = this.#slotOf(m.requestedIp);
      if (i !== NONE && this.#keyLength[i] && this.#ownedByClient(i) && this.#state[i] !== DECLINED) return this.#commit(m, i, nowMs);
      if (i !== NONE && this.#keyLength[i]) return this.#nak(m);
      this.#counters.ignored++;
      return null;
    }
    if (m.ciaddr === 0) return this.#refuse("bad-request");
    // RENEWING (unicast) or REBINDING (broadcast): extend the client's lease on ciaddr.
    const i = this.#slotOf(m.ciaddr);
    if (i !== NONE && this.#keyLength[i] && this.#ownedByClient(i) && this.#state[i] !== DECLINED) return this.#commit(m, i, nowMs);
    if (i !== NONE && this.#keyLength[i]) return this.#nak(m);
    this.#counters.ignored++;
    return null;
  }

  #commit(m: DhcpMessage, i: number, nowMs: number): DhcpReply {
    this.#bind(i);
    this.#move(i, LEASED);
    const end = nowMs + this.leaseMs;
    this.#expires[i] = end;
    if (end < this.#nextLeaseExpiry) this.#nextLeaseExpiry = end;
    this.#counters.acks++;
    return this.#reply(m, DhcpType.ACK, this.first + i, true);
  }

  // RFC 2131 4.3.3: the address is in use by someone else; keep it out of the pool for a while.
  #decline(m: DhcpMessage, nowMs: number): null {
    if (m.requestedIp < 0) return this.#refuse("bad-request");
    if (m.serverId >= 0 && m.serverId !== this.server) {
      this.#counters.ignored++;
      return null;
    }
    const i = this.#slotOf(m.requestedIp);
    if (i === NONE || !this.#keyLength[i] || !this.#ownedByClient(i) || this.#state[i] === DECLINED) {
      this.#counters.ignored++;
      return null;
    }
    this.#unbind(i);
    this.#move(i, DECLINED);
    const end = nowMs + this.declineHoldMs;
    this.#expires[i] = end;
    if (end < this.#nextLeaseExpiry) this.#nextLeaseExpiry = end;
    this.#counters.declines++;
    return null;
  }

  // RFC 2131 4.3.4: the address is free; the client stays remembered for it.
  #release(m: DhcpMessage): null {
    if (m.ciaddr === 0) return this.#refuse("bad-request");
    const i = this.#slotOf(m.ciaddr);
    if (i === NONE || this.#state[i] !== LEASED || !this.#keyLength[i] || !this.#ownedByClient(i)) {
      this.#counters.ignored++;
      return null;
    }
    this.#move(i, FREE);
    this.#counters.releases++;
    return null;
  }

  // RFC 2131 4.3.5: configuration only, no address and no lease time, sent to ciaddr.
  #inform(m: DhcpMessage): DhcpReply | null {
    if (m.ciaddr === 0) return this.#refuse("bad-request");
    this.#counters.informs++;
    this.#counters.acks++;
    return this.#reply(m, DhcpType.ACK, 0, false);
  }

  #nak(m: DhcpMessage): DhcpReply {
    this.#counters.naks++;
    return this.#reply(m, DhcpType.NAK, 0, false);
  }

  #reply(m: DhcpMessage, type: number, yiaddr: number, withLease: boolean): DhcpReply {
    // RFC 2131 4.3.1 table 3: OFFER and ACK carry the lease times (not for INFORM) and the
    // configuration, ordered as the client's option 55 asks; NAK carries only type and server id.
    const options: [number, Uint8Array][] = [[Opt.MESSAGE_TYPE, Uint8Array.of(type)], [Opt.SERVER_ID, this.serverId]];
    if (type !== DhcpType.NAK) {
      if (withLease) options.push(...this.leaseTimes);
      const asked = m.parameterRequestList;
      if (asked) for (const code of asked) for (const c of this.configured) if (c[0] === code) options.push(c);
      for (const c of this.configured) if (!asked || !asked.includes(c[0])) options.push(c);
    }
    const bytes = buildReply({
      xid: m.xid,
      // RFC 2131 4.3.2: a NAK through a relay asks it to broadcast, the client has no usable address.
      flags: (m.flags & FLAG_BROADCAST) | (type === DhcpType.NAK && m.giaddr !== 0 ? FLAG_BROADCAST : 0),
      ciaddr: type === DhcpType.NAK || m.type === DhcpType.DISCOVER ? 0 : m.ciaddr,
      yiaddr,
      siaddr: 0,
      giaddr: m.giaddr,
      chaddr: m.chaddr,
      options,
      maxSize: Math.max(MIN_MESSAGE, m.maxMessageSize - 28),
    });
    const name: DhcpReply["type"] = type === DhcpType.OFFER ? "OFFER" : type === DhcpType.ACK ? "ACK" : "NAK";
    // RFC 2131 4.1: to a relay agent through giaddr; a NAK broadcast; to a configured client at
    // ciaddr; broadcast when the client asks; otherwise unicast to yiaddr at the client's MAC.
    if (m.giaddr !== 0) {
      return { bytes, type: name, destinationIp: text(m.giaddr), destinationPort: 67, destinationMac: null, broadcast: false };
    }
    const broadcast: DhcpReply = { bytes, type: name, destinationIp: "255.255.255.255", destinationPort: 68, destinationMac: BROADCAST_MAC.slice(), broadcast: true };
    if (type === DhcpType.NAK) return broadcast;
    if (m.ciaddr !== 0 && m.type !== DhcpType.DISCOVER) {
      return { bytes, type: name, destinationIp: text(m.ciaddr), destinationPort: 68, destinationMac: m.chaddr.slice(), broadcast: false };
    }
    if (m.flags & FLAG_BROADCAST) return broadcast;
    return { bytes, type: name, destinationIp: text(yiaddr), destinationPort: 68, destinationMac: m.chaddr.slice(), broadcast: false };
  }
}

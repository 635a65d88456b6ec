// Two links joined back to back in memory, with seeded, reproducible faults: what the tests and the
// demo run two stacks over (after smoltcp's netsim and quinn-proto's Pair).
//
// Each direction is a wire with its own PRNG: a packet sent on one end may be lost, corrupted,
// duplicated, held back (reordered), serialised at a limited rate behind a bounded queue and delayed,
// and then arrives at the other end. The same seed and the same sequence of sends always give the
// same faults and the same arrival times.
//
// Two ways to drive time:
// - "timers" (default): arrivals are delivered by the event loop, reading `now` (performance.now()
//   unless given). Zero-delay packets go out in one batch on the next macrotask.
// - "manual": no timers at all. The caller owns the clock (`now`), asks each end for
//   `nextDeliveryTime()` and calls `deliverDue(t)`, so a test jumps straight to the next event.
import { invalidType, optionsObject, outOfRange, validateArray, validateFunction, validateNumber, validateOneOf, validateUint8Array, validateKnownKeys } from "../core/validate.js";
import { Prng } from "../core/prng.js";
import { DEFAULT_MTU, type Link, type PacketHandler } from "./link.js";

/** What can go wrong on one direction of the wire. Probabilities are per packet, in 0..1. */
export interface LinkFaults {
  /** Probability that a packet is lost. */
  loss?: number;
  /** Probability that a packet arrives twice (the copy right after the original). */
  duplicate?: number;
  /** Probability that a packet is held back by `reorderDelay`, so later packets overtake it. */
  reorder?: number;
  /** Extra delay of a held-back packet, ms. Default 5. */
  reorderDelay?: number;
  /** Probability that a packet arrives with `corruptBits` random bits flipped. */
  corrupt?: number;
  /** Bits flipped in a corrupted packet, at distinct positions. Default 1. */
  corruptBits?: number;
  /** One-way propagation delay, ms. Default 0. */
  delay?: number;
  /** Serialisation rate, bytes per second; unlimited when absent or 0. */
  rate?: number;
  /** Bytes that may wait for the rate limiter; a packet that does not fit is dropped. Default unlimited. */
  queueLimit?: number;
}

/** Options of createMemoryLinkPair: the faults of both directions, the clock and the MTU. */
export interface MemoryLinkOptions extends LinkFaults {
  /** Seed of both directions' PRNGs. Default 1. */
  seed?: number;
  /** "timers" (default): the event loop delivers. "manual": the caller calls `deliverDue(now)`. */
  clock?: "timers" | "manual";
  /** The current time in ms. Required with clock "manual"; default performance.now(). */
  now?: () => number;
  /** Largest packet carried; bigger ones are dropped and counted in `tooBig`. Default 1500. */
  mtu?: number;
  /**
   * What the links carry: "ip" (default) raw IP packets, or "ethernet" Ethernet II frames (each end's
   * `framing`), whose 14-byte header the wire carries beyond the MTU.
   */
  framing?: "ip" | "ethernet";
  /** Faults (and MTU) of the first end's outgoing direction only, over the shared ones. */
  aToB?: DirectionOptions;
  /** Faults (and MTU) of the second end's outgoing direction only, over the shared ones. */
  bToA?: DirectionOptions;
}

/** One direction's own settings: its faults, and its MTU, which is also the sending end's `mtu`. */
export interface DirectionOptions extends LinkFaults {
  /** Largest packet this direction carries, bytes. Default: the pair's `mtu`. */
  mtu?: number;
}

/** What happened to the packets one end sent. */
export interface MemoryLinkStats {
  /** Packets sent. */
  sent: number;
  /** Bytes of the packets sent. */
  bytesSent: number;
  /** Packets handed to the other end (duplicates included). */
  delivered: number;
  /** Bytes of the packets delivered. */
  bytesDelivered: number;
  /** Packets dropped by the `loss` fault. */
  lost: number;
  /** Extra copies made by the `duplicate` fault. */
  duplicated: number;
  /** Packets whose bits the `corrupt` fault flipped. */
  corrupted: number;
  /** Packets held back by the `reorder` fault. */
  reordered: number;
  /** Dropped because the rate limiter's queue was full. */
  overflowed: number;
  /** Dropped for exceeding the MTU. */
  tooBig: number;
  /** Arrived while the receiving end had no handler or was closed. */
  undelivered: number;
}

interface InFlight {
  arrival: number;
  order: number;
  packet: Uint8Array;
}

interface Fault {
  loss: number;
  duplicate: number;
  reorder: number;
  reorderDelay: number;
  corrupt: number;
  corruptBits: number;
  delay: number;
  rate: number;
  queueLimit: number;
}

function probability(name: string, p: number | undefined): number {
  if (p === undefined) return 0;
  validateNumber(p, name, 0, 1);
  return p;
}

/** A non-negative number (Infinity allowed: "unlimited"). */
function quantity(name: string, q: number | undefined, fallback: number): number {
  if (q === undefined) return fallback;
  if (typeof q !== "number") invalidType(name, "of type number", q);
  if (!(q >= 0)) outOfRange(name, ">= 0", q);
  return q;
}

const FAULT_KEYS = ["loss", "duplicate", "reorder", "reorderDelay", "corrupt", "corruptBits", "delay", "rate", "queueLimit"] as const;
// Pure calls (a spread is not, to a bundler): a page that makes no link does not keep them.
const PAIR_OPTIONS: ReadonlySet<string> = /* @__PURE__ */ (() => new Set([...FAULT_KEYS, "seed", "clock", "now", "mtu", "framing", "aToB", "bToA"]))();
/** An Ethernet II header: what a frame carries beyond the IP MTU (no FCS on a TAP-style link). */
const ETHERNET_HEADER = 14;
const FAULT_OPTIONS: ReadonlySet<string> = /* @__PURE__ */ (() => new Set([...FAULT_KEYS, "mtu"]))();

/** Checks one set of faults, named `prefix` + key in errors ("options.loss", "options.aToB.loss"). */
function validateFaults(f: LinkFaults, prefix: string): void {
  for (const key of ["loss", "duplicate", "reorder", "corrupt"] as const) probability(prefix + key, f[key]);
  for (const key of ["reorderDelay", "delay", "rate", "queueLimit"] as const) quantity(prefix + key, f[key], 0);
  if (f.corruptBits !== undefined) {
    quantity(`${prefix}corruptBits`, f.corruptBits, 1);
    if (!Number.isInteger(f.corruptBits) || f.corruptBits < 1) outOfRange(`${prefix}corruptBits`, "an integer >= 1", f.corruptBits);
  }
}

function resolveFaults(shared: LinkFaults, own: LinkFaults | undefined): Fault {
  const f = { ...shared, ...own };
  const corruptBits = quantity("corruptBits", f.corruptBits, 1);
  return {
    loss: probability("loss", f.loss),
    duplicate: probability("duplicate", f.duplicate),
    reorder: probability("reorder", f.reorder),
    reorderDelay: quantity("reorderDelay", f.reorderDelay, 5),
    corrupt: probability("corrupt", f.corrupt),
    corruptBits,
    delay: quantity("delay", f.delay, 0),
    rate: quantity("rate", f.rate, 0),
    queueLimit: quantity("queueLimit", f.queueLimit, Infinity),
  };
}

// A macrotask without the 4 ms clamp browsers put on nested setTimeout(0): setImmediate in Node, a
// MessageChannel elsewhere. Zero-delay deliveries use it so a busy exchange never starves the loop.
function macrotask(fn: () => void): void {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (g.setImmediate) {
    g.setImmediate(fn);
    return;
  }
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    channel.port1.close();
    fn();
  };
  channel.port2.postMessage(null);
}

/** One end of a memory link pair. */
export class MemoryLink implements Link {
  readonly #fault: Fault;
  readonly #prng: Prng;
  readonly #now: () => number;
  readonly #manual: boolean;
  /** Largest packet this end sends, bytes; bigger ones are dropped and counted in `tooBig`. */
  readonly mtu: number;
  /** Raw IP packets or Ethernet II frames (createMemoryLinkPair's `framing`). */
  readonly framing: "ip" | "ethernet";
  /** What happened to the packets this end sent. */
  readonly stats: MemoryLinkStats = {
    sent: 0, bytesSent: 0, delivered: 0, bytesDelivered: 0, lost: 0, duplicated: 0, corrupted: 0,
    reordered: 0, overflowed: 0, tooBig: 0, undelivered: 0,
  };
  /** @internal */ peer!: MemoryLink;
  #handler: PacketHandler | undefined;
  #closed = false;
  // Packets on their way to this end, sorted by arrival time, then by send order.
  readonly #incoming: InFlight[] = [];
  #order = 0;
  // When this end's outgoing wire finishes serialising what it has been given (rate limit).
  #wireBusyUntil = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #macrotaskPending = false;

  /** @internal */
  constructor(
    fault: Fault,
    prng: Prng,
    now: () => number,
    manual: boolean,
    mtu: number,
    framing: "ip" | "ethernet" = "ip",
  ) {
    this.#fault = fault;
    this.#prng = prng;
    this.#now = now;
    this.#manual = manual;
    this.mtu = mtu;
    this.framing = framing;
  }

  /**
   * Sends packets to the other end, through this direction's faults.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `packets` is an array of Uint8Array.
   */
  send(packets: Uint8Array[]): void {
    validateArray(packets, "packets", validateUint8Array);
    if (this.#closed) return;
    const now = this.#now();
    for (const packet of packets) this.#transmit(packet, now);
  }

  /**
   * Sets the one handler of packets arriving at this end.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `handler` is a function.
   */
  onReceive(handler: PacketHandler): void {
    validateFunction(handler, "handler");
    this.#handler = handler;
  }

  /** Stops delivery both ways; packets in flight are dropped. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    // Packets still on their way to this end will never be received.
    this.peer.stats.undelivered += this.#incoming.length;
    this.#incoming.length = 0;
  }

  /** When the earliest packet on its way to this end arrives, in ms; Infinity when none is. */
  nextDeliveryTime(): number {
    return this.#incoming.length ? this.#incoming[0].arrival : Infinity;
  }

  /** Packets on their way to this end. */
  get inFlight(): number {
    return this.#incoming.length;
  }

  /**
   * Hands every packet that has arrived at this end by `now` to the handler, in one batch, and
   * returns how many there were. With clock "manual" this is how packets arrive at all.
   */
  deliverDue(now: number): number {
    let due = 0;
    while (due < this.#incoming.length && this.#incoming[due].arrival <= now) due++;
    if (due === 0) return 0;
    const batch = this.#incoming.splice(0, due).map((f) => f.packet);
    const sender = this.peer.stats;
    const handler = this.#handler;
    if (!handler || this.#closed) {
      sender.undelivered += batch.length;
      return 0;
    }
    sender.delivered += batch.length;
    for (const p of batch) sender.bytesDelivered += p.length;
    handler(batch);
    return batch.length;
  }

  #transmit(packet: Uint8Array, now: number): void {
    const f = this.#fault;
    const stats = this.stats;
    stats.sent++;
    stats.bytesSent += packet.length;
    if (packet.length > this.mtu + (this.framing === "ethernet" ? ETHERNET_HEADER : 0)) {
      stats.tooBig++;
      return;
    }
    if (this.#prng.chance(f.loss)) {
      stats.lost++;
      return;
    }
    let departure = now;
    if (f.rate > 0) {
      const start = Math.max(now, this.#wireBusyUntil);
      const queuedBytes = ((start - now) * f.rate) / 1000;
      if (queuedBytes + packet.length > f.queueLimit) {
        stats.overflowed++;
        return;
      }
      departure = start + (packet.length * 1000) / f.rate;
      this.#wireBusyUntil = departure;
    }
    const copies = [packet];
    if (this.#prng.chance(f.duplicate)) {
      stats.duplicated++;
      copies.push(packet.slice());
    }
    for (const copy of copies) {
      let arrival = departure + f.delay;
      if (this.#prng.chance(f.corrupt)) {
        stats.corrupted++;
        this.#flipBits(copy);
      }
      if (this.#prng.chance(f.reorder)) {
        stats.reordered++;
        arrival += f.reorderDelay;
      }
      this.peer.#arrive(copy, arrival);
    }
  }

  #flipBits(packet: Uint8Array): void {
    const bits = packet.length * 8;
    const flips = Math.min(this.#fault.corruptBits, bits);
    const chosen = new Set<number>();
    while (chosen.size < flips) chosen.add(this.#prng.nextInt(bits));
    for (const bit of chosen) packet[bit >>> 3] ^= 0x80 >>> (bit & 7);
  }

  #arrive(packet: Uint8Array, arrival: number): void {
    if (this.#closed) {
      this.peer.stats.undelivered++;
      return;
    }
    const entry = { arrival, order: this.#order++, packet };
    // Arrival times mostly grow with send order, so search from the end.
    let i = this.#incoming.length;
    while (i > 0 && this.#incoming[i - 1].arrival > arrival) i--;
    this.#incoming.splice(i, 0, entry);
    if (!this.#manual) this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#incoming.length === 0) return;
    const next = this.#incoming[0].arrival;
    const now = this.#now();
    if (next <= now) {
      if (this.#macrotaskPending) return;
      this.#macrotaskPending = true;
      macrotask(() => {
        this.#macrotaskPending = false;
        this.#fire();
      });
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= next) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#fire();
    }, Math.ceil(next - now));
  }

  #fire(): void {
    if (this.#closed) return;
    this.deliverDue(this.#now());
    this.#schedule();
  }
}

/**
 * Two links joined back to back: what one end sends, the other receives, after the faults in
 * `options`. Returns [a, b]; `aToB` / `bToA` override the shared faults for one direction.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for an unknown key or a fault out of its range.
 */
export function createMemoryLinkPair(options?: MemoryLinkOptions): [MemoryLink, MemoryLink] {
  options = optionsObject(options, "options");
  validateKnownKeys(options as Record<string, unknown>, "options", PAIR_OPTIONS);
  validateFaults(options, "options.");
  for (const side of ["aToB", "bToA"] as const) {
    const own = optionsObject(options[side], `options.${side}`);
    validateKnownKeys(own as Record<string, unknown>, `options.${side}`, FAULT_OPTIONS);
    validateFaults(own, `options.${side}.`);
  }
  if (options.seed !== undefined) validateNumber(options.seed, "options.seed");
  if (options.clock !== undefined) validateOneOf(options.clock, "options.clock", ["timers", "manual"]);
  if (options.now !== undefined) validateFunction(options.now, "options.now");
  if (options.framing !== undefined) validateOneOf(options.framing, "options.framing", ["ip", "ethernet"]);
  const framing = options.framing ?? "ip";
  const manual = (options.clock ?? "timers") === "manual";
  if (manual && !options.now) invalidType("options.now", 'a function with clock "manual" (the caller owns the clock)', options.now);
  const now = options.now ?? (() => performance.now());
  const mtu = quantity("mtu", options.mtu, DEFAULT_MTU);
  const seed = options.seed ?? 1;
  // Distinct, fixed streams per direction, so faults on one side do not shift the other's.
  const a = new MemoryLink(resolveFaults(options, options.aToB), new Prng(seed), now, manual, quantity("aToB.mtu", options.aToB?.mtu, mtu), framing);
  const b = new MemoryLink(resolveFaults(options, options.bToA), new Prng(seed ^ 0x5bd1e995), now, manual, quantity("bToA.mtu", options.bToA?.mtu, mtu), framing);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

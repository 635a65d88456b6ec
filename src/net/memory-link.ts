// Two links joined back to back in memory, with seeded, reproducible faults: what the tests and the
// demo run two stacks over (after smoltcp's netsim and quinn-proto's Pair).
//
// Each direction is a wire with its own PRNG: a packet sent on one end may be lost, corrupted,
// duplicated, held back (reordered), serialised at a limited rate behind a bounded queue and delayed,
// and then arrives at the other end. The same seed and the same sequence of sends always give the
// same faults and the same arrival times.
//
// The link copies each packet as it is sent (Link.copiesOnSend), so a stack hands over views of its
// engine's output instead of copying them out first; a handler registered with `{ copies: true }` (a
// stack) lets the link write later packets into the same memory once they were delivered, which
// keeps a busy pair in memory already in cache rather than allocating afresh for every batch.
//
// Two ways to drive time:
// - "timers" (default): arrivals are delivered by the event loop, reading `now` (performance.now()
//   unless given). Zero-delay packets go out in one batch in a microtask, after the code that sent
//   them (never inside send()): what a stack sends in one output drain reaches the peer in the same
//   turn of the event loop, as a kernel's loopback hands a segment to the receiver in the sender's
//   own system call. So that an exchange that keeps answering itself never starves timers and I/O,
//   a pair takes at most SAME_TURN_HOPS such deliveries before it lets the event loop run (one
//   macrotask), and then goes on.
// - "manual": no timers at all. The caller owns the clock (`now`), asks each end for
//   `nextDeliveryTime()` and calls `deliverDue(t)`, so a test jumps straight to the next event.
import { invalidType, optionsObject, outOfRange, validateArray, validateInteger, validateFunction, validateNumber, validateOneOf, validateUint8Array, validateKnownKeys } from "../core/validate.js";
import { Prng } from "../core/prng.js";
import { DEFAULT_MTU, type Link, type PacketHandler, type ReceiveOptions } from "./link.js";

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
   * Segmentation offload (Link.offloadMtu): the largest packet both ends send although it is above
   * their `mtu`, an integer in mtu..65535, or 0 for none. Default 65535 for a pair that simulates no
   * network (no fault, no `mtu`, IP framing): an in-process wire takes any IP packet whole, so the
   * connections over it send segments of up to 64 KiB; 0 otherwise, so that a pair set up to behave
   * like a network carries that network's packets.
   */
  offloadMtu?: number;
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
  /** The slab the packet was copied into, while it may return to its sender's spares. */
  slab: Slab | undefined;
}

/** Bytes of one slab; a packet above a quarter of it gets memory of its own. */
const SLAB_BYTES = 256 * 1024;
/** Spare slabs an end keeps for reuse. */
const SPARE_SLABS = 4;

/**
 * Memory a sending end copies packets into (the link copies on send). A slab whose packets all went
 * to a handler that copies them (onReceive's `copies`) is used again, so a busy link writes into
 * memory already in cache instead of fresh allocations; one whose packets a handler kept is left to
 * the garbage collector.
 */
class Slab {
  readonly bytes = new Uint8Array(SLAB_BYTES);
  used = 0;
  /** Packets copied into it and not yet delivered. */
  live = 0;
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
const PAIR_OPTIONS: ReadonlySet<string> = /* @__PURE__ */ (() => new Set([...FAULT_KEYS, "seed", "clock", "now", "mtu", "offloadMtu", "framing", "aToB", "bToA"]))();
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

/** The largest IP packet (RFC 791): what an in-process wire carries whole with offload. */
const MAX_IP_PACKET = 65535;

/** Whether a direction's faults change anything on the wire. */
function hasFaults(f: Fault): boolean {
  return f.loss > 0 || f.duplicate > 0 || f.reorder > 0 || f.corrupt > 0 || f.delay > 0 || f.rate > 0;
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
// MessageChannel elsewhere.
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

/** A settled promise: a reaction on it is the cheapest microtask (no AsyncResource, unlike Node's queueMicrotask). */
const RESOLVED = /* @__PURE__ */ Promise.resolve();

/** Zero-delay deliveries a pair makes in microtasks before it lets the event loop run once. */
const SAME_TURN_HOPS = 64;

/**
 * The zero-delay deliveries of both ends of a pair since the event loop last ran a task of theirs.
 * The first one of a turn queues a macrotask that starts the count again; a pair that reaches
 * SAME_TURN_HOPS delivers in macrotasks until it has run.
 */
class SameTurn {
  hops = 0;
  #resetQueued = false;
  readonly #reset = (): void => {
    this.#resetQueued = false;
    this.hops = 0;
  };

  /** Whether the next delivery may go in a microtask; counts it. */
  take(): boolean {
    if (!this.#resetQueued) {
      this.#resetQueued = true;
      macrotask(this.#reset);
    }
    if (this.hops >= SAME_TURN_HOPS) return false;
    this.hops++;
    return true;
  }
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
  /** The largest packet this end sends above `mtu` (segmentation offload); undefined for none. */
  readonly offloadMtu: number | undefined;
  /** What happened to the packets this end sent. */
  readonly stats: MemoryLinkStats = {
    sent: 0, bytesSent: 0, delivered: 0, bytesDelivered: 0, lost: 0, duplicated: 0, corrupted: 0,
    reordered: 0, overflowed: 0, tooBig: 0, undelivered: 0,
  };
  /** @internal */ peer!: MemoryLink;
  #handler: PacketHandler | undefined;
  /** The handler copies what it keeps (onReceive's `copies`): delivered packets' memory may be reused. */
  #handlerCopies = false;
  /** The slab this end copies the packets it sends into, and spares for when it is full. */
  #slab: Slab | undefined;
  readonly #spares: Slab[] = [];
  #closed = false;
  // Packets on their way to this end, sorted by arrival time, then by send order.
  readonly #incoming: InFlight[] = [];
  #order = 0;
  // When this end's outgoing wire finishes serialising what it has been given (rate limit).
  #wireBusyUntil = -Infinity;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** A zero-delay delivery is queued (microtask or macrotask). */
  #duePending = false;
  readonly #sameTurn: SameTurn;
  readonly #fireDue = (): void => {
    this.#duePending = false;
    this.#fire();
  };

  /** @internal */
  constructor(
    fault: Fault,
    prng: Prng,
    now: () => number,
    manual: boolean,
    mtu: number,
    framing: "ip" | "ethernet" = "ip",
    sameTurn: SameTurn = new SameTurn(),
    offloadMtu = 0,
  ) {
    this.offloadMtu = offloadMtu > mtu ? offloadMtu : undefined;
    this.#sameTurn = sameTurn;
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
    // What is sent is copied (copiesOnSend): the wire never shares memory with the sender.
    validateArray(packets, "packets", validateUint8Array);
    if (this.#closed) return;
    const now = this.#now();
    for (const packet of packets) this.#transmit(packet, now);
    // Once per batch: the peer's delivery (or its timer) for everything this call queued.
    if (!this.#manual) this.peer.#schedule();
  }

  /**
   * Sets the one handler of packets arriving at this end.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE unless `handler` is a function.
   */
  onReceive(handler: PacketHandler, options?: ReceiveOptions): void {
    validateFunction(handler, "handler");
    this.#handler = handler;
    this.#handlerCopies = options?.copies === true;
  }

  /** `send` copies the packets before it returns: the caller may reuse them at once. */
  get copiesOnSend(): true {
    return true;
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
    const entries = this.#incoming.splice(0, due);
    const batch = entries.map((f) => f.packet);
    const sender = this.peer.stats;
    const handler = this.#handler;
    if (!handler || this.#closed) {
      sender.undelivered += batch.length;
      this.peer.#release(entries);
      return 0;
    }
    sender.delivered += batch.length;
    for (const p of batch) sender.bytesDelivered += p.length;
    // A handler that keeps the packets keeps their slabs too: they never come back.
    const copies = this.#handlerCopies;
    try {
      handler(batch);
    } finally {
      if (copies) this.peer.#release(entries);
    }
    return batch.length;
  }

  /** Packets copied into this end's slabs are done with: a slab none of them live in is reused. */
  #release(entries: InFlight[]): void {
    for (const e of entries) {
      const slab = e.slab;
      if (slab === undefined || --slab.live !== 0) continue;
      if (slab === this.#slab) slab.used = 0;
      else if (this.#spares.length < SPARE_SLABS) {
        slab.used = 0;
        this.#spares.push(slab);
      }
    }
  }

  /** The slab #copy wrote its last copy into (undefined: memory of its own). */
  #copiedInto: Slab | undefined;

  /** A copy of `packet` the link owns: in a slab when it is small enough (#copiedInto), else memory of its own. */
  #copy(packet: Uint8Array): Uint8Array {
    const n = packet.length;
    this.#copiedInto = undefined;
    if (n > SLAB_BYTES / 4) return packet.slice();
    let slab = this.#slab;
    if (slab === undefined || slab.used + n > SLAB_BYTES) {
      // A full slab is reused once its last packet is delivered (#release), if a spare is wanted.
      slab = this.#slab = this.#spares.pop() ?? new Slab();
    }
    const at = slab.used;
    const copy = slab.bytes.subarray(at, at + n);
    copy.set(packet);
    // 8-byte aligned, as the engine's own copies: readers of the copies stay on fast paths.
    slab.used = (at + n + 7) & ~7;
    slab.live++;
    this.#copiedInto = slab;
    return copy;
  }

  #transmit(packet: Uint8Array, now: number): void {
    const f = this.#fault;
    const stats = this.stats;
    stats.sent++;
    stats.bytesSent += packet.length;
    if (packet.length > (this.offloadMtu ?? this.mtu) + (this.framing === "ethernet" ? ETHERNET_HEADER : 0)) {
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
    const copy = this.#copy(packet);
    const slab = this.#copiedInto;
    let duplicate: Uint8Array | undefined;
    if (this.#prng.chance(f.duplicate)) {
      stats.duplicated++;
      duplicate = packet.slice();
    }
    this.#onTheWire(copy, slab, departure);
    if (duplicate) this.#onTheWire(duplicate, undefined, departure);
  }

  /** A copy leaves at `departure`, through the corrupt and reorder faults, towards the peer. */
  #onTheWire(packet: Uint8Array, slab: Slab | undefined, departure: number): void {
    const f = this.#fault;
    let arrival = departure + f.delay;
    if (this.#prng.chance(f.corrupt)) {
      this.stats.corrupted++;
      this.#flipBits(packet);
    }
    if (this.#prng.chance(f.reorder)) {
      this.stats.reordered++;
      arrival += f.reorderDelay;
    }
    this.peer.#arrive(packet, slab, arrival);
  }

  #flipBits(packet: Uint8Array): void {
    const bits = packet.length * 8;
    const flips = Math.min(this.#fault.corruptBits, bits);
    const chosen = new Set<number>();
    while (chosen.size < flips) chosen.add(this.#prng.nextInt(bits));
    for (const bit of chosen) packet[bit >>> 3] ^= 0x80 >>> (bit & 7);
  }

  #arrive(packet: Uint8Array, slab: Slab | undefined, arrival: number): void {
    if (this.#closed) {
      this.peer.stats.undelivered++;
      if (slab) slab.live--;
      return;
    }
    const entry = { arrival, order: this.#order++, packet, slab };
    // Arrival times mostly grow with send order, so search from the end.
    let i = this.#incoming.length;
    while (i > 0 && this.#incoming[i - 1].arrival > arrival) i--;
    if (i === this.#incoming.length) this.#incoming.push(entry);
    else this.#incoming.splice(i, 0, entry);
  }

  #schedule(): void {
    if (this.#closed || this.#incoming.length === 0) return;
    const next = this.#incoming[0].arrival;
    const now = this.#now();
    if (next <= now) {
      if (this.#duePending) return;
      this.#duePending = true;
      if (this.#sameTurn.take()) RESOLVED.then(this.#fireDue);
      else macrotask(this.#fireDue);
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
  const faultsAToB = resolveFaults(options, options.aToB);
  const faultsBToA = resolveFaults(options, options.bToA);
  const mtuAToB = quantity("aToB.mtu", options.aToB?.mtu, mtu);
  const mtuBToA = quantity("bToA.mtu", options.bToA?.mtu, mtu);
  const simulatesNetwork = options.mtu !== undefined || options.aToB?.mtu !== undefined || options.bToA?.mtu !== undefined ||
    framing !== "ip" || hasFaults(faultsAToB) || hasFaults(faultsBToA);
  let offloadMtu = simulatesNetwork ? 0 : MAX_IP_PACKET;
  if (options.offloadMtu !== undefined) {
    validateInteger(options.offloadMtu, "options.offloadMtu", 0, MAX_IP_PACKET);
    if (options.offloadMtu !== 0 && options.offloadMtu < Math.max(mtuAToB, mtuBToA)) {
      outOfRange("options.offloadMtu", `0 or an integer in ${Math.max(mtuAToB, mtuBToA)}..${MAX_IP_PACKET} (from the MTU)`, options.offloadMtu);
    }
    offloadMtu = options.offloadMtu;
  }
  // Distinct, fixed streams per direction, so faults on one side do not shift the other's.
  const sameTurn = new SameTurn();
  const a = new MemoryLink(faultsAToB, new Prng(seed), now, manual, mtuAToB, framing, sameTurn, offloadMtu);
  const b = new MemoryLink(faultsBToA, new Prng(seed ^ 0x5bd1e995), now, manual, mtuBToA, framing, sameTurn, offloadMtu);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

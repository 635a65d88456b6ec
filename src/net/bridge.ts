// An Ethernet bridge: a learning switch (IEEE 802.1D 7.7-7.8, the filtering database) joining Ethernet
// links, so that the stacks or guests on them reach each other with no server: guests in one page,
// or guests and a gateway stack as one more port. Browser-safe.
//
// - Learning: each frame's source MAC is recorded against the port it came in on; an entry not
//   refreshed within ageingMs is forgotten (802.1D's default ageing time is 300 s), and the table
//   holds at most maxAddresses (the least recently refreshed goes first), so a port sending from
//   random MACs cannot grow it.
// - Forwarding: a unicast destination the table knows goes to its port only, and is dropped when that
//   is the port it came from; unknown, broadcast and group destinations are flooded to every other
//   port. A frame never goes back out of the port it came in on, so the bridge itself makes no loop
//   (it runs no spanning tree: do not join two of its ports through another bridge).
// - Bad input (shorter than an Ethernet header, longer than the port's MTU allows, a group source
//   MAC, not a Uint8Array) is counted and dropped.
// - Ownership (Link's contract): a frame switched to one port is handed over as it is; a flooded one
//   is copied for every port but the first.
import { TcpwasmError } from "../core/errors.js";
import { optionsObject, validateFunction, validateInteger, validateKnownKeys } from "../core/validate.js";
import { DEFAULT_MTU, checkedFraming, checkedLinkMtu, validateLink, type Link, type PacketHandler } from "./link.js";

const ETHERNET_HEADER = 14;

/** Options of createBridge. */
export interface BridgeOptions {
  /** Most MAC addresses the table holds. Default 1,024. */
  maxAddresses?: number;
  /** An address not heard from for this long is forgotten, ms. Default 300,000 (IEEE 802.1D). */
  ageingMs?: number;
  /** The clock, ms. Default performance.now(). */
  now?: () => number;
}

/** Options of Bridge.port. */
export interface BridgePortOptions {
  /** The IP MTU of the port (the frame's payload), 576..65535. Default 1500. */
  mtu?: number;
}

/** What a bridge has done. */
export interface BridgeCounters {
  /** Frames received from the ports. */
  framesIn: number;
  /** Sent to the one port their destination was learned on. */
  forwarded: number;
  /** Flooded: broadcast, group or unknown destinations. */
  flooded: number;
  /** Dropped: destination on the port they came from. */
  filtered: number;
  /** Dropped as malformed (too short, too long, group source, not bytes). */
  invalid: number;
  /** Table entries made. */
  learned: number;
  /** Entries pushed out by maxAddresses. */
  evicted: number;
}

interface Port {
  readonly mtu: number;
  deliver(frames: Uint8Array[]): void;
  batch: Uint8Array[];
  closed: boolean;
}

interface Entry {
  port: Port;
  at: number;
}

const KNOWN: ReadonlySet<string> = new Set(["maxAddresses", "ageingMs", "now"]);
const PORT_KEYS: ReadonlySet<string> = new Set(["mtu"]);

/** A learning switch joining Ethernet links (createBridge). */
export class Bridge {
  /** What the bridge has done (live; read, do not write). */
  readonly counters: BridgeCounters = { framesIn: 0, forwarded: 0, flooded: 0, filtered: 0, invalid: 0, learned: 0, evicted: 0 };
  readonly #ports: Port[] = [];
  /** MAC (48 bits as a number) -> where it was last heard; Map order is refresh order. */
  readonly #table = new Map<number, Entry>();
  readonly #max: number;
  readonly #ageingMs: number;
  readonly #now: () => number;
  #closed = false;

  /** @internal Use createBridge. */
  constructor(max: number, ageingMs: number, now: () => number) {
    this.#max = max;
    this.#ageingMs = ageingMs;
    this.#now = now;
  }

  /** Addresses in the table now. */
  get addresses(): number {
    return this.#table.size;
  }

  /**
   * Joins an existing Ethernet link (a TAP device's, a WebSocket's, one end of a memory link pair whose
   * other end a stack is attached to): its frames are switched to the other ports and theirs to it.
   * Returns a function that takes the link out again (the link is not closed).
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_INVALID_ARG_VALUE for a link that is not an Ethernet one.
   */
  add(link: Link): () => void {
    validateLink(link, "link");
    if (checkedFraming(link) !== "ethernet") throw new TcpwasmError("ERR_INVALID_ARG_VALUE", 'a bridge joins Ethernet links only (framing "ethernet")');
    this.#checkOpen();
    const port: Port = {
      mtu: checkedLinkMtu(link) ?? DEFAULT_MTU,
      deliver: (frames) => link.send(frames),
      batch: [],
      closed: false,
    };
    this.#ports.push(port);
    link.onReceive((frames) => this.#switch(port, frames));
    return () => {
      link.onReceive(() => {});
      this.#remove(port);
    };
  }

  /**
   * A new port as a Link, to attach a stack to directly (stack.attach(bridge.port(), {...})).
   * @throws TcpwasmError ERR_OUT_OF_RANGE for an MTU outside 576..65535.
   */
  port(options?: BridgePortOptions): Link {
    const o = optionsObject(options, "options");
    validateKnownKeys(o as unknown as Record<string, unknown>, "options", PORT_KEYS);
    const mtu = o.mtu ?? DEFAULT_MTU;
    validateInteger(mtu, "options.mtu", 576, 65535);
    this.#checkOpen();
    let handler: PacketHandler | undefined;
    const port: Port = {
      mtu,
      // Never synchronously (Link's contract): a stack's send never calls back into its own receive.
      deliver: (frames) => queueMicrotask(() => {
        if (!port.closed) handler?.(frames);
      }),
      batch: [],
      closed: false,
    };
    this.#ports.push(port);
    return {
      mtu,
      framing: "ethernet",
      send: (frames: Uint8Array[]) => {
        if (!port.closed) this.#switch(port, frames);
      },
      onReceive: (h: PacketHandler) => {
        validateFunction(h, "handler");
        handler = h;
      },
      close: () => this.#remove(port),
    };
  }

  /** Takes every port out and forgets the table. */
  close(): void {
    this.#closed = true;
    for (const p of this.#ports) p.closed = true;
    this.#ports.length = 0;
    this.#table.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw new TcpwasmError("ERR_SOCKET_CLOSED", "the bridge is closed");
  }

  #remove(port: Port): void {
    port.closed = true;
    const i = this.#ports.indexOf(port);
    if (i >= 0) this.#ports.splice(i, 1);
    for (const [mac, e] of this.#table) if (e.port === port) this.#table.delete(mac);
  }

  #switch(from: Port, frames: Uint8Array[]): void {
    if (this.#closed || from.closed || !Array.isArray(frames)) return;
    const now = this.#now();
    const out = new Set<Port>();
    for (const f of frames) {
      this.counters.framesIn++;
      if (!(f instanceof Uint8Array) || f.length < ETHERNET_HEADER || f.length > from.mtu + ETHERNET_HEADER || (f[6]! & 1) !== 0) {
        this.counters.invalid++;
        continue;
      }
      this.#learn(macAt(f, 6), from, now);
      const to = (f[0]! & 1) === 0 ? this.#lookup(macAt(f, 0), now) : undefined;
      if (to) {
        if (to === from) {
          this.counters.filtered++;
          continue;
        }
        this.counters.forwarded++;
        if (f.length <= to.mtu + ETHERNET_HEADER) {
          to.batch.push(f);
          out.add(to);
        }
        continue;
      }
      this.counters.flooded++;
      let first = true;
      for (const p of this.#ports) {
        if (p === from || f.length > p.mtu + ETHERNET_HEADER) continue;
        p.batch.push(first ? f : f.slice());
        first = false;
        out.add(p);
      }
    }
    for (const p of out) {
      const batch = p.batch;
      p.batch = [];
      p.deliver(batch);
    }
  }

  #learn(mac: number, port: Port, now: number): void {
    const e = this.#table.get(mac);
    if (e) {
      // Refreshed: to the end of the refresh order.
      this.#table.delete(mac);
      e.port = port;
      e.at = now;
      this.#table.set(mac, e);
      return;
    }
    if (this.#table.size >= this.#max) {
      const oldest = this.#table.keys().next().value as number;
      this.#table.delete(oldest);
      this.counters.evicted++;
    }
    this.#table.set(mac, { port, at: now });
    this.counters.learned++;
  }

  #lookup(mac: number, now: number): Port | undefined {
    const e = this.#table.get(mac);
    if (!e) return undefined;
    if (now - e.at > this.#ageingMs) {
      this.#table.delete(mac);
      return undefined;
    }
    return e.port;
  }
}

function macAt(f: Uint8Array, at: number): number {
  return f[at]! * 0x10000000000 + f[at + 1]! * 0x100000000 + ((f[at + 2]! << 24) >>> 0) + (f[at + 3]! << 16) + (f[at + 4]! << 8) + f[at + 5]!;
}

/**
 * A learning Ethernet switch (IEEE 802.1D): add(link) joins existing Ethernet links, port() makes new
 * ones to attach stacks to.
 * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options.
 */
export function createBridge(options?: BridgeOptions): Bridge {
  const o = optionsObject(options, "options");
  validateKnownKeys(o as unknown as Record<string, unknown>, "options", KNOWN);
  const max = o.maxAddresses ?? 1024;
  validateInteger(max, "options.maxAddresses", 1, 1 << 24);
  const ageingMs = o.ageingMs ?? 300_000;
  validateInteger(ageingMs, "options.ageingMs", 1, 0x7fffffff);
  if (o.now !== undefined) validateFunction(o.now, "options.now");
  return new Bridge(max, ageingMs, o.now ?? (() => performance.now()));
}

// A stack: one engine, its addresses, its links, its clock and its one timer. This is the internal
// connection API both socket faces are built on (src/faces/web.ts for Web streams, the Node Duplex in
// tcpwasm/node). Browser-safe: web-platform APIs only.
//
//   const stack = await createStack({ addresses: ["10.0.0.1/24", "fd00::1/64"] });
//   stack.attach(link);                                   // routes by destination prefix
//   const conn = stack.openConnection({ remote: "10.0.0.2", remotePort: 80 });
//   conn.onConnect = () => conn.write(bytes);             // handlers: set them synchronously
//   conn.onData = (chunk) => ...;                         // chunk is a copy, yours to keep
//   conn.onEnd = () => conn.end();                        // the peer's FIN, after all its data
//   conn.onClose = (error) => ...;                        // last call; error is a TcpwasmError or undefined
//   stack.openListener({ port: 80 }, (conn) => { conn.onData = ...; });
//   stack.connect({ hostname, port }) / stack.listen({ port })  // the Web face (src/faces/web.ts)
//
// Packets in are passed to the engine only when addressed to one of the stack's addresses (the engine
// answers ICMP and ICMPv6 echo requests itself); anything else a link delivers that cannot be used is
// counted and dropped, never thrown out of the link's callback. Packets out go to the attached link
// whose route prefix matches the destination best; each connection's MSS comes from that link's MTU
// (passive ones: the link their SYN came in on). Errors found at once (EADDRINUSE, EADDRNOTAVAIL,
// argument errors: src/core/validate.ts) throw from openConnection/openListener; later ones arrive as onClose(error).
//
// Event flow (STYLE.md rule 4). Packets in and the timer only mark work and queue one pump (a
// microtask), which runs the engine's timers, dispatches its events to the connections' handlers
// (which may call back into the connection) and drains readable data. Output waits for what the turn
// set off (Stack.drainWait: Node's next tick, or rounds of the microtask queue in browsers), then
// leaves in one batch per link, and the single timer is re-armed at the engine's next deadline; user
// calls (write, end, ...) queue only that drain. A timer that fires late, early or several times is
// harmless: the engine runs whatever is due at the stack's `now()`.
//
// Connection contract:
// - `write(bytes)` copies as much as fits into the send ring and returns the count taken; when it
//   returns less than `bytes.length`, `onWritable` follows once there is room. Throws TcpwasmError
//   (EPIPE after end(), ENOTCONN/ECONNRESET... after close).
// - Reading: data is delivered to `onData` only while the connection is not paused and has an onData
//   handler. Unread data stays in the receive ring, so the window advertised to the peer shrinks: a
//   paused reader is real backpressure. `onEnd` comes after the last byte was delivered.
// - `end()` sends FIN after queued data (half-close: reading goes on). `abort()` sends RST.
// - `onClose(error?)` is the last callback, once both directions are finished (TIME-WAIT or CLOSED:
//   like a kernel socket, TIME-WAIT is the engine's business, not the user's) or the connection failed
//   (error: ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...), or after abort() (no error). The engine handle
//   is released then.
// - `release()` gives the handle back at once with no further callbacks: the engine finishes the
//   connection by itself (FIN, or RST if received data is left unread).
import { Engine, EventType, TCP_STATES, validateConnectionOptions, validateEngineConfig, type ConnectionEndpoints, type ConnectionOptions, type ConnectionStatus, type EngineConfig, type EngineCounters, type EventVisitor } from "../core/engine.js";
import { CopyArena } from "../core/arena.js";
import { TcpwasmError, engineErrorCode } from "../core/errors.js";
import { FLAVORS, type Flavor } from "../core/loader.js";
import { checkedLinkMtu, validateLink, type Link } from "../net/link.js";
import { connectSocket, listenSocket, type ListenOptions, type SocketOptions, type TcpListener, type TcpSocket } from "../faces/web.js";
import type { TcpState, TraceEvent } from "../core/trace.js";
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6, validateAddress } from "../core/address.js";
import {
  invalidValue, optionsObject, toBytes, validateArray, validateBoolean, validateFunction, validateInteger,
  validateKnownKeys, validateNumber, validateObject, validateOneOf, validatePort, validateString, validateUint8Array,
} from "../core/validate.js";

const RESOLVED = Promise.resolve();
/** Output drains a queued pump may postpone in a row (see Stack.queuedDrain). */
const MAX_DRAIN_DEFERRALS = 4;

/** process.nextTick where the host is Node (looked up, not imported: this file runs in browsers). */
function nodeNextTick(): ((fn: () => void) => void) | undefined {
  const p = (globalThis as { process?: { nextTick?: (fn: () => void) => void } }).process;
  return typeof p?.nextTick === "function" ? p.nextTick : undefined;
}

/** Microtask rounds the output drain waits after the last user call where there is no process.nextTick. */
const DRAIN_HOPS = 8;
/** At most this many rounds in all, however many calls keep coming. */
const DRAIN_HOPS_MAX = 64;

/** When a stack's output drain runs, once queued (see Stack.drainWait). */
interface DrainWait {
  queue(fn: () => void): void;
  /** A user call came in while the drain waits. */
  renew(): void;
}

/**
 * @internal Runs the queued callback after `hops` rounds of the microtask queue (a promise reaction
 * that queues itself again); renew() starts the count again, up to `cap` rounds in all. One callback
 * waits at a time.
 */
export class MicrotaskRounds implements DrainWait {
  private left = 0;
  private total = 0;
  private fn: (() => void) | undefined;

  constructor(
    private readonly hops: number,
    private readonly cap: number,
  ) {}

  queue(fn: () => void): void {
    this.fn = fn;
    this.left = this.hops;
    this.total = 0;
    RESOLVED.then(this.step);
  }

  renew(): void {
    if (this.fn) this.left = this.hops;
  }

  private readonly step = (): void => {
    this.total++;
    if (--this.left > 0 && this.total < this.cap) {
      RESOLVED.then(this.step);
      return;
    }
    const fn = this.fn!;
    this.fn = undefined;
    fn();
  };
}

/** The drain's wait for this host: Node's process.nextTick, else rounds of the microtask queue. */
function drainWait(): DrainWait {
  const nextTick = nodeNextTick();
  if (nextTick) return { queue: nextTick, renew() {} };
  return new MicrotaskRounds(DRAIN_HOPS, DRAIN_HOPS_MAX);
}

/**
 * An exception thrown by a user's handler (onConnect, onData, onClose, a listener's onConnection, the
 * trace sink) is the user's bug: it is rethrown from a microtask of its own, so it surfaces as an
 * uncaught exception exactly as a throwing listener of a node:net socket's EventEmitter does, while the
 * stack goes on with the rest of its work (the other events of the batch, the other connections).
 */
function reportHandlerError(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** Timer functions the stack uses; inject them to test throttled or bunched timers. */
export interface StackTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface StackOptions {
  /** The stack's addresses with prefix length: "10.0.0.1/24", "fd00::1/64". At least one. */
  addresses: string[];
  /** Name of this endpoint in trace events (and ladder diagrams). Default "stack". */
  name?: string;
  /**
   * Engine-wide configuration (src/core/engine.ts ConfigKey). `mtu` is the MTU assumed for a link that
   * states none (default 1500); a link's own `mtu` sets the MSS of the connections over it.
   */
  config?: EngineConfig;
  flavor?: Flavor | "auto";
  /** 32 random bytes (ISN secret and PRNG seed); default crypto.getRandomValues. */
  secret?: Uint8Array;
  /** The clock, in ms. Default performance.now(). */
  now?: () => number;
  /** Default globalThis.setTimeout / clearTimeout. */
  timers?: StackTimers;
  /**
   * Receives each segment in and out and each state transition (turns the engine's tracing on), with
   * the connection it belongs to (still given after onClose, until the engine reaches CLOSED, so a
   * TIME-WAIT's end is attributed) and the engine's id (listeners have one too; 0: no connection).
   */
  trace?: (event: TraceEvent, connection: StackConnection | undefined, id: number) => void;
}

export interface OpenConnectionOptions extends ConnectionOptions {
  remote: string;
  remotePort: number;
  /** Local address; default the stack's address of the same version whose prefix holds `remote`. */
  local?: string;
  /** Default a random ephemeral port. */
  localPort?: number;
}

export interface OpenListenerOptions extends ConnectionOptions {
  port: number;
  /** One of the stack's addresses; default every address (IPv4 and IPv6). */
  address?: string;
  /** Cap on half-open connections of this listener. */
  backlog?: number;
}

export interface AttachOptions {
  /**
   * Destination prefixes routed to this link ("10.0.0.0/24", "::/0"). Default everything (IPv4 only
   * on a link whose MTU is below IPv6's minimum of 1280, which cannot take IPv6 routes).
   */
  routes?: string[];
}

/** What the stack itself dropped (the engine counts the rest, see Stack.counters). */
export interface StackCounters {
  /** Packets in whose destination is none of the stack's addresses. */
  notForUs: number;
  /** Packets out with no link routing their destination. */
  noRoute: number;
  /**
   * Packets a link delivered that cannot be used: not a Uint8Array (or a batch that is not an
   * array), empty, larger than the engine's RX region, or IPv6 from a link below 1280 bytes.
   */
  linkDropped: number;
}

/** IPv6's minimum link MTU (RFC 8200 5): a narrower link carries IPv4 only. */
const IPV6_MIN_MTU = 1280;


interface Prefix {
  version: 4 | 6;
  bytes: Uint8Array;
  length: number;
}

function parseAddress(text: string): { version: 4 | 6; bytes: Uint8Array } | null {
  const v4 = parseIpv4(text);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { version: 6, bytes: v6 };
  return null;
}

/** An address with an optional prefix length ("10.0.0.1/24"; none: a host route), named `what` in errors. */
function parsePrefix(text: unknown, what: string): Prefix {
  validateString(text, what);
  const slash = text.lastIndexOf("/");
  const a = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!a) invalidValue(what, text, "must be an IPv4 or IPv6 address with a prefix length (\"10.0.0.1/24\")");
  const max = a.version === 4 ? 32 : 128;
  const length = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!/^\d+$/.test(slash < 0 ? String(max) : text.slice(slash + 1)) || length > max) {
    invalidValue(what, text, `has a bad prefix length (0..${max})`);
  }
  return { version: a.version, bytes: a.bytes, length };
}

function prefixHolds(p: Prefix, version: number, packet: Uint8Array, at: number): boolean {
  if (p.version !== version) return false;
  let bits = p.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((p.bytes[i]! & mask) !== (packet[at + i]! & mask)) return false;
  }
  return true;
}

/** Where an IP packet's destination address starts: 16 (IPv4), 24 (IPv6), or -1 if no whole header. */
function destinationAt(packet: Uint8Array): number {
  if (packet.length < 20) return -1;
  const version = packet[0]! >> 4;
  if (version === 4) return 16;
  if (version === 6 && packet.length >= 40) return 24;
  return -1;
}

/** Whether the address at `packet[at]` equals `address` (4 or 16 bytes). */
function sameAddress(address: Uint8Array, packet: Uint8Array, at: number): boolean {
  for (let i = 0; i < address.length; i++) if (address[i] !== packet[at + i]) return false;
  return true;
}

function formatAddress(p: Prefix): string {
  return p.version === 4 ? formatIpv4(p.bytes) : formatIpv6(p.bytes);
}

/** Creates a stack: loads and configures an engine. Attach links before opening connections. */
export async function createStack(options: StackOptions): Promise<Stack> {
  validateStackOptions(options);
  const prefixes = options.addresses.map((a, i) => parsePrefix(a, `options.addresses[${i}]`));
  const config: EngineConfig = { ...options.config };
  if (options.trace) config.trace = true;
  const engine = await Engine.create({ flavor: options.flavor, config, secret: options.secret });
  return new Stack(engine, prefixes, options);
}

const STACK_OPTIONS: ReadonlySet<string> = new Set(["addresses", "name", "config", "flavor", "secret", "now", "timers", "trace"]);

/** createStack's checks (the addresses' own are parsePrefix's). */
function validateStackOptions(options: unknown): asserts options is StackOptions {
  validateObject(options, "options");
  validateKnownKeys(options, "options", STACK_OPTIONS);
  validateArray(options.addresses, "options.addresses", undefined, 1);
  const o = options as Partial<StackOptions>;
  if (o.name !== undefined) validateString(o.name, "options.name");
  validateEngineConfig(o.config, "options.config");
  if (o.flavor !== undefined) validateOneOf(o.flavor, "options.flavor", FLAVORS);
  if (o.secret !== undefined) validateUint8Array(o.secret, "options.secret");
  if (o.now !== undefined) validateFunction(o.now, "options.now");
  if (o.timers !== undefined) {
    validateObject(o.timers, "options.timers");
    validateFunction(o.timers.setTimeout, "options.timers.setTimeout");
    validateFunction(o.timers.clearTimeout, "options.timers.clearTimeout");
  }
  if (o.trace !== undefined) validateFunction(o.trace, "options.trace");
}

const ATTACH_OPTIONS: ReadonlySet<string> = new Set(["routes"]);
const OPEN_CONNECTION_KEYS: ReadonlySet<string> = new Set(["remote", "remotePort", "local", "localPort"]);
const OPEN_LISTENER_KEYS: ReadonlySet<string> = new Set(["port", "address", "backlog"]);

interface AttachedLink {
  link: Link;
  /** The link's MTU, 0 when it states none (the engine's config mtu applies). */
  mtu: number;
  /** Below IPv6's minimum MTU: IPv6 neither routed to it nor taken from it. */
  ipv4Only: boolean;
  routes: Prefix[];
  /** Both default routes: every packet goes here when this is the only link. */
  routesAll: boolean;
  batch: Uint8Array[];
}

export class Stack {
  /** The engine, for counters(), status and benchmarks. */
  readonly engine: Engine;
  readonly name: string;
  /** The addresses as given ("10.0.0.1/24"). */
  readonly addresses: readonly string[];
  readonly stackCounters: StackCounters = { notForUs: 0, noRoute: 0, linkDropped: 0 };
  private readonly prefixes: Prefix[];
  private readonly addressTexts = new Map<Prefix, string>();
  private readonly now: () => number;
  private readonly timerFns: StackTimers;
  private readonly traceSink: StackOptions["trace"];
  private readonly links: AttachedLink[] = [];
  private readonly connections = new Map<number, StackConnection>();
  private readonly listeners = new Map<number, StackListener>();
  /** Connections with data or an end to deliver. */
  private readonly readPending = new Set<StackConnection>();
  private readonly readList: StackConnection[] = [];
  /** With tracing: connections already closed for the user whose engine side has not reached CLOSED. */
  private readonly lingering = new Map<number, StackConnection>();
  /** @internal Where TX batches and received chunks are copied to. */
  readonly arena = new CopyArena();
  private timer: unknown = undefined;
  private timerAt = Infinity;
  /** The armed timer was unref'd: no deadline is left, it fires once for nothing. */
  private timerUnrefd = false;
  /** The time of the events being dispatched. */
  private turnNow = 0;
  /** Whether the events after the output drain held any for the user (not only traces). */
  private userEvents = false;
  private scheduled = false;
  private pumping = false;
  /** The pump is running its rounds (timers, events, reads), before its output drain. */
  private inRounds = false;
  private closed = false;
  /**
   * How the output drain waits for the code the turn set off. Handlers often answer from a deferred
   * callback (node:stream's 'end' and 'finish' come on the next tick; Web Streams take promise hops:
   * a writer's close() reaches the sink two hops after its write() did, a reader loop sees the end
   * three or four hops after it was enqueued); draining after them sends the answer in the segment
   * that acknowledges the data, instead of a bare ACK first and the FIN apart from its data. In Node,
   * process.nextTick, whose queue runs only once the microtasks are done. Browsers have no hook
   * between the microtasks and the next task: there the drain waits DRAIN_HOPS rounds of the
   * microtask queue after the last user call (DRAIN_HOPS_MAX in all), which covers those chains and
   * never waits for a task.
   */
  private readonly drainWait: DrainWait = drainWait();
  private drainQueued = false;
  private drainDeferrals = 0;

  /** @internal Use createStack. */
  constructor(engine: Engine, prefixes: Prefix[], options: StackOptions) {
    this.engine = engine;
    this.prefixes = prefixes;
    this.name = options.name ?? "stack";
    this.addresses = [...options.addresses];
    this.now = options.now ?? (() => performance.now());
    this.timerFns = options.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    this.traceSink = options.trace;
  }

  /** The current time on the stack's clock, ms. */
  time(): number {
    return this.now();
  }

  /**
   * @internal The time for an engine call: while the stack is pumping, the time its turn started
   * (one clock read per turn, as a kernel stamps a batch of segments with one clock), else the clock.
   */
  engineNow(): number {
    return this.pumping ? this.turnNow : this.now();
  }

  /** Sends packets whose destination lies in `routes` (default: all) over `link`, and receives from it. */
  attach(link: Link, options?: AttachOptions): void {
    validateLink(link, "link");
    const o = optionsObject(options, "options");
    validateKnownKeys(o as Record<string, unknown>, "options", ATTACH_OPTIONS);
    if (o.routes !== undefined) validateArray(o.routes, "options.routes");
    if (this.closed) throw new TcpwasmError("ERR_SOCKET_CLOSED", "the stack is closed");
    if (this.links.some((l) => l.link === link)) invalidValue("link", "the same link", "is already attached to this stack");
    const mtu = checkedLinkMtu(link);
    const ipv4Only = mtu !== undefined && mtu < IPV6_MIN_MTU;
    const routes = (o.routes ?? (ipv4Only ? ["0.0.0.0/0"] : ["0.0.0.0/0", "::/0"])).map((r, i) => parsePrefix(r, `options.routes[${i}]`));
    if (ipv4Only && routes.some((r) => r.version === 6)) {
      throw new TcpwasmError("ERR_INVALID_ARG_VALUE", `link.mtu ${mtu} is below IPv6's minimum of ${IPV6_MIN_MTU}: the link carries IPv4 only and takes no IPv6 route`);
    }
    const routesAll = routes.some((r) => r.version === 4 && r.length === 0) && routes.some((r) => r.version === 6 && r.length === 0);
    const attached: AttachedLink = { link, mtu: mtu ?? 0, ipv4Only, routes, routesAll, batch: [] };
    this.links.push(attached);
    link.onReceive((packets) => this.receive(attached, packets));
  }

  /**
   * Active open. Errors found at once throw: argument errors (src/core/validate.ts), EADDRNOTAVAIL (a
   * `local` the stack does not own: its SYN would be spoofed), EHOSTUNREACH (no link routes `remote`),
   * EADDRINUSE, ENOBUFS.
   */
  openConnection(options: OpenConnectionOptions): StackConnection {
    validateObject(options, "options");
    validateConnectionOptions(options as unknown as Record<string, unknown>, "options", OPEN_CONNECTION_KEYS);
    const { remote, remotePort, local, localPort, ...connOptions } = options;
    const r = validateAddress(remote, "options.remote");
    validatePort(remotePort, "options.remotePort");
    if (localPort !== undefined) validatePort(localPort, "options.localPort", true);
    let localAddress: string;
    if (local !== undefined) {
      const l = validateAddress(local, "options.local");
      if (l.version !== r.version) invalidValue("options.local", local, `must be an IPv${r.version} address like options.remote`);
      // A SYN from an address the stack does not own would be a spoofed one, whose answer never comes back.
      localAddress = this.ownAddress(l.version, l.bytes, local, "options.local");
    }
    this.checkOpen();
    localAddress ??= this.sourceFor(r.version, r.bytes);
    if (!this.routes(r.version, r.bytes)) {
      throw new TcpwasmError("EHOSTUNREACH", `no attached link routes ${remote}${this.links.length === 0 ? " (attach a link first)" : ""}`);
    }
    const now = this.now();
    // The MSS comes from the MTU of the link the route picks (none yet: the config mtu).
    const linkMtu = this.routeTo(r.version, r.bytes, 0)?.mtu ?? 0;
    const id = this.engine.connect({ local: localAddress, remote, remotePort, localPort, linkMtu }, now, connOptions);
    const conn = new StackConnection(this, id, this.engine.endpoints(id));
    conn.state = this.engine.state(id);
    this.connections.set(id, conn);
    this.wantOutput();
    return conn;
  }

  /** Passive open. Each connection that completes the handshake is passed to `onConnection`. */
  openListener(options: OpenListenerOptions, onConnection: (conn: StackConnection) => void): StackListener {
    validateObject(options, "options");
    validateConnectionOptions(options as unknown as Record<string, unknown>, "options", OPEN_LISTENER_KEYS);
    const { port, address, backlog, ...connOptions } = options;
    validatePort(port, "options.port");
    if (backlog !== undefined) validateInteger(backlog, "options.backlog", 0, 0xffffffff);
    // Without it the first connection would throw inside the stack's event dispatch.
    validateFunction(onConnection, "onConnection");
    const a = address === undefined ? undefined : validateAddress(address, "options.address");
    this.checkOpen();
    const ids: number[] = [];
    try {
      if (a !== undefined) {
        const own = this.ownAddress(a.version, a.bytes, address!, "options.address");
        ids.push(this.engine.listen({ port, address: own, backlog }, connOptions));
      } else {
        for (const version of [4, 6] as const) {
          if (this.prefixes.some((p) => p.version === version)) ids.push(this.engine.listen({ port, ipVersion: version, backlog }, connOptions));
        }
      }
    } catch (err) {
      for (const id of ids) this.engine.release(id, this.now());
      throw err;
    }
    const listener = new StackListener(this, ids, port, onConnection);
    for (const id of ids) this.listeners.set(id, listener);
    this.wantOutput();
    return listener;
  }

  /** The Web face (src/faces/web.ts): a socket shaped like Direct Sockets' TCPSocket. */
  connect(options: SocketOptions): TcpSocket {
    return connectSocket(this, options);
  }

  /** The Web face: an async iterable of incoming TcpSockets. */
  listen(options: ListenOptions): TcpListener {
    return listenSocket(this, options);
  }

  /** Engine counters (including ICMP echo replies) plus the stack's own drops. */
  counters(): EngineCounters & StackCounters {
    return { ...this.engine.counters(), ...this.stackCounters };
  }

  /** Aborts every connection (RST), closes the listeners and the links, stops the timer. */
  close(): void {
    if (this.closed) return;
    const now = this.now();
    const conns = [...this.connections.values()];
    for (const c of conns) {
      try {
        this.engine.abort(c.id, now);
      } catch {
        // Already closed inside the engine: nothing to send.
      }
    }
    for (const l of new Set(this.listeners.values())) l.close();
    this.engine.events();
    this.flushOutput(now);
    this.closed = true;
    for (const c of conns) {
      try {
        c.finish(new TcpwasmError("ERR_SOCKET_CLOSED", "the stack was closed"));
      } catch (error) {
        reportHandlerError(error);
      }
    }
    this.connections.clear();
    this.readPending.clear();
    this.lingering.clear();
    if (this.timer !== undefined) this.timerFns.clearTimeout(this.timer);
    this.timer = undefined;
    for (const l of this.links) l.link.close();
    this.links.length = 0;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- internal, used by StackConnection and StackListener ----

  /** @internal Marks work to do: runs one pump in a microtask. */
  kick(): void {
    // A pump still in its rounds sees the work itself: a round that ran a handler is followed by
    // another, until one finds nothing, and then output is drained. Only later calls need a pump.
    if (this.scheduled || this.closed || this.inRounds) return;
    this.scheduled = true;
    // A reaction on a settled promise, not queueMicrotask: Node's queueMicrotask builds an
    // AsyncResource and a bound function per call, which showed in connection churn.
    RESOLVED.then(this.scheduledPump);
  }

  private readonly scheduledPump = (): void => {
    this.scheduled = false;
    try {
      this.pump();
    } catch (error) {
      reportHandlerError(error);
    }
  };

  /**
   * @internal A user call (open, write, end, abort, release, options) left output and perhaps
   * events in the engine: a drain takes both (its events pass through the same dispatch and ask for a
   * pump if they hold anything for a handler), so it is queued without a pump.
   */
  wantOutput(): void {
    // A pump in its rounds queues its own drain when they end.
    if (this.closed || this.inRounds) return;
    if (this.drainQueued) this.drainWait.renew();
    else this.queueDrain();
  }

  /** Queues the output drain (Stack.drainWait), once. */
  private queueDrain(): void {
    if (this.drainQueued) return;
    this.drainQueued = true;
    this.drainWait.queue(this.queuedDrain);
  }

  /** @internal */
  wantRead(conn: StackConnection): void {
    this.readPending.add(conn);
    this.kick();
  }

  /** @internal Nothing to deliver until the next readable, peerFin, closed or resume(). */
  readIdle(conn: StackConnection): void {
    this.readPending.delete(conn);
  }

  /** @internal */
  forget(conn: StackConnection): void {
    if (this.traceSink && this.connections.has(conn.id) && conn.state !== "CLOSED") this.lingering.set(conn.id, conn);
    this.connections.delete(conn.id);
    this.readPending.delete(conn);
  }

  /** @internal */
  forgetListener(ids: number[]): void {
    const now = this.now();
    for (const id of ids) {
      this.listeners.delete(id);
      if (!this.closed) this.engine.release(id, now);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new TcpwasmError("ERR_SOCKET_CLOSED", "the stack is closed");
  }

  /** The stack's own text for `bytes`, or EADDRNOTAVAIL (`text` as the caller gave it, named `name`). */
  private ownAddress(version: 4 | 6, bytes: Uint8Array, text: string, name: string): string {
    for (const p of this.prefixes) {
      if (p.version === version && sameAddress(p.bytes, bytes, 0)) return this.addressText(p);
    }
    throw new TcpwasmError("EADDRNOTAVAIL", `${name}: ${text} is not an address of this stack (${this.addresses.join(", ")})`);
  }

  /** The stack's address facing `remote`: the first of its version whose prefix holds it, else the first of its version. */
  private sourceFor(version: 4 | 6, remote: Uint8Array): string {
    let first: Prefix | undefined;
    for (const p of this.prefixes) {
      if (p.version !== version) continue;
      if (prefixHolds(p, version, remote, 0)) return this.addressText(p);
      first ??= p;
    }
    if (!first) throw new TcpwasmError("EADDRNOTAVAIL", `the stack has no IPv${version} address`);
    return this.addressText(first);
  }

  /** An address's text, formatted once per stack address (every connect asks for one). */
  private addressText(p: Prefix): string {
    let text = this.addressTexts.get(p);
    if (text === undefined) this.addressTexts.set(p, (text = formatAddress(p)));
    return text;
  }

  /**
   * A batch from link `l`. Whatever a link hands over (it may come from anyone on the other side of a
   * WebSocket) is counted and dropped when it cannot be used, never thrown out of the link's callback.
   */
  private receive(l: AttachedLink, packets: Uint8Array[]): void {
    if (this.closed) return;
    if (!Array.isArray(packets)) {
      this.stackCounters.linkDropped++;
      return;
    }
    // A record in the RX region is the packet and its u32 length (src/core/engine.ts Engine.input).
    const largest = this.engine.raw.engineRxCapacity() - 4;
    let ours = packets;
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      if (p instanceof Uint8Array && p.length > 0 && p.length <= largest && !(l.ipv4Only && p[0]! >> 4 === 6)) {
        if (this.isForUs(p)) {
          if (ours !== packets) ours.push(p);
          continue;
        }
        this.stackCounters.notForUs++;
      } else {
        this.stackCounters.linkDropped++;
      }
      // The first packet not taken: from here on, keep the others in a new array.
      if (ours === packets) ours = packets.slice(0, i);
    }
    if (ours.length === 0) return;
    this.engine.input(ours, this.now(), l.mtu);
    this.kick();
  }

  private isForUs(p: Uint8Array): boolean {
    const at = destinationAt(p);
    if (at < 0) return false;
    const version = at === 16 ? 4 : 6;
    for (const x of this.prefixes) if (x.version === version && sameAddress(x.bytes, p, at)) return true;
    return false;
  }

  private onTimer(handle: { id: unknown }): void {
    // A stale timer (cleared too late, or a throttled one firing in a bunch) only costs one pump.
    if (handle.id === this.timer) {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.timerUnrefd = false;
    }
    this.pump();
  }

  /** Timers, events, reads until quiet; then one output drain and the timer re-armed. */
  private pump(): void {
    if (this.closed || this.pumping) return;
    this.pumping = true;
    this.inRounds = true;
    let quiet = false;
    try {
      for (let round = 0; round < 64 && !this.closed; round++) {
        const now = (this.turnNow = this.now());
        this.engine.timers(now);
        const events = this.engine.visitEvents(this.dispatch);
        let moved = false;
        if (this.readPending.size > 0) {
          // A snapshot (deliver() removes from the set, handlers add to it), in a reused array.
          const list = this.readList;
          list.length = 0;
          for (const conn of this.readPending) list.push(conn);
          for (let i = 0; i < list.length && !this.closed; i++) {
            try {
              if (list[i]!.deliver()) moved = true;
            } catch (error) {
              // A handler threw (onData, onEnd, onClose): the other connections are still served.
              moved = true;
              reportHandlerError(error);
            }
          }
          list.length = 0;
        }
        if (events === 0 && !moved) {
          quiet = true;
          break;
        }
      }
      this.inRounds = false;
      if (this.closed) return;
      this.queueDrain();
    } finally {
      this.pumping = false;
      this.inRounds = false;
    }
    // Stopped by the round cap with work left: go on in another microtask.
    if (!quiet) this.kick();
    // Handlers that called back into the stack while it was pumping asked for another round.
    if (this.scheduled === false && this.readPendingReady()) this.kick();
  }

  /** One output drain, the trace events it recorded, and the timer re-armed at the next deadline. */
  private drainTurn(): void {
    this.turnNow = this.now();
    this.flushOutput(this.turnNow);
    // Output records its segments as trace events: take them now, stamped with this turn's time.
    this.userEvents = false;
    this.engine.visitEvents(this.dispatch);
    if (this.userEvents) this.kick();
    this.armTimer();
  }

  private readonly queuedDrain = (): void => {
    this.drainQueued = false;
    if (this.closed) return;
    // A pump already queued (a handler on an earlier tick called in) drains when it is done; wait
    // for it, a bounded number of times so that output is never held back for long.
    if (this.scheduled && this.drainDeferrals < MAX_DRAIN_DEFERRALS) {
      this.drainDeferrals++;
      return;
    }
    this.drainDeferrals = 0;
    this.pumping = true;
    try {
      this.drainTurn();
    } finally {
      this.pumping = false;
    }
  };

  private readPendingReady(): boolean {
    for (const c of this.readPending) if (c.canDeliver()) return true;
    return false;
  }

  /**
   * Handles one engine event (Engine.visitEvents), at this turn's time. A handler that throws does not
   * stop the batch: the events after it are still dispatched (each exactly once) and the error is
   * reported as uncaught (reportHandlerError).
   */
  private readonly dispatch: EventVisitor = (type, code, id, a, at) => {
    try {
      this.dispatchEvent(type, code, id, a, at);
    } catch (error) {
      reportHandlerError(error);
    }
  };

  private dispatchEvent(type: number, code: number, id: number, a: number, at: number): void {
    if (type === EventType.state || type === EventType.segmentIn || type === EventType.segmentOut) {
      this.traced(type, id, a, at);
      return;
    }
    this.userEvents = true;
    if (type === EventType.accepted) {
      const listener = this.listeners.get(a);
      const conn = new StackConnection(this, id, this.engine.endpoints(id));
      conn.state = this.engine.state(id);
      this.connections.set(id, conn);
      if (!listener || listener.closed) {
        // Completed after the listener went away: nobody will take it.
        this.engine.abort(id, this.turnNow);
        return;
      }
      listener.accept(conn);
      return;
    }
    const conn = this.connections.get(id);
    if (!conn) return;
    switch (type) {
      case EventType.connected:
        conn.state = this.engine.state(id);
        conn.onConnect?.();
        break;
      case EventType.readable:
        this.wantRead(conn);
        break;
      case EventType.writable:
        conn.onWritable?.();
        break;
      case EventType.peerFin:
        conn.peerFinished = true;
        this.wantRead(conn);
        break;
      case EventType.reset:
      case EventType.timedOut:
      case EventType.error: {
        const error = engineErrorCode(code);
        const what = error === "ECONNREFUSED" ? "connection refused" : type === EventType.reset ? "reset by peer" : type === EventType.timedOut ? "timed out" : "failed";
        conn.error ??= new TcpwasmError(error, `${conn.describe()}: ${what}`);
        break;
      }
      case EventType.closed:
        conn.markDone(conn.error);
        break;
    }
  }

  /** A state transition or (with tracing) a segment: tracked, and passed to the trace sink. */
  private traced(type: number, id: number, a: number, at: number): void {
    const conn = this.connections.get(id) ?? this.lingering.get(id);
    const to = type === EventType.state ? TCP_STATES[a]! : undefined;
    if (to && conn) conn.state = to;
    if (to === "CLOSED") this.lingering.delete(id);
    if (this.traceSink) {
      const e = this.engine.eventAt(at)!;
      const time = this.turnNow;
      const endpoint = this.name;
      if (e.type === "state") this.traceSink({ kind: "state", time, endpoint, from: e.from, to: e.to }, conn, id);
      else if (e.type === "segment") {
        this.traceSink({
          kind: "segment", time, endpoint, direction: e.direction, flags: e.flags, seq: e.seq, ack: e.ack,
          window: e.window, length: e.length, options: e.options,
        }, conn, id);
      }
    }
    if (to === "TIME-WAIT" && conn && this.connections.has(id)) conn.markDone(undefined);
  }

  private flushOutput(now: number): void {
    const links = this.links;
    if (links.length === 0) return;
    const x = this.engine.raw;
    for (;;) {
      const n = x.engineOutput(now);
      if (n > 0) {
        // One copy of the whole TX batch (records: u32 length, packet, padding to 4), then views into
        // it: the link owns them, and the engine reuses its TX region on the next call.
        const base = x.engineTxPtr() >>> 0;
        const dv = this.engine.memory.dv;
        let end = 0;
        for (let i = 0; i < n; i++) end += 4 + ((dv.getUint32(base + end, true) + 3) & ~3);
        const copy = this.arena.copy(this.engine.memory.u8, base, base + end);
        for (let i = 0, off = 0; i < n; i++) {
          const len = dv.getUint32(base + off, true);
          const packet = copy.subarray(off + 4, off + 4 + len);
          off += 4 + ((len + 3) & ~3);
          const link = links.length === 1 && links[0]!.routesAll ? links[0] : this.route(packet);
          if (link) link.batch.push(packet);
          else this.stackCounters.noRoute++;
        }
      }
      if (n === 0 || !x.engineOutputMore()) break;
    }
    for (const l of links) {
      if (l.batch.length === 0) continue;
      const batch = l.batch;
      l.batch = [];
      l.link.send(batch);
    }
  }

  /** Whether some attached link routes `address`. */
  private routes(version: 4 | 6, address: Uint8Array): boolean {
    for (const l of this.links) {
      if (l.routesAll) return true;
      for (const r of l.routes) if (prefixHolds(r, version, address, 0)) return true;
    }
    return false;
  }

  /** The link whose route holds the packet's destination with the longest prefix. */
  private route(packet: Uint8Array): AttachedLink | undefined {
    const at = destinationAt(packet);
    if (at < 0) return undefined;
    return this.routeTo(at === 16 ? 4 : 6, packet, at);
  }

  /** The link whose route holds the address at `bytes[at]` with the longest prefix. */
  private routeTo(version: 4 | 6, bytes: Uint8Array, at: number): AttachedLink | undefined {
    let best: AttachedLink | undefined;
    let bestLength = -1;
    for (const l of this.links) {
      for (const r of l.routes) {
        if (r.length > bestLength && prefixHolds(r, version, bytes, at)) {
          best = l;
          bestLength = r.length;
        }
      }
    }
    return best;
  }

  private armTimer(): void {
    const deadline = this.engine.nextDeadline();
    // A timer already armed no later than the deadline stays: firing early costs one pump, which
    // re-arms it, while clearing and setting a timer on every pump cost more than that in churn.
    // With no deadline left an idle stack must not keep a Node process alive: a Node timer is
    // unref'd and kept (ref'd again if a deadline comes back before it fires, as in connection
    // churn), any other timer is cleared.
    const timer = this.timer as { ref?: () => void; unref?: () => void } | undefined;
    if (deadline === this.timerAt || (deadline > this.timerAt && deadline !== Infinity)) {
      if (this.timerUnrefd) {
        this.timerUnrefd = false;
        timer!.ref!();
      }
      return;
    }
    if (deadline === Infinity && typeof timer?.unref === "function" && typeof timer.ref === "function") {
      if (!this.timerUnrefd) {
        this.timerUnrefd = true;
        timer.unref();
      }
      return;
    }
    this.timerUnrefd = false;
    if (this.timer !== undefined) this.timerFns.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = deadline;
    if (deadline === Infinity) return;
    // At least 1 ms: a deadline the engine reports as already due after timers(now) must not spin.
    const delay = Math.max(1, Math.ceil(deadline - this.now()));
    const handle: { id: unknown } = { id: undefined };
    handle.id = this.timer = this.timerFns.setTimeout(() => this.onTimer(handle), delay);
  }
}

export class StackListener {
  closed = false;

  /** @internal */
  constructor(
    private readonly stack: Stack,
    private readonly ids: number[],
    readonly port: number,
    private readonly onConnection: (conn: StackConnection) => void,
  ) {}

  /** @internal */
  accept(conn: StackConnection): void {
    this.onConnection(conn);
  }

  /** Stops listening; connections already accepted are unaffected. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stack.forgetListener(this.ids);
  }
}

const NO_KEYS: ReadonlySet<string> = new Set();

export class StackConnection {
  /** The RFC 9293 state, as of the last event. */
  state: TcpState = "CLOSED";
  /** Set when the connection failed (reset, timeout, local error). */
  error: TcpwasmError | undefined;
  /** @internal The peer's FIN arrived (delivered as onEnd once the data before it was read). */
  peerFinished = false;
  bytesRead = 0;
  bytesWritten = 0;

  onConnect: (() => void) | undefined;
  onEnd: (() => void) | undefined;
  onWritable: (() => void) | undefined;
  onClose: ((error: TcpwasmError | undefined) => void) | undefined;

  private dataHandler: ((chunk: Uint8Array) => void) | undefined;
  private paused = false;
  private endDelivered = false;
  private done = false;
  private finished = false;
  private ended = false;

  /** @internal */
  constructor(
    private readonly stack: Stack,
    readonly id: number,
    private readonly endpoints: ConnectionEndpoints,
  ) {}

  get localAddress(): string {
    return this.endpoints.localAddress;
  }

  get localPort(): number {
    return this.endpoints.localPort;
  }

  get remoteAddress(): string {
    return this.endpoints.remoteAddress;
  }

  get remotePort(): number {
    return this.endpoints.remotePort;
  }

  /** Receives each chunk of data (a copy, yours to keep; it may share its ArrayBuffer with others). Without a handler the connection reads nothing, as if paused. */
  get onData(): ((chunk: Uint8Array) => void) | undefined {
    return this.dataHandler;
  }

  set onData(handler: ((chunk: Uint8Array) => void) | undefined) {
    this.dataHandler = handler;
    if (handler && this.hasDelivery()) this.stack.wantRead(this);
  }

  /** True once onClose ran (or release() was called). */
  get isClosed(): boolean {
    return this.finished;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Copies as much of `bytes` into the send ring as fits; returns the count taken (0: wait for onWritable). */
  write(bytes: Uint8Array | ArrayBuffer | ArrayBufferView): number {
    const data = toBytes(bytes, "bytes");
    this.checkUsable();
    if (this.ended) throw new TcpwasmError("EPIPE", `${this.describe()}: write after end`);
    const n = this.stack.engine.send(this.id, data, this.stack.engineNow());
    this.bytesWritten += n;
    if (n > 0) this.stack.wantOutput();
    return n;
  }

  /** Bytes the send ring takes now without blocking. */
  writableSpace(): number {
    if (this.finished || this.ended) return 0;
    const s = this.stack.engine.status(this.id);
    return Math.max(0, s.sendBuffer - s.sendQueued);
  }

  /** Half-close: FIN after the queued data; reading goes on. Idempotent. */
  end(): void {
    if (this.finished || this.ended) return;
    this.ended = true;
    this.stack.engine.close(this.id, this.stack.engineNow());
    this.stack.wantOutput();
  }

  /** Resets the connection (RST); onClose follows with no error. */
  abort(): void {
    if (this.finished) return;
    try {
      this.stack.engine.abort(this.id, this.stack.engineNow());
    } catch {
      // The engine already ended it; the pending CLOSED event finishes the connection.
    }
    this.stack.wantOutput();
  }

  /** Stops delivering data: unread bytes stay in the receive ring and the advertised window shrinks. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.hasDelivery()) this.stack.wantRead(this);
  }

  /**
   * Whether a pump would deliver something now: data in the ring, the peer's FIN or the end of the
   * connection. Otherwise the engine's next readable, peerFin or closed event asks for one, so
   * resuming a reader with nothing waiting (every socket does at connect) costs no pump.
   */
  private hasDelivery(): boolean {
    if (this.finished) return false;
    if (this.done || (this.peerFinished && !this.endDelivered)) return true;
    return this.stack.engine.raw.connRecvAvail(this.id) > 0;
  }

  setNoDelay(noDelay = true): void {
    validateBoolean(noDelay, "noDelay");
    this.setOptions({ noDelay });
  }

  /** Keepalive on or off; `idleMs` (> 0) the idle time before the first probe, else the engine's default. */
  setKeepAlive(enable: boolean, idleMs?: number): void {
    validateBoolean(enable, "enable");
    if (idleMs !== undefined) validateNumber(idleMs, "idleMs", 0, 0xffffffff);
    this.setOptions(idleMs && idleMs >= 1 ? { keepalive: enable, keepaliveIdleMs: idleMs } : { keepalive: enable });
  }

  /** RFC 5482 user timeout, ms (0: none): unacknowledged data older than this ends the connection (ETIMEDOUT). */
  setUserTimeout(ms: number): void {
    validateNumber(ms, "ms", 0, 0xffffffff);
    this.setOptions({ userTimeoutMs: ms });
  }

  setOptions(options: ConnectionOptions): void {
    validateObject(options, "options");
    validateConnectionOptions(options as Record<string, unknown>, "options", NO_KEYS);
    if (this.finished) return;
    this.stack.engine.setOptions(this.id, options);
    this.stack.wantOutput();
  }

  /** The engine's STATUS record (RFC 9293 3.10.6): sequence variables, windows, RTT, queues. */
  status(): ConnectionStatus {
    this.checkUsable();
    return this.stack.engine.status(this.id);
  }

  /** Gives the handle back now, with no further callbacks; the engine ends the connection itself. */
  release(): void {
    if (this.finished) return;
    this.finished = true;
    this.stack.forget(this);
    if (!this.stack.isClosed) this.stack.engine.release(this.id, this.stack.engineNow());
    this.stack.wantOutput();
  }

  describe(): string {
    const fmt = (a: string, p: number) => (a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`);
    return `${fmt(this.localAddress, this.localPort)} -> ${fmt(this.remoteAddress, this.remotePort)}`;
  }

  // ---- internal, driven by the stack ----

  /** @internal Can deliver data, an end or a close right now. */
  canDeliver(): boolean {
    return !this.finished && (this.done || (!this.paused && this.onData !== undefined));
  }

  /** @internal The protocol is over (TIME-WAIT or CLOSED), with `error` if it failed. */
  markDone(error: TcpwasmError | undefined): void {
    if (this.finished) return;
    this.done = true;
    if (error) this.error = error;
    this.stack.wantRead(this);
  }

  /**
   * @internal Delivers readable data (while not paused), then the end, then the close. Returns true if
   * anything was delivered.
   */
  deliver(): boolean {
    if (this.finished) {
      this.stack.forget(this);
      return false;
    }
    let moved = false;
    if (!this.error) {
      const engine = this.stack.engine;
      const x = engine.raw;
      while (!this.paused && this.onData && !this.finished) {
        const avail = x.connRecvAvail(this.id);
        if (avail <= 0) break;
        const p = x.connRecvPtr(this.id) >>> 0;
        const chunk = this.stack.arena.copy(engine.memory.u8, p, p + avail);
        x.connRecvConsumeMs(this.id, avail, this.stack.engineNow());
        this.bytesRead += avail;
        moved = true;
        this.onData(chunk);
      }
      if (this.finished) return moved;
      const drained = this.error !== undefined || x.connRecvAvail(this.id) <= 0;
      if (!drained) {
        // Paused (or no reader yet): keep the data in the ring; resume() asks again.
        this.stack.readIdle(this);
        return moved;
      }
      if (this.peerFinished && !this.endDelivered) {
        this.endDelivered = true;
        moved = true;
        this.onEnd?.();
        if (this.finished) return moved;
      }
    }
    if (this.done) {
      this.finish(this.error);
      return true;
    }
    this.stack.readIdle(this);
    return moved;
  }

  /** @internal Final callback; releases the engine handle. */
  finish(error: TcpwasmError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.stack.forget(this);
    if (!this.stack.isClosed) {
      try {
        this.stack.engine.release(this.id, this.stack.engineNow());
      } catch {
        // Already freed by the engine.
      }
    }
    this.onClose?.(error);
  }

  private checkUsable(): void {
    if (this.finished) throw this.error ?? new TcpwasmError("ERR_SOCKET_CLOSED", `${this.describe()}: the connection is closed`);
  }
}

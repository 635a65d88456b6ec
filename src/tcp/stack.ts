// A stack: one engine, its addresses, its links, its clock and its one timer. This is the internal
// connection API both socket faces are built on (src/faces/web.ts for Web streams, src/faces/node-net.ts
// for node:net); the faces sit on it (the Web face adds stack.connect and stack.listen itself), and
// the stack imports neither. Its parts:
// src/net/addresses.ts (own addresses), src/net/routes.ts (links and routes), src/tcp/drain.ts (when
// output leaves), src/tcp/timer.ts (the one timer), src/tcp/connection.ts and src/tcp/listener.ts.
// Browser-safe: web-platform APIs only. Over 500 lines on purpose: the pump, the drain turn and the
// event dispatch share one scheduling state (pumping, inRounds, drainQueued, turnNow) and read as one
// state machine; what does not touch that state lives in the files above.
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
// (passive ones: the link their SYN came in on). An Ethernet link (Link.framing "ethernet") is an
// interface of the core: its frames go in whole (the core answers ARP and neighbour discovery and
// keeps what is for our addresses), and the core frames what the routes send it, so its packets come
// out of Engine.output as ready frames for that link. Errors found at once (EADDRINUSE, EADDRNOTAVAIL,
// argument errors: src/core/validate.ts) throw from openConnection/openListener; later ones arrive as onClose(error).
//
// Event flow (push in, poll out, one deadline). Packets in and the timer only mark work and queue one pump (a
// microtask), which runs the engine's timers, dispatches its events to the connections' handlers
// (which may call back into the connection) and drains readable data. Output waits for what the turn
// set off (src/tcp/drain.ts: Node's next tick, or rounds of the microtask queue in browsers), then
// leaves in one batch per link, and the single timer is re-armed at the engine's next deadline; user
// calls (write, end, ...) queue only that drain. A timer that fires late, early or several times is
// harmless: the engine runs whatever is due at the stack's `now()`.
//
// The connection contract (write, reading, end, abort, onClose, release) is at the top of
// src/tcp/connection.ts.
import { Engine, type EngineCounters, type UdpCounters } from "../core/engine.js";
import { EventType, NO_INTERFACE } from "../core/boundary.js";
import { TcpwasmError, connectionError, engineErrorCode } from "../core/errors.js";
import type { EventVisitor } from "../core/events.js";
import { validateConnectionOptions, type EngineConfig } from "../core/settings.js";
import { TCP_STATES } from "../core/trace.js";
import { validateAddress } from "../core/address.js";
import {
  invalidValue, optionsObject, validateArray, validateFunction, validateInteger, validateKnownKeys, validateObject, validatePort,
} from "../core/validate.js";
import { LocalAddresses } from "../net/addresses.js";
import { checkedFraming, validateLink, type Link } from "../net/link.js";
import { formatMac } from "../net/mac.js";
import { validateEdgeOptions, type EdgeSettings } from "./edge-options.js";
import { Routes, type AttachedLink } from "../net/routes.js";
import { destinationAt, isLoopback, isUnicastDestination, sourceAt } from "../net/prefix.js";
import { StackConnection } from "./connection.js";
import { StackListener } from "./listener.js";
import { HeldConnection, type HeldHost } from "./held.js";
import { UdpSockets, type OpenUdpOptions, type StackUdpSocket, type UdpMessage } from "./udp.js";
import { DEFAULT_MTU } from "../net/link.js";
import { drainWait, RESOLVED, type DrainWait } from "./drain.js";
import { reportHandlerError } from "./handler-error.js";
import { Lifetime } from "./lifetime.js";
import { DeadlineTimer, GLOBAL_TIMERS, type StackTimers } from "./timer.js";
import {
  ATTACH_OPTIONS, FORWARDER_KEYS, OPEN_CONNECTION_KEYS, OPEN_LISTENER_KEYS, validateAnyDestination, validateStackOptions,
  type AttachOptions, type OpenConnectionOptions, type OpenForwarderOptions, type OpenListenerOptions, type StackCounters, type StackDnsOptions, type StackOptions,
} from "./options.js";

/** Bytes of an Ethernet II header: the least an Ethernet link's frame holds. */
const ETHERNET_HEADER = 14;

/** The MTU of the path a stack's packets to itself take: the largest an IP packet can be (RFC 791). */
const LOOPBACK_MTU = 65535;

export type { AttachOptions, OpenConnectionOptions, OpenForwarderOptions, OpenListenerOptions, StackCounters, StackDnsOptions, StackOptions } from "./options.js";
export { HeldConnection, type Refusal } from "./held.js";
export type { StackTimers } from "./timer.js";
export { StackConnection } from "./connection.js";
export { StackListener } from "./listener.js";
export { StackUdpSocket, type OpenUdpOptions, type UdpMessage, type UdpSendOptions } from "./udp.js";

/** Output drains a queued pump may postpone in a row (see Stack#queuedDrain). */
const MAX_DRAIN_DEFERRALS = 4;

/**
 * Creates a stack: loads and configures an engine. Attach links before opening connections.
 * @throws TcpwasmError (as a rejection) ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options, before anything is loaded.
 */
export async function createStack(options: StackOptions): Promise<Stack> {
  validateStackOptions(options);
  const addresses = new LocalAddresses(options.addresses, "options.addresses");
  const config: EngineConfig = { ...options.config };
  if (options.trace) config.trace = true;
  const engine = await Engine.create({ flavor: options.flavor, wasm: options.wasm, config, secret: options.secret });
  return new Stack(engine, addresses, options);
}

/**
 * One TCP/IP endpoint: an engine, its addresses, the links it is attached to, its clock and its one
 * timer. Connections and listeners open on it (openConnection, openListener), the faces bind to it
 * (bindWeb, bindNet). Made by createStack.
 */
export class Stack {
  /** The engine, for counters(), status and benchmarks. */
  readonly engine: Engine;
  /** This endpoint's name in trace events (StackOptions.name). */
  readonly name: string;
  /** The addresses with their prefix lengths ("10.0.0.1/24"); a bare address given shows as its /32 or /128. */
  readonly addresses: readonly string[];
  /** Packets the stack itself dropped before the engine saw them. */
  readonly stackCounters: StackCounters = { notForUs: 0, noRoute: 0, linkDropped: 0, loopback: 0 };
  /** The resolver options (StackOptions.dns), checked; undefined when the stack resolves no names. */
  readonly dns: Readonly<StackDnsOptions> | undefined;
  /** The timer functions (StackOptions.timers), for the services that run on the stack's clock. */
  readonly timers: StackTimers;
  /** Our addresses found in use by another node on an Ethernet link (duplicate address detection, RFC 4862 5.4.5). */
  readonly addressConflicts: string[] = [];
  /** Called when duplicate address detection finds one of our addresses in use on `link`; the address stays unusable there. */
  onAddressConflict?: (address: string, link: Link) => void;
  readonly #local: LocalAddresses;
  /** Packets to ourselves from the current drain, taken back in once it ends. */
  #loopback: Uint8Array[] = [];
  readonly #now: () => number;
  readonly #traceSink: StackOptions["trace"];
  readonly #routing = new Routes();
  readonly #connections = new Map<number, StackConnection>();
  readonly #listeners = new Map<number, StackListener>();
  /** The any-destination listeners' callbacks, by listener id (openForwarder). */
  readonly #forwarders = new Map<number, (held: HeldConnection) => void>();
  /** Links attached with anyDestination: the host filter lets any unicast destination through. */
  readonly #anyDestination = new Set<AttachedLink>();
  /** Connections with data or an end to deliver. */
  readonly #readPending = new Set<StackConnection>();
  readonly #readList: StackConnection[] = [];
  /** With tracing: connections already closed for the user whose engine side has not reached CLOSED. */
  readonly #lingering = new Map<number, StackConnection>();
  /** What keeps a Node process alive: open connections and listeners, not protocol timers. */
  readonly #lifetime = new Lifetime();
  readonly #timer: DeadlineTimer;
  /** The time of the events being dispatched. */
  #turnNow = 0;
  /** Whether the events after the output drain held any for the user (not only traces). */
  #userEvents = false;
  #scheduled = false;
  #pumping = false;
  /** The pump is running its rounds (timers, events, reads), before its output drain. */
  #inRounds = false;
  #closed = false;
  /** How the output drain waits for the code the turn set off (src/tcp/drain.ts). */
  readonly #drainWait: DrainWait = drainWait();
  /** The UDP sockets (src/tcp/udp.ts). */
  readonly #udp: UdpSockets;
  #drainQueued = false;
  #drainDeferrals = 0;
  /**
   * Every attached link copies on send (Link.copiesOnSend): output goes to them as views of the
   * engine's TX region, one batch per TX batch, instead of being copied out first.
   */
  #lendOutput = false;

  /** @internal Use createStack. */
  constructor(engine: Engine, local: LocalAddresses, options: StackOptions) {
    this.engine = engine;
    this.#local = local;
    this.name = options.name ?? "stack";
    this.addresses = local.texts;
    this.#now = options.now ?? (() => performance.now());
    this.timers = options.timers ?? GLOBAL_TIMERS;
    this.#timer = new DeadlineTimer(this.timers, this.#now, () => this.#pump());
    this.#traceSink = options.trace;
    // A copy: options changed after createStack do not reach the resolver.
    this.dns = options.dns && Object.freeze({ ...options.dns, ...(options.dns.servers && { servers: [...options.dns.servers] }) });
    this.#udp = new UdpSockets({
      engine,
      local,
      checkOpen: () => this.#checkOpen(),
      wantOutput: () => this.wantOutput(),
      flushNow: () => this.#flushOutput(this.engineNow()),
      pathMtu: (version, bytes) => {
        if (this.#local.loopsBack(version, bytes, 0)) return LOOPBACK_MTU;
        const link = this.#routing.routeTo(version, bytes, 0);
        return link === undefined ? 0 : link.mtu || DEFAULT_MTU;
      },
      interfaceOf: (link) => this.#routing.links.findIndex((l) => l.link === link),
      interfaceMtu: (ifIndex) => this.#routing.links[ifIndex]?.mtu || DEFAULT_MTU,
      countNoRoute: () => {
        this.stackCounters.noRoute++;
      },
      hold: (holder, holds) => this.#lifetime.hold(holder, holds),
      anyDestination: () => this.#anyDestination.size > 0,
    });
  }

  /**
   * The address a listener on all of the stack's addresses shows: "::" when the stack has IPv6 (one
   * listener per IP version, shown as the dual-stack wildcard, as node:net does), else "0.0.0.0".
   */
  get wildcardAddress(): string {
    return this.#local.wildcard();
  }

  /** The current time on the stack's clock, ms. */
  time(): number {
    return this.#now();
  }

  /**
   * @internal The time for an engine call: while the stack is pumping, the time its turn started
   * (one clock read per turn, as a kernel stamps a batch of segments with one clock), else the clock.
   */
  engineNow(): number {
    return this.#pumping ? this.#turnNow : this.#now();
  }

  /**
   * Sends packets whose destination lies in `routes` (default: all) over `link`, and receives from it.
   * On an Ethernet link (`link.framing` "ethernet") the stack takes a MAC address there and answers
   * ARP and neighbour discovery; `mac`, `gateway` and `router` apply to such a link only.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for a bad link, route or
   * Ethernet option (ERR_OUT_OF_RANGE past 8 links or 8 routes), ENOBUFS when the core has no memory for the neighbour cache.
   */
  attach(link: Link, options?: AttachOptions): void {
    validateLink(link, "link");
    const o = optionsObject(options, "options");
    validateKnownKeys(o as Record<string, unknown>, "options", ATTACH_OPTIONS);
    if (o.routes !== undefined) validateArray(o.routes, "options.routes");
    const ethernet = checkedFraming(link) === "ethernet";
    const edge = validateEdgeOptions(o, ethernet, this.#local);
    if (this.#closed) throw new TcpwasmError("ERR_SOCKET_CLOSED", "the stack is closed");
    const anyDestination = validateAnyDestination(o.anyDestination);
    const attached = this.#routing.attach(link, o.routes, this.engine.configuredMtu());
    try {
      this.#configureInterface(attached, edge, anyDestination);
    } catch (error) {
      // The core refused the interface (memory for the neighbour cache): the link is not attached.
      this.#routing.links.pop();
      throw error;
    }
    if (anyDestination) this.#anyDestination.add(attached);
    // #receive copies what it takes into the engine before it returns.
    link.onReceive((packets) => this.#receive(attached, packets), { copies: true });
    this.#lendOutput = this.#routing.links.every((l) => l.link.copiesOnSend === true);
    // Gratuitous ARP, duplicate address detection and router advertisements leave at once.
    if (ethernet) this.wantOutput();
  }

  /** Describes an attached link to the core (assembly/engine/edge.ts): its kind, MTU, routes and, for Ethernet, the rest. */
  #configureInterface(attached: AttachedLink, edge: EdgeSettings | undefined, anyDestination: { echo: boolean } | undefined): void {
    const ethernet = attached.framing === "ethernet";
    this.engine.configureInterface(attached.ifIndex, {
      kind: attached.framing,
      mtu: attached.mtu || this.engine.configuredMtu(),
      mac: edge?.mac,
      router: edge?.router,
      anyDestination,
      // The core needs our addresses on a gateway link of either kind: a SYN to one of them is ours.
      addresses: ethernet || anyDestination ? this.#local.prefixes.map((p) => ({ version: p.version, bytes: p.bytes, prefixLength: p.length })) : undefined,
      gateways: edge?.gateways,
      routes: attached.routes.map((r) => ({ version: r.version, bytes: r.bytes, prefixLength: r.length })),
    }, this.#now());
    if (edge) attached.mac = edge.mac;
  }

  /** The stack's MAC address on an attached Ethernet link ("02:00:00:00:00:01"), undefined for a raw-IP link. */
  macAddress(link: Link): string | undefined {
    const l = this.#routing.links.find((a) => a.link === link);
    return l?.mac && formatMac(l.mac);
  }

  /**
   * Active open. Errors found at once throw: argument errors (src/core/validate.ts), EADDRNOTAVAIL (a
   * `local` the stack does not own: its SYN would be spoofed), EHOSTUNREACH (no link routes `remote`),
   * EADDRINUSE, ENOBUFS.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE, EADDRNOTAVAIL, EHOSTUNREACH, EADDRINUSE, ENOBUFS, or ERR_SOCKET_CLOSED on a closed stack.
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
      localAddress = this.#local.own(l.version, l.bytes, local, "options.local");
    }
    this.#checkOpen();
    localAddress ??= this.#local.sourceFor(r.version, r.bytes);
    const loops = this.#local.loopsBack(r.version, r.bytes, 0);
    if (!loops && !this.#routing.routes(r.version, r.bytes)) {
      throw new TcpwasmError("EHOSTUNREACH", `no attached link routes ${remote}${this.#routing.links.length === 0 ? " (attach a link first)" : ""}`);
    }
    const now = this.#now();
    // The MSS comes from the MTU of the link the route picks (none yet: the config mtu).
    const route = loops ? undefined : this.#routing.routeTo(r.version, r.bytes, 0);
    const linkMtu = loops ? LOOPBACK_MTU : route?.mtu ?? 0;
    const linkOffloadMtu = route?.offloadMtu ?? 0;
    const id = this.engine.connect({ local: localAddress, remote, remotePort, localPort, linkMtu, linkOffloadMtu }, now, connOptions);
    const conn = new StackConnection(this, id, this.engine.endpoints(id));
    this.#lifetime.hold(conn, true);
    conn.state = this.engine.state(id);
    this.#connections.set(id, conn);
    this.wantOutput();
    return conn;
  }

  /**
   * Passive open. Each connection that completes the handshake is passed to `onConnection`.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE, EADDRNOTAVAIL (an address the stack does not own), EADDRINUSE, ENOBUFS, or ERR_SOCKET_CLOSED on a closed stack.
   */
  openListener(options: OpenListenerOptions, onConnection: (conn: StackConnection) => void): StackListener {
    validateObject(options, "options");
    validateConnectionOptions(options as unknown as Record<string, unknown>, "options", OPEN_LISTENER_KEYS);
    const { port, address, backlog, ...connOptions } = options;
    validatePort(port, "options.port");
    if (backlog !== undefined) validateInteger(backlog, "options.backlog", 0, 0xffffffff);
    // Without it the first connection would throw inside the stack's event dispatch.
    validateFunction(onConnection, "onConnection");
    const a = address === undefined ? undefined : validateAddress(address, "options.address");
    this.#checkOpen();
    const ids: number[] = [];
    try {
      if (a !== undefined) {
        const own = this.#local.own(a.version, a.bytes, address!, "options.address");
        ids.push(this.engine.listen({ port, address: own, backlog }, connOptions));
      } else {
        for (const version of [4, 6] as const) {
          if (this.#local.has(version)) ids.push(this.engine.listen({ port, ipVersion: version, backlog }, connOptions));
        }
      }
    } catch (err) {
      for (const id of ids) this.engine.release(id, this.#now());
      throw err;
    }
    const listener = new StackListener(this.#forgetListener, ids, port, onConnection, this.#hold);
    for (const id of ids) this.#listeners.set(id, listener);
    this.wantOutput();
    return listener;
  }

  /**
   * Gateway mode (the shape of slirp and gVisor's TCP forwarder): every TCP connection a guest opens
   * to any address (the stack's own included) on a link attached with `anyDestination`, that no
   * listener takes, is passed to `onConnection` held: its SYN is answered only when the callback
   * calls accept() (after connecting the far side) or refuse(). One forwarder per stack.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE or ERR_OUT_OF_RANGE, EADDRINUSE (a forwarder is open), ENOBUFS, or ERR_SOCKET_CLOSED on a closed stack.
   */
  openForwarder(options: OpenForwarderOptions | undefined, onConnection: (held: HeldConnection) => void): StackListener {
    const o = optionsObject(options, "options");
    validateConnectionOptions(o as unknown as Record<string, unknown>, "options", FORWARDER_KEYS);
    const { backlog, ...connOptions } = o;
    if (backlog !== undefined) validateInteger(backlog, "options.backlog", 0, 0xffffffff);
    validateFunction(onConnection, "onConnection");
    this.#checkOpen();
    const ids: number[] = [];
    try {
      for (const version of [4, 6] as const) if (this.#local.has(version)) ids.push(this.engine.listenAny(version, backlog, connOptions));
    } catch (err) {
      for (const id of ids) this.engine.release(id, this.#now());
      throw err;
    }
    const host = this.#heldHost;
    // A connection a SYN cookie completed (a SYN flood filled the backlog) was never held.
    const listener = new StackListener(this.#forgetListener, ids, 0, (conn) => onConnection(new HeldConnection(host, conn, false)), this.#hold);
    for (const id of ids) {
      this.#listeners.set(id, listener);
      this.#forwarders.set(id, onConnection);
    }
    return listener;
  }

  readonly #heldHost: HeldHost = {
    accept: (conn) => {
      this.engine.acceptHeld(conn.id);
      this.wantOutput();
    },
    refuse: (conn, how) => {
      this.engine.refuseHeld(conn.id, how);
      this.wantOutput();
    },
  };

  /**
   * A UDP socket (src/tcp/udp.ts): bound at once, `onMessage` called with each datagram it receives.
   * @throws TcpwasmError ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE, EADDRNOTAVAIL (an address the stack does not own), EADDRINUSE, ENOBUFS (the port table is full), or ERR_SOCKET_CLOSED on a closed stack.
   */
  openUdp(options: OpenUdpOptions | undefined, onMessage: (message: UdpMessage) => void): StackUdpSocket {
    return this.#udp.open(options, onMessage);
  }

  /** Engine counters (including ICMP echo replies), UDP counters, plus the stack's own drops. */
  counters(): EngineCounters & UdpCounters & StackCounters {
    return { ...this.engine.counters(), ...this.engine.udpCounters(), ...this.stackCounters };
  }

  /** Aborts every connection (RST), closes the listeners and the links, stops the timer. */
  close(): void {
    if (this.#closed) return;
    const now = this.#now();
    const conns = [...this.#connections.values()];
    for (const c of conns) {
      try {
        this.engine.abort(c.id, now);
      } catch {
        // Already closed inside the engine: nothing to send.
      }
    }
    for (const l of new Set(this.#listeners.values())) l.close();
    // The aborts' events are dropped: their connections are finished below, without a pump.
    this.engine.events(ignoreEvent);
    this.#flushOutput(now);
    this.#closed = true;
    this.#udp.closeAll();
    for (const c of conns) {
      try {
        c.finish(new TcpwasmError("ERR_SOCKET_CLOSED", "the stack was closed"));
      } catch (error) {
        reportHandlerError(error);
      }
    }
    this.#connections.clear();
    this.#readPending.clear();
    this.#lingering.clear();
    this.#lifetime.clear();
    this.#timer.clear();
    this.#routing.closeAll();
  }

  /**
   * In Node, lets the stack's open connections and listeners keep the process alive again, each
   * unless it was unref'd itself (the default).
   */
  ref(): void {
    this.#lifetime.setRef(true);
  }

  /**
   * In Node, lets the process exit whatever the stack has open, as unref() on every socket and
   * server would. Protocol timers (TIME-WAIT, retransmission, keepalive) never keep it alive.
   */
  unref(): void {
    this.#lifetime.setRef(false);
  }

  /** True once close() was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  // ---- internal, used by StackConnection and StackListener ----

  /** @internal Marks work to do: runs one pump in a microtask. */
  kick(): void {
    // A pump still in its rounds sees the work itself: a round that ran a handler is followed by
    // another, until one finds nothing, and then output is drained. Only later calls need a pump.
    if (this.#scheduled || this.#closed || this.#inRounds) return;
    this.#scheduled = true;
    // A reaction on a settled promise, not queueMicrotask: Node's queueMicrotask builds an
    // AsyncResource and a bound function per call, which showed in connection churn.
    RESOLVED.then(this.#scheduledPump);
  }

  readonly #scheduledPump = (): void => {
    this.#scheduled = false;
    try {
      this.#pump();
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
    if (this.#closed || this.#inRounds) return;
    if (this.#drainQueued) this.#drainWait.renew();
    else this.#queueDrain();
  }

  /** Queues the output drain (src/tcp/drain.ts), once. */
  #queueDrain(): void {
    if (this.#drainQueued) return;
    this.#drainQueued = true;
    this.#drainWait.queue(this.#queuedDrain);
  }

  /** @internal */
  wantRead(conn: StackConnection): void {
    this.#readPending.add(conn);
    this.kick();
  }

  /** @internal Nothing to deliver until the next readable, peerFin, closed or resume(). */
  readIdle(conn: StackConnection): void {
    this.#readPending.delete(conn);
  }

  /** @internal */
  forget(conn: StackConnection): void {
    this.#lifetime.hold(conn, false);
    if (this.#traceSink && this.#connections.has(conn.id) && conn.state !== "CLOSED") this.#lingering.set(conn.id, conn);
    this.#connections.delete(conn.id);
    this.#readPending.delete(conn);
  }

  /** @internal */
  hold(conn: StackConnection, holds: boolean): void {
    this.#lifetime.hold(conn, holds);
  }

  readonly #hold = (holder: object, holds: boolean): void => this.#lifetime.hold(holder, holds);

  /**
   * @internal A connection reports its close now: the segments it queued last (the ACK of the peer's
   * FIN on entering TIME-WAIT) leave before, not in the drain after the user's code has run.
   */
  flushBeforeClose(): void {
    if (this.#closed) return;
    this.#flushOutput(this.#inRounds ? this.#turnNow : this.#now());
  }

  readonly #forgetListener = (ids: number[]): void => {
    const now = this.#now();
    for (const id of ids) {
      this.#listeners.delete(id);
      this.#forwarders.delete(id);
      if (!this.#closed) this.engine.release(id, now);
    }
  };

  #checkOpen(): void {
    if (this.#closed) throw new TcpwasmError("ERR_SOCKET_CLOSED", "the stack is closed");
  }

  /**
   * A batch from link `l`. Whatever a link hands over (it may come from anyone on the other side of a
   * WebSocket) is counted and dropped when it cannot be used, never thrown out of the link's callback.
   */
  #receive(l: AttachedLink, packets: Uint8Array[]): void {
    if (this.#closed) return;
    if (!Array.isArray(packets)) {
      this.stackCounters.linkDropped++;
      return;
    }
    const largest = this.engine.largestPacket;
    if (l.framing === "ethernet") {
      this.#receiveFrames(l, packets, largest);
      return;
    }
    let ours = packets;
    const anyDestination = this.#anyDestination.has(l);
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i];
      if (p instanceof Uint8Array && p.length > 0 && p.length <= largest && !(l.ipv4Only && p[0]! >> 4 === 6)) {
        // A loopback source from a link is a martian (RFC 1122 3.2.1.3: discarded silently).
        const src = sourceAt(p);
        if ((this.#local.isForUs(p) || (anyDestination && isUnicastDestination(p))) && !isLoopback(src === 12 ? 4 : 6, p, src)) {
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
    this.engine.input(ours, this.#now(), l.mtu, l.ifIndex, l.offloadMtu);
    this.kick();
  }

  /**
   * Frames from an Ethernet link go to the core whole: it parses them, answers ARP and neighbour
   * discovery and takes the IP packets addressed to the link's addresses (assembly/engine/frames.ts).
   */
  #receiveFrames(l: AttachedLink, frames: Uint8Array[], largest: number): void {
    let ours = frames;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      if (f instanceof Uint8Array && f.length >= ETHERNET_HEADER && f.length <= largest) {
        if (ours !== frames) ours.push(f);
        continue;
      }
      this.stackCounters.linkDropped++;
      if (ours === frames) ours = frames.slice(0, i);
    }
    if (ours.length === 0) return;
    this.engine.input(ours, this.#now(), l.mtu, l.ifIndex, l.offloadMtu);
    this.kick();
  }

  /** Timers, events, reads until quiet; then one output drain and the timer re-armed. */
  #pump(): void {
    if (this.#closed || this.#pumping) return;
    this.#pumping = true;
    this.#inRounds = true;
    let quiet = false;
    try {
      for (let round = 0; round < 64 && !this.#closed; round++) {
        const now = (this.#turnNow = this.#now());
        this.engine.timers(now);
        const events = this.engine.events(this.#dispatch);
        let moved = this.#udp.deliver();
        if (this.#readPending.size > 0) {
          // A snapshot (deliver() removes from the set, handlers add to it), in a reused array.
          const list = this.#readList;
          list.length = 0;
          for (const conn of this.#readPending) list.push(conn);
          for (let i = 0; i < list.length && !this.#closed; i++) {
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
      this.#inRounds = false;
      if (this.#closed) return;
      this.#queueDrain();
    } finally {
      this.#pumping = false;
      this.#inRounds = false;
    }
    // Stopped by the round cap with work left: go on in another microtask.
    if (!quiet) this.kick();
    // Handlers that called back into the stack while it was pumping asked for another round.
    if (this.#scheduled === false && this.#readPendingReady()) this.kick();
  }

  /** One output drain, the trace events it recorded, and the timer re-armed at the next deadline. */
  #drainTurn(): void {
    this.#turnNow = this.#now();
    this.#flushOutput(this.#turnNow);
    // Output records its segments as trace events: take them now, stamped with this turn's time.
    this.#userEvents = false;
    this.engine.events(this.#dispatch);
    if (this.#userEvents) this.kick();
    this.#timer.arm(this.engine.nextDeadline());
  }

  readonly #queuedDrain = (): void => {
    this.#drainQueued = false;
    if (this.#closed) return;
    // A pump already queued (a handler on an earlier tick called in) drains when it is done; wait
    // for it, a bounded number of times so that output is never held back for long.
    if (this.#scheduled && this.#drainDeferrals < MAX_DRAIN_DEFERRALS) {
      this.#drainDeferrals++;
      return;
    }
    this.#drainDeferrals = 0;
    this.#pumping = true;
    try {
      this.#drainTurn();
    } finally {
      this.#pumping = false;
    }
  };

  #readPendingReady(): boolean {
    for (const c of this.#readPending) if (c.canDeliver()) return true;
    return false;
  }

  /**
   * Handles one engine event (Engine.events), at this turn's time. A handler that throws does not
   * stop the batch: the events after it are still dispatched (each exactly once) and the error is
   * reported as uncaught (reportHandlerError).
   */
  readonly #dispatch: EventVisitor = (type, code, id, a, at) => {
    try {
      this.#dispatchEvent(type, code, id, a, at);
    } catch (error) {
      reportHandlerError(error);
    }
  };

  #dispatchEvent(type: number, code: number, id: number, a: number, at: number): void {
    if (type === EventType.addressConflict) {
      const e = this.engine.eventAt(at);
      if (e?.type === "addressConflict") this.#addressConflict(e.address, e.ifIndex);
      return;
    }
    if (type === EventType.state || type === EventType.segmentIn || type === EventType.segmentOut) {
      this.#traced(type, id, a, at);
      return;
    }
    this.#userEvents = true;
    if (type === EventType.udpError) {
      this.#udp.error(id, new TcpwasmError(engineErrorCode(code), "an ICMP port unreachable error came back for a datagram this socket sent"));
      return;
    }
    if (type === EventType.synHeld) {
      this.#held(id, a);
      return;
    }
    if (type === EventType.accepted) {
      const held = this.#connections.get(id);
      if (held) {
        // A held connection the user accepted (openForwarder): the handshake is complete.
        held.state = this.engine.state(id);
        held.onConnect?.();
        return;
      }
      const listener = this.#listeners.get(a);
      const conn = new StackConnection(this, id, this.engine.endpoints(id));
      this.#lifetime.hold(conn, true);
      conn.state = this.engine.state(id);
      this.#connections.set(id, conn);
      if (!listener || listener.closed) {
        // Completed after the listener went away: nobody will take it.
        this.engine.abort(id, this.#turnNow);
        return;
      }
      listener.accept(conn);
      return;
    }
    const conn = this.#connections.get(id);
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
        conn.error ??= connectionError(type, code, conn.describe());
        break;
      }
      case EventType.closed:
        conn.markDone(conn.error);
        break;
    }
  }

  /** A SYN held for the forwarder `listenerId` (assembly/engine/forward.ts): the user decides. */
  #held(id: number, listenerId: number): void {
    const conn = new StackConnection(this, id, this.engine.endpoints(id));
    this.#lifetime.hold(conn, true);
    conn.state = this.engine.state(id);
    this.#connections.set(id, conn);
    const onConnection = this.#forwarders.get(listenerId);
    if (!onConnection || this.#listeners.get(listenerId)?.closed) {
      this.engine.refuseHeld(id, "reset");
      return;
    }
    onConnection(new HeldConnection(this.#heldHost, conn, true));
  }

  /**
   * Another node on an Ethernet link holds one of our IPv6 addresses (RFC 4862 5.4.5): the core stops
   * answering for it there; the stack records it and tells `onAddressConflict`.
   */
  #addressConflict(address: string, ifIndex: number): void {
    const link = this.#routing.links[ifIndex]?.link;
    this.addressConflicts.push(address);
    if (link) this.onAddressConflict?.(address, link);
  }

  /** A state transition or (with tracing) a segment: tracked, and passed to the trace sink. */
  #traced(type: number, id: number, a: number, at: number): void {
    const conn = this.#connections.get(id) ?? this.#lingering.get(id);
    const to = type === EventType.state ? TCP_STATES[a]! : undefined;
    if (to && conn) conn.state = to;
    if (to === "CLOSED") this.#lingering.delete(id);
    if (this.#traceSink) {
      const e = this.engine.eventAt(at)!;
      const time = this.#turnNow;
      const endpoint = this.name;
      // The connection's endpoints let a ladder tell several connections in one trace apart.
      const ends = this.#endsOf(conn, id);
      if (e.type === "state") this.#traceSink({ kind: "state", time, endpoint, from: e.from, to: e.to, ...ends }, conn, id);
      else if (e.type === "segment") {
        this.#traceSink({
          kind: "segment", time, endpoint, direction: e.direction, flags: e.flags, seq: e.seq, ack: e.ack,
          window: e.window, length: e.length, options: e.options,
          ...(e.retransmission ? { retransmission: e.retransmission } : {}), ...ends,
        }, conn, id);
      }
    }
    if (to === "TIME-WAIT" && conn && this.#connections.has(id)) conn.markDone(undefined);
  }

  /**
   * A traced connection's endpoints: from the connection the stack holds, else (a connection still in
   * its handshake, not yet accepted) from the engine; none for a listener or a segment outside any.
   */
  #endsOf(conn: StackConnection | undefined, id: number): { local?: string; remote?: string } {
    let e: { localAddress: string; localPort: number; remoteAddress: string; remotePort: number } | undefined = conn;
    if ((!e || e.remotePort === 0) && id !== 0) {
      try {
        e = this.engine.endpoints(id);
      } catch {
        return {};
      }
    }
    if (!e || e.remotePort === 0) return {};
    return { local: hostPort(e.localAddress, e.localPort), remote: hostPort(e.remoteAddress, e.remotePort) };
  }

  /** Takes the engine's output and sends it, one batch per link; packets to ourselves loop back. */
  #flushOutput(now: number): void {
    this.#udp.flush(() => this.engine.output(now, this.#sendPacket, true));
    if (this.#lendOutput) this.engine.output(now, this.#lendPacket, false, this.#sendQueued);
    else this.engine.output(now, this.#sendPacket, true);
    this.#routing.sendQueued();
    if (this.#loopback.length !== 0) {
      const batch = this.#loopback;
      this.#loopback = [];
      // Like a link, never synchronously: the batch comes back in once this drain has finished.
      queueMicrotask(() => this.#receiveLoopback(batch));
    }
  }

  readonly #sendPacket = (packet: Uint8Array, ifIndex: number): void => this.#route(packet, ifIndex, false);

  /** A view of the TX region, valid until its batch is sent (#lendOutput): only the loopback keeps a copy. */
  readonly #lendPacket = (packet: Uint8Array, ifIndex: number): void => this.#route(packet, ifIndex, true);

  readonly #sendQueued = (): void => this.#routing.sendQueued();

  #route(packet: Uint8Array, ifIndex: number, lent: boolean): void {
    if (ifIndex >= 0) {
      // A frame the core built for an Ethernet link (its header, next hop resolved).
      const l = this.#routing.links[ifIndex];
      if (l) l.batch.push(packet);
      else this.stackCounters.noRoute++;
      return;
    }
    const at = destinationAt(packet);
    if (at >= 0 && this.#local.loopsBack(at === 16 ? 4 : 6, packet, at)) {
      this.#loopback.push(lent ? packet.slice() : packet);
      this.stackCounters.loopback++;
    } else if (!this.#routing.queue(packet)) this.stackCounters.noRoute++;
  }

  /** Packets the stack sent to itself (RFC 1122 3.3.4.2: they never reach a link). */
  #receiveLoopback(packets: Uint8Array[]): void {
    if (this.#closed) return;
    this.engine.input(packets, this.#now(), LOOPBACK_MTU, NO_INTERFACE);
    this.kick();
  }
}

function ignoreEvent(): void {}

/** "10.0.0.1:80" or "[fd00::1]:80". */
function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

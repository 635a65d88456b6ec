// The options of createStack, openConnection, openListener and attach, and the checks createStack
// makes before it loads anything. Browser-safe.
import { validateEngineConfig, type ConnectionOptions, type EngineConfig } from "../core/settings.js";
import { FLAVORS, type Flavor } from "../core/loader.js";
import type { TraceEvent } from "../core/trace.js";
import { validateArray, validateFunction, validateKnownKeys, validateObject, validateOneOf, validateString, validateUint8Array } from "../core/validate.js";
import type { StackConnection } from "./connection.js";
import type { StackTimers } from "./timer.js";

/** Options of createStack. */
export interface StackOptions {
  /** The stack's addresses with prefix length: "10.0.0.1/24", "fd00::1/64". At least one. */
  addresses: string[];
  /** Name of this endpoint in trace events (and ladder diagrams). Default "stack". */
  name?: string;
  /**
   * Engine-wide configuration (src/core/boundary.ts ConfigKey). `mtu` is the MTU assumed for a link that
   * states none (default 1500); a link's own `mtu` sets the MSS of the connections over it.
   */
  config?: EngineConfig;
  /** The build of the core: "auto" (default) takes "simd" where the runtime supports it, else "scalar". */
  flavor?: Flavor | "auto";
  /** 32 random bytes (ISN secret and PRNG seed); default crypto.getRandomValues. */
  secret?: Uint8Array;
  /** The clock, in ms. Default performance.now(). */
  now?: () => number;
  /** The timer functions the stack's one timer uses. Default globalThis.setTimeout / clearTimeout. */
  timers?: StackTimers;
  /**
   * Receives each segment in and out and each state transition (turns the engine's tracing on), with
   * the connection it belongs to (still given after onClose, until the engine reaches CLOSED, so a
   * TIME-WAIT's end is attributed) and the engine's id (listeners have one too; 0: no connection).
   */
  trace?: (event: TraceEvent, connection: StackConnection | undefined, id: number) => void;
}

/** Options of Stack.openConnection (active open, RFC 9293 3.10.1): the peer, our end, and per-connection options. */
export interface OpenConnectionOptions extends ConnectionOptions {
  /** The peer's IPv4 or IPv6 address (no name resolution). */
  remote: string;
  /** The peer's port, 1..65535. */
  remotePort: number;
  /** Local address; default the stack's address of the same version whose prefix holds `remote`. */
  local?: string;
  /** Default a random ephemeral port. */
  localPort?: number;
}

/** Options of Stack.openListener (passive open, RFC 9293 3.10.1); the connection options apply to every accepted connection. */
export interface OpenListenerOptions extends ConnectionOptions {
  /** The port to listen on, 1..65535. */
  port: number;
  /** One of the stack's addresses; default every address (IPv4 and IPv6). */
  address?: string;
  /** Cap on half-open (SYN-RECEIVED) connections of this listener. Default: the engine's `maxHalfOpenPerListener`. */
  backlog?: number;
}

/** Options of Stack.attach. */
export interface AttachOptions {
  /**
   * Destination prefixes routed to this link ("10.0.0.0/24", "::/0"), at most 8. Default everything
   * (IPv4 only on a link whose MTU is below IPv6's minimum of 1280, which cannot take IPv6 routes).
   */
  routes?: string[];
  /**
   * Ethernet links only: the stack's MAC address on the link ("02:00:00:00:00:01"). Default: a random
   * locally administered address.
   */
  mac?: string;
  /**
   * Ethernet links only: the next hop for destinations off the link (outside the stack's own address
   * prefixes), one IPv4 and/or one IPv6 address, itself on the link. Without one, every destination of
   * that IP version is taken to be on the link.
   */
  gateway?: string | string[];
  /**
   * Ethernet links only: the stack is its guests' router: it sends IPv6 router advertisements with its
   * prefixes (autonomous for a /64), the link MTU and a router lifetime, and answers router solicitations.
   */
  router?: boolean;
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
  /** Packets out to the stack itself (a loopback address or its own), taken back in without a link. */
  loopback: number;
}

const STACK_OPTIONS: ReadonlySet<string> = new Set(["addresses", "name", "config", "flavor", "secret", "now", "timers", "trace"]);
/** @internal */
export const ATTACH_OPTIONS: ReadonlySet<string> = new Set(["routes", "mac", "gateway", "router"]);
/** @internal */
export const OPEN_CONNECTION_KEYS: ReadonlySet<string> = new Set(["remote", "remotePort", "local", "localPort"]);
/** @internal */
export const OPEN_LISTENER_KEYS: ReadonlySet<string> = new Set(["port", "address", "backlog"]);

/** @internal createStack's checks (the addresses' own are parsePrefix's). */
export function validateStackOptions(options: unknown): asserts options is StackOptions {
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

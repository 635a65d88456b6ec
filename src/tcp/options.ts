// The options of createStack, openConnection, openListener and attach, and the checks createStack
// makes before it loads anything. Browser-safe.
import { validateEngineConfig, type ConnectionOptions, type EngineConfig } from "../core/settings.js";
import { FLAVORS, type Flavor, type LoadOptions } from "../core/loader.js";
import type { TraceEvent } from "../core/trace.js";
import { validateAddress } from "../core/address.js";
import { invalidValue, validateArray, validateBoolean, validateFunction, validateInteger, validateKnownKeys, validateObject, validateOneOf, validateString, validateUint8Array } from "../core/validate.js";
import type { StackConnection } from "./connection.js";
import type { StackTimers } from "./timer.js";

/** Options of createStack. */
export interface StackOptions {
  /**
   * The stack's addresses with their prefix lengths, "10.0.0.1/24", "fd00::1/64"; at least one. The
   * prefix is the subnet on the link. An address alone ("10.0.0.1") is that one address, /32 or /128,
   * as with `ip addr add` and the `tcpwasm` command's --ip: no subnet of its own. On an Ethernet link
   * with a `gateway` (which must sit inside another of the stack's prefixes) every destination outside
   * the prefixes goes through it; with none, every destination is asked for directly (ARP, NDP). On a
   * raw-IP link the prefix does not matter: the link's routes decide.
   */
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
  /** Where the builds come from (LoadOptions.wasm): e.g. `{ simd: url, scalar: url }` to compile from a URL while it downloads. Default: the build's inlined chunk. */
  wasm?: LoadOptions["wasm"];
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
  /**
   * How the stack's own connects turn a name into addresses (`stack.connect({ hostname })`, the Node
   * face's `connect({ host })`); IP address text never needs it. Without it, connecting to a name fails
   * at once with ENOTFOUND.
   */
  dns?: StackDnsOptions;
}

/**
 * The stack's resolver: DNS servers asked over the stack's own UDP, or a function of yours; one of
 * the two.
 */
export interface StackDnsOptions {
  /**
   * DNS servers (IPv4 or IPv6 address text), asked in order over the stack's UDP with a random ID and
   * source port per query (RFC 5452), a truncated answer again over its TCP (RFC 7766); answers are
   * cached for their TTL (RFC 2308 for the negative ones).
   */
  servers?: string[];
  /**
   * Resolves `hostname` to addresses (IPv4 or IPv6 text) of `family` (0: both); an empty list or a
   * rejection with code ENOTFOUND or ENODATA is "no such name" (ENOTFOUND), any other rejection a
   * temporary failure (EAI_AGAIN).
   */
  resolve?: (hostname: string, family: 4 | 6 | 0) => Promise<string[]>;
  /**
   * How long a query of the first round waits for its server's answer, ms; each later round waits
   * twice as long as the one before. A `resolve` function gets as long as one server's whole plan:
   * timeoutMs × (2^attempts − 1). Default 1000.
   */
  timeoutMs?: number;
  /** Rounds of queries (each asks every server once) before a name is given up with EAI_AGAIN. Default 3. */
  attempts?: number;
}

/** The longest first-round DNS timeout, ms: with every round doubling, the plan stays within a 32-bit timer. */
const MAX_DNS_TIMEOUT_MS = 60_000;
/** The most rounds of DNS queries: 2^attempts − 1 first-round timeouts must fit a 32-bit timer. */
const MAX_DNS_ATTEMPTS = 8;

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
  /**
   * Gateway mode: the stack stands in for every destination on this link, as slirp or a NAT router
   * does for its guests. IP packets to any unicast address are taken (not only the stack's own),
   * TCP connections to them go to Stack.openForwarder's callback, and echo requests to any address
   * are answered unless `{ echo: false }`.
   */
  anyDestination?: boolean | { echo?: boolean };
}

/** Stack.openForwarder's options, and the options of its connections (buffers, Nagle, keepalive). */
export interface OpenForwarderOptions extends ConnectionOptions {
  /** Cap on held and half-open connections per IP version (RFC 4987 3.1); past it, SYN cookies. Default: the engine's `maxHalfOpenPerListener`. */
  backlog?: number;
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

const STACK_OPTIONS: ReadonlySet<string> = new Set(["addresses", "name", "config", "flavor", "wasm", "secret", "now", "timers", "trace", "dns"]);
const DNS_OPTIONS: ReadonlySet<string> = new Set(["servers", "resolve", "timeoutMs", "attempts"]);
/** @internal */
export const ATTACH_OPTIONS: ReadonlySet<string> = new Set(["routes", "mac", "gateway", "router", "anyDestination"]);
/** @internal */
export const OPEN_CONNECTION_KEYS: ReadonlySet<string> = new Set(["remote", "remotePort", "local", "localPort"]);
/** @internal */
export const OPEN_LISTENER_KEYS: ReadonlySet<string> = new Set(["port", "address", "backlog"]);

/** @internal */
export const FORWARDER_KEYS: ReadonlySet<string> = new Set(["backlog"]);

/** @internal Stack.attach's anyDestination, as the engine takes it (undefined: off). */
export function validateAnyDestination(value: unknown): { echo: boolean } | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { echo: true };
  validateObject(value, "options.anyDestination");
  validateKnownKeys(value, "options.anyDestination", ANY_DESTINATION_KEYS);
  const echo = (value as { echo?: unknown }).echo;
  if (echo !== undefined) validateBoolean(echo, "options.anyDestination.echo");
  return { echo: echo !== false };
}

const ANY_DESTINATION_KEYS: ReadonlySet<string> = new Set(["echo"]);

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
  if (o.dns !== undefined) validateDnsOptions(o.dns, "options.dns");
}

function validateDnsOptions(dns: unknown, name: string): asserts dns is StackDnsOptions {
  validateObject(dns, name);
  validateKnownKeys(dns, name, DNS_OPTIONS);
  const d = dns as unknown as StackDnsOptions;
  if (d.servers !== undefined) validateArray(d.servers, `${name}.servers`, (s, n) => validateAddress(s, n), 1);
  if (d.resolve !== undefined) validateFunction(d.resolve, `${name}.resolve`);
  if ((d.servers === undefined) === (d.resolve === undefined)) invalidValue(name, dns, "must have servers or resolve, one of the two");
  if (d.timeoutMs !== undefined) validateInteger(d.timeoutMs, `${name}.timeoutMs`, 1, MAX_DNS_TIMEOUT_MS);
  if (d.attempts !== undefined) validateInteger(d.attempts, `${name}.attempts`, 1, MAX_DNS_ATTEMPTS);
}

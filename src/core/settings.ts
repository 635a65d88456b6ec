// What each engine setting and connection option takes, checked in the host so that a bad value is
// named in the error (as the caller wrote it: "options.config.rtoMinMs") before the engine sees it;
// the engine refuses the same values itself (assembly/engine/config.ts configSet,
// assembly/engine/user.ts connSetOption). Browser-safe.
import { CONGESTION_CONTROLS, ConfigKey, ConnOption, EPHEMERAL_DEFAULT, REGION_MAX } from "./boundary.js";
import { invalidType, invalidValue, optionsObject, validateInteger, validateNumber } from "./validate.js";

/**
 * Engine-wide settings, given as `config` to {@link Engine.create} or {@link createStack}. Every key is
 * optional; a missing key keeps the default written beside it. Times are milliseconds, sizes bytes.
 * Keys marked "fixed at start" size the engine's tables and regions and cannot change afterwards.
 * A flag also accepts 0 or 1.
 */
export interface EngineConfig {
  /** Connection slots, listeners included; fixed at start. Integer 1..2^20, default 65536. */
  maxConnections?: number;
  /** Connections in SYN-RECEIVED across all listeners (RFC 4987 2.3). Integer, default 4096. */
  maxHalfOpenTotal?: number;
  /** Connections in SYN-RECEIVED per listener; a listener's backlog lowers it further. Integer, default 1024. */
  maxHalfOpenPerListener?: number;
  /** Send buffer a connection starts with, bytes; auto-sizing grows it up to `sendBufferMax` as cwnd grows. Integer 1024..2^30, default 262144. */
  sendBuffer?: number;
  /** Receive buffer a connection starts with, bytes; auto-sizing grows it up to `recvBufferMax` with what the application reads per round trip. Integer 1024..2^30, default 262144. */
  recvBuffer?: number;
  /** Largest send buffer auto-sizing grows a connection's to, bytes (the power of two at or below); at or below `sendBuffer` it never grows. Integer 1024..2^30, default 4194304. */
  sendBufferMax?: number;
  /** Largest receive buffer auto-sizing grows a connection's to, bytes (as `sendBufferMax`); it also chooses the window scale offered (RFC 7323 2.3). Integer 1024..2^30, default 4194304. */
  recvBufferMax?: number;
  /** Bytes of send and receive buffers all connections together may hold before auto-sizing refuses to grow one (counted as `bufferGrowthRefused`). Integer 0..2^32-1, default 268435456. */
  bufferBudget?: number;
  /** Maximum segment lifetime, ms: TIME-WAIT lasts 2 * MSL (RFC 9293 3.4.2). Default 30000. */
  mslMs?: number;
  /** Lower bound of the retransmission timeout, ms (RFC 6298 2.4). At least 1, default 200. */
  rtoMinMs?: number;
  /** Upper bound of the retransmission timeout, ms (RFC 6298 2.5). At least 1, default 60000. */
  rtoMaxMs?: number;
  /** Retransmission timeout before the first RTT sample, ms (RFC 6298 2.1). At least 1, default 1000. */
  rtoInitialMs?: number;
  /** SYN (and SYN,ACK) retransmissions before the connection fails with ETIMEDOUT (RFC 9293 3.8.3, R2). Integer, default 6. */
  synRetries?: number;
  /** Consecutive data retransmission timeouts before the connection fails with ETIMEDOUT (RFC 9293 3.8.3, R2). Integer, default 15. */
  dataRetries?: number;
  /** Delayed ACK timeout, ms, 0..200 (RFC 9293 3.8.6.3: under 0.5 s). Default 40. */
  delayedAckMs?: number;
  /** Keepalive on for new connections (RFC 1122 4.2.3.6). Default false. */
  keepalive?: Flag;
  /** Idle time before the first keepalive probe, ms (RFC 1122 4.2.3.6). At least 1, default 7200000 (2 h). */
  keepaliveIdleMs?: number;
  /** Time between unanswered keepalive probes, ms. At least 1, default 75000. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalive probes before the connection fails with ETIMEDOUT. Integer, at least 1, default 9. */
  keepaliveCount?: number;
  /** Shortest zero-window probe interval, ms (RFC 9293 3.8.6.1). At least 1, default 200. */
  persistMinMs?: number;
  /** Longest zero-window probe interval, ms. At least 1, default 60000. */
  persistMaxMs?: number;
  /** Longest time a zero window may hold queued data before the connection fails, ms; 0: no limit. Default 600000. */
  persistTotalMs?: number;
  /** MTU of a link that names none, bytes: the MSS offered is MTU - 40 (IPv4) or MTU - 60 (IPv6) (RFC 9293 3.7.1). Integer 128..65535, default 1500. */
  mtu?: number;
  /** One trace event per segment in and out. Default false. */
  trace?: Flag;
  /** Verify IPv4 header and TCP checksums on input (RFC 9293 3.1). Default true. */
  verifyChecksums?: Flag;
  /** Offer window scaling in SYNs (RFC 7323 2). Default true. */
  windowScaling?: Flag;
  /** Offer timestamps in SYNs (RFC 7323 3). Default true. */
  timestamps?: Flag;
  /** Offer SACK-permitted in SYNs (RFC 2018). Default true. */
  sack?: Flag;
  /** Challenge ACKs per connection per second (RFC 5961 7). Integer, default 10. */
  challengeAckLimit?: number;
  /** Bytes of the region output is written to; fixed at start. Integer 69632..2^26, default 262144. */
  txRegion?: number;
  /** Bytes of the region input is read from; fixed at start. Integer 69632..2^26, default 262144. */
  rxRegion?: number;
  /** Most events held before the host drains them; beyond it events are dropped and counted. Integer, at least 64, default 2^20. */
  eventLimit?: number;
  /** Lowest ephemeral port (RFC 6056), at most `ephemeralHigh`. Integer 1..65535, default 49152. */
  ephemeralLow?: number;
  /** Highest ephemeral port (RFC 6056), inclusive. Integer 1..65535, default 65535. */
  ephemeralHigh?: number;
  /** Nagle's algorithm on for new connections (RFC 9293 3.7.4). Default true. */
  nagle?: Flag;
  /** Default user timeout, ms: how long sent data may stay unacknowledged; 0: none (RFC 9293 3.8.3, RFC 5482). Default 0. */
  userTimeoutMs?: number;
  /** Bytes queued for control packets (RSTs for closed ports, ICMP echo replies, ARP and neighbour discovery) between two outputs. Integer 4096..2^26, default 98304. */
  controlQueue?: number;
  /** An event for every state transition. Default true. */
  stateEvents?: Flag;
  /** Past a listener's half-open limit, answer SYNs with SYN cookies (RFC 4987 3.6). Default true. */
  synCookies?: Flag;
  /** Bytes of memory the engine may hold for tables, connections, buffers and reassembly; 0: no limit but wasm32's. Integer 0..2^48, default 0. */
  memoryLimit?: number;
  /** In-order data segments acknowledged at once at the start of a connection; 0: delayed ACKs from the first (RFC 9293 3.8.6.3). Integer, default 16. */
  quickAcks?: number;
  /** Connections kept in compact TIME-WAIT, outside the `maxConnections` slots; 0: as many as `maxConnections`; fixed at start. Integer 0..2^20, default 0. */
  timeWaitMax?: number;
  /** Entries of the neighbour cache (ARP and IPv6 neighbour discovery) for Ethernet links, about 52 bytes each; fixed once the first Ethernet link is attached. Integer 4..2^20, default 1024. */
  neighbourEntries?: number;
  /** Bound UDP sockets the port table holds; fixed at start (taken on the first bind). Integer 1..65535, default 1024. */
  udpSockets?: number;
  /** Bytes of the UDP receive region the stack drains each turn; past it datagrams are dropped and counted. Integer 69632..2^26, default 131072. */
  udpRxRegion?: number;
  /** Bytes of the UDP send region (datagrams queued per engine call). Integer 69632..2^26, default 131072. */
  udpTxRegion?: number;
  /** ICMP port unreachable errors sent a second at most (RFC 4443 2.4 (f)); 0: none. Integer, default 100. */
  udpUnreachableRate?: number;
  /** How many of them may go in one burst. Integer, at least 1, default 10. */
  udpUnreachableBurst?: number;
  /**
   * Pace each new connection's data: spread a window over the round trip at twice cwnd per smoothed
   * RTT in slow start and 1.2 times after it (as Linux's TCP does for fq), in bursts of at most about
   * 2 ms of that rate, so that a burst never overflows a relay's or a NIC's queue. No pacing before
   * the first RTT sample. Connections override it with {@link ConnectionOptions.pacing}. Default true.
   */
  pacing?: Flag;
  /**
   * Leave a new connection's first slow start early when the round trip rises (HyStart++, RFC 9406),
   * before the queue being filled overflows; as Linux's CUBIC does with its HyStart. Default true.
   */
  hystart?: Flag;
  /**
   * Congestion control of new connections: "newreno" (RFC 5681 with RFC 6582's recovery) or "cubic"
   * (RFC 9438: after a loss the window falls to 0.7 of itself rather than half, and regrows along a
   * cubic curve towards the size it had, suited to long fat paths). HyStart++ ({@link EngineConfig.hystart}) runs
   * in front of either's slow start. Connections override it with
   * {@link ConnectionOptions.congestionControl}. Default "newreno".
   */
  congestionControl?: CongestionControl;
}

/**
 * Per-connection options: given when a connection or listener opens, or later through
 * {@link StackConnection.setOptions}. A missing key keeps the engine-wide setting of the same name
 * ({@link EngineConfig}). A flag also accepts 0 or 1.
 */
export interface ConnectionOptions {
  /** Nagle's algorithm off for this connection (TCP_NODELAY; RFC 9293 3.7.4). Default false. */
  noDelay?: Flag;
  /** Keepalive probes on this connection (RFC 1122 4.2.3.6). Default: the engine's `keepalive`. */
  keepalive?: Flag;
  /** Idle time before the first keepalive probe, ms. At least 1. */
  keepaliveIdleMs?: number;
  /** Time between unanswered keepalive probes, ms. At least 1. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalive probes before the connection fails with ETIMEDOUT. Integer, at least 1. */
  keepaliveCount?: number;
  /** How long sent data may stay unacknowledged before the connection fails, ms; 0: none (RFC 9293 3.8.3, RFC 5482). */
  userTimeoutMs?: number;
  /** Send buffer, bytes, kept at this size (no auto-sizing, as SO_SNDBUF); only before the connection opens (or on a listener, for the connections it accepts). Integer 1024..2^30. */
  sendBuffer?: number;
  /** Receive buffer, bytes, kept at this size (no auto-sizing; the window scale offered is chosen from it, as SO_RCVBUF); only before the connection opens (or on a listener). Integer 1024..2^30. */
  recvBuffer?: number;
  /** The IPv4 TOS byte / IPv6 Traffic Class of the connection's packets (RFC 791 3.1, RFC 8200 7); any time. Integer 0..255. */
  tos?: number;
  /** Pace this connection's data ({@link EngineConfig.pacing}); any time. Default: the engine's `pacing`. */
  pacing?: Flag;
  /** Congestion control of this connection ({@link EngineConfig.congestionControl}); only before the connection opens (or on a listener, for the connections it accepts). Default: the engine's `congestionControl`. */
  congestionControl?: CongestionControl;
}

/** A congestion control: NewReno (RFC 5681, RFC 6582) or CUBIC (RFC 9438). */
export type CongestionControl = "newreno" | "cubic";
// The engine's numbering (an internal table, not in the published types) names exactly these.
CONGESTION_CONTROLS satisfies Record<CongestionControl, number>;

/** A switch: true or false, or 1 or 0 as the engine takes it. */
export type Flag = boolean | 0 | 1;

// The two interfaces above and the boundary's key tables must name the same keys: a key added on one
// side only fails to compile here.
type SameKeys<A, B> = Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>;
type MustBeNever<T extends never> = T;
type ConfigKeysMatch = MustBeNever<SameKeys<Required<EngineConfig>, typeof ConfigKey>>;
type OptionKeysMatch = MustBeNever<SameKeys<Required<ConnectionOptions>, typeof ConnOption>>;

/** "flag": a boolean, or 0/1; "congestion": a CONGESTION_CONTROLS name; else [min, max, integer]. */
type Range = "flag" | "congestion" | readonly [number, number, boolean];

const U32 = 0xffffffff;
// Limits as literals: a bundler keeps a top-level `1 << 20` (an operator, to it, may have effects), and
// with it these tables, in a page that never configures an engine.
const MI = 0x100000; // 2^20
const GI = 0x40000000; // 2^30
const P48 = 0x1000000000000; // 2^48

/** What each ConfigKey takes, as assembly/engine/config.ts enforces it. A key missing here is checked by the engine only. */
const CONFIG_RANGES: Partial<Record<keyof typeof ConfigKey, Range>> = {
  maxConnections: [1, MI, true],
  timeWaitMax: [0, MI, true],
  neighbourEntries: [4, MI, true],
  maxHalfOpenTotal: [0, U32, true],
  maxHalfOpenPerListener: [0, U32, true],
  sendBuffer: [1024, GI, true],
  recvBuffer: [1024, GI, true],
  mslMs: [0, U32, false],
  rtoMinMs: [1, U32, false],
  rtoMaxMs: [1, U32, false],
  rtoInitialMs: [1, U32, false],
  synRetries: [0, U32, true],
  dataRetries: [0, U32, true],
  delayedAckMs: [0, 200, false],
  keepalive: "flag",
  keepaliveIdleMs: [1, U32, false],
  keepaliveIntervalMs: [1, U32, false],
  keepaliveCount: [1, U32, true],
  persistMinMs: [1, U32, false],
  persistMaxMs: [1, U32, false],
  persistTotalMs: [0, U32, false],
  mtu: [128, 65535, true],
  trace: "flag",
  verifyChecksums: "flag",
  windowScaling: "flag",
  timestamps: "flag",
  sack: "flag",
  challengeAckLimit: [0, U32, true],
  txRegion: [65536 + 4096, REGION_MAX, true],
  rxRegion: [65536 + 4096, REGION_MAX, true],
  eventLimit: [64, U32, true],
  ephemeralLow: [1, 65535, true],
  ephemeralHigh: [1, 65535, true],
  nagle: "flag",
  userTimeoutMs: [0, U32, false],
  controlQueue: [4096, REGION_MAX, true],
  stateEvents: "flag",
  synCookies: "flag",
  memoryLimit: [0, P48, true],
  quickAcks: [0, U32, true],
  udpSockets: [1, 65535, true],
  udpRxRegion: [65536 + 4096, REGION_MAX, true],
  udpTxRegion: [65536 + 4096, REGION_MAX, true],
  udpUnreachableRate: [0, U32, true],
  udpUnreachableBurst: [1, U32, true],
  pacing: "flag",
  sendBufferMax: [1024, GI, true],
  recvBufferMax: [1024, GI, true],
  bufferBudget: [0, U32, true],
  hystart: "flag",
  congestionControl: "congestion",
};

/** What each ConnOption takes (assembly/engine/user.ts connSetOption), as CONFIG_RANGES. */
const CONN_OPTION_RANGES: Record<keyof typeof ConnOption, Range> = {
  noDelay: "flag",
  keepalive: "flag",
  keepaliveIdleMs: [1, U32, false],
  keepaliveIntervalMs: [1, U32, false],
  keepaliveCount: [1, U32, true],
  userTimeoutMs: [0, U32, false],
  sendBuffer: [1024, GI, true],
  recvBuffer: [1024, GI, true],
  tos: [0, 255, true],
  pacing: "flag",
  congestionControl: "congestion",
};

/** @internal Checks an engine configuration (named `name` in errors): known keys, types, ranges, a low..high ephemeral range. */
export function validateEngineConfig(config: unknown, name = "config"): asserts config is EngineConfig {
  const c = optionsObject(config as EngineConfig | undefined, name) as Record<string, unknown>;
  for (const [key, value] of Object.entries(c)) {
    if (value === undefined) continue;
    const what = `${name}.${key}`;
    if (!Object.hasOwn(ConfigKey, key)) invalidValue(what, value, `is not an engine setting (known: ${Object.keys(ConfigKey).join(", ")})`);
    validateSetting(value, what, CONFIG_RANGES[key as keyof typeof ConfigKey]);
  }
  const low = (c.ephemeralLow as number | undefined) ?? EPHEMERAL_DEFAULT.low;
  const high = (c.ephemeralHigh as number | undefined) ?? EPHEMERAL_DEFAULT.high;
  if (low > high) invalidValue(`${name}.ephemeralLow`, low, `must not exceed ${name}.ephemeralHigh (${high}): the range is low..high`);
}

/** Checks one setting against its range. */
function validateSetting(value: unknown, what: string, range: Range | undefined): void {
  if (range === "congestion") {
    if (typeof value !== "string") invalidType(what, "of type string", value);
    if (!Object.hasOwn(CONGESTION_CONTROLS, value)) invalidValue(what, value, `is not a congestion control (known: ${Object.keys(CONGESTION_CONTROLS).join(", ")})`);
  } else if (range === "flag") {
    if (typeof value !== "boolean" && value !== 0 && value !== 1) invalidType(what, "of type boolean (or 0 or 1)", value);
  } else if (range) {
    if (range[2]) validateInteger(value, what, range[0], range[1]);
    else validateNumber(value, what, range[0], range[1]);
  } else if (typeof value !== "number" && typeof value !== "boolean") invalidType(what, "of type number or boolean", value);
}

/**
 * @internal
 * Checks per-connection options given among other keys of `options` (named `name`): the keys in
 * `others` belong to the caller, every other key must be a ConnOption with a value in its range.
 */
export function validateConnectionOptions(options: Record<string, unknown>, name: string, others: ReadonlySet<string>): void {
  for (const key in options) {
    if (others.has(key)) continue;
    const value = options[key];
    if (value === undefined) continue;
    const what = `${name}.${key}`;
    if (!Object.hasOwn(ConnOption, key)) {
      invalidValue(what, value, `is not an option (known: ${[...others, ...Object.keys(ConnOption)].join(", ")})`);
    }
    validateSetting(value, what, CONN_OPTION_RANGES[key as keyof typeof ConnOption]);
  }
}

/** @internal A validated setting as the engine takes it: a number (a flag as 0 or 1, a congestion control by its CcAlgo number). */
export function settingNumber(value: unknown): number {
  if (typeof value === "string") return CONGESTION_CONTROLS[value as CongestionControl] ?? Number.NaN;
  return Number(value);
}

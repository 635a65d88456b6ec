// A thin typed driver over the core's engine exports (assembly/index.ts documents the boundary):
// packets in, packets and events out, connection handles as numbers. No policy: sockets are built on
// top of this elsewhere. Browser-safe: web-platform APIs only.
import { loadEngine, type CoreExports, type LoadOptions, type MemoryViews, type Flavor } from "./loader.js";
import { TcpwasmError, ENGINE_ERROR_CODES, engineErrorCode, invalidArg, type ErrorCode } from "./errors.js";
import { invalidType, invalidValue, optionsObject, validateInteger, validateNumber, validateUint8Array } from "./validate.js";
import { TCP_STATES, type TcpState, type SegmentOptionsTrace } from "./trace.js";
import { parseIpv4, parseIpv6, formatIpv4, formatIpv6 } from "./address.js";

// Pointers come back from WebAssembly as signed i32: every one is read with `>>> 0`, or an address
// past 2 GiB of linear memory turns negative and indexes nothing.
interface EngineExports extends CoreExports {
  engineInit(): number;
  engineConfigSet(key: number, value: number): number;
  engineParamPtr(): number;
  engineRxPtr(): number;
  engineRxCapacity(): number;
  /** linkMtu: the MTU of the link the packets came in on (0 or absent: config mtu). */
  engineInput(count: number, now: number, linkMtu?: number): number;
  engineTxPtr(): number;
  engineTxCapacity(): number;
  engineOutput(now: number): number;
  engineOutputMore(): number;
  engineTimers(now: number): void;
  engineNextDeadline(): number;
  engineEventsPtr(): number;
  engineEventCount(): number;
  engineEventsClear(): void;
  engineCountersPtr(): number;
  engineCountersLength(): number;
  engineStatusPtr(): number;
  engineLiveConnections(): number;
  engineMemoryInUse(): number;
  engineTableMemory(): number;
  engineTcbSize(): number;
  engineTimeWaitCount(): number;
  engineMaxConnections(): number;
  connCreate(): number;
  connSetOption(id: number, option: number, value: number): number;
  /** linkMtu: the MTU of the link the route to the peer uses (0 or absent: config mtu). */
  connConnectMs(id: number, ipVersion: number, localPort: number, remotePort: number, now: number, linkMtu?: number): number;
  connListen(id: number, ipVersion: number, port: number, backlog: number): number;
  connSendPtr(id: number): number;
  connSendSpace(id: number): number;
  connSendCommitMs(id: number, n: number, now: number): number;
  connRecvPtr(id: number): number;
  connRecvAvail(id: number): number;
  connRecvConsumeMs(id: number, n: number, now: number): number;
  connCloseMs(id: number, now: number): number;
  connAbortMs(id: number, now: number): number;
  connReleaseMs(id: number, now: number): number;
  connState(id: number): number;
  connStatus(id: number): number;
}

/** Engine-wide configuration keys (assembly/engine/config.ts ConfigKey). Times in ms. */
export const ConfigKey = {
  maxConnections: 0,
  maxHalfOpenTotal: 1,
  maxHalfOpenPerListener: 2,
  sendBuffer: 3,
  recvBuffer: 4,
  mslMs: 5,
  rtoMinMs: 6,
  rtoMaxMs: 7,
  rtoInitialMs: 8,
  synRetries: 9,
  dataRetries: 10,
  delayedAckMs: 11,
  keepalive: 12,
  keepaliveIdleMs: 13,
  keepaliveIntervalMs: 14,
  keepaliveCount: 15,
  persistMinMs: 16,
  persistMaxMs: 17,
  persistTotalMs: 18,
  mtu: 19,
  trace: 20,
  verifyChecksums: 21,
  windowScaling: 22,
  timestamps: 23,
  sack: 24,
  challengeAckLimit: 25,
  txRegion: 26,
  rxRegion: 27,
  eventLimit: 28,
  ephemeralLow: 29,
  ephemeralHigh: 30,
  nagle: 31,
  userTimeoutMs: 32,
  controlQueue: 33,
  stateEvents: 34,
  synCookies: 35,
  memoryLimit: 36,
  quickAcks: 37,
  timeWaitMax: 38,
} as const;
export type EngineConfig = Partial<Record<keyof typeof ConfigKey, number | boolean>>;

const U32 = 0xffffffff;
/** Largest TX, RX and control region (assembly/engine/config.ts REGION_MAX). */
const REGION_MAX = 1 << 26;
/**
 * What each ConfigKey takes, as assembly/engine/config.ts enforces it: "flag" (a boolean, or 0/1), or
 * [min, max, integer]. Checked in the host so that a bad value is named in the error before the engine
 * sees it; the engine refuses the same values itself. A key missing here is checked by the engine only.
 */
const CONFIG_RANGES: Partial<Record<keyof typeof ConfigKey, "flag" | readonly [number, number, boolean]>> = {
  maxConnections: [1, 1 << 20, true],
  timeWaitMax: [0, 1 << 20, true],
  maxHalfOpenTotal: [0, U32, true],
  maxHalfOpenPerListener: [0, U32, true],
  sendBuffer: [1024, 1 << 30, true],
  recvBuffer: [1024, 1 << 30, true],
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
  memoryLimit: [0, 2 ** 48, true],
  quickAcks: [0, U32, true],
};

/** The ephemeral range's defaults (assembly/engine/config.ts), for the low <= high check. */
const EPHEMERAL_DEFAULT = { low: 49152, high: 65535 };

/** Checks an engine configuration (named `name` in errors): known keys, types, ranges, a low..high ephemeral range. */
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

/** Per-connection options (assembly/engine/user.ts ConnOption). */
export const ConnOption = {
  noDelay: 0,
  keepalive: 1,
  keepaliveIdleMs: 2,
  keepaliveIntervalMs: 3,
  keepaliveCount: 4,
  userTimeoutMs: 5,
  sendBuffer: 6,
  recvBuffer: 7,
} as const;
export type ConnectionOptions = Partial<Record<keyof typeof ConnOption, number | boolean>>;

/** What each ConnOption takes (assembly/engine/user.ts connSetOption), as CONFIG_RANGES. */
const CONN_OPTION_RANGES: Record<keyof typeof ConnOption, "flag" | readonly [number, number, boolean]> = {
  noDelay: "flag",
  keepalive: "flag",
  keepaliveIdleMs: [1, 0xffffffff, false],
  keepaliveIntervalMs: [1, 0xffffffff, false],
  keepaliveCount: [1, 0xffffffff, true],
  userTimeoutMs: [0, 0xffffffff, false],
  sendBuffer: [1024, 1 << 30, true],
  recvBuffer: [1024, 1 << 30, true],
};

/** Checks one setting against its range (CONFIG_RANGES, CONN_OPTION_RANGES). */
function validateSetting(value: unknown, what: string, range: "flag" | readonly [number, number, boolean] | undefined): void {
  if (range === "flag") {
    if (typeof value !== "boolean" && value !== 0 && value !== 1) invalidType(what, "of type boolean (or 0 or 1)", value);
  } else if (range) {
    if (range[2]) validateInteger(value, what, range[0], range[1]);
    else validateNumber(value, what, range[0], range[1]);
  } else if (typeof value !== "number" && typeof value !== "boolean") invalidType(what, "of type number or boolean", value);
}

/**
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

/** Bytes per event record (assembly/engine/events.ts). */
const EVENT_SIZE = 64;

/** Event types (assembly/engine/events.ts EventType). */
export const EventType = {
  connected: 1,
  accepted: 2,
  readable: 3,
  writable: 4,
  peerFin: 5,
  closed: 6,
  reset: 7,
  timedOut: 8,
  error: 9,
  state: 10,
  segmentIn: 11,
  segmentOut: 12,
} as const;

export type EngineEvent =
  | { type: "connected" | "readable" | "writable" | "peerFin" | "closed"; id: number }
  | { type: "accepted"; id: number; listener: number }
  | { type: "reset" | "timedOut" | "error"; id: number; error: ErrorCode }
  | { type: "state"; id: number; from: TcpState; to: TcpState }
  | {
      type: "segment";
      id: number;
      direction: "in" | "out";
      flags: number;
      seq: number;
      ack: number;
      window: number;
      length: number;
      options: SegmentOptionsTrace;
    };

/**
 * Receives one event's raw fields (assembly/engine/events.ts): `type` an EventType, `code` the error
 * code (reset, timedOut, error), the from-state (state) or the flags (segments), `a` the listener
 * (accepted), the to-state (state) or the sequence number (segments).
 */
export type EventVisitor = (type: number, code: number, id: number, a: number, at: number) => void;

/** Engine counters (assembly/engine/counters.ts Counter), at COUNTER_BASE in the counters region. */
export const COUNTER_NAMES = [
  "packetsIn", "segmentsIn", "segmentsOut", "resetsSent", "resetsReceived", "retransmits", "fastRetransmits",
  "timeouts", "challengeAcks", "challengeAcksLimited", "synDroppedHalfOpen", "synDroppedNoSlot", "pawsDropped",
  "outOfWindow", "oooDropped", "eventsDropped", "controlDropped", "icmpEchoReplies", "notTcpDropped",
  "badAckDropped", "noConnection", "rxRecordInvalid", "zeroWindowProbes", "keepaliveProbes", "tsMissingDropped",
  "synCookiesSent", "synCookiesAccepted", "acksRateLimited", "timeWaitRecycled", "timeWaitReused",
  "icmpTooBig", "icmpTooBigIgnored", "spuriousRecoveries", "spuriousTimeouts", "cwndReductions",
] as const;
const COUNTER_BASE = 32;
export type EngineCounters = Record<(typeof COUNTER_NAMES)[number], number> & { dropsByReason: number[] };

/** STATUS (RFC 9293 3.10.6) of one connection. */
export interface ConnectionStatus {
  state: TcpState;
  iss: number; sndUna: number; sndNxt: number; sndMax: number; sndWnd: number; sndWl1: number; sndWl2: number;
  maxSndWnd: number; irs: number; rcvNxt: number; rcvWnd: number; sndShift: number; rcvShift: number;
  sendMss: number; cwnd: number; ssthresh: number; retransmits: number; timeouts: number; sendQueued: number;
  recvQueued: number; oooBytes: number; dupAcks: number; srttMs: number; rttvarMs: number; rtoMs: number;
  peerMss: number; localMss: number; localPort: number; remotePort: number; sendBuffer: number; recvBuffer: number;
  localAddress: string; remoteAddress: string; ipVersion: 4 | 6;
  /** RACK's reordering window (RFC 8985 6.2 step 4), ms. */
  reoWndMs: number;
}

/** A connection's ports and addresses; the address text is made on first use. */
export class ConnectionEndpoints {
  private local: string | undefined;
  private remote: string | undefined;

  constructor(
    readonly ipVersion: 4 | 6,
    readonly localPort: number,
    readonly remotePort: number,
    /** Local (16 bytes) then remote (16 bytes); IPv4 in the first 4 of each. */
    private readonly bytes: Uint8Array,
  ) {}

  get localAddress(): string {
    return (this.local ??= this.format(0));
  }

  get remoteAddress(): string {
    return (this.remote ??= this.format(16));
  }

  private format(at: number): string {
    return this.ipVersion === 4 ? formatIpv4(this.bytes.subarray(at, at + 4)) : formatIpv6(this.bytes.subarray(at, at + 16));
  }
}

export interface ConnectOptions {
  local: string;
  remote: string;
  remotePort: number;
  /** 0 or absent: a random ephemeral port. */
  localPort?: number;
  /**
   * A listener's id: the listener itself becomes the active open (RFC 9293 3.10.2, LISTEN --SEND-->
   * SYN-SENT) on its own port, and stops listening. Absent: a new handle.
   */
  handle?: number;
  /** The MTU of the link the route to `remote` uses; sets the MSS (0 or absent: config mtu). */
  linkMtu?: number;
}

export interface ListenOptions {
  port: number;
  /** Absent: every address of the IP version. */
  address?: string;
  ipVersion?: 4 | 6;
  backlog?: number;
}

export interface EngineOptions extends LoadOptions {
  config?: EngineConfig;
  /** 32 random bytes: ISN secret (16) and PRNG seed (16). Default: crypto.getRandomValues. */
  secret?: Uint8Array;
}

/** The core's ENOBUFS (assembly/engine/errors.ts). */
const ENGINE_ENOBUFS = ENGINE_ERROR_CODES.indexOf("ENOBUFS");

function check(code: number, what: string): number {
  if (code < 0) throw new TcpwasmError(engineErrorCode(-code), what);
  return code;
}

function addressBytes(text: string): { version: 4 | 6; bytes: Uint8Array } {
  const v4 = parseIpv4(text);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = parseIpv6(text);
  if (v6) return { version: 6, bytes: v6 };
  return invalidArg(`not an IP address: ${text}`);
}

export class Engine {
  private constructor(
    readonly flavor: Flavor,
    private readonly x: EngineExports,
    private readonly views: MemoryViews,
  ) {}

  /** Rejects with ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options, before loading anything. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const o = optionsObject(options, "options");
    validateEngineConfig(o.config, "options.config");
    if (o.secret !== undefined) {
      validateUint8Array(o.secret, "options.secret");
      if (o.secret.length !== 32) invalidValue("options.secret", `${o.secret.length} bytes`, "must be 32 bytes");
    }
    const loaded = await loadEngine<EngineExports>(o);
    const e = new Engine(loaded.flavor, loaded.exports, loaded.views);
    for (const [name, value] of Object.entries(o.config ?? {})) {
      if (value === undefined) continue;
      // Validated above; the engine refuses out-of-range values too (a setting the host does not know yet).
      const r = e.x.engineConfigSet(ConfigKey[name as keyof typeof ConfigKey], Number(value));
      if (r < 0) invalidValue(`options.config.${name}`, value, "is refused by the engine");
    }
    const secret = o.secret ?? crypto.getRandomValues(new Uint8Array(32));
    e.views.u8.set(secret, e.x.engineParamPtr() >>> 0);
    const r = e.x.engineInit();
    // The only init failures: an inverted ephemeral range (checked above) or tables too large for memory.
    if (r < 0) {
      const code = engineErrorCode(-r);
      throw new TcpwasmError(code, `engine init: ${code === "ENOBUFS" ? "the configured tables do not fit in memory" : "refused the configuration"}`);
    }
    return e;
  }

  /** The raw exports, for benchmarks that drive the regions themselves. */
  get raw(): EngineExports {
    return this.x;
  }

  get memory(): MemoryViews {
    return this.views;
  }

  // ---- Packets ----

  /**
   * Pushes packets in (as many engineInput calls as the RX region needs), all from one link of MTU
   * `linkMtu` (0: config mtu): connections they open take their MSS from it.
   */
  input(packets: Iterable<Uint8Array>, now: number, linkMtu = 0): void {
    const cap = this.x.engineRxCapacity();
    let base = this.x.engineRxPtr() >>> 0;
    let off = 0;
    let n = 0;
    for (const p of packets) {
      const rec = 4 + ((p.length + 3) & ~3);
      if (rec > cap) invalidArg(`packet of ${p.length} bytes exceeds the RX region`);
      if (off + rec > cap) {
        this.x.engineInput(n, now, linkMtu);
        base = this.x.engineRxPtr() >>> 0;
        off = 0;
        n = 0;
      }
      const u8 = this.views.u8;
      this.views.dv.setUint32(base + off, p.length, true);
      u8.set(p, base + off + 4);
      off += rec;
      n++;
    }
    if (n > 0) this.x.engineInput(n, now, linkMtu);
  }

  /** Pulls every queued packet out (copies). */
  output(now: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.drainOutput(now, (p) => out.push(p.slice()));
    return out;
  }

  /** Calls `send` with a view of each queued packet (valid only during the call). */
  drainOutput(now: number, send: (packet: Uint8Array) => void): number {
    let total = 0;
    for (;;) {
      const n = this.x.engineOutput(now);
      const base = this.x.engineTxPtr() >>> 0;
      let off = 0;
      for (let i = 0; i < n; i++) {
        const len = this.views.dv.getUint32(base + off, true);
        send(this.views.u8.subarray(base + off + 4, base + off + 4 + len));
        off += 4 + ((len + 3) & ~3);
      }
      total += n;
      if (!this.x.engineOutputMore() || n === 0) return total;
    }
  }

  timers(now: number): void {
    this.x.engineTimers(now);
  }

  /** Earliest deadline in ms, or Infinity. */
  nextDeadline(): number {
    return this.x.engineNextDeadline();
  }

  /** Decodes and clears the pending events. */
  events(): EngineEvent[] {
    const count = this.x.engineEventCount();
    const out: EngineEvent[] = [];
    const base = this.x.engineEventsPtr() >>> 0;
    for (let i = 0; i < count; i++) {
      const e = this.eventAt(base + i * EVENT_SIZE);
      if (e) out.push(e);
    }
    this.x.engineEventsClear();
    return out;
  }

  /**
   * Calls `visit` with each pending event's raw fields, then clears them: no object per event. Events
   * the visitor's own calls into the engine append are visited in the same pass, in order (the region
   * may move when it grows, so it is re-located after each call). `at` is the record's address, valid
   * only during the call: `eventAt(at)` decodes it in full. Returns the number of events visited.
   */
  visitEvents(visit: EventVisitor): number {
    const x = this.x;
    let count = x.engineEventCount();
    let base = x.engineEventsPtr() >>> 0;
    let i = 0;
    for (; i < count; i++) {
      const p = base + i * EVENT_SIZE;
      const dv = this.views.dv;
      visit(dv.getUint16(p, true), dv.getUint16(p + 2, true), dv.getUint32(p + 4, true), dv.getUint32(p + 8, true), p);
      const now = x.engineEventCount();
      if (now !== count) {
        count = now;
        base = x.engineEventsPtr() >>> 0;
      }
    }
    x.engineEventsClear();
    return i;
  }

  /** Decodes the event record at `at` (undefined for an unknown type). */
  eventAt(p: number): EngineEvent | undefined {
    const dv = this.views.dv;
    const type = dv.getUint16(p, true);
    const code = dv.getUint16(p + 2, true);
    const id = dv.getUint32(p + 4, true);
    const a = dv.getUint32(p + 8, true);
    switch (type) {
      case EventType.connected: return { type: "connected", id };
      case EventType.accepted: return { type: "accepted", id, listener: a };
      case EventType.readable: return { type: "readable", id };
      case EventType.writable: return { type: "writable", id };
      case EventType.peerFin: return { type: "peerFin", id };
      case EventType.closed: return { type: "closed", id };
      case EventType.reset: return { type: "reset", id, error: engineErrorCode(code) };
      case EventType.timedOut: return { type: "timedOut", id, error: engineErrorCode(code) };
      case EventType.error: return { type: "error", id, error: engineErrorCode(code) };
      case EventType.state: return { type: "state", id, from: TCP_STATES[code]!, to: TCP_STATES[a]! };
      case EventType.segmentIn:
      case EventType.segmentOut: {
        const opts = dv.getUint32(p + 24, true);
        const options: SegmentOptionsTrace = {};
        if (opts & 1) options.mss = dv.getUint32(p + 28, true);
        if (opts & 2) options.wscale = (opts >> 8) & 15;
        if (opts & 4) options.sackPermitted = true;
        if (opts & 8) options.timestamps = { value: dv.getUint32(p + 32, true), echo: dv.getUint32(p + 36, true) };
        const blocks = (opts >> 12) & 7;
        if (blocks) {
          options.sack = [];
          for (let b = 0; b < blocks; b++) options.sack.push([dv.getUint32(p + 40 + 8 * b, true), dv.getUint32(p + 44 + 8 * b, true)]);
        }
        return {
          type: "segment", id, direction: type === EventType.segmentIn ? "in" : "out", flags: code, seq: a,
          ack: dv.getUint32(p + 12, true), window: dv.getUint32(p + 16, true), length: dv.getUint32(p + 20, true),
          options,
        };
      }
      default:
        return undefined;
    }
  }

  counters(): EngineCounters {
    const base = this.x.engineCountersPtr() >>> 0;
    const dv = this.views.dv;
    const c = { dropsByReason: [] as number[] } as unknown as EngineCounters;
    for (let i = 0; i < COUNTER_BASE; i++) c.dropsByReason.push(dv.getUint32(base + i * 4, true));
    COUNTER_NAMES.forEach((name, i) => {
      c[name] = dv.getUint32(base + (COUNTER_BASE + i) * 4, true);
    });
    return c;
  }

  liveConnections(): number {
    return this.x.engineLiveConnections();
  }

  memoryInUse(): number {
    return this.x.engineMemoryInUse();
  }

  /**
   * The part of memoryInUse() held by the tables, slot arrays and queues, which grow with the
   * connections (up to maxConnections) and keep their high-water size; the rest is the connections'.
   */
  tableMemory(): number {
    return this.x.engineTableMemory();
  }

  tcbSize(): number {
    return this.x.engineTcbSize();
  }

  /** Connections waiting out TIME-WAIT in compact form, outside the connection slots. */
  timeWaitCount(): number {
    return this.x.engineTimeWaitCount();
  }

  /** What ENOBUFS from a connect, listen or create ran out of: the slots, or the memory limit. */
  private exhausted(what: string): string {
    const slots = this.x.engineMaxConnections();
    if (this.x.engineLiveConnections() >= slots) return `${what}: connection table full (${slots} slots)`;
    return `${what}: engine memory exhausted (${this.x.engineMemoryInUse()} bytes in use)`;
  }

  // ---- Connections ----

  /** A handle in CLOSED, with options applied (buffer sizes must be set here, before OPEN). */
  create(options: ConnectionOptions = {}): number {
    const r = this.x.connCreate();
    const id = check(r, r === -ENGINE_ENOBUFS ? this.exhausted("create") : "create");
    this.setOptions(id, options);
    return id;
  }

  setOptions(id: number, options: ConnectionOptions): void {
    for (const [name, value] of Object.entries(options)) {
      const key = ConnOption[name as keyof typeof ConnOption];
      if (key === undefined) invalidArg(`unknown connection option ${name}`);
      check(this.x.connSetOption(id, key, Number(value)), `option ${name}`);
    }
  }

  /** Active OPEN. Returns the id; CONNECTED, RESET or TIMED_OUT follows as an event. */
  connect(options: ConnectOptions, now: number, connection: ConnectionOptions = {}): number {
    const local = addressBytes(options.local);
    const remote = addressBytes(options.remote);
    if (local.version !== remote.version) invalidArg("local and remote addresses differ in IP version");
    const own = options.handle === undefined;
    const id = own ? this.create(connection) : options.handle!;
    if (!own) this.setOptions(id, connection);
    const p = this.x.engineParamPtr() >>> 0;
    const u8 = this.views.u8;
    u8.fill(0, p, p + 32);
    u8.set(local.bytes, p);
    u8.set(remote.bytes, p + 16);
    const r = this.x.connConnectMs(id, local.version, options.localPort ?? 0, options.remotePort, now, options.linkMtu ?? 0);
    if (r < 0) {
      if (own) this.x.connReleaseMs(id, now);
      const what = `connect to ${options.remote}:${options.remotePort}`;
      check(r, r === -ENGINE_ENOBUFS ? this.exhausted(what) : what);
    }
    return id;
  }

  /** Passive OPEN. Returns the listener's id; connections arrive as ACCEPTED events. */
  listen(options: ListenOptions, connection: ConnectionOptions = {}): number {
    let version: 4 | 6 = options.ipVersion ?? 4;
    let bytes: Uint8Array = new Uint8Array(16);
    if (options.address !== undefined) {
      const a = addressBytes(options.address);
      version = a.version;
      bytes = a.bytes;
    }
    const id = this.create(connection);
    const p = this.x.engineParamPtr() >>> 0;
    this.views.u8.fill(0, p, p + 32);
    this.views.u8.set(bytes, p);
    const r = this.x.connListen(id, version, options.port, options.backlog ?? 0);
    if (r < 0) {
      this.x.connReleaseMs(id, 0);
      const what = `listen on port ${options.port}`;
      check(r, r === -ENGINE_ENOBUFS ? this.exhausted(what) : what);
    }
    return id;
  }

  /** Copies as much of `data` into the send ring as fits; returns the bytes taken. */
  send(id: number, data: Uint8Array, now: number): number {
    let done = 0;
    while (done < data.length) {
      const space = check(this.x.connSendSpace(id), "send");
      if (space === 0) break;
      const n = Math.min(space, data.length - done);
      this.views.u8.set(data.subarray(done, done + n), this.x.connSendPtr(id) >>> 0);
      check(this.x.connSendCommitMs(id, n, now), "send");
      done += n;
    }
    return done;
  }

  /** Copies out up to `max` readable bytes (default all) and consumes them. */
  recv(id: number, now: number, max = Infinity): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < max) {
      const avail = check(this.x.connRecvAvail(id), "recv");
      if (avail === 0) break;
      const n = Math.min(avail, max - total);
      const p = this.x.connRecvPtr(id) >>> 0;
      parts.push(this.views.u8.slice(p, p + n));
      check(this.x.connRecvConsumeMs(id, n, now), "recv");
      total += n;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(total);
    let off = 0;
    for (const part of parts) {
      out.set(part, off);
      off += part.length;
    }
    return out;
  }

  close(id: number, now: number): void {
    check(this.x.connCloseMs(id, now), "close");
  }

  abort(id: number, now: number): void {
    check(this.x.connAbortMs(id, now), "abort");
  }

  release(id: number, now: number): void {
    check(this.x.connReleaseMs(id, now), "release");
  }

  state(id: number): TcpState {
    return TCP_STATES[check(this.x.connState(id), "state")]!;
  }

  /**
   * The connection's ports and addresses (the tail of its STATUS record) without decoding the rest:
   * the addresses are formatted on first use, so taking them costs little per connection.
   */
  endpoints(id: number): ConnectionEndpoints {
    check(this.x.connStatus(id), "status");
    const p = this.x.engineStatusPtr() >>> 0;
    const dv = this.views.dv;
    return new ConnectionEndpoints(
      dv.getUint32(p + 176, true) === 6 ? 6 : 4, dv.getUint32(p + 128, true), dv.getUint32(p + 132, true),
      this.views.u8.slice(p + 144, p + 176),
    );
  }

  status(id: number): ConnectionStatus {
    check(this.x.connStatus(id), "status");
    const p = this.x.engineStatusPtr() >>> 0;
    const dv = this.views.dv;
    const u = (o: number) => dv.getUint32(p + o, true);
    const f = (o: number) => dv.getFloat64(p + o, true);
    const ipVersion = u(176) === 6 ? 6 : 4;
    const addr = (o: number) =>
      ipVersion === 4 ? formatIpv4(this.views.u8.subarray(p + o, p + o + 4)) : formatIpv6(this.views.u8.subarray(p + o, p + o + 16));
    return {
      state: TCP_STATES[u(0)]!, iss: u(8), sndUna: u(12), sndNxt: u(16), sndMax: u(20), sndWnd: u(24), sndWl1: u(28),
      sndWl2: u(32), maxSndWnd: u(36), irs: u(40), rcvNxt: u(44), rcvWnd: u(48), sndShift: u(52), rcvShift: u(56),
      sendMss: u(60), cwnd: u(64), ssthresh: u(68), retransmits: u(72), timeouts: u(76), sendQueued: u(80),
      recvQueued: u(84), oooBytes: u(88), dupAcks: u(92), srttMs: f(96), rttvarMs: f(104), rtoMs: f(112),
      peerMss: u(120), localMss: u(124), localPort: u(128), remotePort: u(132), sendBuffer: u(136),
      recvBuffer: u(140), localAddress: addr(144), remoteAddress: addr(160), ipVersion, reoWndMs: f(184),
    };
  }
}

export { TCP_STATES, type TcpState };

// A thin typed driver over the core's engine exports (assembly/index.ts documents the boundary,
// src/core/boundary.ts holds its numbers and layouts): packets in, packets and events out, connection
// handles as numbers. No policy: the stack (src/tcp/) is built on top of this, and nothing else in
// the host calls the core's engine exports. Browser-safe: web-platform APIs only.
import { loadEngine, type CoreExports, type LoadOptions, type MemoryViews, type Flavor } from "./loader.js";
import { TcpwasmError, ENGINE_ERROR_CODES, engineErrorCode, invalidArg } from "./errors.js";
import { invalidValue, optionsObject, validateUint8Array } from "./validate.js";
import { TCP_STATES, type TcpState } from "./trace.js";
import { parseAddress, type AddressBytes } from "./address.js";
import { CopyArena, freshBytes } from "./arena.js";
import {
  COUNTER_BASE, COUNTER_NAMES, ConfigKey, ConnOption, EVENT, EVENT_SIZE, IFACE_KIND, PARAM, RECORD_HEADER, SECRET_SIZE, TX,
  TX_RECORD_HEADER, recordSize, txRecordSize, UDP_COUNTER_NAMES, UDP_RECORD, UDP_RECV_HEADER, UDP_SEND_HEADER, UDP_TX_FRAME,
  udpRecordSize,
  type EngineExports as EngineOnlyExports,
} from "./boundary.js";
import { settingNumber, validateEngineConfig, type ConnectionOptions, type EngineConfig } from "./settings.js";
import { decodeEvent, type EngineEvent, type EventVisitor } from "./events.js";
import { decodeEndpoints, decodeStatus, type ConnectionEndpoints, type ConnectionStatus } from "./status.js";

/** Everything the core exports: the engine's calls and the loader's. */
export type EngineExports = CoreExports & EngineOnlyExports;

/** The engine's counters by name (COUNTER_NAMES), and drops per reason code (REASON_NAMES). */
export type EngineCounters = Record<(typeof COUNTER_NAMES)[number], number> & { dropsByReason: number[] };

/** The UDP counters by name (UDP_COUNTER_NAMES). */
export type UdpCounters = Record<(typeof UDP_COUNTER_NAMES)[number], number>;

/**
 * Receives one UDP receive record (Engine.udpReceive): `bytes` holds it at `at` (a copy, the caller's
 * to keep; UDP_RECORD gives the fields' offsets), its payload is `payloadLen` bytes at `at + UDP_RECV_HEADER`.
 */
export type UdpRecordVisitor = (socketId: number, bytes: Uint8Array, at: number, payloadLen: number) => void;

/** Where Engine.connect opens a connection (RFC 9293 3.10.1, active OPEN). */
export interface ConnectOptions {
  /** Our IPv4 or IPv6 address. */
  local: string;
  /** The peer's address, of the same IP version. */
  remote: string;
  /** The peer's port, 1..65535. */
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
  /**
   * That link's segmentation offload MTU (Link.offloadMtu): the connection sends packets of up to
   * this size, in whole segments of its MSS (0 or absent: none).
   */
  linkOffloadMtu?: number;
}

/** An address or prefix of Engine.configureInterface: the bytes, the IP version and a prefix length. */
export interface InterfacePrefix extends AddressBytes {
  /** Prefix length in bits (32 or 128: one address). */
  prefixLength: number;
}

/** What Engine.configureInterface tells the core about one link. */
export interface InterfaceConfig {
  /** Raw IP packets or Ethernet II frames (Link.framing). */
  kind: "ip" | "ethernet";
  /** The IP MTU, 576..65535. */
  mtu: number;
  /** An Ethernet interface's MAC, 6 bytes. */
  mac?: Uint8Array;
  /** Send router advertisements (an Ethernet interface that is its guests' router). */
  router?: boolean;
  /** Our addresses on an Ethernet link, with their prefix lengths (the on-link prefixes). */
  addresses?: InterfacePrefix[];
  /** Next hops for off-link destinations, at most one per IP version. */
  gateways?: AddressBytes[];
  /** The destination prefixes the host routes over this link. */
  routes: InterfacePrefix[];
  /**
   * Gateway mode (assembly/engine/forward.ts): IP packets for any unicast destination are taken (TCP
   * to the any-destination listener), and with `echo` echo requests to any destination are answered.
   */
  anyDestination?: { echo: boolean };
}

/** assembly/engine/forward.ts Refusal. */
const REFUSAL = { reset: 0, host: 1, port: 2, admin: 3 } as const;

/** What Engine.listen listens on (RFC 9293 3.10.1, passive OPEN). */
export interface ListenOptions {
  /** The port, 1..65535. */
  port: number;
  /** Absent: every address of the IP version. */
  address?: string;
  /** With no `address`: the IP version listened on. Default 4. */
  ipVersion?: 4 | 6;
  /** Cap on half-open (SYN-RECEIVED) connections of this listener. Default: the engine's `maxHalfOpenPerListener`. */
  backlog?: number;
}

/** Options of Engine.create. */
export interface EngineOptions extends LoadOptions {
  /** Engine-wide settings; see EngineConfig for each key's unit and default. */
  config?: EngineConfig;
  /** 32 random bytes: ISN secret (16) and PRNG seed (16). Default: crypto.getRandomValues. */
  secret?: Uint8Array;
}

/** The engine's default `mtu` setting (assembly/engine/config.ts). */
const DEFAULT_ENGINE_MTU = 1500;

/** The core's ENOBUFS (assembly/engine/errors.ts). */
const ENGINE_ENOBUFS = /* @__PURE__ */ ENGINE_ERROR_CODES.indexOf("ENOBUFS");

function check(code: number, what: string): number {
  if (code < 0) throw new TcpwasmError(engineErrorCode(-code), what);
  return code;
}

/** An address (4 or 16 bytes) as the 16-byte field of a UDP record, IPv4 in the first 4. */
function putAddress(u8: Uint8Array, at: number, address: Uint8Array): void {
  if (address.length === 4) {
    u8[at] = address[0]!;
    u8[at + 1] = address[1]!;
    u8[at + 2] = address[2]!;
    u8[at + 3] = address[3]!;
    for (let i = 4; i < 16; i++) u8[at + i] = 0;
  } else u8.set(address, at);
}

/** A u32, little-endian. */
function putU32(u8: Uint8Array, at: number, v: number): void {
  u8[at] = v & 0xff;
  u8[at + 1] = (v >>> 8) & 0xff;
  u8[at + 2] = (v >>> 16) & 0xff;
  u8[at + 3] = v >>> 24;
}

// The last two addresses parsed (a connect's local and remote): hosts open connection after
// connection between the same addresses, and parsing the text is a good part of a connect's host cost.
let parsedText0 = "";
let parsed0: AddressBytes | undefined;
let parsedText1 = "";
let parsed1: AddressBytes | undefined;

/** The address `text` as bytes; the result is shared with later calls and must not be changed. */
function addressBytes(text: string): AddressBytes {
  if (text === parsedText0 && parsed0 !== undefined) return parsed0;
  if (text === parsedText1 && parsed1 !== undefined) return parsed1;
  const a = parseAddress(text) ?? invalidArg(`not an IP address: ${text}`);
  parsedText1 = parsedText0;
  parsed1 = parsed0;
  parsedText0 = text;
  parsed0 = a;
  return a;
}

/**
 * The core behind one typed driver: packets in, packets, events and deadlines out, connections as
 * numeric ids. For hosts that bring their own I/O; the stack is built on it. Made by Engine.create.
 */
export class Engine {
  readonly #x: EngineExports;
  readonly #views: MemoryViews;
  /** @internal Use {@link Engine.create}. */
  private constructor(
    /** The build of the core this engine runs. */
    readonly flavor: Flavor,
    x: EngineExports,
    views: MemoryViews,
  ) {
    this.#x = x;
    this.#views = views;
  }

  /** Where output batches and received data are copied to when the caller keeps them. */
  readonly #arena = new CopyArena();
  #mtu = DEFAULT_ENGINE_MTU;

  /** The engine's `mtu` setting: the MTU of a link that states none. */
  configuredMtu(): number {
    return this.#mtu;
  }

  /** UDP receive records moved out of the region between the engine calls of one input (one copy each). */
  #udpAside: Array<{ bytes: Uint8Array; count: number }> = [];
  /** Bytes of UDP send records written since the last udpFlush, and how many records. */
  #udpTxUsed = 0;
  #udpTxCount = 0;
  /** udpQueue's view of linear memory (detached, length 0, once memory grows). */
  #udpView: Uint8Array = new Uint8Array(0);

  /** Rejects with ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE for bad options, before loading anything. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const o = optionsObject(options, "options");
    validateEngineConfig(o.config, "options.config");
    if (o.secret !== undefined) {
      validateUint8Array(o.secret, "options.secret");
      if (o.secret.length !== SECRET_SIZE) invalidValue("options.secret", `${o.secret.length} bytes`, `must be ${SECRET_SIZE} bytes`);
    }
    const loaded = await loadEngine<EngineExports>(o);
    const e = new Engine(loaded.flavor, loaded.exports, loaded.views);
    e.#mtu = o.config?.mtu ?? DEFAULT_ENGINE_MTU;
    for (const [name, value] of Object.entries(o.config ?? {})) {
      if (value === undefined) continue;
      // Validated above; the engine refuses out-of-range values too (a setting the host does not know yet).
      const r = e.#x.engineConfigSet(ConfigKey[name as keyof typeof ConfigKey], settingNumber(value));
      if (r < 0) invalidValue(`options.config.${name}`, value, "is refused by the engine");
    }
    const secret = o.secret ?? crypto.getRandomValues(new Uint8Array(SECRET_SIZE));
    e.#views.u8.set(secret, e.#x.engineParamPtr() >>> 0);
    const r = e.#x.engineInit();
    // The only init failures: an inverted ephemeral range (checked above) or tables too large for memory.
    if (r < 0) {
      const code = engineErrorCode(-r);
      throw new TcpwasmError(code, `engine init: ${code === "ENOBUFS" ? "the configured tables do not fit in memory" : "refused the configuration"}`);
    }
    return e;
  }

  /**
   * The raw exports, for tests of the boundary itself and benchmarks that drive the regions
   * themselves. Nothing in src/ uses it: the stack goes through the methods below.
   */
  get raw(): EngineExports {
    return this.#x;
  }

  /** Views of the core's linear memory (re-created when it grows). */
  get memory(): MemoryViews {
    return this.#views;
  }

  // ---- Packets ----

  /** The largest packet input() takes: the RX region less one record header. */
  get largestPacket(): number {
    return this.#x.engineRxCapacity() - RECORD_HEADER;
  }

  /**
   * Pushes packets in (as many engineInput calls as the RX region needs), all from one link of MTU
   * `linkMtu` (0: config mtu): connections they open take their MSS from it, and send packets of up
   * to `linkOffloadMtu` bytes (the link's segmentation offload, Link.offloadMtu; 0: none). The link is
   * interface `ifIndex` (configureInterface); an Ethernet interface takes whole frames.
   */
  input(packets: Iterable<Uint8Array>, now: number, linkMtu = 0, ifIndex = 0, linkOffloadMtu = 0): void {
    const cap = this.#x.engineRxCapacity();
    // With UDP in use, a call takes no more datagrams than the UDP receive region holds (a record
    // is at most 24 bytes longer than its IP packet); what it received is moved out before the next.
    const udpCap = this.#x.udpTxPtr() !== 0 ? this.#x.udpRxCapacity() : Infinity;
    let base = this.#x.engineRxPtr() >>> 0;
    let off = 0;
    let udpOff = 0;
    let n = 0;
    for (const p of packets) {
      const rec = recordSize(p.length);
      if (rec > cap) invalidArg(`packet of ${p.length} bytes exceeds the RX region`);
      if (off + rec > cap || udpOff + p.length + 24 > udpCap) {
        this.#x.engineInput(n, now, linkMtu, ifIndex, linkOffloadMtu);
        this.#udpSetAside();
        base = this.#x.engineRxPtr() >>> 0;
        off = 0;
        udpOff = 0;
        n = 0;
      }
      const u8 = this.#views.u8;
      this.#views.dv.setUint32(base + off, p.length, true);
      u8.set(p, base + off + RECORD_HEADER);
      off += rec;
      udpOff += p.length + 24;
      n++;
    }
    if (n > 0) this.#x.engineInput(n, now, linkMtu, ifIndex, linkOffloadMtu);
  }

  /**
   * Describes interface `ifIndex` to the core and brings it up at `now` (assembly/engine/edge.ts): for
   * an Ethernet interface its MAC, our addresses on it, its gateways and router role, so that the
   * core answers ARP and neighbour discovery and frames what the routes send it; for either kind the
   * route prefixes the host sends over it, so that the core picks the same link. Drain output after it
   * (gratuitous ARP, duplicate address detection, router advertisements).
   * @throws TcpwasmError EINVAL for what the core refuses, ENOBUFS past its tables.
   */
  configureInterface(ifIndex: number, config: InterfaceConfig, now: number): void {
    const x = this.#x;
    const p = x.engineParamPtr() >>> 0;
    const u8 = this.#views.u8;
    u8.fill(0, p, p + PARAM.size);
    if (config.mac) u8.set(config.mac, p);
    check(x.ifaceConfigure(ifIndex, IFACE_KIND[config.kind], config.mtu, config.router ? 1 : 0), "configure interface");
    const put = (a: AddressBytes) => {
      this.#views.u8.fill(0, p, p + PARAM.size);
      this.#views.u8.set(a.bytes, p);
    };
    for (const a of config.addresses ?? []) {
      put(a);
      check(x.ifaceAddAddress(ifIndex, a.version, a.prefixLength), "interface address");
    }
    for (const g of config.gateways ?? []) {
      put(g);
      check(x.ifaceAddGateway(ifIndex, g.version), "interface gateway");
    }
    for (const r of config.routes) {
      put(r);
      check(x.ifaceAddRoute(ifIndex, r.version, r.prefixLength), "interface route");
    }
    this.#views.u8.fill(0, p, p + PARAM.size);
    if (config.anyDestination) check(x.ifaceSetAnyDestination(ifIndex, config.anyDestination.echo ? 3 : 1), "interface any destination");
    check(x.ifaceUp(ifIndex, now), "interface up");
  }

  /** The neighbour cache (ARP and IPv6 neighbour discovery): entries in use, its bound, bytes per entry. */
  neighbours(): { entries: number; capacity: number; bytesPerEntry: number } {
    const x = this.#x;
    return { entries: x.engineNeighbourCount(), capacity: x.engineNeighbourCapacity(), bytesPerEntry: x.engineNeighbourEntryBytes() };
  }

  /**
   * Takes every queued packet out, calling `send` with each; returns how many. `ifIndex` is -1 for an
   * IP packet (the caller routes it by destination) or the interface a ready Ethernet frame is for;
   * packets the core holds back (waiting for neighbour resolution) are skipped. With `keep` each TX
   * batch is copied once (one copy for the batch, views into it) and the packets are the caller's to
   * keep, as a link needs them; without it they are views of the engine's TX region, valid until
   * `batchDone` is called after each batch's last packet (the engine reuses the region for the next).
   */
  output(now: number, send: (packet: Uint8Array, ifIndex: number) => void, keep = false, batchDone?: () => void): number {
    const x = this.#x;
    let total = 0;
    for (;;) {
      const n = x.engineOutput(now);
      if (n > 0) {
        const base = x.engineTxPtr() >>> 0;
        const dv = this.#views.dv;
        let from = this.#views.u8;
        let at = base;
        if (keep) {
          let end = 0;
          for (let i = 0; i < n; i++) end += txRecordSize(dv.getUint32(base + end, true));
          from = this.#arena.copy(this.#views.u8, base, base + end);
          at = 0;
        }
        for (let i = 0, off = 0; i < n; i++) {
          const len = dv.getUint32(base + off, true);
          const meta = dv.getUint32(base + off + TX.meta, true);
          const data = at + off + TX_RECORD_HEADER;
          if (meta === TX.ip) send(from.subarray(data, data + len), -1);
          else if (meta !== TX.held) send(from.subarray(data - TX.ethernetHeader, data + len), meta - TX.frame);
          off += txRecordSize(len);
        }
        batchDone?.();
      }
      total += n;
      if (n === 0 || !x.engineOutputMore()) return total;
    }
  }

  /** Runs every timer due at `now` (ms); a call with nothing due does nothing. Drain output and events after it. */
  timers(now: number): void {
    this.#x.engineTimers(now);
  }

  /** Earliest deadline in ms, or Infinity. */
  nextDeadline(): number {
    return this.#x.engineNextDeadline();
  }

  /**
   * Calls `visit` with each pending event's raw fields, then clears them: no object per event. Events
   * the visitor's own calls into the engine append are visited in the same pass, in order (the region
   * may move when it grows, so it is re-located after each call). `at` is the record's address, valid
   * only during the call: `eventAt(at)` decodes it in full. Returns the number of events visited.
   */
  events(visit: EventVisitor): number {
    const x = this.#x;
    let count = x.engineEventCount();
    let base = x.engineEventsPtr() >>> 0;
    let i = 0;
    for (; i < count; i++) {
      const p = base + i * EVENT_SIZE;
      const dv = this.#views.dv;
      visit(dv.getUint16(p + EVENT.type, true), dv.getUint16(p + EVENT.code, true), dv.getUint32(p + EVENT.id, true), dv.getUint32(p + EVENT.a, true), p);
      const now = x.engineEventCount();
      if (now !== count) {
        count = now;
        base = x.engineEventsPtr() >>> 0;
      }
    }
    x.engineEventsClear();
    return i;
  }

  /** Decodes the event record at `at` (from events()' visitor; undefined for an unknown type). */
  eventAt(at: number): EngineEvent | undefined {
    return decodeEvent(this.#views.dv, at);
  }

  /** A snapshot of the engine's counters. */
  counters(): EngineCounters {
    const base = this.#x.engineCountersPtr() >>> 0;
    const dv = this.#views.dv;
    const c = { dropsByReason: [] as number[] } as unknown as EngineCounters;
    for (let i = 0; i < COUNTER_BASE; i++) c.dropsByReason.push(dv.getUint32(base + i * 4, true));
    COUNTER_NAMES.forEach((name, i) => {
      c[name] = dv.getUint32(base + (COUNTER_BASE + i) * 4, true);
    });
    return c;
  }

  /** Connections and listeners holding a slot now. */
  liveConnections(): number {
    return this.#x.engineLiveConnections();
  }

  /** Bytes of pool memory the engine holds now (see EngineConfig.memoryLimit). */
  memoryInUse(): number {
    return this.#x.engineMemoryInUse();
  }

  /**
   * The part of memoryInUse() held by the tables, slot arrays and queues, which grow with the
   * connections (up to maxConnections) and keep their high-water size; the rest is the connections'.
   */
  tableMemory(): number {
    return this.#x.engineTableMemory();
  }

  /** Bytes of one connection's control block, buffers excluded. */
  tcbSize(): number {
    return this.#x.engineTcbSize();
  }

  /** Connections waiting out TIME-WAIT in compact form, outside the connection slots. */
  timeWaitCount(): number {
    return this.#x.engineTimeWaitCount();
  }

  /** What ENOBUFS from a connect, listen or create ran out of: the slots, or the memory limit. */
  #exhausted(what: string): string {
    const slots = this.#x.engineMaxConnections();
    if (this.#x.engineLiveConnections() >= slots) return `${what}: connection table full (${slots} slots)`;
    return `${what}: engine memory exhausted (${this.#x.engineMemoryInUse()} bytes in use)`;
  }

  // ---- Connections ----

  /** A handle in CLOSED, with options applied (buffer sizes must be set here, before OPEN). */
  create(options: ConnectionOptions = {}): number {
    const r = this.#x.connCreate();
    const id = check(r, r === -ENGINE_ENOBUFS ? this.#exhausted("create") : "create");
    this.setOptions(id, options);
    return id;
  }

  /**
   * Sets per-connection options on connection `id`.
   * @throws TcpwasmError ERR_INVALID_ARG_VALUE for an unknown key, or the engine's code (EBADF for a
   * stale id, EINVAL for a value it refuses).
   */
  setOptions(id: number, options: ConnectionOptions): void {
    // for-in, not Object.entries: no array per connection for the usual empty options.
    for (const name in options) {
      if (!Object.prototype.hasOwnProperty.call(options, name)) continue;
      const value = options[name as keyof ConnectionOptions];
      const key = ConnOption[name as keyof typeof ConnOption];
      if (key === undefined) invalidArg(`unknown connection option ${name}`);
      check(this.#x.connSetOption(id, key, settingNumber(value)), `option ${name}`);
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
    const p = this.#x.engineParamPtr() >>> 0;
    const u8 = this.#views.u8;
    u8.fill(0, p, p + PARAM.size);
    u8.set(local.bytes, p + PARAM.localAddress);
    u8.set(remote.bytes, p + PARAM.remoteAddress);
    const r = this.#x.connConnectMs(id, local.version, options.localPort ?? 0, options.remotePort, now, options.linkMtu ?? 0,
      options.linkOffloadMtu ?? 0);
    if (r < 0) {
      if (own) this.#x.connReleaseMs(id, now);
      const what = `connect to ${options.remote}:${options.remotePort}`;
      check(r, r === -ENGINE_ENOBUFS ? this.#exhausted(what) : what);
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
    const p = this.#x.engineParamPtr() >>> 0;
    this.#views.u8.fill(0, p, p + PARAM.size);
    this.#views.u8.set(bytes, p + PARAM.localAddress);
    const r = this.#x.connListen(id, version, options.port, options.backlog ?? 0);
    if (r < 0) {
      this.#x.connReleaseMs(id, 0);
      const what = `listen on port ${options.port}`;
      check(r, r === -ENGINE_ENOBUFS ? this.#exhausted(what) : what);
    }
    return id;
  }

  /**
   * Passive OPEN of the any-destination listener of `ipVersion`: SYNs on gateway interfaces that no
   * other listener takes arrive as synHeld events, each answered by acceptHeld or refuseHeld.
   */
  listenAny(ipVersion: 4 | 6, backlog = 0, connection: ConnectionOptions = {}): number {
    const id = this.create(connection);
    const r = this.#x.connListenAny(id, ipVersion, backlog);
    if (r < 0) {
      this.#x.connReleaseMs(id, 0);
      const what = `listen on any IPv${ipVersion} destination`;
      check(r, r === -ENGINE_ENOBUFS ? this.#exhausted(what) : what);
    }
    return id;
  }

  /** The far side of held connection `id` is connected: its SYN,ACK leaves at the next output. */
  acceptHeld(id: number): void {
    check(this.#x.connAcceptHeld(id), "accept held connection");
  }

  /** Refuses held connection `id` with a RST or an ICMP destination unreachable; a closed event follows. */
  refuseHeld(id: number, how: "reset" | "host" | "port" | "admin"): void {
    check(this.#x.connRefuseHeld(id, REFUSAL[how]), "refuse held connection");
  }

  /** Copies as much of `data` into the send ring as fits; returns the bytes taken. */
  send(id: number, data: Uint8Array, now: number): number {
    let done = 0;
    while (done < data.length) {
      const space = check(this.#x.connSendSpace(id), "send");
      if (space === 0) break;
      const n = Math.min(space, data.length - done);
      // The whole of `data` in one piece (a small write) needs no view of it.
      this.#views.u8.set(n === data.length ? data : data.subarray(done, done + n), this.#x.connSendPtr(id) >>> 0);
      check(this.#x.connSendCommitMs(id, n, now), "send");
      done += n;
    }
    return done;
  }

  /** Bytes readable in one piece at the receive ring's read point (0: none now); recv(id, now, readable(id)) takes exactly them. */
  readable(id: number): number {
    return Math.max(0, this.#x.connRecvAvail(id));
  }

  /** Copies out up to `max` readable bytes (default all) and consumes them; the copy is the caller's. */
  recv(id: number, now: number, max = Infinity): Uint8Array {
    let first: Uint8Array | undefined;
    let parts: Uint8Array[] | undefined;
    let total = 0;
    while (total < max) {
      const avail = check(this.#x.connRecvAvail(id), "recv");
      if (avail === 0) break;
      const n = Math.min(avail, max - total);
      const p = this.#x.connRecvPtr(id) >>> 0;
      const part = this.#arena.copy(this.#views.u8, p, p + n);
      check(this.#x.connRecvConsumeMs(id, n, now), "recv");
      total += n;
      if (first === undefined) first = part;
      else (parts ??= [first]).push(part);
    }
    if (parts === undefined) return first ?? new Uint8Array(0);
    // The ring wrapped: its two pieces in one copy.
    const out = freshBytes(total);
    let off = 0;
    for (const part of parts) {
      out.set(part, off);
      off += part.length;
    }
    return out;
  }

  /**
   * Copies up to `into.length` readable bytes into `into` (across the ring's wrap) and consumes them;
   * returns the count. The one copy a reader that brings its own memory needs (a BYOB read).
   */
  recvInto(id: number, now: number, into: Uint8Array): number {
    let total = 0;
    while (total < into.length) {
      const avail = check(this.#x.connRecvAvail(id), "recv");
      if (avail === 0) break;
      const n = Math.min(avail, into.length - total);
      const p = this.#x.connRecvPtr(id) >>> 0;
      into.set(this.#views.u8.subarray(p, p + n), total);
      check(this.#x.connRecvConsumeMs(id, n, now), "recv");
      total += n;
    }
    return total;
  }

  /**
   * CLOSE (RFC 9293 3.10.4): FIN after the queued data.
   * @throws TcpwasmError EBADF for a stale id.
   */
  close(id: number, now: number): void {
    check(this.#x.connCloseMs(id, now), "close");
  }

  /**
   * ABORT (RFC 9293 3.10.5): RST, queued data discarded.
   * @throws TcpwasmError EBADF for a stale id.
   */
  abort(id: number, now: number): void {
    check(this.#x.connAbortMs(id, now), "abort");
  }

  /**
   * Gives the id back; the engine finishes the connection on its own.
   * @throws TcpwasmError EBADF for a stale id.
   */
  release(id: number, now: number): void {
    check(this.#x.connReleaseMs(id, now), "release");
  }

  /**
   * The connection's RFC 9293 state.
   * @throws TcpwasmError EBADF for a stale id.
   */
  state(id: number): TcpState {
    return TCP_STATES[check(this.#x.connState(id), "state")]!;
  }

  /**
   * The connection's ports and addresses (the tail of its STATUS record) without decoding the rest:
   * the addresses are formatted on first use, so taking them costs little per connection.
   */
  endpoints(id: number): ConnectionEndpoints {
    check(this.#x.connStatus(id), "status");
    return decodeEndpoints(this.#views.u8, this.#views.dv, this.#x.engineStatusPtr() >>> 0);
  }

  /**
   * STATUS (RFC 9293 3.10.6): the connection's variables, decoded.
   * @throws TcpwasmError EBADF for a stale id.
   */
  status(id: number): ConnectionStatus {
    check(this.#x.connStatus(id), "status");
    return decodeStatus(this.#views.u8, this.#views.dv, this.#x.engineStatusPtr() >>> 0);
  }

  // ---- UDP (assembly/engine/udp.ts, udpsockets.ts) ----

  /**
   * Binds a UDP socket: `address` (4 or 16 raw bytes; absent: any address of `ipVersion`) and `port`
   * (0: a random ephemeral port). Returns the socket id.
   * @throws TcpwasmError EADDRINUSE, EADDRNOTAVAIL (no ephemeral port free), ENOBUFS (the port table is full).
   */
  udpBind(ipVersion: 4 | 6, address: Uint8Array | undefined, port: number, reuse = false): number {
    const p = this.#x.engineParamPtr() >>> 0;
    const u8 = this.#views.u8;
    u8.fill(0, p, p + PARAM.size);
    if (address) u8.set(address, p + PARAM.localAddress);
    const r = this.#x.udpBind(ipVersion, port, reuse ? 1 : 0);
    return check(r, r === -ENGINE_ENOBUFS ? `bind UDP port ${port}: the UDP port table is full` : `bind UDP port ${port}`);
  }

  /** The UDP socket's local port. @throws TcpwasmError EBADF for a closed socket. */
  udpLocalPort(id: number): number {
    return check(this.#x.udpLocalPort(id), "UDP local port");
  }

  /**
   * Connects (`port` 1..65535) or disconnects (`port` 0) a UDP socket: connected, it takes datagrams
   * from `address`:`port` only and hears about ICMP port unreachable errors (udpError events).
   */
  udpConnect(id: number, address: Uint8Array | undefined, port: number): void {
    const p = this.#x.engineParamPtr() >>> 0;
    const u8 = this.#views.u8;
    u8.fill(0, p, p + PARAM.size);
    if (address) u8.set(address, p + PARAM.remoteAddress);
    check(this.#x.udpConnect(id, port), "UDP connect");
  }

  /** Closes a UDP socket: its port is free again. @throws TcpwasmError EBADF for a closed socket. */
  udpClose(id: number): void {
    check(this.#x.udpClose(id), "UDP close");
  }

  /** Bound UDP sockets. */
  udpLiveSockets(): number {
    return this.#x.udpLiveSockets();
  }

  /** A snapshot of the UDP counters. */
  udpCounters(): UdpCounters {
    const base = this.#x.udpCountersPtr() >>> 0;
    const dv = this.#views.dv;
    const c = {} as UdpCounters;
    UDP_COUNTER_NAMES.forEach((name, i) => {
      c[name] = dv.getUint32(base + i * 4, true);
    });
    return c;
  }

  /**
   * Takes every received UDP datagram out of the receive region (one copy for the batch) and calls
   * `visit` with each, in arrival order; returns how many.
   */
  udpReceive(visit: UdpRecordVisitor): number {
    this.#udpSetAside();
    const aside = this.#udpAside;
    if (aside.length === 0) return 0;
    this.#udpAside = [];
    let total = 0;
    for (const { bytes, count } of aside) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0, off = 0; i < count; i++) {
        const len = dv.getUint32(off + UDP_RECORD.payloadLen, true);
        visit(dv.getUint32(off + UDP_RECORD.socketId, true), bytes, off, len);
        off += udpRecordSize(UDP_RECV_HEADER, len);
      }
      total += count;
    }
    return total;
  }

  /** Moves the UDP receive region's records out (one copy), making it empty for the next input. */
  #udpSetAside(): void {
    const x = this.#x;
    const n = x.udpRxCount();
    if (n === 0) return;
    const base = x.udpRxPtr() >>> 0;
    this.#udpAside.push({ bytes: this.#arena.copy(this.#views.u8, base, base + x.udpRxUsed()), count: n });
    x.udpRxClear();
  }

  /**
   * Writes one datagram into the UDP send region (no engine call): from socket `socketId` to
   * `destination` (4 or 16 raw bytes, like `source`):`destinationPort`; with `mac` (6 bytes) a frame
   * for interface `ifIndex` instead of an IP packet the host routes. False when it does not fit now
   * (udpFlush, then queue again). Bind a socket first: the region is taken on the first bind.
   */
  udpQueue(socketId: number, ipVersion: 4 | 6, source: Uint8Array, destination: Uint8Array, destinationPort: number,
    payload: Uint8Array, ifIndex = 0, mac?: Uint8Array, sourcePort = 0): boolean {
    const x = this.#x;
    const base = x.udpTxPtr() >>> 0;
    const n = payload.length;
    const size = udpRecordSize(UDP_SEND_HEADER, n);
    if (base === 0 || this.#udpTxUsed + size > x.udpTxCapacity()) return false;
    const at = base + this.#udpTxUsed;
    // This runs once per datagram: a view kept between calls (a view of memory that has grown since
    // is detached, length 0), and every header byte stored one by one, little-endian, no fill.
    let u8 = this.#udpView;
    if (u8.length === 0) u8 = this.#udpView = this.#views.u8;
    putU32(u8, at + UDP_RECORD.payloadLen, n);
    putU32(u8, at + UDP_RECORD.socketId, socketId);
    u8[at + UDP_RECORD.ipVersion] = ipVersion;
    u8[at + UDP_RECORD.flags] = mac ? UDP_TX_FRAME : 0;
    u8[at + UDP_RECORD.srcPort] = sourcePort & 0xff;
    u8[at + UDP_RECORD.srcPort + 1] = sourcePort >>> 8;
    u8[at + UDP_RECORD.dstPort] = destinationPort & 0xff;
    u8[at + UDP_RECORD.dstPort + 1] = destinationPort >>> 8;
    const frameIf = mac ? ifIndex : 0;
    u8[at + UDP_RECORD.ifIndex] = frameIf & 0xff;
    u8[at + UDP_RECORD.ifIndex + 1] = frameIf >>> 8;
    putAddress(u8, at + UDP_RECORD.srcAddress, source);
    putAddress(u8, at + UDP_RECORD.dstAddress, destination);
    if (mac) u8.set(mac, at + UDP_RECORD.mac);
    u8.set(payload, at + UDP_SEND_HEADER);
    this.#udpTxUsed += size;
    this.#udpTxCount++;
    return true;
  }

  /**
   * Makes UDP socket `id` its IP version's catch-all on gateway interfaces (assembly/engine/udp.ts):
   * it receives what no other socket takes, and its datagrams leave from the source port their
   * record names (udpQueue's `sourcePort`).
   */
  udpSetCatchAll(id: number, on: boolean): void {
    check(this.#x.udpSetCatchAll(id, on ? 1 : 0), "UDP catch-all");
  }

  /** Datagrams queued by udpQueue and not yet flushed. */
  get udpQueued(): number {
    return this.#udpTxCount;
  }

  /**
   * Builds every queued datagram into the engine's output, one engine call per batch; when the output
   * queue fills, `drain` must take the output (Engine.output) before the rest goes. Returns how many.
   */
  udpFlush(drain: () => void): number {
    const x = this.#x;
    const total = this.#udpTxCount;
    let left = total;
    let off = 0;
    while (left > 0) {
      const took = x.udpSend(off, left);
      const base = x.udpTxPtr() >>> 0;
      const dv = this.#views.dv;
      for (let i = 0; i < took; i++) off += udpRecordSize(UDP_SEND_HEADER, dv.getUint32(base + off, true));
      left -= took;
      if (left > 0) drain();
    }
    this.#udpTxUsed = 0;
    this.#udpTxCount = 0;
    return total;
  }
}

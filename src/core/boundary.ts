// The WebAssembly boundary as the host sees it, in one place: the core's engine exports, the numbers
// that cross it (config keys, connection options, event types, counters) and the layouts of the
// memory regions it shares (RX/TX records, event records, STATUS, the parameter block). Every value
// mirrors assembly/ (the file is named beside each); test/boundary.test.ts reads those sources and
// the loaded core and fails on any difference, so neither side can change alone. Browser-safe.

/**
 * The engine's exports (assembly/index.ts documents the protocol; the loader's CoreExports are the
 * rest). Pointers come back from
 * WebAssembly as signed i32: every one is read with `>>> 0`, or an address past 2 GiB of linear
 * memory turns negative and indexes nothing.
 */
export interface EngineExports {
  /** Sizes the tables from the configuration and reads the secret at engineParamPtr(); once. 0 or -error. */
  engineInit(): number;
  /** Sets one ConfigKey; 0 or -EINVAL. */
  engineConfigSet(key: number, value: number): number;
  /** The parameter block: engineInit's secret, connConnectMs' and connListen's addresses. */
  engineParamPtr(): number;
  /** The RX region engineInput reads packet records from. */
  engineRxPtr(): number;
  /** Bytes of the RX region. */
  engineRxCapacity(): number;
  /**
   * linkMtu: the MTU of the link the packets came in on (0 or absent: config mtu); ifIndex: the
   * interface it is (absent: 0); an Ethernet interface's records are frames. linkOffloadMtu: the
   * link's segmentation offload MTU (0 or absent: none), for the connections the packets open.
   */
  engineInput(count: number, now: number, linkMtu?: number, ifIndex?: number, linkOffloadMtu?: number): number;
  /** Interface ifIndex: kind (IFACE_KIND), IP MTU, router 0/1; an Ethernet MAC as 6 bytes at engineParamPtr(). 0 or -error. */
  ifaceConfigure(ifIndex: number, kind: number, mtu: number, router: number): number;
  /** Adds our address (16 bytes at engineParamPtr(), IPv4 in the first 4) with its prefix length. 0 or -error. */
  ifaceAddAddress(ifIndex: number, version: number, prefixLen: number): number;
  /** Sets the gateway of that IP version (at engineParamPtr()). 0 or -error. */
  ifaceAddGateway(ifIndex: number, version: number): number;
  /** Adds a route prefix (at engineParamPtr()) the host sends over the interface. 0 or -error. */
  ifaceAddRoute(ifIndex: number, version: number, prefixLen: number): number;
  /** Brings the interface up: link-local address, DAD, gratuitous ARP, router advertisements. 0 or -error. */
  ifaceUp(ifIndex: number, now: number): number;
  /** Bytes per neighbour cache entry, its index share included. */
  engineNeighbourEntryBytes(): number;
  /** Neighbour cache entries in use. */
  engineNeighbourCount(): number;
  /** Neighbour cache entries at most (0 before an Ethernet interface). */
  engineNeighbourCapacity(): number;
  /** The TX region engineOutput writes packet records to. */
  engineTxPtr(): number;
  /** Bytes of the TX region. */
  engineTxCapacity(): number;
  /** Fills the TX region with packet records; returns how many. */
  engineOutput(now: number): number;
  /** 1 while more output waits than one engineOutput call holds. */
  engineOutputMore(): number;
  /** Runs the timers due at `now` (ms). */
  engineTimers(now: number): void;
  /** Earliest timer deadline, ms, or Infinity. */
  engineNextDeadline(): number;
  /** The event records (re-read after every call: the buffer may move). */
  engineEventsPtr(): number;
  /** Event records waiting. */
  engineEventCount(): number;
  /** Drops the event records read. */
  engineEventsClear(): void;
  /** The counters: u32 cells, drops by reason then engine counters. */
  engineCountersPtr(): number;
  /** Number of counter cells. */
  engineCountersLength(): number;
  /** Where connStatus writes the STATUS record. */
  engineStatusPtr(): number;
  /** Connections and listeners holding a slot. */
  engineLiveConnections(): number;
  /** Bytes of pool memory held. */
  engineMemoryInUse(): number;
  /** The part of engineMemoryInUse held by tables, slot arrays and queues. */
  engineTableMemory(): number;
  /** Bytes of one connection control block. */
  engineTcbSize(): number;
  /** Connections in compact TIME-WAIT. */
  engineTimeWaitCount(): number;
  /** Connection slots (maxConnections). */
  engineMaxConnections(): number;
  /** A new connection id in CLOSED, or -error. */
  connCreate(): number;
  /** Sets one ConnOption; 0 or -error. */
  connSetOption(id: number, option: number, value: number): number;
  /**
   * linkMtu: the MTU of the link the route to the peer uses (0 or absent: config mtu);
   * linkOffloadMtu: that link's segmentation offload MTU (0 or absent: none).
   */
  connConnectMs(id: number, ipVersion: number, localPort: number, remotePort: number, now: number, linkMtu?: number,
    linkOffloadMtu?: number): number;
  /** Passive OPEN (RFC 9293 3.10.1) on the address at engineParamPtr() (zero: any); 0 or -error. */
  connListen(id: number, ipVersion: number, port: number, backlog: number): number;
  /** Where SEND data goes (up to connSendSpace bytes). */
  connSendPtr(id: number): number;
  /** Bytes the send buffer takes now. */
  connSendSpace(id: number): number;
  /** SEND (RFC 9293 3.10.2) of the `n` bytes written at connSendPtr. */
  connSendCommitMs(id: number, n: number, now: number): number;
  /** Where received data waits (connRecvAvail bytes). */
  connRecvPtr(id: number): number;
  /** Bytes received in order and not yet consumed. */
  connRecvAvail(id: number): number;
  /** RECEIVE (RFC 9293 3.10.3): consumes `n` bytes, opening the window. */
  connRecvConsumeMs(id: number, n: number, now: number): number;
  /** CLOSE (RFC 9293 3.10.4): FIN after queued data. */
  connCloseMs(id: number, now: number): number;
  /** ABORT (RFC 9293 3.10.5): RST. */
  connAbortMs(id: number, now: number): number;
  /** Gives the id back; the engine finishes the connection itself. */
  connReleaseMs(id: number, now: number): number;
  /** The connection's state (index into TCP_STATES), or -error. */
  connState(id: number): number;
  /** Writes STATUS (RFC 9293 3.10.6) at engineStatusPtr(); 0 or -error. */
  connStatus(id: number): number;
  /** Binds a UDP socket to the address at engineParamPtr() (zero: any) and `port` (0: ephemeral); its id or -error. */
  udpBind(ipVersion: number, port: number, reuse: number): number;
  /** The UDP socket's local port, or -error. */
  udpLocalPort(id: number): number;
  /** Connects the UDP socket to the address at engineParamPtr()+16 and `port` (0: disconnects); 0 or -error. */
  udpConnect(id: number, port: number): number;
  /** Closes the UDP socket; 0 or -error. */
  udpClose(id: number): number;
  /** The UDP receive region (records UDP_RECV). */
  udpRxPtr(): number;
  /** Bytes of the UDP receive region (0 before the first bind). */
  udpRxCapacity(): number;
  /** Records waiting in the UDP receive region. */
  udpRxCount(): number;
  /** Bytes they take. */
  udpRxUsed(): number;
  /** Drops the records read. */
  udpRxClear(): void;
  /** The UDP send region (records UDP_SEND); 0 before the first bind. */
  udpTxPtr(): number;
  /** Bytes of the UDP send region. */
  udpTxCapacity(): number;
  /** Builds `count` send records from byte `offset` into the output; returns how many it took. */
  udpSend(offset: number, count: number): number;
  /** The UDP counters: u32 cells (UDP_COUNTER_NAMES). */
  udpCountersPtr(): number;
  /** Number of UDP counter cells. */
  udpCountersLength(): number;
  /** Bound UDP sockets. */
  udpLiveSockets(): number;
  /** Makes a UDP socket its IP version's catch-all on gateway interfaces (1) or not (0); 0 or -error. */
  udpSetCatchAll(id: number, on: number): number;
  /** Gateway mode for interface `ifIndex` (1: any unicast destination, 2: also echo to any); 0 or -error. */
  ifaceSetAnyDestination(ifIndex: number, flags: number): number;
  /** Passive OPEN of the any-destination listener of `ipVersion`; 0 or -error. Its SYNs arrive as SYN_HELD events. */
  connListenAny(id: number, ipVersion: number, backlog: number): number;
  /** Sends the SYN,ACK of a held connection; 0 or -error. */
  connAcceptHeld(id: number): number;
  /** Refuses a held connection: 0 RST, 1 host, 2 port unreachable, 3 administratively prohibited; 0 or -error. */
  connRefuseHeld(id: number, how: number): number;
}

// ---- RX and TX regions: packet records ----

/**
 * @internal
 * Bytes one packet of `length` bytes takes in the RX region: a u32 little-endian length, the packet,
 * padding to a multiple of 4 (assembly/index.ts, step 2; assembly/wire/api.ts parseBatch).
 */
export function recordSize(length: number): number {
  return 4 + ((length + 3) & ~3);
}

/** @internal Bytes of an RX record before its packet: the u32 length. */
export const RECORD_HEADER = 4;

/**
 * @internal
 * Bytes one record of `length` data bytes takes in the TX region: a u32 length, a u32 meta word, 16
 * bytes of headroom, the data, padding to a multiple of 4 (assembly/engine/emit.ts, recordBytes).
 */
export function txRecordSize(length: number): number {
  return TX_RECORD_HEADER + ((length + 3) & ~3);
}

/** @internal Bytes of a TX record before its data (assembly/engine/emit.ts TX_RECORD_HEADER). */
export const TX_RECORD_HEADER = 24;

/** @internal The TX record's fields and meta values (assembly/engine/emit.ts). */
export const TX = {
  /** Offset of the u32 meta word. */
  meta: 4,
  /** meta: an IP packet, routed by destination. */
  ip: 0,
  /** meta frame + ifIndex: an Ethernet frame for interface ifIndex, starting ethernetHeader bytes before the data. */
  frame: 1,
  /** meta: held by the core (waiting for neighbour resolution); skipped. */
  held: 0xffffffff,
  /** Bytes of the Ethernet header a frame record keeps in its headroom. */
  ethernetHeader: 14,
} as const;

// ---- The parameter block (assembly/engine/user.ts paramPtr) ----

/** @internal Offsets in the parameter block: the addresses of connConnectMs and connListen, 16 bytes each (IPv4 in the first 4). */
export const PARAM = { localAddress: 0, remoteAddress: 16, size: 32 } as const;
/** @internal Bytes of engineInit's secret at engineParamPtr(): the ISN secret (16) and the PRNG seed (16). */
export const SECRET_SIZE = 32;

// ---- Configuration and options ----

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
  neighbourEntries: 39,
  udpSockets: 40,
  udpRxRegion: 41,
  udpTxRegion: 42,
  udpUnreachableRate: 43,
  udpUnreachableBurst: 44,
  pacing: 45,
  sendBufferMax: 46,
  recvBufferMax: 47,
  bufferBudget: 48,
  hystart: 49,
  congestionControl: 50,
} as const;

/** @internal engineInput's ifIndex for packets from no link (the stack's loopback): never an Ethernet interface. */
export const NO_INTERFACE = 0xffff;

/** @internal Interface kinds of ifaceConfigure (assembly/engine/iface.ts IfKind). */
export const IFACE_KIND = { ip: 1, ethernet: 2 } as const;

/** @internal Largest TX, RX and control region (assembly/engine/config.ts REGION_MAX). */
export const REGION_MAX = 1 << 26;

/** @internal The ephemeral range's defaults (assembly/engine/config.ts), for the low <= high check. */
export const EPHEMERAL_DEFAULT = { low: 49152, high: 65535 } as const;

/** Per-connection options (assembly/engine/status.ts ConnOption). */
export const ConnOption = {
  noDelay: 0,
  keepalive: 1,
  keepaliveIdleMs: 2,
  keepaliveIntervalMs: 3,
  keepaliveCount: 4,
  userTimeoutMs: 5,
  sendBuffer: 6,
  recvBuffer: 7,
  tos: 8,
  pacing: 9,
  congestionControl: 10,
} as const;

/** @internal Congestion controls, numbered as assembly/engine/congestion.ts CcAlgo. */
export const CONGESTION_CONTROLS = { newreno: 0, cubic: 1 } as const;

// ---- Events (assembly/engine/events.ts) ----

/** @internal Bytes per event record (assembly/engine/events.ts EVENT_SIZE). */
export const EVENT_SIZE = 64;

/** @internal Field offsets in an event record (assembly/engine/events.ts, the layout at its top). */
export const EVENT = {
  type: 0, code: 2, id: 4, a: 8, ack: 12, window: 16, length: 20, options: 24, mss: 28, tsVal: 32, tsEcr: 36,
  /** Three SACK blocks as (u32 left, u32 right) pairs; an ADDRESS_CONFLICT's address (16 bytes). */
  sack: 40,
} as const;

/** @internal Bits of an event's options field (EVENT.options). */
export const EVENT_OPTION = {
  mss: 1, wscale: 2, sackPermitted: 4, timestamps: 8,
  /** The window scale shift: (options >> wscaleShift) & 15. */
  wscaleShift: 8,
  /** The number of SACK blocks recorded: (options >> sackCountShift) & 7. */
  sackCountShift: 12,
  /** Why an outgoing segment was sent: (options >> sendKindShift) & 3, 0 new, 1 repair, 2 probe. */
  sendKindShift: 16,
} as const;

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
  addressConflict: 13,
  udpError: 14,
  synHeld: 15,
} as const;

// ---- Counters (assembly/engine/counters.ts) ----

/** Engine counters (assembly/engine/counters.ts Counter), at COUNTER_BASE in the counters region. */
export const COUNTER_NAMES = [
  "packetsIn", "segmentsIn", "segmentsOut", "resetsSent", "resetsReceived", "retransmits", "fastRetransmits",
  "timeouts", "challengeAcks", "challengeAcksLimited", "synDroppedHalfOpen", "synDroppedNoSlot", "pawsDropped",
  "outOfWindow", "oooDropped", "eventsDropped", "controlDropped", "icmpEchoReplies", "notTcpDropped",
  "badAckDropped", "noConnection", "rxRecordInvalid", "zeroWindowProbes", "keepaliveProbes", "tsMissingDropped",
  "synCookiesSent", "synCookiesAccepted", "acksRateLimited", "timeWaitRecycled", "timeWaitReused",
  "icmpTooBig", "icmpTooBigIgnored", "spuriousRecoveries", "spuriousTimeouts", "cwndReductions",
  "framesIn", "framesNotForUs", "framesVlanDropped", "framesDropped", "ipNotForUs", "arpIn", "arpDropped", "arpNotForUs",
  "arpRepliesSent", "arpRequestsSent", "addressConflicts", "ndIn", "ndDropped", "ndNotForUs", "nsSent", "naSent", "raSent",
  "dadDuplicates", "neighbourPending", "neighbourPendingDropped", "neighbourFailed", "neighbourEvicted", "neighbourFull",
  "icmpUnreachable", "icmpUnreachableIgnored", "recvBufferGrown", "sendBufferGrown", "bufferGrowthRefused", "tailLossProbes",
] as const;

/** @internal The first engine counter's cell; the cells before it count wire drops by Reason (assembly/engine/counters.ts). */
export const COUNTER_BASE = 32;

/** UDP counters (assembly/engine/udpcounters.ts UdpCounter), in their own region (udpCountersPtr). */
export const UDP_COUNTER_NAMES = [
  "udpDatagramsIn", "udpDelivered", "udpBadTruncated", "udpBadLength", "udpBadChecksum", "udpBadZeroChecksumV6",
  "udpNoPort", "udpUnreachableSent", "udpUnreachableRateLimited", "udpUnreachableSuppressed", "udpReceiveRegionFull",
  "udpDatagramsOut", "udpSendInvalid", "udpIcmpUnreachableIn", "udpIcmpUnreachableIgnored", "udpSendNoInterface",
] as const;

// ---- UDP regions (assembly/engine/udp.ts) ----

/** @internal Bytes of a UDP receive record before its payload (assembly/engine/udp.ts UDP_RECV_HEADER). */
export const UDP_RECV_HEADER = 48;
/** @internal Bytes of a UDP send record before its payload (assembly/engine/udp.ts UDP_SEND_HEADER). */
export const UDP_SEND_HEADER = 56;
/** @internal Field offsets in UDP receive and send records (the layouts at the top of assembly/engine/udp.ts). */
export const UDP_RECORD = {
  payloadLen: 0, socketId: 4, ipVersion: 8, flags: 9, srcPort: 10, dstPort: 12, ifIndex: 14, srcAddress: 16, dstAddress: 32,
  /** Send records only: the destination MAC of a frame (flag UDP_TX_FRAME). */
  mac: 48,
} as const;
/** @internal Receive record flags (assembly/engine/udp.ts RX_BROADCAST, RX_MULTICAST). */
export const UDP_RX_FLAG = { broadcast: 1, multicast: 2 } as const;
/** @internal Send record flag: a frame for interface ifIndex to the MAC at UDP_RECORD.mac (assembly/engine/udp.ts TX_FRAME). */
export const UDP_TX_FRAME = 1;

/** @internal Bytes a UDP record of `payloadLen` bytes takes after a header of `header` bytes, padded to 4. */
export function udpRecordSize(header: number, payloadLen: number): number {
  return header + ((payloadLen + 3) & ~3);
}

// ---- STATUS (assembly/engine/status.ts connStatus) ----

/** @internal Bytes of the STATUS record (assembly/engine/status.ts STATUS_SIZE). */
export const STATUS_SIZE = 200;

/** @internal Offsets of the STATUS fields (RFC 9293 3.10.6), u32 unless listed in STATUS_F64. */
export const STATUS = {
  state: 0, flags: 4, iss: 8, sndUna: 12, sndNxt: 16, sndMax: 20, sndWnd: 24, sndWl1: 28, sndWl2: 32,
  maxSndWnd: 36, irs: 40, rcvNxt: 44, rcvWnd: 48, sndShift: 52, rcvShift: 56, sendMss: 60, cwnd: 64,
  ssthresh: 68, retransmits: 72, timeouts: 76, sendQueued: 80, recvQueued: 84, oooBytes: 88, dupAcks: 92,
  srttMs: 96, rttvarMs: 104, rtoMs: 112, peerMss: 120, localMss: 124, localPort: 128, remotePort: 132,
  sendBuffer: 136, recvBuffer: 140,
  /** 16 bytes; IPv4 in the first 4. */
  localAddress: 144,
  /** 16 bytes; IPv4 in the first 4. */
  remoteAddress: 160,
  ipVersion: 176,
  tcbBytes: 180,
  /** f64: RACK's reordering window, ms (RFC 8985 6.2 step 4). */
  reoWndMs: 184,
  /** assembly/engine/congestion.ts CcAlgo, as CONGESTION_CONTROLS numbers it. */
  congestionControl: 192,
} as const;

/** @internal The STATUS fields stored as f64. */
export const STATUS_F64: ReadonlySet<keyof typeof STATUS> = new Set(["srttMs", "rttvarMs", "rtoMs", "reoWndMs"]);

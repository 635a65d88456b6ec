// Engine configuration: every bound the engine enforces, with its default. The host sets keys before
// engineInit (sizes of tables and regions are fixed there) or at any time for the others; times cross
// the boundary in milliseconds and are kept in microseconds inside; the engine never reads a clock.
import { Err } from "./errors";
import { poolSetLimit } from "./pool";

export const enum ConfigKey {
  /** Connection slots (listeners included); fixed at engineInit. */
  MAX_CONNECTIONS = 0,
  /** SYN-RECEIVED connections across all listeners (RFC 4987 2.3). */
  MAX_HALF_OPEN_TOTAL = 1,
  /** SYN-RECEIVED connections per listener; a listener's backlog lowers it further. */
  MAX_HALF_OPEN_PER_LISTENER = 2,
  /** Send ring a connection starts with, bytes; auto-sizing grows it up to SEND_BUFFER_MAX (autosize.ts). */
  SEND_BUFFER = 3,
  /** Receive ring a connection starts with, bytes; auto-sizing grows it up to RECV_BUFFER_MAX. */
  RECV_BUFFER = 4,
  /** Maximum segment lifetime, ms: TIME-WAIT lasts 2 * MSL (RFC 9293 3.4.2). */
  MSL_MS = 5,
  RTO_MIN_MS = 6,
  RTO_MAX_MS = 7,
  RTO_INITIAL_MS = 8,
  /** SYN (and SYN,ACK) retransmissions before ETIMEDOUT (RFC 9293 3.8.3 R2 for SYNs). */
  SYN_RETRIES = 9,
  /** Consecutive data retransmission timeouts before ETIMEDOUT (RFC 9293 3.8.3 R2). */
  DATA_RETRIES = 10,
  /** Delayed ACK timeout, ms, at most 200 (RFC 9293 3.8.6.3 MUST-40 says < 0.5 s). */
  DELAYED_ACK_MS = 11,
  /** Keepalive on for new connections (RFC 1122 4.2.3.6: off by default). */
  KEEPALIVE = 12,
  KEEPALIVE_IDLE_MS = 13,
  KEEPALIVE_INTERVAL_MS = 14,
  KEEPALIVE_COUNT = 15,
  /** Persist probe interval bounds and the total time a zero window may hold data (Sockstress). */
  PERSIST_MIN_MS = 16,
  PERSIST_MAX_MS = 17,
  PERSIST_TOTAL_MS = 18,
  /**
   * The MTU of a link the host names none for (engineInput / connConnectMs pass 0): our MSS is MTU - 40
   * (IPv4) or MTU - 60 (IPv6) (RFC 9293 3.7.1; pmtu.ts).
   */
  MTU = 19,
  /** 1: one event per segment in and out (tracing). */
  TRACE = 20,
  /** 1: verify IPv4 header and TCP checksums on input. */
  VERIFY_CHECKSUMS = 21,
  /** Options we offer in SYNs: window scale, timestamps, SACK-permitted (1 on, 0 off). */
  WINDOW_SCALING = 22,
  TIMESTAMPS = 23,
  SACK = 24,
  /** Challenge ACKs per connection per second (RFC 5961 7; CVE-2016-5696: never global). */
  CHALLENGE_ACK_LIMIT = 25,
  /** Bytes of the TX region output() fills; fixed at engineInit. */
  TX_REGION = 26,
  /** Bytes of the RX region input() reads; fixed at engineInit. */
  RX_REGION = 27,
  /** Most event records held before the host drains them; beyond it events are dropped and counted. */
  EVENT_LIMIT = 28,
  /** Ephemeral port range (RFC 6056), low and high inclusive. */
  EPHEMERAL_LOW = 29,
  EPHEMERAL_HIGH = 30,
  /** Nagle on for new connections (RFC 9293 3.7.4: on by default). */
  NAGLE = 31,
  /** Default user timeout, ms, 0 = none (RFC 9293 3.8.3, RFC 5482). */
  USER_TIMEOUT_MS = 32,
  /** Bytes queued for control packets (RSTs for closed ports, ICMP echo replies) between output calls. */
  CONTROL_QUEUE = 33,
  /** 1 (default): an event for every state transition, old and new state. */
  STATE_EVENTS = 34,
  /** 1 (default): past a listener's half-open cap, answer SYNs with SYN cookies (RFC 4987 3.6). */
  SYN_COOKIES = 35,
  /** Bytes of pool memory the engine may hold (tables, TCBs, rings, reassembly); 0 = only wasm32 bounds it. */
  MEMORY_LIMIT = 36,
  /**
   * In-order data segments acknowledged at once at the start of a connection, default 16 (Linux's
   * quickack mode at start); 0: the delayed ACK applies from the first segment (RFC 9293 3.8.6.3).
   */
  QUICK_ACKS = 37,
  /**
   * Connections kept in compact TIME-WAIT (timewait.ts), outside the MAX_CONNECTIONS slots; 0 (the
   * default): as many as MAX_CONNECTIONS. When the store is full the oldest entry gives way. Fixed at
   * engineInit.
   */
  TIME_WAIT_MAX = 38,
  /**
   * Entries of the neighbour cache (ARP and IPv6 neighbour discovery, neighbour.ts), allocated when
   * the first Ethernet interface is configured and fixed from then on.
   */
  NEIGHBOUR_ENTRIES = 39,
  /** Bound UDP sockets (udpsockets.ts), at most 65535; fixed at engineInit, taken on the first bind. */
  UDP_SOCKETS = 40,
  /** Bytes of the UDP receive region the host drains (udp.ts); fixed at engineInit. */
  UDP_RX_REGION = 41,
  /** Bytes of the UDP send region the host fills (udp.ts); fixed at engineInit. */
  UDP_TX_REGION = 42,
  /** ICMP port unreachable errors a second, at most (RFC 4443 2.4 (f)); 0: none are sent. */
  UDP_UNREACHABLE_RATE = 43,
  /** How many of them may go at once after a quiet spell (the token bucket's depth), at least 1. */
  UDP_UNREACHABLE_BURST = 44,
  /**
   * 1 (default): new connections pace their data at a rate from cwnd and SRTT (pacing.ts); 0: each
   * sends what its windows allow at once.
   */
  PACING = 45,
  /**
   * Largest send ring auto-sizing grows a connection's to, bytes (the largest power of two not above
   * it); at or below SEND_BUFFER the ring never grows. A connection given its own SEND_BUFFER
   * (ConnOption) keeps that size, as SO_SNDBUF does.
   */
  SEND_BUFFER_MAX = 46,
  /**
   * Largest receive ring auto-sizing grows a connection's to, bytes (as SEND_BUFFER_MAX). It also
   * chooses the window scale a SYN offers (RFC 7323 2.3), so that the window can grow later.
   */
  RECV_BUFFER_MAX = 47,
  /**
   * Bytes of ring storage all connections together may hold before auto-sizing refuses to grow one
   * (counted, BUFFER_GROWTH_REFUSED); rings a connection starts with are not refused by it.
   */
  BUFFER_BUDGET = 48,
  /**
   * 1 (default, as Linux's CUBIC leaves slow start on delay): a connection's first slow start uses
   * HyStart++ (RFC 9406, hystart.ts); 0: standard slow start until the first loss.
   */
  HYSTART = 49,
  /**
   * Congestion control of new connections, numbered as congestion.ts CcAlgo: 0 (default) NewReno
   * (RFC 5681, RFC 6582), 1 CUBIC (RFC 9438). A connection may choose its own (ConnOption).
   */
  CONGESTION_CONTROL = 50,
  COUNT = 51,
}

/**
 * Largest TX, RX and control region, bytes (64 MiB): each is one allocation made at engineInit, and a
 * request past what linear memory can give would abort the module instead of failing.
 */
export const REGION_MAX: u32 = 1 << 26;

export let maxConnections: u32 = 65536;
export let maxHalfOpenTotal: u32 = 4096;
export let maxHalfOpenPerListener: u32 = 1024;
export let sendBufferDefault: u32 = 256 * 1024;
export let recvBufferDefault: u32 = 256 * 1024;
// 4 MiB of payload each way: Linux's tcp_wmem[2] (4 MiB) and the window its 6 MiB tcp_rmem[2] yields
// once its per-skb overhead is taken off. A 4 MiB ring asks for window scale 7, as Linux's offers.
export let sendBufferMax: u32 = 4 << 20;
export let recvBufferMax: u32 = 4 << 20;
// 256 MiB: 32 connections at both rings' maximum, a sixteenth of wasm32's 4 GiB of linear memory
// (Linux's tcp_mem on a machine with that much memory is smaller still).
export let bufferBudget: u32 = 256 << 20;
export let mslUs: i64 = 30_000_000;
export let rtoMinUs: i64 = 200_000;
export let rtoMaxUs: i64 = 60_000_000;
export let rtoInitialUs: i64 = 1_000_000;
export let synRetries: u32 = 6;
export let dataRetries: u32 = 15;
export let delayedAckUs: i64 = 40_000;
export let keepaliveDefault: bool = false;
export let keepaliveIdleUs: i64 = 7_200_000_000;
export let keepaliveIntervalUs: i64 = 75_000_000;
export let keepaliveCount: u32 = 9;
export let persistMinUs: i64 = 200_000;
export let persistMaxUs: i64 = 60_000_000;
export let persistTotalUs: i64 = 600_000_000;
export let mtu: u32 = 1500;
export let trace: bool = false;
export let verifyChecksums: bool = true;
export let offerWindowScaling: bool = true;
export let offerTimestamps: bool = true;
export let offerSack: bool = true;
export let challengeAckLimit: u32 = 10;
// 256 KiB regions hold about 170 full-sized segments each (a whole default window) per output() or
// input() call; the host loops for more. Larger ones cost an idle engine their size.
export let txRegionBytes: u32 = 256 * 1024;
export let rxRegionBytes: u32 = 256 * 1024;
export let eventLimit: u32 = 1 << 20;
export let ephemeralLow: u32 = 49152;
export let ephemeralHigh: u32 = 65535;
export let nagleDefault: bool = true;
export let userTimeoutUs: i64 = 0;
// 96 KiB hold about 1,400 control packets of 44 bytes (a SYN,ACK with a cookie) in their 68-byte TX
// records (emit.ts: 24 bytes of header and headroom each), what 64 KiB held in 48-byte records
// before the headroom: a burst of 1,000 SYNs between two outputs is answered in full.
export let controlQueueBytes: u32 = 96 * 1024;
export let stateEvents: bool = true;
export let synCookies: bool = true;
export let memoryLimit: f64 = 0;
export let quickAcks: u32 = 16;
export let timeWaitMax: u32 = 0;
export let neighbourEntries: u32 = 1024;
/** Set once the neighbour cache is allocated. */
export let neighbourFrozen: bool = false;
export function freezeNeighbours(): void {
  neighbourFrozen = true;
}
export let udpSockets: u32 = 1024;
// 128 KiB holds about 2,600 small datagrams or 100 of 1,200 bytes per drain (the host drains every turn).
export let udpRxRegionBytes: u32 = 128 * 1024;
export let udpTxRegionBytes: u32 = 128 * 1024;
export let udpUnreachableRate: u32 = 100;
export let udpUnreachableBurst: u32 = 10;
export let pacingDefault: bool = true;
export let hystartDefault: bool = true;
/** congestion.ts CcAlgo: 0 NewReno, 1 CUBIC. */
export let ccAlgoDefault: u32 = 0;

/** Set once engineInit has sized the tables: keys that size them are refused afterwards. */
export let frozen: bool = false;
export function freezeConfig(): void {
  frozen = true;
}

@inline function msToUs(ms: f64): i64 {
  return <i64>(ms * 1000.0);
}

/** Sets one key; returns 0 or -EINVAL (unknown key, value out of range, or a sizing key after init). */
export function configSet(key: u32, value: f64): i32 {
  if (!(value >= 0) || value > 4294967295.0 * 65536.0) return -Err.EINVAL;
  if (key != ConfigKey.MEMORY_LIMIT && value > 4294967295.0) return -Err.EINVAL;
  const u = <u32>value;
  const on = value != 0;
  switch (key) {
    case ConfigKey.MAX_CONNECTIONS:
      if (frozen || u < 1 || u > (1 << 20)) return -Err.EINVAL;
      maxConnections = u; break;
    case ConfigKey.MAX_HALF_OPEN_TOTAL: maxHalfOpenTotal = u; break;
    case ConfigKey.MAX_HALF_OPEN_PER_LISTENER: maxHalfOpenPerListener = u; break;
    case ConfigKey.SEND_BUFFER:
      if (u < 1024 || u > (1 << 30)) return -Err.EINVAL;
      sendBufferDefault = u; break;
    case ConfigKey.RECV_BUFFER:
      if (u < 1024 || u > (1 << 30)) return -Err.EINVAL;
      recvBufferDefault = u; break;
    case ConfigKey.MSL_MS: mslUs = msToUs(value); break;
    case ConfigKey.RTO_MIN_MS: if (u < 1) return -Err.EINVAL; rtoMinUs = msToUs(value); break;
    case ConfigKey.RTO_MAX_MS: if (u < 1) return -Err.EINVAL; rtoMaxUs = msToUs(value); break;
    case ConfigKey.RTO_INITIAL_MS: if (u < 1) return -Err.EINVAL; rtoInitialUs = msToUs(value); break;
    case ConfigKey.SYN_RETRIES: synRetries = u; break;
    case ConfigKey.DATA_RETRIES: dataRetries = u; break;
    case ConfigKey.DELAYED_ACK_MS:
      if (value > 200) return -Err.EINVAL;
      delayedAckUs = msToUs(value); break;
    case ConfigKey.KEEPALIVE: keepaliveDefault = on; break;
    case ConfigKey.KEEPALIVE_IDLE_MS: if (u < 1) return -Err.EINVAL; keepaliveIdleUs = msToUs(value); break;
    case ConfigKey.KEEPALIVE_INTERVAL_MS: if (u < 1) return -Err.EINVAL; keepaliveIntervalUs = msToUs(value); break;
    case ConfigKey.KEEPALIVE_COUNT: if (u < 1) return -Err.EINVAL; keepaliveCount = u; break;
    case ConfigKey.PERSIST_MIN_MS: if (u < 1) return -Err.EINVAL; persistMinUs = msToUs(value); break;
    case ConfigKey.PERSIST_MAX_MS: if (u < 1) return -Err.EINVAL; persistMaxUs = msToUs(value); break;
    case ConfigKey.PERSIST_TOTAL_MS: persistTotalUs = msToUs(value); break;
    case ConfigKey.MTU:
      if (u < 128 || u > 65535) return -Err.EINVAL;
      mtu = u; break;
    case ConfigKey.TRACE: trace = on; break;
    case ConfigKey.VERIFY_CHECKSUMS: verifyChecksums = on; break;
    case ConfigKey.WINDOW_SCALING: offerWindowScaling = on; break;
    case ConfigKey.TIMESTAMPS: offerTimestamps = on; break;
    case ConfigKey.SACK: offerSack = on; break;
    case ConfigKey.CHALLENGE_ACK_LIMIT: challengeAckLimit = u; break;
    case ConfigKey.TX_REGION:
      if (frozen || u < 65536 + 4096 || u > REGION_MAX) return -Err.EINVAL;
      txRegionBytes = u; break;
    case ConfigKey.RX_REGION:
      if (frozen || u < 65536 + 4096 || u > REGION_MAX) return -Err.EINVAL;
      rxRegionBytes = u; break;
    case ConfigKey.EVENT_LIMIT: if (u < 64) return -Err.EINVAL; eventLimit = u; break;
    case ConfigKey.EPHEMERAL_LOW:
      if (u < 1 || u > 65535) return -Err.EINVAL;
      ephemeralLow = u; break;
    case ConfigKey.EPHEMERAL_HIGH:
      if (u < 1 || u > 65535) return -Err.EINVAL;
      ephemeralHigh = u; break;
    case ConfigKey.NAGLE: nagleDefault = on; break;
    case ConfigKey.USER_TIMEOUT_MS: userTimeoutUs = msToUs(value); break;
    case ConfigKey.CONTROL_QUEUE:
      if (frozen || u < 4096 || u > REGION_MAX) return -Err.EINVAL;
      controlQueueBytes = u; break;
    case ConfigKey.STATE_EVENTS: stateEvents = on; break;
    case ConfigKey.SYN_COOKIES: synCookies = on; break;
    case ConfigKey.MEMORY_LIMIT:
      memoryLimit = value;
      poolSetLimit(value == 0 ? u64.MAX_VALUE : <u64>value);
      break;
    case ConfigKey.QUICK_ACKS: quickAcks = u; break;
    case ConfigKey.TIME_WAIT_MAX:
      if (frozen || u > (1 << 20)) return -Err.EINVAL;
      timeWaitMax = u; break;
    case ConfigKey.NEIGHBOUR_ENTRIES:
      if (neighbourFrozen || u < 4 || u > (1 << 20)) return -Err.EINVAL;
      neighbourEntries = u; break;
    case ConfigKey.UDP_SOCKETS:
      if (frozen || u < 1 || u > 65535) return -Err.EINVAL;
      udpSockets = u; break;
    case ConfigKey.UDP_RX_REGION:
      if (frozen || u < 65536 + 4096 || u > REGION_MAX) return -Err.EINVAL;
      udpRxRegionBytes = u; break;
    case ConfigKey.UDP_TX_REGION:
      if (frozen || u < 65536 + 4096 || u > REGION_MAX) return -Err.EINVAL;
      udpTxRegionBytes = u; break;
    case ConfigKey.UDP_UNREACHABLE_RATE: udpUnreachableRate = u; break;
    case ConfigKey.UDP_UNREACHABLE_BURST:
      if (u < 1) return -Err.EINVAL;
      udpUnreachableBurst = u; break;
    case ConfigKey.PACING: pacingDefault = on; break;
    case ConfigKey.SEND_BUFFER_MAX:
      if (u < 1024 || u > (1 << 30)) return -Err.EINVAL;
      sendBufferMax = u; break;
    case ConfigKey.RECV_BUFFER_MAX:
      if (u < 1024 || u > (1 << 30)) return -Err.EINVAL;
      recvBufferMax = u; break;
    case ConfigKey.BUFFER_BUDGET: bufferBudget = u; break;
    case ConfigKey.HYSTART: hystartDefault = on; break;
    case ConfigKey.CONGESTION_CONTROL: if (value != 0 && value != 1) return -Err.EINVAL; ccAlgoDefault = u; break;
    default: return -Err.EINVAL;
  }
  return 0;
}

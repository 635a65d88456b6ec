// The engine's boundary: initialisation, the input / output / timers calls, the deadline, and the
// regions the host reads and writes. assembly/index.ts re-exports these; src/core/engine.ts wraps them.
// Times cross the boundary as f64 milliseconds on the host's clock and are i64 microseconds inside.
import { tableInit, tableBytes } from "./table";
import { ephemeralRange } from "./ports";
import { tqInit, tqBytes, tqNextDeadline, NEVER } from "./timers";
import { secretSet } from "./secret";
import { ringCacheDecay } from "./ring";
import { rngSeed } from "./rng";
import { poolBytesInUse } from "./pool";
import { slotsInit, slotBytes, liveConnections, TCB_SIZE, INITIAL_SLOTS } from "./tcb";
import { txqInit, txqBytes } from "./conn";
import { eventsInit } from "./events";
import { outputRun, outputMore } from "./output";
import { emitInit } from "./emit";
import { inputRun } from "./input";
import { setLinkMtu } from "./pmtu";
import { setLinkOffloadMtu } from "./offload";
import { timersRun } from "./timeouts";
import { twInit, twExpire, twNextDeadline, twCount } from "./timewait";
import { paramPtr, connConnect, connSendCommit, connRecvConsume, connClose, connAbort, connRelease } from "./user";
import { Err } from "./errors";
import { ifaceUpAt, edgeTimers, edgeNextDeadline } from "./edge";
import * as config from "./config";

let initialised = false;
let rxBuf: usize = 0;

// Rounded, not truncated: a deadline handed out as d / 1000 ms must come back as exactly d.
@inline function toUs(nowMs: f64): i64 {
  return <i64>nearest(nowMs * 1000.0);
}

/**
 * Sizes the regions from the configuration (engineConfigSet first), starts the tables small (they grow
 * with the connections, up to config.maxConnections: table.ts, tcb.ts, conn.ts connAlloc) and keys the
 * engine: paramPtr() holds the ISN secret (two u64 at 0 and 8) and the PRNG seed (four u32 at
 * 16..32), which the host draws from crypto.getRandomValues. Once only; returns 0 or -error.
 */
export function engineInit(): i32 {
  if (initialised) return -Err.EINVAL;
  // RFC 6056: the ephemeral range is low..high inclusive; an inverted one would be ignored silently.
  if (config.ephemeralLow > config.ephemeralHigh) return -Err.EINVAL;
  const p = paramPtr();
  secretSet(load<u64>(p), load<u64>(p, 8));
  rngSeed(load<u32>(p, 16), load<u32>(p, 20), load<u32>(p, 24), load<u32>(p, 28));
  memory.fill(p, 0, 32);
  const n = config.maxConnections;
  const slots = n < INITIAL_SLOTS ? n : INITIAL_SLOTS;
  if (!tableInit(n) || !tqInit(slots) || !txqInit(slots) || !slotsInit(slots, n)) return -Err.ENOBUFS;
  twInit();
  eventsInit(256);
  emitInit();
  rxBuf = heap.alloc(config.rxRegionBytes);
  ephemeralRange(config.ephemeralLow, config.ephemeralHigh);
  config.freezeConfig();
  initialised = true;
  return 0;
}

/** Where the host writes incoming packets: records [u32 length][packet] each padded to 4 bytes. */
export function engineRxPtr(): usize {
  return rxBuf;
}

export function engineRxCapacity(): u32 {
  return config.rxRegionBytes;
}

/**
 * Processes `count` packets from the RX region at time `nowMs`, all arrived over one link of MTU
 * `linkMtu` (0: config MTU): connections they open advertise and send an MSS from it (pmtu.ts), and
 * send packets of up to `linkOffloadMtu` bytes when the link has segmentation offload (offload.ts; 0:
 * none). The link is interface `ifIndex`: when it is an Ethernet interface (edge.ts) the records are frames.
 * Nothing is sent from here: after it the host drains events, calls engineOutput until it reports
 * nothing more, and re-reads engineNextDeadline. Returns the number of records processed.
 */
export function engineInput(count: u32, nowMs: f64, linkMtu: u32, ifIndex: u32, linkOffloadMtu: u32): u32 {
  setLinkMtu(linkMtu);
  setLinkOffloadMtu(linkOffloadMtu);
  return inputRun(rxBuf, config.rxRegionBytes, count, toUs(nowMs), ifIndex);
}

/** Brings interface `ifIndex` up at `nowMs` (edge.ts ifaceUpAt); drain output after it. */
export function ifaceUp(ifIndex: u32, nowMs: f64): i32 {
  return ifaceUpAt(ifIndex, toUs(nowMs));
}

/**
 * Fills the TX region (from its start) with queued packets, as records [u32 length][u32 meta][16
 * bytes headroom][data] padded to 4 (emit.ts). Returns the record count; engineOutputMore() says whether more remain (call again after
 * sending these). Call after every input, timers or user call that may have queued something.
 */
export function engineOutput(nowMs: f64): u32 {
  return outputRun(toUs(nowMs));
}

/** 1 when packets are still queued for output (the TX region filled up). */
export function engineOutputMore(): u32 {
  return outputMore() ? 1 : 0;
}

/**
 * Runs every timer due at `nowMs` (retransmission, delayed ACK, persist, keepalive, TIME-WAIT, user
 * timeout; the neighbour cache, duplicate address detection and router advertisements). Calling early or twice is harmless. Then drain events, call engineOutput, and re-read
 * engineNextDeadline.
 */
export function engineTimers(nowMs: f64): void {
  const nowUs = toUs(nowMs);
  timersRun(nowUs);
  twExpire(nowUs);
  edgeTimers(nowUs);
  ringCacheDecay(nowUs);
}

/** The earliest timer deadline in ms on the host's clock, or +Infinity when no timer is armed. */
export function engineNextDeadline(): f64 {
  const q = tqNextDeadline();
  const w = twNextDeadline();
  const e = edgeNextDeadline();
  let d = q < w ? q : w;
  if (e < d) d = e;
  if (d == NEVER) return Infinity;
  return <f64>d / 1000.0;
}

export function engineLiveConnections(): u32 {
  return liveConnections();
}

/** Bytes of pool memory held by connections (TCBs, rings, reassembly, scoreboard, tables). */
export function engineMemoryInUse(): f64 {
  return <f64>poolBytesInUse();
}

/**
 * The part of engineMemoryInUse held by the tables, slot arrays and timer and output queues: they
 * grow with the connections and keep their high-water size. The rest is held by connections (TCBs,
 * rings, reassembly, scoreboard) and goes back to the pool when they end.
 */
export function engineTableMemory(): f64 {
  return <f64>(tableBytes() + slotBytes() + tqBytes() + txqBytes());
}

export function engineTcbSize(): u32 {
  return <u32>TCB_SIZE;
}

/** Connections waiting out TIME-WAIT in compact form (timewait.ts), outside the connection slots. */
export function engineTimeWaitCount(): u32 {
  return twCount();
}

/** The connection slots (config MAX_CONNECTIONS), for the host's "table full" messages. */
export function engineMaxConnections(): u32 {
  return config.maxConnections;
}

// User calls taking `now` in ms (assembly/engine/user.ts documents them). connConnectMs takes the MTU
// of the link the route to the peer uses (0: config MTU), which sets the connection's MSS (pmtu.ts),
// and that link's offload MTU (0: none, offload.ts).
export function connConnectMs(id: u32, ipVersion: u32, localPort: u32, remotePort: u32, nowMs: f64, linkMtu: u32,
  linkOffloadMtu: u32): i32 {
  setLinkMtu(linkMtu);
  setLinkOffloadMtu(linkOffloadMtu);
  return connConnect(id, ipVersion, localPort, remotePort, toUs(nowMs));
}
export function connSendCommitMs(id: u32, n: u32, nowMs: f64): i32 {
  return connSendCommit(id, n, toUs(nowMs));
}
export function connRecvConsumeMs(id: u32, n: u32, nowMs: f64): i32 {
  return connRecvConsume(id, n, toUs(nowMs));
}
export function connCloseMs(id: u32, nowMs: f64): i32 {
  return connClose(id, toUs(nowMs));
}
export function connAbortMs(id: u32, nowMs: f64): i32 {
  return connAbort(id, toUs(nowMs));
}
export function connReleaseMs(id: u32, nowMs: f64): i32 {
  return connRelease(id, toUs(nowMs));
}

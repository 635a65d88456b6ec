// The transmission control block (RFC 9293 3.3.1) and the connection slots that hold them.
//
// A TCB lives in pool memory: the scalar fields of class Tcb, then the primitives' records placed
// inline after it (FlowKey, the two Rings, TimerTable, Rtt, Congestion, OooList, Scoreboard, Rack,
// Undo), so one allocation holds a connection and an idle established connection costs TCB_SIZE bytes
// plus the table and timer-queue entries. Rings, reassembly, scoreboard and D-SACK queue storage are
// allocated lazily.
//
// Connection ids carry a generation: id = generation << SLOT_BITS | slot, generation 1..GEN_MAX. A
// stale id (the slot was freed and maybe reused) no longer matches the slot's generation and is
// refused with EBADF instead of touching another connection. Id 0 is never valid.
import { poolAlloc, poolFree, poolForget, poolReclaim } from "./pool";
import { Ring, ringRelease } from "./ring";
import { FlowKey } from "../wire/flowkey";
import { TimerTable, timersReset, tqRemove } from "./timers";
import { Rtt } from "./rtt";
import { Congestion } from "./congestion";
import { OooList, oooRelease } from "./reassembly";
import { Scoreboard, sbRelease } from "./scoreboard";
import { Rack, Undo, dsackQueueFree } from "./lossrecords";

/** RFC 9293 3.3.2 states, numbered as src/core/trace.ts TCP_STATES lists them. */
export const enum State {
  CLOSED = 0,
  LISTEN = 1,
  SYN_SENT = 2,
  SYN_RECEIVED = 3,
  ESTABLISHED = 4,
  FIN_WAIT_1 = 5,
  FIN_WAIT_2 = 6,
  CLOSE_WAIT = 7,
  CLOSING = 8,
  LAST_ACK = 9,
  TIME_WAIT = 10,
}

// A TCB's flags, one word per purpose: what was agreed or set (options), what output is due (due),
// which engine structures hold the TCB (member), where it is in its life and with the host (life), and
// what the sender is timing or probing (sender). The bit values are unique across the words, so that
// STATUS reports their union as the one flags word it always has (status.ts, offset 4).

/** Tcb.options: the connection's options, set by the host or negotiated in the handshake. */
export const enum Opt {
  NAGLE_OFF = 1 << 6,
  KEEPALIVE = 1 << 7,
  /** Negotiated: timestamps (RFC 7323 3), SACK (RFC 2018), window scaling (RFC 7323 2). */
  TS_OK = 1 << 8,
  SACK_OK = 1 << 9,
  WS_OK = 1 << 10,
  /** Our SYN carried the window scale option (so the peer's is usable). */
  SENT_WS = 1 << 24,
  /** Pacing off for this connection (config PACING, ConnOption PACING; pacing.ts). */
  PACING_OFF = 1 << 31,
}

/** Tcb.due: output owed at the next output(). */
export const enum Due {
  /** A SYN (SYN-SENT) or SYN,ACK (SYN-RECEIVED) is due. */
  NEED_SYN = 1 << 3,
  /** An ACK is due now (not delayed). */
  ACK_NOW = 1 << 4,
  /** Retransmit the segment at SND.UNA once (fast retransmit, NewReno partial ACK). */
  RTX_ONE = 1 << 12,
  /** A probe is due: zero-window probe or keepalive (seq SND.UNA - 1, no data). */
  PROBE_NOW = 1 << 19,
  /** Send what the window allows even if sender SWS avoidance would wait (RFC 9293 3.8.6.2.1 override). */
  FORCE_SEND = 1 << 21,
  /** A tail loss probe is due at the next output. */
  TLP_SEND = 1 << 30,
}

/** Tcb.member: the engine structures that hold the TCB, to be left when it ends (conn.ts detach). */
export const enum Member {
  /** In the output queue. */
  IN_TXQ = 1 << 5,
  /** The 4-tuple is in the connection table. */
  IN_TABLE = 1 << 17,
  /** Counted as half-open (SYN-RECEIVED from a listener). */
  HALF_OPEN = 1 << 20,
  /** Registered in the listener table. */
  LISTENING = 1 << 22,
}

/** Tcb.life: how the connection was opened and is closing, and what the host holds and was told. */
export const enum Life {
  /** The host holds the id: the TCB is freed only after release(). */
  HOST_HELD = 1 << 0,
  /** CLOSE was called: a FIN follows the queued data (RFC 9293 3.10.4). */
  USER_CLOSED = 1 << 1,
  /** Our FIN has been sent (finSeq is its sequence number). */
  FIN_SENT = 1 << 2,
  /** Created by a listener (passive OPEN). */
  PASSIVE = 1 << 11,
  /** A READABLE event is outstanding (cleared by recvConsume). */
  READABLE_SENT = 1 << 13,
  /** The host found the send ring full: send WRITABLE when room appears. */
  WRITE_BLOCKED = 1 << 14,
  /** The peer's FIN has been processed. */
  PEER_FIN = 1 << 15,
  /** The peer's FIN arrived beyond RCV.NXT: it is at rcvFinSeq and processed when data fills in. */
  RCV_FIN_PENDING = 1 << 16,
  /** OPEN (active or passive) was called on this handle: it can never be opened again. */
  OPENED = 1 << 23,
  /** The connection ended by reset or error: the receive ring was flushed. */
  ABORTED = 1 << 25,
  /**
   * CLOSE in SYN-RECEIVED sent our FIN at once (RFC 9293 3.10.4): FIN-WAIT-1 with our SYN still
   * unacknowledged, so the SYN,ACK is retransmitted with the FIN and the ACK of the SYN is taken as
   * in SYN-RECEIVED.
   */
  SYN_UNACKED = 1 << 26,
  /**
   * The next hop stopped answering neighbour resolution in a synchronized state: a soft error (RFC
   * 1122 4.2.3.9 treats host unreachable so), reported as EHOSTUNREACH if the connection then times out.
   */
  SOFT_UNREACHABLE = 1 << 27,
  /**
   * An ICMP port or protocol unreachable arrived in a synchronized state: a soft error (RFC 1122
   * 4.2.3.9, RFC 5927 4.2), reported as ECONNREFUSED if the connection then times out.
   */
  SOFT_REFUSED = 1 << 3,
  /**
   * A connection of the any-destination listener held in SYN-RECEIVED before its SYN,ACK while the
   * host connects the far side (forward.ts); the host holds the id from the SYN_HELD event on.
   */
  SYN_HELD = 1 << 28,
}

/** Tcb.sender: what the sender is timing or probing. */
export const enum Snd {
  /** A segment is being timed for an RTT sample without timestamps (rttSeq, rttStartUs). */
  RTT_TIMING = 1 << 18,
  /** A retransmission timeout resent data at TSval rtoTsVal: older echoes give no RTT sample. */
  RTO_TS = 1 << 27,
  /** The Retransmit timer holds a tail loss probe timeout, not the RTO (tlp.ts). */
  TLP_ARMED = 1 << 28,
  /** A tail loss probe is outstanding until its episode ends (tlp.ts: tlpOnAck, tlpOnDupAck). */
  TLP_OUT = 1 << 29,
  /**
   * The outstanding probe sent data again (RFC 8985 TLP.is_retrans), not new data. The words ran out
   * of unique bits: this one is Due.ACK_NOW's, which STATUS's union word therefore cannot tell apart.
   */
  TLP_RETRANS = 1 << 4,
}

@unmanaged
export class Tcb {
  state: u32;
  id: u32;
  options: u32;
  due: u32;
  member: u32;
  life: u32;
  sender: u32;
  /** Passive children: the listener's id (for the ACCEPTED event and half-open accounting). */
  listenerId: u32;
  /** Listeners: half-open cap and current half-open count. */
  backlog: u32;
  halfOpen: u32;

  // Send sequence variables (RFC 9293 3.3.1) and ours.
  iss: u32;
  sndUna: u32;
  sndNxt: u32;
  /** Highest sequence number sent (SND.NXT moves back to SND.UNA after a timeout). */
  sndMax: u32;
  /** End of the last segment of new data sent shorter than a full one (Minshall's SND.SML, output.ts). */
  sndSml: u32;
  /** SND.WND in bytes (scaled). */
  sndWnd: u32;
  sndWl1: u32;
  sndWl2: u32;
  maxSndWnd: u32;
  finSeq: u32;
  dupAcks: u32;
  /** Octets Limited Transmit sent beyond cwnd since the last cumulative ACK (RFC 3042). */
  limitedTransmitBytes: u32;
  /** SND.MAX after the outstanding tail loss probe (Snd.TLP_OUT). */
  tlpEndSeq: u32;

  // Receive sequence variables.
  irs: u32;
  rcvNxt: u32;
  /** Right edge of the window we advertised (RCV.NXT + RCV.WND never moves left, RFC 9293 3.8.6). */
  rcvAdv: u32;
  rcvFinSeq: u32;
  /** RCV.NXT carried by the last ACK we sent (RFC 7323 4.3 Last.ACK.sent). */
  lastAckSent: u32;
  /** Bytes received in order since our last ACK (ACK at least every second full segment). */
  unackedBytes: u32;
  /** Largest segment text received: "full-sized" for the every-second-segment ACK rule. */
  rcvSegMax: u32;
  /** In-order data segments still to be acknowledged at once (quick-ACK phase at the start). */
  quickAcks: u32;

  /** Shift applied to SEG.WND (the peer's scale) and to our advertised window (ours). */
  sndShift: u8;
  rcvShift: u8;
  /**
   * The rate the reader took the receive ring at when it last grew, bytes per ms; 0: it never grew
   * (autosize.ts). Here, beside two bytes, it takes no room an i64 below would not leave as padding.
   */
  rcvGrowRate: u32;
  /** Peer's MSS option (clamped to >= 48) and ours from the MTU. */
  peerMss: u32;
  localMss: u32;
  /** Largest segment the path carries, options included: localMss, lowered by ICMP (pmtu.ts). */
  pathMss: u32;
  /** Largest segment one packet carries on a link with segmentation offload (offload.ts); 0: none. */
  offloadMss: u32;

  tsRecent: u32;
  tsOffset: u32;
  tsRecentUs: i64;
  rttSeq: u32;
  // Receive-buffer auto-sizing (autosize.ts). Its three words sit where the i64 fields after them
  // left 4-byte alignment holes, so a TCB is no larger for them.
  /** Where the reader stood (RCV.NXT less the unread bytes) when the current measurement began. */
  rcvSpaceSeq: u32;
  rttStartUs: i64;
  /** Our TSval when the last retransmission timeout sent data again (Snd.RTO_TS). */
  rtoTsVal: u32;

  /** Consecutive retransmission timeouts (SYN retries in SYN-SENT / SYN-RECEIVED). */
  retries: u32;
  totalRetransmits: u32;
  persistBackoff: u32;
  persistStartUs: i64;
  keepProbes: u32;
  /** When that measurement began: the low 32 bits of the engine's microseconds. */
  rcvSpaceUs: u32;
  lastRecvUs: i64;
  /**
   * When an ACK last advanced SND.UNA: forward progress, the upper-layer hint that the next hop is
   * reachable (RFC 4861 7.3.1), read by nexthop.ts when a neighbour entry would start probing.
   */
  progressUs: i64;
  /** Earliest departure time of the next paced data segment, f64 microseconds (pacing.ts). */
  paceNextUs: f64;
  /** When data first went unacknowledged (for the user timeout). */
  unackedSinceUs: i64;
  /** RFC 5961 7 ACK throttle (ackrate.ts): window start, then the count, adjacent in this order. */
  ackLimitWindowUs: i64;
  ackLimitCount: u32;
  /** The shortest measurement so far, microseconds: the receiver's round-trip time estimate; 0: none. */
  rcvRttUs: u32;
  /** The least round trip arriving text's timestamp echo showed (autosize.ts), microseconds; 0: none. */
  rcvEchoRttUs: u32;

  userTimeoutUs: i64;
  keepIdleUs: i64;
  keepIntervalUs: i64;
  keepCount: u32;
  /** Ring sizes the user set (ConnOption SEND_BUFFER / RECV_BUFFER), which turn auto-sizing off; 0: auto. */
  sndBuf: u32;
  rcvBuf: u32;
  /** The TOS byte / Traffic Class our segments carry (ConnOption.TOS; 0 unless set). */
  tos: u32;
  /** The congestion control congestionStart gives the connection (congestion.ts CcAlgo; ConnOption CONGESTION_CONTROL). */
  ccAlgo: u32;

  // Reordering and spurious retransmissions (RACK and undo state are the inline Rack and Undo records).
  /** Duplicate texts to report, one per ACK in the first SACK block (dsack.ts, RFC 2883 4). */
  dsackQueue: usize;
  dsackCount: u32;
}

// Inline records after the scalar fields, each 8-byte aligned.
@inline function align8(x: usize): usize {
  return (x + 7) & ~<usize>7;
}
const KEY_OFF: usize = align8(offsetof<Tcb>());
const SND_OFF: usize = align8(KEY_OFF + offsetof<FlowKey>());
const RCV_OFF: usize = align8(SND_OFF + offsetof<Ring>());
const TIMERS_OFF: usize = align8(RCV_OFF + offsetof<Ring>());
const RTT_OFF: usize = align8(TIMERS_OFF + offsetof<TimerTable>());
const CC_OFF: usize = align8(RTT_OFF + offsetof<Rtt>());
const OOO_OFF: usize = align8(CC_OFF + offsetof<Congestion>());
const SB_OFF: usize = align8(OOO_OFF + offsetof<OooList>());
const RACK_OFF: usize = align8(SB_OFF + offsetof<Scoreboard>());
const UNDO_OFF: usize = align8(RACK_OFF + offsetof<Rack>());
export const TCB_SIZE: usize = align8(UNDO_OFF + offsetof<Undo>());

@inline export function tcbKey(t: Tcb): FlowKey { return changetype<FlowKey>(changetype<usize>(t) + KEY_OFF); }
@inline export function sndRing(t: Tcb): Ring { return changetype<Ring>(changetype<usize>(t) + SND_OFF); }
@inline export function rcvRing(t: Tcb): Ring { return changetype<Ring>(changetype<usize>(t) + RCV_OFF); }
@inline export function tcbTimers(t: Tcb): TimerTable { return changetype<TimerTable>(changetype<usize>(t) + TIMERS_OFF); }
@inline export function tcbRtt(t: Tcb): Rtt { return changetype<Rtt>(changetype<usize>(t) + RTT_OFF); }
@inline export function tcbCc(t: Tcb): Congestion { return changetype<Congestion>(changetype<usize>(t) + CC_OFF); }
@inline export function tcbOoo(t: Tcb): OooList { return changetype<OooList>(changetype<usize>(t) + OOO_OFF); }
@inline export function tcbSb(t: Tcb): Scoreboard { return changetype<Scoreboard>(changetype<usize>(t) + SB_OFF); }
@inline export function tcbRack(t: Tcb): Rack { return changetype<Rack>(changetype<usize>(t) + RACK_OFF); }
@inline export function tcbUndo(t: Tcb): Undo { return changetype<Undo>(changetype<usize>(t) + UNDO_OFF); }

/** The TCB's ACK limiter record (ackrate.ts). */
@inline export function tcbAckLimiter(t: Tcb): usize { return changetype<usize>(t) + offsetof<Tcb>("ackLimitWindowUs"); }

/** Whether any of the bits `f` is set in a flag word (t.options, t.due, t.member, t.life, t.sender). */
@inline export function hasFlag(word: u32, f: u32): bool { return (word & f) != 0; }

/** A fresh handle: never opened (RFC 9293 3.10.1 "connection already exists" otherwise). */
@inline export function unopened(t: Tcb): bool {
  return t.state == State.CLOSED && !hasFlag(t.life, Life.OPENED);
}

/** RFC 9293 3.3.2: the states in which both sides' initial sequence numbers are known and acked. */
@inline export function isSynchronized(state: u32): bool {
  return state >= <u32>State.ESTABLISHED;
}

// ---- Slots ----
//
// Slot storage grows with use, as the connection and timer tables do: it starts at INITIAL_SLOTS and
// doubles (slotsGrow, called by conn.ts connAlloc when every slot is taken) up to the slot limit
// config.maxConnections gave slotsInit. The arrays are copied into bigger ones; a TCB never moves.

export const SLOT_BITS: u32 = 20;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MAX: u32 = (1 << (31 - SLOT_BITS)) - 1;
/** Slots an idle engine holds (10 bytes each here, plus the timer and output queues' share). */
export const INITIAL_SLOTS: u32 = 64;

let slotCount: u32 = 0;
let slotLimit: u32 = 0;
let slotTcbs: usize = 0;   // u32 per slot: TCB address or 0
let slotGens: usize = 0;   // u16 per slot: current generation
let freeStack: usize = 0;  // u32 per free slot
let freeTop: u32 = 0;
let liveCount: u32 = 0;

/** Allocates storage for `initial` slots (at most `limit`) that may grow to `limit`; false if the pool refuses. */
export function slotsInit(initial: u32, limit: u32): bool {
  if (limit == 0 || limit > SLOT_MASK + 1) return false;
  slotLimit = limit;
  slotCount = 0;
  freeTop = 0;
  liveCount = 0;
  return slotsGrow(initial < limit ? initial : limit);
}

/** Pool bytes the slot arrays hold now: a TCB address, a generation and a free-stack entry per slot. */
/** Slots allocated so far: every live TCB is at a slot below this. */
export function slotCapacity(): u32 {
  return slotCount;
}

export function slotBytes(): usize {
  return <usize>slotCount * 10;
}

export function slotsFree(): u32 {
  return freeTop;
}

/** The capacity the next slotsGrow should ask for: double, at most the limit; 0 at the limit. */
export function slotsNextCapacity(): u32 {
  if (slotCount >= slotLimit) return 0;
  let n = slotCount < INITIAL_SLOTS ? INITIAL_SLOTS : slotCount << 1;
  return n < slotLimit ? n : slotLimit;
}

/**
 * Raises the slot storage to `n` slots; the new slots are free with generation 1 and pop in ascending
 * order. False (nothing changed) when the pool refuses.
 */
export function slotsGrow(n: u32): bool {
  if (n <= slotCount) return true;
  if (n > slotLimit) return false;
  const tcbs = poolAlloc(<usize>n << 2);
  const gens = poolAlloc(<usize>n << 1);
  const free = poolAlloc(<usize>n << 2);
  if (tcbs == 0 || gens == 0 || free == 0) {
    poolFree(tcbs, <usize>n << 2);
    poolFree(gens, <usize>n << 1);
    poolFree(free, <usize>n << 2);
    return false;
  }
  const old = slotCount;
  const added = n - old;
  if (old != 0) {
    memory.copy(tcbs, slotTcbs, <usize>old << 2);
    memory.copy(gens, slotGens, <usize>old << 1);
    // The new slots go under the free ones already there, highest first, so pops stay ascending.
    memory.copy(free + (<usize>added << 2), freeStack, <usize>freeTop << 2);
    poolFree(slotTcbs, <usize>old << 2);
    poolFree(slotGens, <usize>old << 1);
    poolFree(freeStack, <usize>old << 2);
  }
  slotTcbs = tcbs;
  slotGens = gens;
  freeStack = free;
  for (let i: u32 = 0; i < added; i++) {
    store<u16>(slotGens + (<usize>(old + i) << 1), 1);
    store<u32>(freeStack + (<usize>i << 2), n - 1 - i);
  }
  freeTop += added;
  slotCount = n;
  return true;
}

@inline export function slotOf(id: u32): u32 {
  return id & SLOT_MASK;
}

/** The TCB at `slot`, or null. */
@inline export function tcbAtSlot(slot: u32): Tcb | null {
  return changetype<Tcb | null>(<usize>load<u32>(slotTcbs + (<usize>slot << 2)));
}

/** The TCB `id` names, or null when the id is stale, unknown or 0. */
export function tcbFromId(id: u32): Tcb | null {
  const slot = id & SLOT_MASK;
  if (slot >= slotCount) return null;
  const p = <usize>load<u32>(slotTcbs + (<usize>slot << 2));
  if (p == 0) return null;
  const gen = <u32>load<u16>(slotGens + (<usize>slot << 1));
  if ((id >>> SLOT_BITS) != gen) return null;
  return changetype<Tcb>(p);
}

// Freed TCB blocks kept for the next connections, last in first out, as kernels keep a slab cache per
// socket type: handing a block back to TLSF merges it with its free neighbours and relinks their free
// lists (cache misses far from the TCB), which cost more than the rest of a connection's teardown,
// while a block taken from here was touched a moment ago. At most TCB_CACHE_MAX blocks, so a burst
// of connections leaves little behind; cached blocks count as freed (pool.ts poolForget).
const TCB_CACHE_MAX: u32 = 128;
const tcbCache = memory.data(<i32>TCB_CACHE_MAX << 2, 4);
let tcbCached: u32 = 0;

/** A zeroed TCB_SIZE block: a cached one, else from the pool; 0 when neither can be had. */
function tcbBlock(): usize {
  if (tcbCached != 0 && poolReclaim(TCB_SIZE)) {
    tcbCached--;
    const p = <usize>load<u32>(tcbCache + (<usize>tcbCached << 2));
    memory.fill(p, 0, TCB_SIZE);
    return p;
  }
  return poolAlloc(TCB_SIZE);
}

function tcbBlockFree(p: usize): void {
  if (tcbCached < TCB_CACHE_MAX) {
    poolForget(TCB_SIZE);
    store<u32>(tcbCache + (<usize>tcbCached << 2), <u32>p);
    tcbCached++;
  } else {
    poolFree(p, TCB_SIZE);
  }
}

/**
 * A zeroed TCB in a free slot with a fresh id, or null (no free slot, or no memory). Takes no slot
 * storage of its own: conn.ts connAlloc grows the slots (and the per-slot queues) first.
 */
export function tcbAlloc(): Tcb | null {
  if (freeTop == 0) return null;
  const p = tcbBlock();
  if (p == 0) return null;
  freeTop--;
  const slot = load<u32>(freeStack + (<usize>freeTop << 2));
  store<u32>(slotTcbs + (<usize>slot << 2), <u32>p);
  const t = changetype<Tcb>(p);
  t.id = (<u32>load<u16>(slotGens + (<usize>slot << 1)) << SLOT_BITS) | slot;
  timersReset(tcbTimers(t));
  liveCount++;
  return t;
}

/** Gives back every byte the TCB holds and retires its id (the caller left the table already). */
export function tcbFree(t: Tcb): void {
  const slot = t.id & SLOT_MASK;
  ringRelease(sndRing(t));
  ringRelease(rcvRing(t));
  oooRelease(tcbOoo(t));
  sbRelease(tcbSb(t));
  dsackQueueFree(t.dsackQueue);
  tqRemove(slot);
  store<u32>(slotTcbs + (<usize>slot << 2), 0);
  let gen = <u32>load<u16>(slotGens + (<usize>slot << 1)) + 1;
  if (gen > GEN_MAX) gen = 1;
  store<u16>(slotGens + (<usize>slot << 1), <u16>gen);
  store<u32>(freeStack + (<usize>freeTop << 2), slot);
  freeTop++;
  liveCount--;
  tcbBlockFree(changetype<usize>(t));
}

export function liveConnections(): u32 {
  return liveCount;
}

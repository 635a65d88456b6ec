// The neighbour cache, shared by ARP (RFC 826) and IPv6 neighbour discovery (RFC 4861): one entry per
// (interface, IP version, address) with the link-layer address and the reachability state of RFC 4861
// 7.3.2 (INCOMPLETE, REACHABLE, STALE, DELAY, PROBE), which ARP entries follow too (RFC 1122 2.3.2.1
// asks for the same: entries expire, requests are rate limited, resolution gives up).
//
// Bounds (a flood cannot grow anything): the entries are config.neighbourEntries cells allocated once
// (NEIGHBOUR_BYTES each, index included); a new entry takes a free cell, else evicts an idle (STALE)
// one found by a clock hand; INCOMPLETE entries (the ones holding packets) are never evicted and at
// most a quarter of the cells may be INCOMPLETE at once. Packets waiting for resolution sit in a pool
// of PENDING_SLOTS slots allocated with the cache, at most PENDING_PER_NEIGHBOUR per entry; a full
// queue drops its oldest packet (counted).
//
// Timers are data: each entry has one deadline (the next retransmission or state change); the
// cache's earliest deadline is a lower bound kept up to date on every set, so a scan runs only when
// something may be due (neighbourTimers), and then finds the true minimum again.
import { NEVER } from "./timers";
import { count, Counter } from "./counters";
import { rngNext, rngBelow } from "./rng";
import * as config from "./config";

export const enum NbState {
  FREE = 0,
  INCOMPLETE = 1,
  REACHABLE = 2,
  STALE = 3,
  DELAY = 4,
  PROBE = 5,
}

// RFC 4861 10 protocol constants (RFC 1122 2.3.2.1 asks for the same one-second pacing of ARP).
export const RETRANS_TIMER_US: i64 = 1_000_000;
export const MAX_MULTICAST_SOLICIT: u32 = 3;
export const MAX_UNICAST_SOLICIT: u32 = 3;
export const DELAY_FIRST_PROBE_US: i64 = 5_000_000;
export const REACHABLE_TIME_US: i64 = 30_000_000;
/** An unused STALE entry is forgotten after this long (garbage collection; RFC 4861 7.3.3 leaves it open). */
export const STALE_LIFETIME_US: i64 = 60_000_000;

export const PENDING_PER_NEIGHBOUR: u32 = 3;
// RFC 4861 7.2.2 asks for at least one packet per unresolved neighbour; 32 slots serve ten at once
// with full queues, and with the cache fit in an idle engine's memory (no growth on attach).
export const PENDING_SLOTS: u32 = 32;

@unmanaged export class Neighbour {
  a: u64;
  b: u64;
  mac: u64;
  deadline: i64;
  /** Hash chain: next entry's index + 1, 0 at the end. */
  next: u32;
  /** First pending packet's slot + 1, 0 for none. */
  pendHead: u32;
  state: u8;
  ifIndex: u8;
  version: u8;
  /** Solicitations sent in INCOMPLETE or PROBE. */
  probes: u8;
  pendCount: u8;
  /** RFC 4861 7.2.5 IsRouter flag (NA R bit). */
  isRouter: u8;
}

const ENTRY_SIZE: usize = (offsetof<Neighbour>() + 7) & ~<usize>7;

let entries: usize = 0;
let capacity: u32 = 0;
let buckets: usize = 0;
let bucketMask: u32 = 0;
let freeHead: u32 = 0;
let used: u32 = 0;
let incomplete: u32 = 0;
let hand: u32 = 0;
let keyA: u64 = 0;
let keyB: u64 = 0;

// Pending packets: PENDING_SLOTS slots of [u32 next slot + 1][u32 length][packet], slotBytes each.
let pending: usize = 0;
let slotBytes: u32 = 0;
let pendFree: u32 = 0;
let pendingUsed: u32 = 0;

/**
 * Moves on whenever an entry is created, freed, or changes state or address, and when an interface
 * is configured: a cached lookup (frames.ts frameFor) is good while it stays the same.
 */
export let nbEpoch: u32 = 0;

@inline export function nbChanged(): void {
  nbEpoch++;
}

/** A lower bound on every entry's deadline. */
export let nbDeadline: i64 = NEVER;

@inline export function nbAt(i: u32): Neighbour {
  return changetype<Neighbour>(entries + <usize>i * ENTRY_SIZE);
}

@inline function bucketOf(ifIndex: u32, version: u32, a: u64, b: u64): usize {
  let h = (a ^ keyA) * 0x9e3779b97f4a7c15;
  h ^= (b ^ keyB ^ (<u64>ifIndex << 8) ^ <u64>version) * 0xc2b2ae3d27d4eb4f;
  h ^= h >> 29;
  return buckets + ((<usize>(<u32>(h >> 32)) & bucketMask) << 2);
}

export function neighbourReady(): bool {
  return entries != 0;
}

/**
 * Allocates the cache (config.neighbourEntries cells) and the pending pool for packets of up to
 * `maxPacket` bytes, once, when the first Ethernet interface is configured. False when memory is short.
 */
export function neighbourInit(maxPacket: u32): bool {
  if (entries != 0) return ensurePendingSize(maxPacket);
  const n = config.neighbourEntries;
  let nb: u32 = 1;
  while (nb < n) nb <<= 1;
  const e = heap.alloc(<usize>n * ENTRY_SIZE);
  const bk = heap.alloc(<usize>nb << 2);
  if (e == 0 || bk == 0) return false;
  memory.fill(e, 0, <usize>n * ENTRY_SIZE);
  memory.fill(bk, 0, <usize>nb << 2);
  entries = e;
  buckets = bk;
  capacity = n;
  bucketMask = nb - 1;
  // Free cells chained through `next` (index + 1).
  for (let i: u32 = 0; i < n; i++) nbAt(i).next = i + 1 < n ? i + 2 : 0;
  freeHead = 1;
  keyA = (<u64>rngNext() << 32) | rngNext();
  keyB = (<u64>rngNext() << 32) | rngNext();
  config.freezeNeighbours();
  return ensurePendingSize(maxPacket);
}

function ensurePendingSize(maxPacket: u32): bool {
  const want = (maxPacket + 8 + 7) & ~7;
  if (want <= slotBytes) return true;
  // Only at configuration time, and only while nothing is queued: packets are never moved (a larger
  // interface attached while packets wait keeps the smaller slots; what does not fit is dropped).
  if (pendingUsed != 0) return true;
  const p = heap.alloc(<usize>want * PENDING_SLOTS);
  if (p == 0) return false;
  if (pending != 0) heap.free(pending);
  pending = p;
  slotBytes = want;
  for (let s: u32 = 0; s < PENDING_SLOTS; s++) store<u32>(slotAt(s), s + 1 < PENDING_SLOTS ? s + 2 : 0);
  pendFree = 1;
  return true;
}

@inline function slotAt(s: u32): usize {
  return pending + <usize>s * slotBytes;
}


/** Bytes the cache holds per entry: the cell and its share of the hash index. */
export function neighbourBytesPerEntry(): u32 {
  return capacity == 0 ? <u32>ENTRY_SIZE + 4 : <u32>(((<usize>capacity * ENTRY_SIZE) + ((<usize>bucketMask + 1) << 2)) / capacity);
}

export function neighbourCount(): u32 {
  return used;
}

export function neighbourCapacity(): u32 {
  return capacity;
}

/** The entry for the key, or -1. */
export function nbFind(ifIndex: u32, version: u32, a: u64, b: u64): i32 {
  if (entries == 0) return -1;
  let i = load<u32>(bucketOf(ifIndex, version, a, b));
  while (i != 0) {
    const e = nbAt(i - 1);
    if (e.a == a && e.b == b && <u32>e.ifIndex == ifIndex && <u32>e.version == version) return <i32>(i - 1);
    i = e.next;
  }
  return -1;
}

function unlink(i: u32): void {
  const e = nbAt(i);
  let p = bucketOf(e.ifIndex, e.version, e.a, e.b);
  let j = load<u32>(p);
  while (j != 0) {
    if (j == i + 1) {
      store<u32>(p, e.next);
      return;
    }
    p = changetype<usize>(nbAt(j - 1)) + offsetof<Neighbour>("next");
    j = load<u32>(p);
  }
}

/** Frees entry `i`: out of the index, its pending packets dropped (counted). */
export function nbFree(i: u32): void {
  const e = nbAt(i);
  if (e.state == NbState.FREE) return;
  nbEpoch++;
  dropPending(e);
  if (e.state == NbState.INCOMPLETE) incomplete--;
  unlink(i);
  e.state = <u8>NbState.FREE;
  e.next = freeHead;
  freeHead = i + 1;
  used--;
}

/**
 * A cell for a new entry: a free one, else an idle (STALE) entry found by the clock hand; with
 * `active`, when no entry is idle, any entry that holds no packets. -1 when every cell is held.
 */
function takeCell(active: bool): i32 {
  if (freeHead != 0) {
    const i = freeHead - 1;
    freeHead = nbAt(i).next;
    return <i32>i;
  }
  let fallback: i32 = -1;
  for (let n: u32 = 0; n < capacity; n++) {
    const i = hand;
    hand = hand + 1 == capacity ? 0 : hand + 1;
    const s = nbAt(i).state;
    if (s == NbState.STALE) {
      evict(i);
      return <i32>i;
    }
    if (active && fallback < 0 && s != NbState.INCOMPLETE) fallback = <i32>i;
  }
  if (fallback >= 0) {
    evict(<u32>fallback);
    return fallback;
  }
  return -1;
}

function evict(i: u32): void {
  count(Counter.NEIGHBOUR_EVICTED);
  nbFree(i);
  // nbFree put it on the free list: take it back off (it is the head).
  freeHead = nbAt(i).next;
}

/**
 * A new entry for the key in `state` (the caller checked there is none). `resolving` entries
 * (INCOMPLETE, ours to resolve) may evict an active entry and are bounded to a quarter of the cache;
 * learned ones only replace idle entries. Returns the index or -1 (counted).
 */
export function nbCreate(ifIndex: u32, version: u32, a: u64, b: u64, state: u32, mac: u64, nowUs: i64): i32 {
  if (entries == 0) return -1;
  const resolving = state == NbState.INCOMPLETE;
  if (resolving && incomplete >= (capacity >> 2 > 0 ? capacity >> 2 : 1)) {
    count(Counter.NEIGHBOUR_FULL);
    return -1;
  }
  const i = takeCell(resolving);
  if (i < 0) {
    count(Counter.NEIGHBOUR_FULL);
    return -1;
  }
  const e = nbAt(<u32>i);
  e.a = a;
  e.b = b;
  e.mac = mac;
  e.ifIndex = <u8>ifIndex;
  e.version = <u8>version;
  e.state = <u8>state;
  // The caller sends the first solicitation of an INCOMPLETE entry right away (RFC 4861 7.2.2).
  e.probes = resolving ? 1 : 0;
  e.pendHead = 0;
  e.pendCount = 0;
  e.isRouter = 0;
  const p = bucketOf(ifIndex, version, a, b);
  e.next = load<u32>(p);
  store<u32>(p, <u32>i + 1);
  used++;
  if (resolving) incomplete++;
  enterState(e, state, nowUs);
  return i;
}

/** RFC 4861 6.3.2: ReachableTime is BaseReachableTime times a random factor in [0.5, 1.5). */
function reachableTime(): i64 {
  return REACHABLE_TIME_US / 2 + <i64>rngBelow(<u32>(REACHABLE_TIME_US / 1000)) * 1000;
}

/** Moves `e` to `state` and sets the deadline that state runs on (RFC 4861 7.3.2, 7.3.3). */
export function enterState(e: Neighbour, state: u32, nowUs: i64): void {
  nbEpoch++;
  if (e.state == NbState.INCOMPLETE && state != NbState.INCOMPLETE) incomplete--;
  e.state = <u8>state;
  let d: i64;
  switch (state) {
    case NbState.INCOMPLETE:
    case NbState.PROBE: d = nowUs + RETRANS_TIMER_US; break;
    case NbState.REACHABLE: d = nowUs + reachableTime(); break;
    case NbState.DELAY: d = nowUs + DELAY_FIRST_PROBE_US; break;
    default: d = nowUs + STALE_LIFETIME_US;
  }
  setDeadline(e, d);
}

@inline export function setDeadline(e: Neighbour, d: i64): void {
  e.deadline = d;
  if (d < nbDeadline) nbDeadline = d;
}

/**
 * A link-layer address learned for entry `i` (RFC 4861 7.2.5, RFC 826 merge): `confirmed` (a reply
 * to our solicitation) makes it REACHABLE, else STALE when the address changed or the entry was
 * INCOMPLETE. Returns true when the entry just left INCOMPLETE (its packets can go).
 */
export function nbLearn(i: u32, mac: u64, confirmed: bool, nowUs: i64): bool {
  const e = nbAt(i);
  const wasIncomplete = e.state == NbState.INCOMPLETE;
  const changed = e.mac != mac;
  e.mac = mac;
  nbEpoch++;
  e.probes = 0;
  if (confirmed) enterState(e, NbState.REACHABLE, nowUs);
  else if (wasIncomplete || changed) enterState(e, NbState.STALE, nowUs);
  return wasIncomplete;
}

// ---- Packets waiting for resolution ----

/**
 * Queues a copy of the `len`-byte IP packet at `p` on entry `i`; the oldest goes when the entry holds
 * PENDING_PER_NEIGHBOUR already. Dropped (counted) when no slot is free or it does not fit.
 */
export function nbHold(i: u32, p: usize, len: u32): void {
  const e = nbAt(i);
  if (<u32>e.pendCount >= PENDING_PER_NEIGHBOUR) {
    const s = e.pendHead - 1;
    e.pendHead = load<u32>(slotAt(s));
    e.pendCount--;
    releaseSlot(s);
    count(Counter.NEIGHBOUR_PENDING_DROPPED);
  }
  if (pendFree == 0 || len + 8 > slotBytes) {
    count(Counter.NEIGHBOUR_PENDING_DROPPED);
    return;
  }
  const s = pendFree - 1;
  const at = slotAt(s);
  pendFree = load<u32>(at);
  pendingUsed++;
  store<u32>(at, 0);
  store<u32>(at, len, 4);
  memory.copy(at + 8, p, len);
  if (e.pendHead == 0) e.pendHead = s + 1;
  else {
    let t = e.pendHead - 1;
    for (;;) {
      const nx = load<u32>(slotAt(t));
      if (nx == 0) break;
      t = nx - 1;
    }
    store<u32>(slotAt(t), s + 1);
  }
  e.pendCount++;
  count(Counter.NEIGHBOUR_PENDING);
}

function releaseSlot(s: u32): void {
  store<u32>(slotAt(s), pendFree);
  pendFree = s + 1;
  pendingUsed--;
}

/** Takes the first pending packet of `e` (its slot, or -1); nbPendingPtr / nbPendingLen read it until nbRelease. */
export function nbTakePending(e: Neighbour): i32 {
  if (e.pendHead == 0) return -1;
  const s = e.pendHead - 1;
  e.pendHead = load<u32>(slotAt(s));
  e.pendCount--;
  return <i32>s;
}

@inline export function nbPendingPtr(s: u32): usize {
  return slotAt(s) + 8;
}

@inline export function nbPendingLen(s: u32): u32 {
  return load<u32>(slotAt(s), 4);
}

export function nbRelease(s: u32): void {
  releaseSlot(s);
}

function dropPending(e: Neighbour): void {
  for (;;) {
    const s = nbTakePending(e);
    if (s < 0) break;
    releaseSlot(<u32>s);
    count(Counter.NEIGHBOUR_PENDING_DROPPED);
  }
}

// ---- Timers ----

/** What a due entry needs from the protocol that owns it (ARP or neighbour discovery). */
export const enum NbDue {
  NOTHING = 0,
  /** Send a solicitation: multicast (broadcast ARP) in INCOMPLETE, unicast in PROBE. */
  SOLICIT = 1,
  /** Resolution failed (RFC 4861 7.3.3: the entry is deleted; upper layers told). */
  FAILED = 2,
}

/**
 * Advances entry `i` whose deadline has come (RFC 4861 7.3.3 and appendix C); returns what the caller
 * must do. A FAILED entry is still in place for the caller to read; it frees it.
 */
export function nbExpire(i: u32, nowUs: i64): NbDue {
  const e = nbAt(i);
  switch (<u32>e.state) {
    case NbState.INCOMPLETE:
      if (<u32>e.probes >= MAX_MULTICAST_SOLICIT) return NbDue.FAILED;
      e.probes++;
      setDeadline(e, nowUs + RETRANS_TIMER_US);
      return NbDue.SOLICIT;
    case NbState.REACHABLE:
      enterState(e, NbState.STALE, nowUs);
      return NbDue.NOTHING;
    case NbState.DELAY:
      enterState(e, NbState.PROBE, nowUs);
      e.probes = 1;
      return NbDue.SOLICIT;
    case NbState.PROBE:
      if (<u32>e.probes >= MAX_UNICAST_SOLICIT) return NbDue.FAILED;
      e.probes++;
      setDeadline(e, nowUs + RETRANS_TIMER_US);
      return NbDue.SOLICIT;
    default:
      // STALE and unused for STALE_LIFETIME_US: forgotten.
      nbFree(i);
      return NbDue.NOTHING;
  }
}

/** Recomputes nbDeadline as the true minimum over the entries. */
export function nbRecomputeDeadline(): void {
  let d = NEVER;
  for (let i: u32 = 0; i < capacity; i++) {
    const e = nbAt(i);
    if (e.state != NbState.FREE && e.deadline < d) d = e.deadline;
  }
  nbDeadline = d;
}

@inline export function nbCapacity(): u32 {
  return capacity;
}

// The connection table (4-tuple -> connection slot), the listener table and ephemeral ports.
//
// Contract
// - O(1) lookup for IPv4 and IPv6: open addressing with linear probing over a power-of-two array at
//   most half full, backward-shift deletion (no tombstones, so probe lengths never creep up), and a
//   hard probe bound MAX_PROBE: no lookup ever walks more than MAX_PROBE buckets.
// - The tables grow with use: each starts at MIN_BUCKETS and doubles (a rehash by the cached hash) when
//   an insert would fill it past half, or would land further than MAX_PROBE from its home bucket, up
//   to the bucket count its limit needs (tableInit's maxConnections, MAX_LISTENERS). Only inserts
//   grow a table, and inserts happen when a connection or listener is created, never per segment. An
//   insert fails like a full table when the limit is reached, when the bigger array cannot be had
//   from the pool (the caller reports ENOBUFS), or when even the largest array leaves the key beyond
//   MAX_PROBE. Tables never shrink: WebAssembly memory cannot be given back to the host, and the
//   high-water arrays are reused by the next connections (a shrink would allocate on the close path).
// - The bucket hash is SipHash-1-3 keyed from the host secret (isn.ts): a peer choosing ports and
//   addresses cannot aim collisions at one bucket chain. tableInit derives the key, so call
//   isnSetSecret first. tableInit may be called again: it frees the old tables and starts empty.
//   Growth keeps the key: a rehash moves entries by the hash cached in each bucket.
// - Addresses are FlowKey's: raw network-order bytes loaded with load<u64> (IPv6 bytes 0..7 in A,
//   8..15 in B; IPv4 in the low half of A, B = 0), as Segment carries them.
// - Listeners: one per (ipVersion, local address, port), the address specific or the wildcard
//   (A = B = 0); listenerLookup prefers the specific address. listenerAdd fails (EADDRINUSE) when the
//   same address is taken, when a wildcard listener holds the port, or when a wildcard is added over
//   a port that has a specific listener (the bind rules of node:net without SO_REUSEPORT).
// - portInUse counts listeners and connections by local (address, port); the wildcard address asks
//   "anything on this port at any address". It is O(1): a usage table keeps the counts.
// - allocEphemeralPort: RFC 6056 section 3.3.1 (simple port randomisation): a random start in the
//   range, then the next ports in turn until the full 4-tuple is free and no listener holds the
//   port; at most (hi - lo + 1) probes. A 4-tuple in compact TIME-WAIT (timewait.ts) is taken only
//   when no free one is left (the first such port met), and the caller then reuses it.
import { poolAlloc, poolFree } from "./pool";
import { sipHash13, sipHash24, isnSecretK0, isnSecretK1, flowKeyBytes } from "./isn";
import { rngBelow } from "./rng";
import { twLookup } from "./timewait";

@unmanaged
export class FlowKey {
  ipVersion: u32;
  localA: u64;
  localB: u64;
  remoteA: u64;
  remoteB: u64;
  localPort: u32;
  remotePort: u32;
}

export const MAX_PROBE: u32 = 32;
export const MAX_LISTENERS: u32 = 1024;

// One bucket: the 40-byte key exactly as flowKeyBytes writes it, the value and the cached hash.
// A version word of 0 marks an empty bucket.
const KEY_BYTES: usize = 40;
const E_VERSION: usize = 36;
const E_VALUE: usize = 40;
const E_HASH: usize = 44;
const ENTRY_BYTES: usize = 48;

@unmanaged
class HashTab {
  entries: usize;
  mask: u32;
  count: u32;
  /** The most entries the table may hold (its limit). */
  maxCount: u32;
  /** Buckets the table may grow to: maxCount at most half full. */
  maxBuckets: u32;
}

/** Buckets a table starts with (3 KiB): an idle engine holds three of them. */
const MIN_BUCKETS: u32 = 64;

// Usage-table kinds, in the version word beside the IP version: connections at an exact local
// address, anything (connections and listeners) on a port at any address, listeners on a port.
const USE_EXACT: u32 = 0x100;
const USE_ANY: u32 = 0x200;
const USE_LISTENERS: u32 = 0x300;

const tabs = memory.data(3 * offsetof<HashTab>(), 8);
const conns = changetype<HashTab>(tabs);
const listeners = changetype<HashTab>(tabs + offsetof<HashTab>());
const usage = changetype<HashTab>(tabs + 2 * offsetof<HashTab>());
const probeKey = memory.data(<i32>KEY_BYTES, 8);
const keySeed = memory.data(8, 8);

let hashK0: u64 = 0;
let hashK1: u64 = 0;
let ephemeralLo: u32 = 49152;
let ephemeralHi: u32 = 65535;

/** Powers of two at least twice `n` (a table holding n entries at most half full), at least MIN_BUCKETS. */
function bucketsFor(n: u32): u32 {
  let want = n < (MIN_BUCKETS >>> 1) ? MIN_BUCKETS : n * 2;
  return <u32>1 << (32 - clz(want - 1));
}

/** An empty table of MIN_BUCKETS that may grow to hold maxCount entries at most half full. */
function tabAlloc(t: HashTab, maxCount: u32): bool {
  let p = poolAlloc(<usize>MIN_BUCKETS * ENTRY_BYTES);
  if (p == 0) return false;
  t.entries = p;
  t.mask = MIN_BUCKETS - 1;
  t.count = 0;
  t.maxCount = maxCount;
  t.maxBuckets = bucketsFor(maxCount);
  return true;
}

function tabFree(t: HashTab): void {
  if (t.entries != 0) poolFree(t.entries, (<usize>t.mask + 1) * ENTRY_BYTES);
  t.entries = 0;
  t.mask = 0;
  t.count = 0;
  t.maxCount = 0;
  t.maxBuckets = 0;
}

/** The first empty bucket of h's run in `entries`, or 0 when it is MAX_PROBE or more buckets from home. */
function firstEmpty(entries: usize, mask: u32, h: u32): usize {
  let i = h & mask;
  for (let d: u32 = 0; d < MAX_PROBE; d++) {
    let e = entries + <usize>i * ENTRY_BYTES;
    if (load<u32>(e, E_VERSION) == 0) return e;
    i = (i + 1) & mask;
  }
  return 0;
}

/**
 * Doubles the table (quadruples, and so on, if a rehash would leave an entry beyond MAX_PROBE), up to
 * maxBuckets. False, with the table as it was, when the pool refuses or no size up to the limit works.
 */
function tabGrow(t: HashTab): bool {
  let oldBuckets = t.mask + 1;
  let buckets = oldBuckets << 1;
  while (buckets <= t.maxBuckets && buckets != 0) {
    let p = poolAlloc(<usize>buckets * ENTRY_BYTES);
    if (p == 0) return false;
    let ok = true;
    for (let i: u32 = 0; i < oldBuckets && ok; i++) {
      let e = t.entries + <usize>i * ENTRY_BYTES;
      if (load<u32>(e, E_VERSION) == 0) continue;
      let to = firstEmpty(p, buckets - 1, load<u32>(e, E_HASH));
      if (to != 0) memory.copy(to, e, ENTRY_BYTES);
      else ok = false;
    }
    if (ok) {
      poolFree(t.entries, <usize>oldBuckets * ENTRY_BYTES);
      t.entries = p;
      t.mask = buckets - 1;
      return true;
    }
    poolFree(p, <usize>buckets * ENTRY_BYTES);
    buckets <<= 1;
  }
  return false;
}

// @ts-ignore: decorator
@inline function keyHash(key: usize): u32 {
  return <u32>sipHash13(hashK0, hashK1, key, KEY_BYTES);
}

// @ts-ignore: decorator
@inline function keyEquals(e: usize, key: usize): bool {
  return load<u64>(e) == load<u64>(key) && load<u64>(e, 8) == load<u64>(key, 8) &&
    load<u64>(e, 16) == load<u64>(key, 16) && load<u64>(e, 24) == load<u64>(key, 24) &&
    load<u64>(e, 32) == load<u64>(key, 32);
}

/** The bucket holding `key` (at probeKey), or 0. */
function tabFind(t: HashTab, key: usize, h: u32): usize {
  if (t.entries == 0) return 0;
  let i = h & t.mask;
  for (let d: u32 = 0; d < MAX_PROBE; d++) {
    let e = t.entries + <usize>i * ENTRY_BYTES;
    if (load<u32>(e, E_VERSION) == 0) return 0;
    if (load<u32>(e, E_HASH) == h && keyEquals(e, key)) return e;
    i = (i + 1) & t.mask;
  }
  return 0;
}

/** Stores the key (at probeKey) in its run's first empty bucket within MAX_PROBE; false if none. */
function tabPlace(t: HashTab, key: usize, h: u32, value: u32): bool {
  let e = firstEmpty(t.entries, t.mask, h);
  if (e == 0) return false;
  memory.copy(e, key, KEY_BYTES);
  store<u32>(e, value, E_VALUE);
  store<u32>(e, h, E_HASH);
  t.count++;
  return true;
}

/**
 * Inserts a key known to be absent, growing the table first when it would be more than half full,
 * and again when the key's run is MAX_PROBE long; false when full (the limit, the pool or the bound).
 */
function tabInsert(t: HashTab, key: usize, h: u32, value: u32): bool {
  if (t.entries == 0 || t.count >= t.maxCount) return false;
  if ((t.count + 1) * 2 > t.mask + 1 && !tabGrow(t)) return false;
  while (!tabPlace(t, key, h, value)) {
    if (!tabGrow(t)) return false;
  }
  return true;
}

/** Empties bucket e and shifts the rest of its run back (Knuth 6.4 algorithm R). */
function tabDelete(t: HashTab, e: usize): void {
  let i = <u32>((e - t.entries) / ENTRY_BYTES);
  let j = i;
  while (true) {
    j = (j + 1) & t.mask;
    let ej = t.entries + <usize>j * ENTRY_BYTES;
    if (load<u32>(ej, E_VERSION) == 0) break;
    let home = load<u32>(ej, E_HASH) & t.mask;
    // Move ej back into the hole at i unless its home lies cyclically in (i, j].
    let distHole = (i - home) & t.mask;
    let distHere = (j - home) & t.mask;
    if (distHole <= distHere) {
      memory.copy(t.entries + <usize>i * ENTRY_BYTES, ej, ENTRY_BYTES);
      i = j;
    }
  }
  memory.fill(t.entries + <usize>i * ENTRY_BYTES, 0, ENTRY_BYTES);
  t.count--;
}

function stageAddress(version: u32, a: u64, b: u64, port: u32): void {
  store<u64>(probeKey, a);
  store<u64>(probeKey, b, 8);
  store<u64>(probeKey, 0, 16);
  store<u64>(probeKey, 0, 24);
  store<u32>(probeKey, (port & 0xffff) << 16, 32);
  store<u32>(probeKey, version, 36);
}

/** Adds delta (+1 / -1) to a usage count; false only when a new count cannot be stored. */
function usageAdd(version: u32, a: u64, b: u64, port: u32, delta: i32): bool {
  stageAddress(version, a, b, port);
  let h = keyHash(probeKey);
  let e = tabFind(usage, probeKey, h);
  if (e == 0) {
    if (DEBUG) assert(delta > 0, "table: usage count below zero");
    return delta > 0 ? tabInsert(usage, probeKey, h, <u32>delta) : true;
  }
  let n = <i32>load<u32>(e, E_VALUE) + delta;
  if (n <= 0) tabDelete(usage, e);
  else store<u32>(e, <u32>n, E_VALUE);
  return true;
}

function usageCount(version: u32, a: u64, b: u64, port: u32): u32 {
  stageAddress(version, a, b, port);
  let e = tabFind(usage, probeKey, keyHash(probeKey));
  return e == 0 ? 0 : load<u32>(e, E_VALUE);
}

export function tableInit(maxConnections: u32): bool {
  tabFree(conns);
  tabFree(listeners);
  tabFree(usage);
  if (maxConnections == 0 || maxConnections > (1 << 24)) return false;
  // The bucket key comes from the ISN secret through the PRF itself, never the secret as is.
  store<u64>(keySeed, 0x656c626174); // "table"
  hashK0 = sipHash24(isnSecretK0(), isnSecretK1(), keySeed, 8);
  store<u64>(keySeed, 0x656c626174 | (<u64>1 << 56));
  hashK1 = sipHash24(isnSecretK0(), isnSecretK1(), keySeed, 8);
  // Usage: an exact and an any-address count per connection, an any and a listeners count per listener.
  if (tabAlloc(conns, maxConnections) && tabAlloc(listeners, MAX_LISTENERS) &&
      tabAlloc(usage, 2 * maxConnections + 2 * MAX_LISTENERS)) return true;
  tabFree(conns);
  tabFree(listeners);
  tabFree(usage);
  return false;
}

/** Frees the tables (engine teardown; the heap-accounting tests need it). */
export function tableRelease(): void {
  tabFree(conns);
  tabFree(listeners);
  tabFree(usage);
}

export function tableInsert(key: FlowKey, slot: u32): bool {
  if (key.ipVersion == 0) return false;
  flowKeyBytes(key, probeKey);
  let h = keyHash(probeKey);
  if (tabFind(conns, probeKey, h) != 0) return false;
  if (!tabInsert(conns, probeKey, h, slot)) return false;
  let v = key.ipVersion;
  if (!usageAdd(v | USE_EXACT, key.localA, key.localB, key.localPort, 1)) {
    tableRemoveOnly(key);
    return false;
  }
  if (!usageAdd(v | USE_ANY, 0, 0, key.localPort, 1)) {
    usageAdd(v | USE_EXACT, key.localA, key.localB, key.localPort, -1);
    tableRemoveOnly(key);
    return false;
  }
  return true;
}

function tableRemoveOnly(key: FlowKey): bool {
  flowKeyBytes(key, probeKey);
  let e = tabFind(conns, probeKey, keyHash(probeKey));
  if (e == 0) return false;
  tabDelete(conns, e);
  return true;
}

export function tableLookup(key: FlowKey): i32 {
  flowKeyBytes(key, probeKey);
  let e = tabFind(conns, probeKey, keyHash(probeKey));
  return e == 0 ? -1 : <i32>load<u32>(e, E_VALUE);
}

export function tableRemove(key: FlowKey): bool {
  if (!tableRemoveOnly(key)) return false;
  usageAdd(key.ipVersion | USE_EXACT, key.localA, key.localB, key.localPort, -1);
  usageAdd(key.ipVersion | USE_ANY, 0, 0, key.localPort, -1);
  return true;
}

export function tableCount(): u32 {
  return conns.count;
}

/** Pool bytes the three tables hold now (they grow with use and never shrink). */
export function tableBytes(): usize {
  return ((<usize>conns.mask + 1) + (<usize>listeners.mask + 1) + (<usize>usage.mask + 1)) * ENTRY_BYTES;
}

function listenerFind(ipVersion: u32, localA: u64, localB: u64, port: u32): usize {
  stageAddress(ipVersion, localA, localB, port);
  return tabFind(listeners, probeKey, keyHash(probeKey));
}

/** Whether a listener on (ipVersion, address, port) would break the bind rules (EADDRINUSE). */
export function listenerConflict(ipVersion: u32, localA: u64, localB: u64, port: u32): bool {
  if (listenerFind(ipVersion, localA, localB, port) != 0) return true;
  if ((localA | localB) != 0) return listenerFind(ipVersion, 0, 0, port) != 0;
  return usageCount(ipVersion | USE_LISTENERS, 0, 0, port) != 0;
}

/** Adds a listener; false on a conflict (listenerConflict) or when the tables are full. */
export function listenerAdd(ipVersion: u32, localA: u64, localB: u64, port: u32, listenerSlot: u32): bool {
  if (ipVersion == 0 || listenerConflict(ipVersion, localA, localB, port)) return false;
  stageAddress(ipVersion, localA, localB, port);
  if (!tabInsert(listeners, probeKey, keyHash(probeKey), listenerSlot)) return false;
  // The usage table has room for two counts per listener, but growing it may find the pool empty.
  if (usageAdd(ipVersion | USE_LISTENERS, 0, 0, port, 1)) {
    if (usageAdd(ipVersion | USE_ANY, 0, 0, port, 1)) return true;
    usageAdd(ipVersion | USE_LISTENERS, 0, 0, port, -1);
  }
  tabDelete(listeners, listenerFind(ipVersion, localA, localB, port));
  return false;
}

export function listenerRemove(ipVersion: u32, localA: u64, localB: u64, port: u32): bool {
  let e = listenerFind(ipVersion, localA, localB, port);
  if (e == 0) return false;
  tabDelete(listeners, e);
  usageAdd(ipVersion | USE_LISTENERS, 0, 0, port, -1);
  usageAdd(ipVersion | USE_ANY, 0, 0, port, -1);
  return true;
}

export function listenerLookup(ipVersion: u32, localA: u64, localB: u64, port: u32): i32 {
  let e = listenerFind(ipVersion, localA, localB, port);
  if (e == 0 && (localA | localB) != 0) e = listenerFind(ipVersion, 0, 0, port);
  return e == 0 ? -1 : <i32>load<u32>(e, E_VALUE);
}

export function listenerCount(): u32 {
  return listeners.count;
}

export function portInUse(ipVersion: u32, localA: u64, localB: u64, port: u32): bool {
  if ((localA | localB) == 0) return usageCount(ipVersion | USE_ANY, 0, 0, port) != 0;
  return listenerLookup(ipVersion, localA, localB, port) >= 0 ||
    usageCount(ipVersion | USE_EXACT, localA, localB, port) != 0;
}

export function ephemeralRange(lo: u32, hi: u32): void {
  if (lo == 0 || lo > hi || hi > 65535) return;
  ephemeralLo = lo;
  ephemeralHi = hi;
}

export function allocEphemeralPort(key: FlowKey): i32 {
  let n = ephemeralHi - ephemeralLo + 1;
  let first = rngBelow(n);
  let saved = key.localPort;
  let inTimeWait: i32 = -1;
  for (let i: u32 = 0; i < n; i++) {
    let port = ephemeralLo + (first + i) % n;
    if (listenerLookup(key.ipVersion, key.localA, key.localB, port) >= 0) continue;
    key.localPort = port;
    if (tableLookup(key) >= 0) continue;
    if (twLookup(key) < 0) return <i32>port;
    if (inTimeWait < 0) inTimeWait = <i32>port;
  }
  key.localPort = inTimeWait >= 0 ? <u32>inTimeWait : saved;
  return inTimeWait;
}

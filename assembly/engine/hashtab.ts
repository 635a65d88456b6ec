// Open-addressed hash tables keyed by a 40-byte flow key (wire/flowkey.ts flowKeyBytes), holding a u32
// value: the connection and listener tables and the listener counts per port (table.ts), and the
// TIME-WAIT index (timewait.ts).
//
// A bucket is [value + 1: u32][hash: u32] (0 in the first word: empty), then either the key itself
// (tabAlloc: 48 bytes a bucket), or nothing: then the value is a record number and the key is the
// first 40 bytes of that record in the caller's array (tabAllocIndex: 8 bytes a bucket, for records
// that already hold their key, as TIME-WAIT's do).
//
// Contract
// - Linear probing over a power-of-two array at most half full, backward-shift deletion (Knuth 6.4
//   algorithm R: no tombstones, so probe lengths never creep up), and a hard probe bound MAX_PROBE:
//   no lookup ever walks more than MAX_PROBE buckets.
// - A table starts at MIN_BUCKETS and doubles (a rehash by the hash cached in each bucket) when an
//   insert would fill it past half, or would land further than MAX_PROBE from its home bucket, up to
//   the bucket count its limit (maxCount) needs. Only inserts grow a table; an insert fails like a full
//   table when the limit is reached, when the bigger array cannot be had from the pool, or when even
//   the largest array leaves the key beyond MAX_PROBE. Tables never shrink: WebAssembly memory cannot
//   be given back to the host, and a shrink would allocate on the close path.
// - The caller hashes: the hash is a keyed SipHash (secret.ts) so that a peer choosing ports and
//   addresses cannot aim collisions at one bucket chain. Every call for one key passes the same hash.
// - Values are below 0xffffffff. An index's records array may move (tabMoveRecords) but a record's key
//   and value stay as they were while it is in the table.
import { FLOW_KEY_BYTES } from "../wire/flowkey";
import { poolAlloc, poolFree } from "./pool";
import { zeroSmall, copySmall } from "../wire/small";

export const MAX_PROBE: u32 = 32;

const B_VALUE: usize = 0;
const B_HASH: usize = 4;
const B_KEY: usize = 8;
const KEY_BYTES: usize = FLOW_KEY_BYTES;

@unmanaged
export class HashTab {
  entries: usize;
  mask: u32;
  count: u32;
  /** The most entries the table may hold (its limit). */
  maxCount: u32;
  /** Buckets the table may grow to: maxCount at most half full. */
  maxBuckets: u32;
  /** Bytes a bucket: 48 with the key inline, 8 for an index into records. */
  bucketBytes: u32;
  /** An index's records (the key of value v is at records + v * recordBytes); 0 with keys inline. */
  records: usize;
  recordBytes: u32;
}

/** Buckets a table starts with (3 KiB). */
const MIN_BUCKETS: u32 = 64;

/** Powers of two at least twice `n` (a table holding n entries at most half full), at least MIN_BUCKETS. */
function bucketsFor(n: u32): u32 {
  let want = n < (MIN_BUCKETS >>> 1) ? MIN_BUCKETS : n * 2;
  return <u32>1 << (32 - clz(want - 1));
}

/** An empty table of MIN_BUCKETS with keys inline that may grow to hold maxCount entries at most half full. */
export function tabAlloc(t: HashTab, maxCount: u32): bool {
  return tabStart(t, maxCount, <u32>(B_KEY + KEY_BYTES));
}

/**
 * An empty index of MIN_BUCKETS, growing up to maxCount entries at most half full, over records of
 * recordBytes bytes each starting with their flowKeyBytes key, at `records` (tabMoveRecords follows them).
 */
export function tabAllocIndex(t: HashTab, maxCount: u32, records: usize, recordBytes: u32): bool {
  if (!tabStart(t, maxCount, <u32>B_KEY)) return false;
  t.records = records;
  t.recordBytes = recordBytes;
  return true;
}

export function tabMoveRecords(t: HashTab, records: usize): void {
  t.records = records;
}

function tabStart(t: HashTab, maxCount: u32, bucketBytes: u32): bool {
  let p = poolAlloc(<usize>MIN_BUCKETS * bucketBytes);
  if (p == 0) return false;
  t.bucketBytes = bucketBytes;
  t.records = 0;
  t.recordBytes = 0;
  t.entries = p;
  t.mask = MIN_BUCKETS - 1;
  t.count = 0;
  t.maxCount = maxCount;
  t.maxBuckets = bucketsFor(maxCount);
  return true;
}

export function tabFree(t: HashTab): void {
  if (t.entries != 0) poolFree(t.entries, (<usize>t.mask + 1) * t.bucketBytes);
  t.entries = 0;
  t.mask = 0;
  t.count = 0;
  t.maxCount = 0;
  t.maxBuckets = 0;
}

/** Pool bytes the table holds now. */
export function tabBytes(t: HashTab): usize {
  return t.entries == 0 ? 0 : (<usize>t.mask + 1) * t.bucketBytes;
}

/** The first empty bucket of h's run in `entries`, or 0 when it is MAX_PROBE or more buckets from home. */
function firstEmpty(entries: usize, bucketBytes: u32, mask: u32, h: u32): usize {
  let i = h & mask;
  for (let d: u32 = 0; d < MAX_PROBE; d++) {
    let e = entries + <usize>i * bucketBytes;
    if (load<u32>(e, B_VALUE) == 0) return e;
    i = (i + 1) & mask;
  }
  return 0;
}

/**
 * Doubles the table (quadruples, and so on, if a rehash would leave an entry beyond MAX_PROBE), up to
 * maxBuckets. False, with the table as it was, when the pool refuses or no size up to the limit works.
 */
function tabGrow(t: HashTab): bool {
  let size = <usize>t.bucketBytes;
  let oldBuckets = t.mask + 1;
  let buckets = oldBuckets << 1;
  while (buckets <= t.maxBuckets && buckets != 0) {
    let p = poolAlloc(<usize>buckets * size);
    if (p == 0) return false;
    let ok = true;
    for (let i: u32 = 0; i < oldBuckets && ok; i++) {
      let e = t.entries + <usize>i * size;
      if (load<u32>(e, B_VALUE) == 0) continue;
      let to = firstEmpty(p, t.bucketBytes, buckets - 1, load<u32>(e, B_HASH));
      if (to != 0) memory.copy(to, e, size);
      else ok = false;
    }
    if (ok) {
      poolFree(t.entries, <usize>oldBuckets * size);
      t.entries = p;
      t.mask = buckets - 1;
      return true;
    }
    poolFree(p, <usize>buckets * size);
    buckets <<= 1;
  }
  return false;
}

/** Where bucket e's key is: inline, or at the start of its record. */
// @ts-ignore: decorator
@inline function keyOf(t: HashTab, e: usize): usize {
  return t.records == 0 ? e + B_KEY : t.records + <usize>(load<u32>(e, B_VALUE) - 1) * t.recordBytes;
}

// @ts-ignore: decorator
@inline function keyEquals(e: usize, key: usize): bool {
  return load<u64>(e) == load<u64>(key) && load<u64>(e, 8) == load<u64>(key, 8) &&
    load<u64>(e, 16) == load<u64>(key, 16) && load<u64>(e, 24) == load<u64>(key, 24) &&
    load<u64>(e, 32) == load<u64>(key, 32);
}

/** The bucket holding the key at `key` (hash h), or 0. */
export function tabFind(t: HashTab, key: usize, h: u32): usize {
  if (t.entries == 0) return 0;
  let i = h & t.mask;
  for (let d: u32 = 0; d < MAX_PROBE; d++) {
    let e = t.entries + <usize>i * t.bucketBytes;
    if (load<u32>(e, B_VALUE) == 0) return 0;
    if (load<u32>(e, B_HASH) == h && keyEquals(keyOf(t, e), key)) return e;
    i = (i + 1) & t.mask;
  }
  return 0;
}

/** A bucket's value. */
@inline export function tabValue(e: usize): u32 {
  return load<u32>(e, B_VALUE) - 1;
}

/** Changes the value of a table with keys inline (an index's value names the key's record). */
@inline export function tabSetValue(e: usize, value: u32): void {
  store<u32>(e, value + 1, B_VALUE);
}

/** Stores the key in its run's first empty bucket within MAX_PROBE; false if none. */
function tabPlace(t: HashTab, key: usize, h: u32, value: u32): bool {
  let e = firstEmpty(t.entries, t.bucketBytes, t.mask, h);
  if (e == 0) return false;
  if (t.records == 0) copySmall(e + B_KEY, key, KEY_BYTES);
  store<u32>(e, value + 1, B_VALUE);
  store<u32>(e, h, B_HASH);
  t.count++;
  return true;
}

/**
 * Inserts a key known to be absent (an index: `key` is the start of record `value`), growing the table first when it would be more than half full,
 * and again when the key's run is MAX_PROBE long; false when full (the limit, the pool or the bound).
 */
export function tabInsert(t: HashTab, key: usize, h: u32, value: u32): bool {
  if (t.entries == 0 || t.count >= t.maxCount) return false;
  if ((t.count + 1) * 2 > t.mask + 1 && !tabGrow(t)) return false;
  while (!tabPlace(t, key, h, value)) {
    if (!tabGrow(t)) return false;
  }
  return true;
}

/** Empties bucket e and shifts the rest of its run back (Knuth 6.4 algorithm R). */
export function tabDelete(t: HashTab, e: usize): void {
  let size = <usize>t.bucketBytes;
  let i = <u32>((e - t.entries) / size);
  let j = i;
  while (true) {
    j = (j + 1) & t.mask;
    let ej = t.entries + <usize>j * size;
    if (load<u32>(ej, B_VALUE) == 0) break;
    let home = load<u32>(ej, B_HASH) & t.mask;
    // Move ej back into the hole at i unless its home lies cyclically in (i, j].
    let distHole = (i - home) & t.mask;
    let distHere = (j - home) & t.mask;
    if (distHole <= distHere) {
      copySmall(t.entries + <usize>i * size, ej, size);
      i = j;
    }
  }
  zeroSmall(t.entries + <usize>i * size, size);
  t.count--;
}

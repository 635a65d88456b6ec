// Timers are data: each connection holds a TimerTable, one deadline per kind, and
// the engine keeps one queue of (earliest deadline, connection slot) so the host is told a single
// next wake-up.
//
// Contract
// - Deadlines are i64 microseconds on the host's clock; NEVER (i64.MAX_VALUE) means not armed. The
//   core never reads a clock: every call that can move a deadline is given it.
// - TimerTable is eight plain i64 fields in TimerKind order, so the TCB can hold it inline (tcb.ts).
// - The engine-wide queue is a binary min-heap of (deadline, slot) with a position index per slot:
//   tqSet (insert or move) and tqRemove are O(log n), tqNextDeadline O(1). tqSet with NEVER removes.
//   Slots must be < the capacity (tqInit, raised by tqReserve when the engine's slots grow, at
//   connection creation); the debug build asserts it, release builds ignore such calls.
// - tqPopExpired removes and returns one slot whose deadline is <= now (the earliest), or -1. The
//   caller runs that connection's timers and calls tqSet again with its new earliest deadline, so a
//   spurious wake-up is a harmless no-op.
import { poolAlloc, poolFree } from "./pool";

export const enum TimerKind {
  Retransmit = 0,
  DelayedAck = 1,
  Persist = 2,
  Keepalive = 3,
  TimeWait = 4,
  UserTimeout = 5,
  /** RACK's reordering timer (RFC 8985 6.2 step 5, rack.ts). */
  Reorder = 6,
  /** When pacing lets the next data segment leave (pacing.ts). */
  Pace = 7,
  COUNT = 8,
}

export const NEVER: i64 = i64.MAX_VALUE;

@unmanaged
export class TimerTable {
  t0: i64;
  t1: i64;
  t2: i64;
  t3: i64;
  t4: i64;
  t5: i64;
  t6: i64;
  t7: i64;
}

export function timersReset(t: TimerTable): void {
  let p = changetype<usize>(t);
  for (let k = 0; k < <i32>TimerKind.COUNT; k++) store<i64>(p + (<usize>k << 3), NEVER);
}

export function timerSet(t: TimerTable, kind: TimerKind, atUs: i64): void {
  if (<u32>kind >= <u32>TimerKind.COUNT) return;
  store<i64>(changetype<usize>(t) + (<usize>kind << 3), atUs);
}

export function timerClear(t: TimerTable, kind: TimerKind): void {
  timerSet(t, kind, NEVER);
}

export function timerGet(t: TimerTable, kind: TimerKind): i64 {
  if (<u32>kind >= <u32>TimerKind.COUNT) return NEVER;
  return load<i64>(changetype<usize>(t) + (<usize>kind << 3));
}

export function timersEarliest(t: TimerTable): i64 {
  let a = t.t0 < t.t1 ? t.t0 : t.t1;
  let b = t.t2 < t.t3 ? t.t2 : t.t3;
  let c = t.t4 < t.t5 ? t.t4 : t.t5;
  let d = t.t6 < t.t7 ? t.t6 : t.t7;
  a = a < b ? a : b;
  c = c < d ? c : d;
  return a < c ? a : c;
}

/** The kind whose deadline is earliest (the lowest kind on ties), or -1 when none is armed. */
export function timersEarliestKind(t: TimerTable): i32 {
  let best: i32 = -1;
  let at = NEVER;
  let p = changetype<usize>(t);
  for (let k = 0; k < <i32>TimerKind.COUNT; k++) {
    let d = load<i64>(p + (<usize>k << 3));
    if (d < at) {
      at = d;
      best = k;
    }
  }
  return best;
}

// The heap: parallel arrays of deadlines (i64) and slots (u32); pos[slot] = heap index + 1, 0 = absent.
let heapDeadline: usize = 0;
let heapSlot: usize = 0;
let slotPos: usize = 0;
let capacity: u32 = 0;
let size: u32 = 0;

// @ts-ignore: decorator
@inline function deadlineAt(i: u32): i64 {
  return load<i64>(heapDeadline + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function slotAt(i: u32): u32 {
  return load<u32>(heapSlot + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline function place(i: u32, deadline: i64, slot: u32): void {
  store<i64>(heapDeadline + (<usize>i << 3), deadline);
  store<u32>(heapSlot + (<usize>i << 2), slot);
  store<u32>(slotPos + (<usize>slot << 2), i + 1);
}

function siftUp(i: u32, deadline: i64, slot: u32): void {
  while (i > 0) {
    let parent = (i - 1) >> 1;
    let pd = deadlineAt(parent);
    if (pd <= deadline) break;
    place(i, pd, slotAt(parent));
    i = parent;
  }
  place(i, deadline, slot);
}

function siftDown(i: u32, deadline: i64, slot: u32): void {
  while (true) {
    let child = i * 2 + 1;
    if (child >= size) break;
    let cd = deadlineAt(child);
    if (child + 1 < size) {
      let rd = deadlineAt(child + 1);
      if (rd < cd) {
        child++;
        cd = rd;
      }
    }
    if (cd >= deadline) break;
    place(i, cd, slotAt(child));
    i = child;
  }
  place(i, deadline, slot);
}

function tqFree(): void {
  if (capacity != 0) {
    poolFree(heapDeadline, <usize>capacity << 3);
    poolFree(heapSlot, <usize>capacity << 2);
    poolFree(slotPos, <usize>capacity << 2);
  }
  heapDeadline = 0;
  heapSlot = 0;
  slotPos = 0;
  capacity = 0;
  size = 0;
}

/** Allocates the queue for slots 0..maxSlots-1 (again: frees the old one and starts empty). */
export function tqInit(maxSlots: u32): bool {
  tqFree();
  if (maxSlots == 0 || maxSlots > (1 << 24)) return false;
  let d = poolAlloc(<usize>maxSlots << 3);
  let s = poolAlloc(<usize>maxSlots << 2);
  let p = poolAlloc(<usize>maxSlots << 2);
  if (d == 0 || s == 0 || p == 0) {
    poolFree(d, <usize>maxSlots << 3);
    poolFree(s, <usize>maxSlots << 2);
    poolFree(p, <usize>maxSlots << 2);
    return false;
  }
  heapDeadline = d;
  heapSlot = s;
  slotPos = p;
  capacity = maxSlots;
  return true;
}

/**
 * Raises the capacity to at least `slots`, keeping every queued deadline: the arrays are copied into
 * bigger ones. False (the queue unchanged) when the pool refuses.
 */
export function tqReserve(slots: u32): bool {
  if (slots <= capacity) return true;
  if (slots > (1 << 24)) return false;
  let d = poolAlloc(<usize>slots << 3);
  let s = poolAlloc(<usize>slots << 2);
  let p = poolAlloc(<usize>slots << 2);
  if (d == 0 || s == 0 || p == 0) {
    poolFree(d, <usize>slots << 3);
    poolFree(s, <usize>slots << 2);
    poolFree(p, <usize>slots << 2);
    return false;
  }
  if (capacity != 0) {
    memory.copy(d, heapDeadline, <usize>size << 3);
    memory.copy(s, heapSlot, <usize>size << 2);
    memory.copy(p, slotPos, <usize>capacity << 2);
    poolFree(heapDeadline, <usize>capacity << 3);
    poolFree(heapSlot, <usize>capacity << 2);
    poolFree(slotPos, <usize>capacity << 2);
  }
  heapDeadline = d;
  heapSlot = s;
  slotPos = p;
  capacity = slots;
  return true;
}

/** Pool bytes the queue holds now: a deadline, a slot and a position per slot of capacity. */
export function tqBytes(): usize {
  return <usize>capacity * 16;
}

/** Frees the queue (engine teardown). */
export function tqRelease(): void {
  tqFree();
}

export function tqSet(slot: u32, deadlineUs: i64): void {
  if (DEBUG) assert(slot < capacity, "timers: slot beyond the queue's capacity");
  if (slot >= capacity) return;
  if (deadlineUs == NEVER) {
    tqRemove(slot);
    return;
  }
  let pos = load<u32>(slotPos + (<usize>slot << 2));
  if (pos == 0) {
    siftUp(size++, deadlineUs, slot);
    return;
  }
  let i = pos - 1;
  if (deadlineUs < deadlineAt(i)) siftUp(i, deadlineUs, slot);
  else siftDown(i, deadlineUs, slot);
}

export function tqRemove(slot: u32): void {
  if (slot >= capacity) return;
  let pos = load<u32>(slotPos + (<usize>slot << 2));
  if (pos == 0) return;
  let i = pos - 1;
  store<u32>(slotPos + (<usize>slot << 2), 0);
  size--;
  if (i == size) return;
  // Fill the hole with the last entry and restore the heap order in whichever direction it broke.
  let lastDeadline = deadlineAt(size);
  let lastSlot = slotAt(size);
  if (i > 0 && lastDeadline < deadlineAt((i - 1) >> 1)) siftUp(i, lastDeadline, lastSlot);
  else siftDown(i, lastDeadline, lastSlot);
}

/** The deadline the queue holds for `slot`, NEVER when it is not queued. */
export function tqGet(slot: u32): i64 {
  if (slot >= capacity) return NEVER;
  let pos = load<u32>(slotPos + (<usize>slot << 2));
  return pos == 0 ? NEVER : deadlineAt(pos - 1);
}

export function tqSize(): u32 {
  return size;
}

export function tqNextDeadline(): i64 {
  return size == 0 ? NEVER : deadlineAt(0);
}

export function tqPopExpired(nowUs: i64): i32 {
  if (size == 0 || deadlineAt(0) > nowUs) return -1;
  let slot = slotAt(0);
  tqRemove(slot);
  return <i32>slot;
}

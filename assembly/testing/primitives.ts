// Numeric wrappers over assembly/engine/ for the tests (test/engine-primitives.test.ts, test/prim-*.test.ts).
// Structs are placed in pool memory and handed to the host as addresses.
import { poolAlloc, poolFree, poolBytesInUse, poolBlocksInUse, poolSetLimit } from "../engine/pool";
import {
  Ring, ringSetCapacity, ringEnsure, ringRelease, ringSpace, ringWritePtr, ringWriteContig, ringCommit,
  ringReadPtr, ringReadContig, ringConsume, ringCopyOut, ringCopyIn,
} from "../engine/ring";
import { rngSeed, rngNext, rngBelow } from "../engine/rng";

export function tPoolAlloc(size: u32): usize { return poolAlloc(size); }
export function tPoolFree(ptr: usize, size: u32): void { poolFree(ptr, size); }
export function tPoolBytesInUse(): f64 { return <f64>poolBytesInUse(); }
export function tPoolBlocksInUse(): u32 { return poolBlocksInUse(); }
export function tPoolSetLimit(maxBytes: f64): void { poolSetLimit(maxBytes < 0 ? u64.MAX_VALUE : <u64>maxBytes); }
export function tHeapPages(): i32 { return memory.size(); }

export function tRingNew(): usize { return poolAlloc(offsetof<Ring>()); }
export function tRingDelete(r: usize): void {
  ringRelease(changetype<Ring>(r));
  poolFree(r, offsetof<Ring>());
}
export function tRingSetCapacity(r: usize, bytes: u32): void { ringSetCapacity(changetype<Ring>(r), bytes); }
export function tRingEnsure(r: usize): bool { return ringEnsure(changetype<Ring>(r)); }
export function tRingRelease(r: usize): void { ringRelease(changetype<Ring>(r)); }
export function tRingCap(r: usize): u32 { return changetype<Ring>(r).cap; }
export function tRingLen(r: usize): u32 { return changetype<Ring>(r).len; }
export function tRingBuf(r: usize): usize { return changetype<Ring>(r).buf; }
export function tRingSpace(r: usize): u32 { return ringSpace(changetype<Ring>(r)); }
export function tRingWritePtr(r: usize): usize { return ringWritePtr(changetype<Ring>(r)); }
export function tRingWriteContig(r: usize): u32 { return ringWriteContig(changetype<Ring>(r)); }
export function tRingCommit(r: usize, n: u32): void { ringCommit(changetype<Ring>(r), n); }
export function tRingReadPtr(r: usize): usize { return ringReadPtr(changetype<Ring>(r)); }
export function tRingReadContig(r: usize): u32 { return ringReadContig(changetype<Ring>(r)); }
export function tRingConsume(r: usize, n: u32): void { ringConsume(changetype<Ring>(r), n); }
export function tRingCopyOut(r: usize, offset: u32, dst: usize, n: u32): void { ringCopyOut(changetype<Ring>(r), offset, dst, n); }
export function tRingCopyIn(r: usize, offset: u32, src: usize, n: u32): void { ringCopyIn(changetype<Ring>(r), offset, src, n); }

export function tRngSeed(a: u32, b: u32, c: u32, d: u32): void { rngSeed(a, b, c, d); }
export function tRngNext(): u32 { return rngNext(); }
export function tRngBelow(n: u32): u32 { return rngBelow(n); }

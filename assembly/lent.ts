// Regions of linear memory lent to the host's wire helpers (loadWire().buffer, src/core/wire-buffers.ts):
// the host writes packets straight into them and passes their addresses to the numeric exports
// (onesSum, wireParse), so no copy stands between a caller's bytes and the code that reads them.
//
// An engine instance never calls these. Blocks come from the same TLSF heap as everything else; the
// host keeps the list of live blocks and refuses addresses outside them, so nothing here re-checks.

import { heapCanAlloc } from "./engine/pool";

/**
 * A zero-filled block of `len` bytes (16-byte aligned), or 0 when the heap cannot grow to hold it:
 * refused up front, since TLSF traps when memory.grow fails. May grow linear memory, which detaches
 * every view the host holds of it.
 */
export function lentAlloc(len: u32): usize {
  const size = <usize>max<u32>(len, 1);
  if (!heapCanAlloc(size)) return 0;
  const ptr = heap.alloc(size);
  memory.fill(ptr, 0, size);
  return ptr;
}

/** Gives back a block lentAlloc returned; the host guarantees it is live and freed once. */
export function lentFree(ptr: usize): void {
  heap.free(ptr);
}

// A region of linear memory for the stateless helpers (checksum, parse, encode of one packet or a
// batch): the host copies bytes in at scratchPtr() and calls a numeric export on them.
//
// Taken from the heap on the first scratchPtr() call, not reserved as static data: an engine instance
// never uses it, and 1 MiB of static data would be most of an idle engine's memory.
// The first call may grow linear memory, so the host takes its memory views after it; the region
// never moves afterwards.
export const SCRATCH_SIZE: u32 = 1 << 20;
let scratch: usize = 0;

export function scratchPtr(): usize {
  if (scratch == 0) scratch = heap.alloc(SCRATCH_SIZE);
  return scratch;
}

export function scratchSize(): u32 {
  return SCRATCH_SIZE;
}

// A static region of linear memory for the stateless helpers (checksum, parse, encode of one packet
// or a batch): the host copies bytes in at scratchPtr() and calls a numeric export on them. Static
// data, so it exists before any allocation and never moves.
export const SCRATCH_SIZE: u32 = 1 << 20;
const scratch = memory.data(SCRATCH_SIZE, 16);

export function scratchPtr(): usize {
  return scratch;
}

export function scratchSize(): u32 {
  return SCRATCH_SIZE;
}

// Which build this is, as bits the host can read (bit 0: debug, bit 1: SIMD).
export function buildFlags(): u32 {
  let flags: u32 = 0;
  if (DEBUG) flags |= 1;
  if (ASC_FEATURE_SIMD) flags |= 2;
  return flags;
}

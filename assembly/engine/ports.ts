// Ephemeral ports, RFC 6056 section 3.3.1 (simple port randomisation): a random start in the range,
// then the next ports in turn until the full 4-tuple is free and no listener holds the port; at most
// (hi - lo + 1) probes. A 4-tuple in compact TIME-WAIT (timewait.ts) is taken only when no free one
// is left (the first such port met), and the caller then reuses it (RFC 6191).
import { FlowKey } from "../wire/flowkey";
import { rngBelow } from "./rng";
import { tableLookup, listenerLookup } from "./table";
import { twLookup } from "./timewait";

let ephemeralLo: u32 = 49152;
let ephemeralHi: u32 = 65535;

export function ephemeralRange(lo: u32, hi: u32): void {
  if (lo == 0 || lo > hi || hi > 65535) return;
  ephemeralLo = lo;
  ephemeralHi = hi;
}

/**
 * Sets key.localPort to a free ephemeral port and returns it; else to the first port whose 4-tuple is
 * in TIME-WAIT and returns that; -1 (key unchanged) when every port is taken.
 */
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

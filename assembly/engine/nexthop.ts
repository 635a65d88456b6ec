// Connections seen from the neighbour cache, through their next hop. A next hop that failed
// resolution (RFC 4861 7.3.3, RFC 1122 2.3.2.1) is reported to them: one in SYN-SENT ends with
// EHOSTUNREACH (the SYN has nowhere to go), one in a synchronized state records a soft error (RFC
// 1122 4.2.3.9: host unreachable is not fatal) that a later timeout reports instead of ETIMEDOUT. And
// their forward progress (an ACK that advanced SND.UNA) is the upper-layer hint that the next hop is
// reachable (RFC 4861 7.3.1), so an entry in use does not start probing. Both are asked only when an
// entry's timer runs out (seconds apart per neighbour), so the connection slots are scanned.
import { State, Life, tcbAtSlot, tcbKey, slotCapacity, isSynchronized } from "./tcb";
import { connectionDone } from "./conn";
import { Outcome } from "./errors";
import { routeLookup, isOnLink, ifaceAt } from "./iface";

/** The next hop (a, b) of interface `ifIndex` failed resolution (never answered, or stopped answering probes). */
export function neighbourUnreachable(ifIndex: u32, version: u32, a: u64, b: u64): void {
  const n = slotCapacity();
  for (let s: u32 = 0; s < n; s++) {
    const t = tcbAtSlot(s);
    if (t == null) continue;
    const key = tcbKey(t);
    if (key.ipVersion != version || !usesNextHop(key.remoteA, key.remoteB, ifIndex, version, a, b)) continue;
    if (t.state == State.SYN_SENT) connectionDone(t, Outcome.HOST_UNREACHABLE);
    else if (isSynchronized(t.state)) t.life |= Life.SOFT_UNREACHABLE;
  }
}

/** Whether a packet to (ra, rb) leaves through interface `ifIndex` towards next hop (a, b). */
function usesNextHop(ra: u64, rb: u64, ifIndex: u32, version: u32, a: u64, b: u64): bool {
  if (routeLookup(version, ra, rb) != <i32>ifIndex) return false;
  if (isOnLink(ifIndex, version, ra, rb)) return ra == a && rb == b;
  const f = ifaceAt(ifIndex);
  return version == 4 ? <u64>f.gw4 == a : f.gw6A == a && f.gw6B == b;
}

/** Whether a connection through next hop (a, b) of interface `ifIndex` made forward progress at or after `sinceUs`. */
export function progressSince(ifIndex: u32, version: u32, a: u64, b: u64, sinceUs: i64): bool {
  const n = slotCapacity();
  for (let s: u32 = 0; s < n; s++) {
    const t = tcbAtSlot(s);
    if (t == null || t.progressUs < sinceUs || !isSynchronized(t.state)) continue;
    const key = tcbKey(t);
    if (key.ipVersion == version && usesNextHop(key.remoteA, key.remoteB, ifIndex, version, a, b)) return true;
  }
  return false;
}

// The connection table (4-tuple -> connection slot), the listener table, and the per-port listener
// counts the bind rules read.
//
// Contract
// - O(1) lookup for IPv4 and IPv6: three hash tables (hashtab.ts: open addressing, at most MAX_PROBE
//   buckets per lookup) that grow with use up to the bucket count their limit needs (tableInit's
//   maxConnections, MAX_LISTENERS). Inserts happen when a connection or listener is created, never per
//   segment; an insert fails like a full table when the limit is reached or the pool refuses (the
//   caller reports ENOBUFS). tableInit may be called again: it frees the old tables and starts empty.
// - The bucket hash is SipHash-1-3 under a key derived from the host secret (secret.ts): a peer
//   choosing ports and addresses cannot aim collisions at one bucket chain. flowHash, the hash of a
//   4-tuple, serves the connection table and the TIME-WAIT index (timewait.ts) and remembers its last
//   key: a segment's tuple missed in one is looked up in the other, a connect looks its tuple up and
//   then inserts it, a FIN's lookup is followed by the removal of its connection, each pair hashing
//   once.
// - Addresses are FlowKey's (wire/flowkey.ts), as Segment carries them.
// - Listeners: one per (ipVersion, local address, port), the address specific or the wildcard
//   (A = B = 0); listenerLookup prefers the specific address. listenerAdd fails (EADDRINUSE) when the
//   same address is taken, when a wildcard listener holds the port, or when a wildcard is added over
//   a port that has a specific listener (the bind rules of node:net without SO_REUSEPORT). That last
//   rule reads a count of listeners per (IP version, port), kept in a third table. Connections are
//   not counted: a port's connections never stop a listener (node:net sets SO_REUSEADDR), and an
//   ephemeral port or an explicit local port needs only its 4-tuple free (ports.ts, tableLookup).
import { FlowKey, flowKeyBytes, flowHashInput, FLOW_KEY_BYTES, FLOW_HASH_INPUT_BYTES } from "../wire/flowkey";
import { sipHash13 } from "./siphash";
import { tableKey0, tableKey1 } from "./secret";
import { HashTab, tabAlloc, tabFree, tabFind, tabInsert, tabDelete, tabValue, tabSetValue, tabBytes } from "./hashtab";

export const MAX_LISTENERS: u32 = 1024;

const tabs = memory.data(3 * offsetof<HashTab>(), 8);
const conns = changetype<HashTab>(tabs);
const listeners = changetype<HashTab>(tabs + offsetof<HashTab>());
// Listeners per (IP version, port), any address: keyed as a wildcard address with the port.
const listenersOnPort = changetype<HashTab>(tabs + 2 * offsetof<HashTab>());
const probeKey = memory.data(<i32>FLOW_KEY_BYTES, 8);
// Listeners bound to a specific address: while there are none, listenerLookup asks only for the
// wildcard, and a host with no listener at all (a client) hashes nothing to find none.
let specificListeners: u32 = 0;
// flowHash's last key (flowKeyBytes form) and its hash; invalid until the first hash after tableInit.
const hashedKey = memory.data(<i32>FLOW_KEY_BYTES, 8);
let hashedValue: u32 = 0;
let hashedValid = false;

// The bucket hash's input (flowHashInput: an IPv4 4-tuple's 16 meaningful bytes, packed).
const hashInput = memory.data(<i32>FLOW_HASH_INPUT_BYTES, 8);

// @ts-ignore: decorator
@inline function keyHash(key: usize): u32 {
  return <u32>sipHash13(tableKey0(), tableKey1(), hashInput, flowHashInput(key, hashInput));
}

/** The bucket hash of the 4-tuple whose flowKeyBytes are at `key` (connection table, TIME-WAIT index). */
export function flowHash(key: usize): u32 {
  if (hashedValid && load<u64>(key) == load<u64>(hashedKey) && load<u64>(key, 8) == load<u64>(hashedKey, 8) &&
    load<u64>(key, 16) == load<u64>(hashedKey, 16) && load<u64>(key, 24) == load<u64>(hashedKey, 24) &&
    load<u64>(key, 32) == load<u64>(hashedKey, 32)) return hashedValue;
  const h = keyHash(key);
  store<u64>(hashedKey, load<u64>(key));
  store<u64>(hashedKey, load<u64>(key, 8), 8);
  store<u64>(hashedKey, load<u64>(key, 16), 16);
  store<u64>(hashedKey, load<u64>(key, 24), 24);
  store<u64>(hashedKey, load<u64>(key, 32), 32);
  hashedValue = h;
  hashedValid = true;
  return h;
}

function stageAddress(version: u32, a: u64, b: u64, port: u32): void {
  store<u64>(probeKey, a);
  store<u64>(probeKey, b, 8);
  store<u64>(probeKey, 0, 16);
  store<u64>(probeKey, 0, 24);
  store<u32>(probeKey, (port & 0xffff) << 16, 32);
  store<u32>(probeKey, version, 36);
}

/** Adds delta (+1 / -1) to the listener count of (ipVersion, port); false only when a new count cannot be stored. */
function portListenersAdd(ipVersion: u32, port: u32, delta: i32): bool {
  stageAddress(ipVersion, 0, 0, port);
  let h = keyHash(probeKey);
  let e = tabFind(listenersOnPort, probeKey, h);
  if (e == 0) {
    if (DEBUG) assert(delta > 0, "table: listener count below zero");
    return delta > 0 ? tabInsert(listenersOnPort, probeKey, h, <u32>delta) : true;
  }
  let n = <i32>tabValue(e) + delta;
  if (n <= 0) tabDelete(listenersOnPort, e);
  else tabSetValue(e, <u32>n);
  return true;
}

function portListeners(ipVersion: u32, port: u32): u32 {
  stageAddress(ipVersion, 0, 0, port);
  let e = tabFind(listenersOnPort, probeKey, keyHash(probeKey));
  return e == 0 ? 0 : tabValue(e);
}

export function tableInit(maxConnections: u32): bool {
  specificListeners = 0;
  // The key may have changed (secretSet runs first).
  hashedValid = false;
  tabFree(conns);
  tabFree(listeners);
  tabFree(listenersOnPort);
  if (maxConnections == 0 || maxConnections > (1 << 24)) return false;
  if (tabAlloc(conns, maxConnections) && tabAlloc(listeners, MAX_LISTENERS) &&
      tabAlloc(listenersOnPort, MAX_LISTENERS)) return true;
  tabFree(conns);
  tabFree(listeners);
  tabFree(listenersOnPort);
  return false;
}

/** Frees the tables (engine teardown; the heap-accounting tests need it). */
export function tableRelease(): void {
  specificListeners = 0;
  tabFree(conns);
  tabFree(listeners);
  tabFree(listenersOnPort);
}

export function tableInsert(key: FlowKey, slot: u32): bool {
  if (key.ipVersion == 0) return false;
  flowKeyBytes(key, probeKey);
  let h = flowHash(probeKey);
  if (tabFind(conns, probeKey, h) != 0) return false;
  return tabInsert(conns, probeKey, h, slot);
}

export function tableLookup(key: FlowKey): i32 {
  flowKeyBytes(key, probeKey);
  let e = tabFind(conns, probeKey, flowHash(probeKey));
  return e == 0 ? -1 : <i32>tabValue(e);
}

export function tableRemove(key: FlowKey): bool {
  flowKeyBytes(key, probeKey);
  let e = tabFind(conns, probeKey, flowHash(probeKey));
  if (e == 0) return false;
  tabDelete(conns, e);
  return true;
}

export function tableCount(): u32 {
  return conns.count;
}

/** Pool bytes the three tables hold now (they grow with use and never shrink). */
export function tableBytes(): usize {
  return tabBytes(conns) + tabBytes(listeners) + tabBytes(listenersOnPort);
}

function listenerFind(ipVersion: u32, localA: u64, localB: u64, port: u32): usize {
  stageAddress(ipVersion, localA, localB, port);
  return tabFind(listeners, probeKey, keyHash(probeKey));
}

/** Whether a listener on (ipVersion, address, port) would break the bind rules (EADDRINUSE). */
export function listenerConflict(ipVersion: u32, localA: u64, localB: u64, port: u32): bool {
  if (listenerFind(ipVersion, localA, localB, port) != 0) return true;
  if ((localA | localB) != 0) return listenerFind(ipVersion, 0, 0, port) != 0;
  return portListeners(ipVersion, port) != 0;
}

/** Adds a listener; false on a conflict (listenerConflict) or when the tables are full. */
export function listenerAdd(ipVersion: u32, localA: u64, localB: u64, port: u32, listenerSlot: u32): bool {
  if (ipVersion == 0 || listenerConflict(ipVersion, localA, localB, port)) return false;
  stageAddress(ipVersion, localA, localB, port);
  if (!tabInsert(listeners, probeKey, keyHash(probeKey), listenerSlot)) return false;
  // The count table has room for a count per listener, but growing it may find the pool empty.
  if (portListenersAdd(ipVersion, port, 1)) {
    if ((localA | localB) != 0) specificListeners++;
    return true;
  }
  tabDelete(listeners, listenerFind(ipVersion, localA, localB, port));
  return false;
}

export function listenerRemove(ipVersion: u32, localA: u64, localB: u64, port: u32): bool {
  let e = listenerFind(ipVersion, localA, localB, port);
  if (e == 0) return false;
  tabDelete(listeners, e);
  if ((localA | localB) != 0) specificListeners--;
  portListenersAdd(ipVersion, port, -1);
  return true;
}

export function listenerLookup(ipVersion: u32, localA: u64, localB: u64, port: u32): i32 {
  if (listeners.count == 0) return -1;
  let e: usize = 0;
  if (specificListeners != 0 || (localA | localB) == 0) e = listenerFind(ipVersion, localA, localB, port);
  if (e == 0 && (localA | localB) != 0) e = listenerFind(ipVersion, 0, 0, port);
  return e == 0 ? -1 : <i32>tabValue(e);
}

export function listenerCount(): u32 {
  return listeners.count;
}

// The UDP port table: bound sockets (RFC 768 "ports"), their addresses, and which one a datagram is
// for.
//
// Contract
// - A fixed array of config.udpSockets entries, taken from the heap on the first bind (an engine that
//   never speaks UDP pays nothing) and never grown; a bind past it gets ENOBUFS. Buckets chain the
//   entries by local port, so a lookup walks only the sockets on that port.
// - An entry is one IP version. Its local address is one of ours or zero (any address of that version,
//   the wildcard). Its remote address and port are zero until udpConnect: a connected socket takes
//   datagrams from that peer only.
// - Ids are (generation << 16) | (slot + 1), never 0; a stale id (its socket closed) gets EBADF.
// - Binding the same port twice is EADDRINUSE when the addresses overlap (equal, or either is the
//   wildcard), unless both sockets asked to share it (SO_REUSEADDR, as multicast and DHCP servers use).
// - Port 0 picks an ephemeral port (RFC 6056 3.3.1: a random start in config's range, then the next
//   ports in turn until one is free).
import { Err } from "./errors";
import { rngBelow } from "./rng";
import { heapCanAlloc } from "./pool";
import * as config from "./config";

@unmanaged export class UdpSock {
  /** The slot's generation: bumped when the socket closes, so old ids stop matching. */
  gen: u32;
  flags: u32;
  version: u32;
  localPort: u32;
  remotePort: u32;
  /** The next entry in this port's bucket, -1 at the end. */
  next: i32;
  pad0: u32;
  pad1: u32;
  localA: u64;
  localB: u64;
  remoteA: u64;
  remoteB: u64;
}

export const enum SockFlag {
  IN_USE = 1,
  REUSE = 2,
  CONNECTED = 4,
}

/** The most sockets the id format holds (16 bits of slot). */
export const UDP_SOCKETS_MAX: u32 = 65535;

const SOCK_SIZE: usize = offsetof<UdpSock>();

let socks: usize = 0;
let capacity: u32 = 0;
let buckets: usize = 0;
let bucketMask: u32 = 0;
let live: u32 = 0;

/** Allocates the table on first use; false when memory cannot hold it. */
function ensureTable(): bool {
  if (socks != 0) return true;
  const n = config.udpSockets;
  let nb: u32 = 16;
  while (nb < n) nb <<= 1;
  const bytes = <usize>n * SOCK_SIZE + (<usize>nb << 2);
  if (!heapCanAlloc(bytes)) return false;
  socks = heap.alloc(<usize>n * SOCK_SIZE);
  memory.fill(socks, 0, <usize>n * SOCK_SIZE);
  buckets = heap.alloc(<usize>nb << 2);
  memory.fill(buckets, 0xff, <usize>nb << 2);
  capacity = n;
  bucketMask = nb - 1;
  return true;
}

@inline export function sockAt(slot: u32): UdpSock {
  return changetype<UdpSock>(socks + <usize>slot * SOCK_SIZE);
}

@inline function bucketOf(port: u32): usize {
  // Ports are dense and often sequential: a multiplicative hash spreads them over the buckets.
  return buckets + (<usize>((port * 0x9e3779b1) >>> 16 & bucketMask) << 2);
}

/** The first entry on `port`'s bucket chain (-1: none); walk it with UdpSock.next. */
@inline export function bucketHead(port: u32): i32 {
  if (socks == 0) return -1;
  return load<i32>(bucketOf(port));
}

@inline export function sockId(slot: u32): u32 {
  return (sockAt(slot).gen << 16) | (slot + 1);
}

/** The socket `id` names, or null when the id is stale or was never issued. */
export function sockFromId(id: u32): UdpSock | null {
  const slot = (id & 0xffff) - 1;
  if (socks == 0 || slot >= capacity) return null;
  const s = sockAt(slot);
  if ((s.flags & SockFlag.IN_USE) == 0 || s.gen != id >>> 16) return null;
  return s;
}

export function udpLiveSockets(): u32 {
  return live;
}

/** Whether a socket with `flags` may share `port` with the entries already on it. */
function portFree(version: u32, a: u64, b: u64, port: u32, reuse: bool): bool {
  let i = bucketHead(port);
  while (i >= 0) {
    const s = sockAt(<u32>i);
    if (s.localPort == port && s.version == version) {
      const overlap = (s.localA | s.localB) == 0 || (a | b) == 0 || (s.localA == a && s.localB == b);
      if (overlap && !(reuse && (s.flags & SockFlag.REUSE) != 0)) return false;
    }
    i = s.next;
  }
  return true;
}

/**
 * Binds a socket of `version` to address (a, b) (zero: any) and `port` (0: ephemeral). Returns its id,
 * or -EADDRINUSE, -EADDRNOTAVAIL (no ephemeral port free), -ENOBUFS (table full or no memory).
 */
export function sockBind(version: u32, a: u64, b: u64, port: u32, reuse: bool): i32 {
  if (version != 4 && version != 6) return -Err.EINVAL;
  if (!ensureTable()) return -Err.ENOBUFS;
  if (live >= capacity) return -Err.ENOBUFS;
  if (port == 0) {
    // RFC 6056 3.3.1: a random start, then the next ports; never a shared port for an ephemeral bind.
    const lo = config.ephemeralLow;
    const n = config.ephemeralHigh - lo + 1;
    const first = rngBelow(n);
    let found: u32 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const candidate = lo + (first + i) % n;
      if (portFree(version, a, b, candidate, false)) {
        found = candidate;
        break;
      }
    }
    if (found == 0) return -Err.EADDRNOTAVAIL;
    port = found;
  } else if (port > 65535) {
    return -Err.EINVAL;
  } else if (!portFree(version, a, b, port, reuse)) {
    return -Err.EADDRINUSE;
  }
  let slot: u32 = 0;
  while ((sockAt(slot).flags & SockFlag.IN_USE) != 0) slot++;
  const s = sockAt(slot);
  const gen = s.gen;
  memory.fill(changetype<usize>(s), 0, SOCK_SIZE);
  s.gen = gen == 0 ? 1 : gen;
  s.flags = SockFlag.IN_USE | (reuse ? SockFlag.REUSE : 0);
  s.version = version;
  s.localA = a;
  s.localB = b;
  s.localPort = port;
  const head = bucketOf(port);
  s.next = load<i32>(head);
  store<i32>(head, <i32>slot);
  live++;
  return <i32>sockId(slot);
}

/** Sets (port != 0) or clears (port 0) the socket's peer; returns 0 or -EBADF. */
export function sockConnect(id: u32, a: u64, b: u64, port: u32): i32 {
  const s = sockFromId(id);
  if (s == null) return -Err.EBADF;
  if (port > 65535) return -Err.EINVAL;
  s.remoteA = port == 0 ? 0 : a;
  s.remoteB = port == 0 ? 0 : b;
  s.remotePort = port;
  if (port == 0) s.flags &= ~SockFlag.CONNECTED;
  else s.flags |= SockFlag.CONNECTED;
  return 0;
}

/** Frees the socket's slot and port; returns 0 or -EBADF. */
export function sockClose(id: u32): i32 {
  const s = sockFromId(id);
  if (s == null) return -Err.EBADF;
  const slot = (id & 0xffff) - 1;
  let at = bucketOf(s.localPort);
  // Unlink from the bucket chain.
  let i = load<i32>(at);
  while (i >= 0 && <u32>i != slot) {
    at = changetype<usize>(sockAt(<u32>i)) + offsetof<UdpSock>("next");
    i = load<i32>(at);
  }
  if (i >= 0) store<i32>(at, s.next);
  const gen = (s.gen + 1) & 0xffff;
  memory.fill(changetype<usize>(s), 0, SOCK_SIZE);
  s.gen = gen == 0 ? 1 : gen;
  live--;
  return 0;
}

/**
 * The socket a unicast datagram from (srcA, srcB):srcPort to (dstA, dstB):dstPort is for, as a slot, or
 * -1. The most specific wins: a socket connected to that source, then one bound to that address, then
 * the wildcard (the order RFC 1122 4.1.3.4 leaves to the host, as BSD and Linux do it).
 */
export function sockLookup(version: u32, dstA: u64, dstB: u64, dstPort: u32, srcA: u64, srcB: u64, srcPort: u32): i32 {
  let best: i32 = -1;
  let bestScore: i32 = -1;
  let i = bucketHead(dstPort);
  while (i >= 0) {
    const s = sockAt(<u32>i);
    const score = sockScore(s, version, dstA, dstB, dstPort, srcA, srcB, srcPort);
    if (score > bestScore) {
      best = i;
      bestScore = score;
    }
    i = s.next;
  }
  return best;
}

/** How well socket `s` matches a datagram: -1 not at all, else higher is more specific. */
export function sockScore(s: UdpSock, version: u32, dstA: u64, dstB: u64, dstPort: u32, srcA: u64, srcB: u64, srcPort: u32): i32 {
  if (s.localPort != dstPort || s.version != version) return -1;
  let score: i32 = 0;
  if ((s.localA | s.localB) != 0) {
    if (s.localA != dstA || s.localB != dstB) return -1;
    score = 1;
  }
  if ((s.flags & SockFlag.CONNECTED) != 0) {
    if (s.remotePort != srcPort || s.remoteA != srcA || s.remoteB != srcB) return -1;
    score += 2;
  }
  return score;
}

/**
 * The connected socket that sent from (localA, localB):localPort to (remoteA, remoteB):remotePort, as
 * a slot, or -1: whom an ICMP error quoting that datagram concerns.
 */
export function sockSender(version: u32, localA: u64, localB: u64, localPort: u32, remoteA: u64, remoteB: u64, remotePort: u32): i32 {
  let i = bucketHead(localPort);
  while (i >= 0) {
    const s = sockAt(<u32>i);
    if (s.localPort == localPort && s.version == version && (s.flags & SockFlag.CONNECTED) != 0 &&
        s.remotePort == remotePort && s.remoteA == remoteA && s.remoteB == remoteB &&
        ((s.localA | s.localB) == 0 || (s.localA == localA && s.localB == localB))) {
      return i;
    }
    i = s.next;
  }
  return -1;
}

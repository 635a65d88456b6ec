// A TCP connection's 4-tuple (RFC 9293 3.3.1, "the socket pair") as the engine names it: addresses
// are raw network-order bytes loaded with load<u64>, as Segment carries them (IPv6 bytes 0..7 in A,
// 8..15 in B; IPv4 in the low half of A, B = 0), and "local" is our side.
//
// Contract
// - flowKeyBytes writes a key as FLOW_KEY_BYTES bytes: the serial form the hash tables store and
//   compare (and the SYN cookie hash reads, with its own fields after it). Its last word is the IP
//   version, never 0 for a real key, so 0 there can mark an empty bucket.
// - flowHashInput gives the bytes the per-4-tuple keyed hashes read (ISN, timestamp offset, bucket
//   hash): an IPv6 key's 40, an IPv4 key's 16 meaningful ones packed. The packing is one-to-one on
//   IPv4 keys, so a hash of it is a function of the whole 4-tuple, as RFC 6528 3 asks of the ISN's F.
@unmanaged
export class FlowKey {
  ipVersion: u32;
  localA: u64;
  localB: u64;
  remoteA: u64;
  remoteB: u64;
  localPort: u32;
  remotePort: u32;
}

export const FLOW_KEY_BYTES: u32 = 40;
/** Where flowKeyBytes puts the IP version. */
export const FLOW_KEY_VERSION: usize = 36;

/** Writes the 4-tuple as 40 bytes at dst: local address (16), remote address (16), ports, version. */
export function flowKeyBytes(key: FlowKey, dst: usize): void {
  store<u64>(dst, key.localA);
  store<u64>(dst, key.localB, 8);
  store<u64>(dst, key.remoteA, 16);
  store<u64>(dst, key.remoteB, 24);
  store<u32>(dst, ((key.localPort & 0xffff) << 16) | (key.remotePort & 0xffff), 32);
  store<u32>(dst, key.ipVersion, FLOW_KEY_VERSION);
}

/** The longest flowHashInput. */
export const FLOW_HASH_INPUT_BYTES: u32 = FLOW_KEY_BYTES;

/**
 * Writes at `dst` what the keyed hashes read for the key whose flowKeyBytes are at `key`; returns its
 * length. An IPv4 key's 40 bytes are zero but for the two addresses' low halves, the ports and the
 * version: 16 bytes, so the hash of an IPv4 4-tuple takes about two thirds of the SipHash rounds.
 */
export function flowHashInput(key: usize, dst: usize): u32 {
  if (load<u32>(key, FLOW_KEY_VERSION) == 4) {
    store<u64>(dst, <u64>load<u32>(key) | (<u64>load<u32>(key, 16) << 32));
    store<u64>(dst, load<u64>(key, 32), 8);
    return 16;
  }
  memory.copy(dst, key, FLOW_KEY_BYTES);
  return FLOW_KEY_BYTES;
}

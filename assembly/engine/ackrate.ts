// ACK throttling (RFC 5961 7): every ACK a segment provokes without moving the connection forward is
// counted against one budget per connection, config CHALLENGE_ACK_LIMIT per second. That covers
// challenge ACKs (RFC 5961 3.2, 4.2), the ACK for a segment outside the window (RFC 9293 3.10.7.4 first
// check), for a PAWS-stale one (RFC 7323 5.3), for an unacceptable ACK (RFC 5961 5.2), and the same
// answers of a connection in compact TIME-WAIT (timewait.ts). Otherwise a peer (or a blind attacker)
// gets one segment out for every segment in, as fast as it can send.
//
// The budget is per connection, never shared between connections: a global counter is a side channel
// telling an off-path attacker when its guess hit a connection (CVE-2016-5696).
//
// A limiter is 12 bytes anywhere in memory: i64 start of the current one-second window at +0, u32 ACKs
// sent in it at +8 (Tcb.ackLimitWindowUs / ackLimitCount; timewait.ts records).
import * as config from "./config";

const WINDOW_US: i64 = 1_000_000;

/** Takes one ACK from the limiter at `p`; false when this second's budget is spent. */
export function ackAllowed(p: usize, nowUs: i64): bool {
  if (nowUs - load<i64>(p) >= WINDOW_US) {
    store<i64>(p, nowUs);
    store<u32>(p, 0, 8);
  }
  const sent = load<u32>(p, 8);
  if (sent >= config.challengeAckLimit) return false;
  store<u32>(p, sent + 1, 8);
  return true;
}

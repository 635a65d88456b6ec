// Error codes the engine returns and reports in events: small stable integers. The host maps each to
// a Node-style code once, in src/errors.ts (STYLE.md rule 10). Never renumber; only append.
// Functions that return a connection id or a byte count return the negated code on failure.
export const enum Err {
  OK = 0,
  /** The peer answered our SYN with RST (RFC 9293 3.10.7.3), or a port was closed. */
  ECONNREFUSED = 1,
  /** The peer reset a synchronized connection (RFC 9293 3.10.7.4, second check). */
  ECONNRESET = 2,
  /** SYN retries, data retransmissions, keepalive probes, persist time or the user timeout ran out. */
  ETIMEDOUT = 3,
  /** The local port (or 4-tuple) is taken. */
  EADDRINUSE = 4,
  /** No ephemeral port is free, or the address given is unusable (all zero). */
  EADDRNOTAVAIL = 5,
  /** A bound was reached: connection slots, memory for a ring or a TCB. */
  ENOBUFS = 6,
  /** The call needs a connection that is (still) synchronized. */
  ENOTCONN = 7,
  /** SEND after CLOSE (RFC 9293 3.10.2 "connection closing"). */
  EPIPE = 8,
  /** A bad argument (state, option value, IP version). */
  EINVAL = 9,
  /** A stale or unknown connection id: its generation does not match the slot's. */
  EBADF = 10,
  /** OPEN on a connection that is already open (RFC 9293 3.10.1 "connection already exists"). */
  EISCONN = 11,
}

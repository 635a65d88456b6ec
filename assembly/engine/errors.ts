// Error codes the engine returns and reports in events: small stable integers, so that the boundary
// carries numbers only; the host maps each to a Node-style code once, in src/core/errors.ts. Never
// renumber; only append. Functions that return a connection id or a byte count return the negated
// code on failure. How a connection ended (Outcome) maps to its code here too, in outcomeError.
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
  /** The next hop did not answer address resolution (RFC 4861 7.3.3; RFC 1122 2.3.2.1 for ARP). */
  EHOSTUNREACH = 12,
}

/** How a connection ended (conn.ts connectionDone): the event and error the host is told, if any. */
export const enum Outcome {
  /** An orderly end, or one with nothing to report: data already received stays readable. */
  CLOSED = 0,
  /** The host called ABORT (RFC 9293 3.10.5): the queues are flushed, and no event says why. */
  ABORTED = 1,
  /** The peer answered our SYN with RST (RFC 9293 3.10.7.3). */
  REFUSED = 2,
  /** The peer reset a synchronized connection (RFC 9293 3.10.7.4, second check). */
  RESET = 3,
  /** Retries, probes or the user timeout ran out (RFC 9293 3.8.3, RFC 5482). */
  TIMED_OUT = 4,
  /** No memory for what the connection must hold (the receive ring). */
  NO_BUFFERS = 5,
  /** The next hop of a connection in SYN-SENT failed address resolution. */
  HOST_UNREACHABLE = 6,
}

/** The error a connection's end reports: OK for CLOSED and ABORTED, which report none. */
export function outcomeError(o: Outcome): Err {
  switch (o) {
    case Outcome.REFUSED: return Err.ECONNREFUSED;
    case Outcome.RESET: return Err.ECONNRESET;
    case Outcome.TIMED_OUT: return Err.ETIMEDOUT;
    case Outcome.NO_BUFFERS: return Err.ENOBUFS;
    case Outcome.HOST_UNREACHABLE: return Err.EHOSTUNREACH;
    default: return Err.OK;
  }
}

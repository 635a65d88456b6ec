// What the host reports about a connection, for people: each segment in and out and each state
// transition. The engine's event records are decoded into these (src/core/engine.ts); the ladder diagram
// (src/tools/ladder.ts) and user code consume them. Browser-safe.

/** The eleven states, spelled as RFC 9293 spells them. */
export const TCP_STATES = [
  "CLOSED",
  "LISTEN",
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
] as const;
/** A connection state, spelled as RFC 9293 3.3.2 spells it. */
export type TcpState = (typeof TCP_STATES)[number];

/** TCP header flag bits (RFC 9293 3.1; AE from RFC 3540's old NS bit position). */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  AE: 0x100,
} as const;

const FLAG_ORDER: [keyof typeof TcpFlag, number][] = [
  ["SYN", TcpFlag.SYN],
  ["FIN", TcpFlag.FIN],
  ["RST", TcpFlag.RST],
  ["PSH", TcpFlag.PSH],
  ["ACK", TcpFlag.ACK],
  ["URG", TcpFlag.URG],
  ["ECE", TcpFlag.ECE],
  ["CWR", TcpFlag.CWR],
  ["AE", TcpFlag.AE],
];

/** "SYN,ACK" style names, in the order people say them. */
export function flagNames(flags: number): string {
  const names: string[] = [];
  for (const [name, bit] of FLAG_ORDER) if (flags & bit) names.push(name);
  return names.length ? names.join(",") : "none";
}

/** The TCP options of a traced segment, decoded. */
export interface SegmentOptionsTrace {
  /** Maximum segment size offered, bytes (RFC 9293 3.7.1). */
  mss?: number;
  /** Window scale shift offered (RFC 7323 2). */
  wscale?: number;
  /** SACK-permitted (RFC 2018). */
  sackPermitted?: boolean;
  /** Timestamps option: TSval and TSecr (RFC 7323 3). */
  timestamps?: { value: number; echo: number };
  /** SACK blocks as [left, right) sequence numbers (RFC 2018). */
  sack?: [number, number][];
}

/** One segment as one endpoint saw it: sent ("out") or accepted for processing ("in"). */
export interface SegmentTrace {
  /** Marks a segment event. */
  kind: "segment";
  /** Milliseconds, on the clock the host gave the engine. */
  time: number;
  /** Which endpoint recorded it (a name the host chose, e.g. "client"). */
  endpoint: string;
  /** "out": sent; "in": accepted for processing. */
  direction: "in" | "out";
  /** Control bits as on the wire (TcpFlag; flagNames() spells them). */
  flags: number;
  /** Sequence number. */
  seq: number;
  /** Acknowledgment number. */
  ack: number;
  /** Window field as on the wire (unscaled). */
  window: number;
  /** Payload bytes. */
  length: number;
  /** The segment's TCP options, when it carried any. */
  options?: SegmentOptionsTrace;
  /**
   * On an outgoing segment sent again: "repair" for a retransmission that repairs a loss (RTO, RFC 6298
   * 5.4; fast retransmit or SACK recovery, RFC 6675), "probe" for the tail loss probe (RFC 8985 7.3).
   */
  retransmission?: "repair" | "probe";
  /** This side's address and port, "10.0.0.1:49152" or "[fd00::1]:49152", when the segment belongs to a connection. */
  local?: string;
  /** The peer's address and port, when the segment belongs to a connection. */
  remote?: string;
}

/** A trace event: a connection moved from one state to another (RFC 9293 3.3.2). */
export interface StateTrace {
  /** Marks a state event. */
  kind: "state";
  /** Milliseconds, on the clock the host gave the engine. */
  time: number;
  /** Which endpoint recorded it. */
  endpoint: string;
  /** The state left. */
  from: TcpState;
  /** The state entered. */
  to: TcpState;
  /** This side's address and port (as on SegmentTrace). */
  local?: string;
  /** The peer's address and port. */
  remote?: string;
}

/** What StackOptions.trace receives: a segment in or out, or a state transition. */
export type TraceEvent = SegmentTrace | StateTrace;

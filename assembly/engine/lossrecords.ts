// The per-connection records of loss detection and undo, placed inline in the TCB (tcb.ts): RACK's
// variables (RFC 8985 5.1; rack.ts runs them), the undo episode (RFC 3708, RFC 3522; undo.ts) and the
// storage size of the receiver's D-SACK queue (RFC 2883; dsack.ts). They live apart from the code
// that runs them because tcb.ts lays them out and frees them, and that code works on the TCB.
import { poolFree } from "./pool";

/** RFC 8985 5.1 per-connection variables (a zeroed record is a fresh connection). */
@unmanaged
export class Rack {
  /** RACK.xmit_ts and RACK.end_seq of RACK.segment, the most recently sent run known delivered. */
  xmitTs: u32;
  endSeq: u32;
  /** RACK.rtt (microseconds). */
  rttUs: u32;
  /** RACK.min_RTT (microseconds), valid once hasMinRtt. */
  minRttUs: u32;
  /** RACK.fack: one past the highest octet delivered, valid once hasFack. */
  fack: u32;
  /** RACK.dsack_round, valid while dsackRoundSet. */
  dsackRound: u32;
  /** RACK.reo_wnd_mult - 1. */
  reoWndMultExtra: u32;
  /** RACK.reo_wnd_persist. */
  reoWndPersist: u32;
  hasSegment: bool;
  hasMinRtt: bool;
  hasFack: bool;
  dsackRoundSet: bool;
  /** RACK.reordering_seen. */
  reorderingSeen: bool;
  /** A retransmission timeout's recovery runs until SND.UNA passes its recovery point. */
  rtoRecovery: bool;
}

/** An undo episode (undo.ts): the loss response that may still prove spurious. */
@unmanaged
export class Undo {
  /** An episode (a loss response that may still prove spurious) is open. */
  active: bool;
  /** It began with a retransmission timeout (Eifel applies; recovery resumes at SND.MAX on undo). */
  fromRto: bool;
  /** SND.UNA when the episode began: D-SACKs below it belong to earlier ones. */
  marker: u32;
  /** One past the highest octet retransmitted in the episode. */
  high: u32;
  /** Octets retransmitted in the episode and not yet reported as duplicates. */
  rtxBytes: u32;
  /** Our TSval when the episode's first timeout sent data again (RFC 3522). */
  tsVal: u32;
  /** The last D-SACK block counted: a duplicated ACK repeats it. */
  lastLeft: u32;
  lastRight: u32;
  /** The congestion state before the response. */
  cwnd: u32;
  ssthresh: u32;
  wMax: f64;
  cwndPrior: f64;
}

/** D-SACK blocks a connection queues for its ACKs (dsack.ts), 8 bytes each. */
export const MAX_DSACKS: u32 = 16;
export const DSACK_QUEUE_BYTES: usize = <usize>MAX_DSACKS * 8;

/** Gives back a D-SACK queue (0: none was taken). */
export function dsackQueueFree(queue: usize): void {
  poolFree(queue, DSACK_QUEUE_BYTES);
}

// The peer's FIN in order (RFC 9293 3.10.7.4, eighth check), from the state handlers (states.ts) or
// once the data before it has arrived (receive.ts), and the move to TIME-WAIT it or the ACK of our
// FIN may bring. Each returns false when the connection left (and may have been freed).
import { seqGt } from "../wire/seq";
import { Tcb, State, Life, Due, hasFlag } from "./tcb";
import { EventType } from "./events";
import { setState, wantOutput, notify } from "./conn";
import { twEnter } from "./timewait";

/**
 * TIME-WAIT: everything we sent is acknowledged and nothing more will come in order, so the 4-tuple
 * waits out 2 MSL in compact form (timewait.ts) and the TCB leaves the connection table. Returns
 * false: the caller must not touch `t` again (it is freed unless the host holds its id).
 */
export function enterTimeWait(t: Tcb, nowUs: i64): bool {
  setState(t, State.TIME_WAIT);
  twEnter(t, nowUs);
  return false;
}

/** Eighth check: the peer's FIN, in order (RFC 9293 3.10.7.4). */
export function finArrives(t: Tcb, nowUs: i64): bool {
  t.life &= ~Life.RCV_FIN_PENDING;
  t.rcvNxt += 1;
  t.life |= Life.PEER_FIN;
  t.due |= Due.ACK_NOW;
  wantOutput(t);
  notify(t, EventType.PEER_FIN, 0);
  switch (t.state) {
    case State.SYN_RECEIVED:
    case State.ESTABLISHED:
      setState(t, State.CLOSE_WAIT);
      break;
    case State.FIN_WAIT_1:
      if (hasFlag(t.life, Life.FIN_SENT) && seqGt(t.sndUna, t.finSeq)) return enterTimeWait(t, nowUs);
      setState(t, State.CLOSING);
      break;
    case State.FIN_WAIT_2:
      return enterTimeWait(t, nowUs);
    default:
      break;
  }
  return true;
}

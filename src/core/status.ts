// A connection's STATUS record (RFC 9293 3.10.6; layout src/core/boundary.ts STATUS, written by
// assembly/engine/user.ts connStatus) decoded, and its endpoints alone. Browser-safe.
import { CONGESTION_CONTROLS, STATUS } from "./boundary.js";
import type { CongestionControl } from "./settings.js";
import { formatIpv4, formatIpv6 } from "./address.js";
import { TCP_STATES, type TcpState } from "./trace.js";

/** STATUS (RFC 9293 3.10.6) of one connection. */
export interface ConnectionStatus {
  /** The connection's state. */
  state: TcpState;
  /** Initial send sequence number (RFC 9293 3.3.1, ISS). */
  iss: number;
  /** Oldest unacknowledged sequence number (SND.UNA). */
  sndUna: number;
  /** Next sequence number to send (SND.NXT). */
  sndNxt: number;
  /** Highest sequence number sent so far (RFC 6675's HighData + 1); above SND.NXT after a retransmission timeout. */
  sndMax: number;
  /** The peer's window, bytes, scaled (SND.WND). */
  sndWnd: number;
  /** Sequence number of the segment that last updated the window (SND.WL1). */
  sndWl1: number;
  /** Acknowledgment number of the segment that last updated the window (SND.WL2). */
  sndWl2: number;
  /** Largest window the peer has offered, bytes. */
  maxSndWnd: number;
  /** Initial receive sequence number (IRS). */
  irs: number;
  /** Next sequence number expected (RCV.NXT). */
  rcvNxt: number;
  /** Window last advertised to the peer and not yet used, bytes (RCV.WND). */
  rcvWnd: number;
  /** Shift applied to the peer's window field (RFC 7323 2.3, Snd.Wind.Shift). */
  sndShift: number;
  /** Shift applied to our window field (RFC 7323 2.3, Rcv.Wind.Shift). */
  rcvShift: number;
  /** Largest segment payload sent now, bytes (effective send MSS, RFC 9293 3.7.1). */
  sendMss: number;
  /** Congestion window, bytes (RFC 5681). */
  cwnd: number;
  /** Slow-start threshold, bytes (RFC 5681). */
  ssthresh: number;
  /** Segments retransmitted over the connection's life. */
  retransmits: number;
  /** Consecutive retransmission timeouts now (reset by new data acknowledged). */
  timeouts: number;
  /** Bytes in the send buffer: queued and not yet acknowledged. */
  sendQueued: number;
  /** Bytes received in order and not yet read. */
  recvQueued: number;
  /** Bytes received out of order, held for reassembly. */
  oooBytes: number;
  /** Duplicate ACKs counted since the last new acknowledgment (RFC 5681 3.2). */
  dupAcks: number;
  /** Smoothed round-trip time, ms (RFC 6298 SRTT). */
  srttMs: number;
  /** Round-trip time variation, ms (RFC 6298 RTTVAR). */
  rttvarMs: number;
  /** Current retransmission timeout, ms (RFC 6298 RTO). */
  rtoMs: number;
  /** MSS the peer announced in its SYN, bytes; without one 536 (IPv4) or 1220 (IPv6) (RFC 9293 3.7.1). */
  peerMss: number;
  /** MSS we announced, bytes. */
  localMss: number;
  /** Our port. */
  localPort: number;
  /** The peer's port. */
  remotePort: number;
  /** Send buffer size, bytes. */
  sendBuffer: number;
  /** Receive buffer size, bytes. */
  recvBuffer: number;
  /** Our address. */
  localAddress: string;
  /** The peer's address. */
  remoteAddress: string;
  /** 4 or 6. */
  ipVersion: 4 | 6;
  /** RACK's reordering window (RFC 8985 6.2 step 4), ms. */
  reoWndMs: number;
  /** The congestion control the connection runs ({@link ConnectionOptions.congestionControl}). */
  congestionControl: CongestionControl;
}

/** A connection's ports and addresses; the address text is made on first use. */
export class ConnectionEndpoints {
  readonly #bytes: Uint8Array;
  #local: string | undefined;
  #remote: string | undefined;

  /** @internal Made by the engine from a STATUS record. */
  constructor(
    /** 4 or 6. */
    readonly ipVersion: 4 | 6,
    /** Our port. */
    readonly localPort: number,
    /** The peer's port. */
    readonly remotePort: number,
    /** Local (16 bytes) then remote (16 bytes); IPv4 in the first 4 of each. */
    bytes: Uint8Array,
  ) {
    this.#bytes = bytes;
  }

  /** Our address, as text. */
  get localAddress(): string {
    return (this.#local ??= this.#format(0));
  }

  /** The peer's address, as text. */
  get remoteAddress(): string {
    return (this.#remote ??= this.#format(16));
  }

  #format(at: number): string {
    return this.ipVersion === 4 ? formatIpv4(this.#bytes.subarray(at, at + 4)) : formatIpv6(this.#bytes.subarray(at, at + 16));
  }
}

/** @internal The endpoints of the STATUS record at `p` (a copy of its addresses; nothing else decoded). */
export function decodeEndpoints(u8: Uint8Array, dv: DataView, p: number): ConnectionEndpoints {
  return new ConnectionEndpoints(
    dv.getUint32(p + STATUS.ipVersion, true) === 6 ? 6 : 4, dv.getUint32(p + STATUS.localPort, true),
    dv.getUint32(p + STATUS.remotePort, true), u8.slice(p + STATUS.localAddress, p + STATUS.remoteAddress + 16),
  );
}

/** @internal The STATUS record at `p`, decoded. */
export function decodeStatus(u8: Uint8Array, dv: DataView, p: number): ConnectionStatus {
  const u = (o: number) => dv.getUint32(p + o, true);
  const f = (o: number) => dv.getFloat64(p + o, true);
  const ipVersion = u(STATUS.ipVersion) === 6 ? 6 : 4;
  const addr = (o: number) => (ipVersion === 4 ? formatIpv4(u8.subarray(p + o, p + o + 4)) : formatIpv6(u8.subarray(p + o, p + o + 16)));
  const S = STATUS;
  return {
    state: TCP_STATES[u(S.state)]!, iss: u(S.iss), sndUna: u(S.sndUna), sndNxt: u(S.sndNxt), sndMax: u(S.sndMax),
    sndWnd: u(S.sndWnd), sndWl1: u(S.sndWl1), sndWl2: u(S.sndWl2), maxSndWnd: u(S.maxSndWnd), irs: u(S.irs),
    rcvNxt: u(S.rcvNxt), rcvWnd: u(S.rcvWnd), sndShift: u(S.sndShift), rcvShift: u(S.rcvShift), sendMss: u(S.sendMss),
    cwnd: u(S.cwnd), ssthresh: u(S.ssthresh), retransmits: u(S.retransmits), timeouts: u(S.timeouts),
    sendQueued: u(S.sendQueued), recvQueued: u(S.recvQueued), oooBytes: u(S.oooBytes), dupAcks: u(S.dupAcks),
    srttMs: f(S.srttMs), rttvarMs: f(S.rttvarMs), rtoMs: f(S.rtoMs), peerMss: u(S.peerMss), localMss: u(S.localMss),
    localPort: u(S.localPort), remotePort: u(S.remotePort), sendBuffer: u(S.sendBuffer), recvBuffer: u(S.recvBuffer),
    localAddress: addr(S.localAddress), remoteAddress: addr(S.remoteAddress), ipVersion, reoWndMs: f(S.reoWndMs),
    congestionControl: u(S.congestionControl) === CONGESTION_CONTROLS.cubic ? "cubic" : "newreno",
  };
}

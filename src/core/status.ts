// A connection's STATUS record (RFC 9293 3.10.6; layout src/core/boundary.ts STATUS, written by
// assembly/engine/user.ts connStatus) decoded, and its endpoints alone. Browser-safe.
import { STATUS } from "./boundary.js";
import { formatIpv4, formatIpv6 } from "./address.js";
import { TCP_STATES, type TcpState } from "./trace.js";

/** STATUS (RFC 9293 3.10.6) of one connection. */
export interface ConnectionStatus {
  state: TcpState;
  iss: number; sndUna: number; sndNxt: number; sndMax: number; sndWnd: number; sndWl1: number; sndWl2: number;
  maxSndWnd: number; irs: number; rcvNxt: number; rcvWnd: number; sndShift: number; rcvShift: number;
  sendMss: number; cwnd: number; ssthresh: number; retransmits: number; timeouts: number; sendQueued: number;
  recvQueued: number; oooBytes: number; dupAcks: number; srttMs: number; rttvarMs: number; rtoMs: number;
  peerMss: number; localMss: number; localPort: number; remotePort: number; sendBuffer: number; recvBuffer: number;
  localAddress: string; remoteAddress: string; ipVersion: 4 | 6;
  /** RACK's reordering window (RFC 8985 6.2 step 4), ms. */
  reoWndMs: number;
}

/** A connection's ports and addresses; the address text is made on first use. */
export class ConnectionEndpoints {
  readonly #bytes: Uint8Array;
  #local: string | undefined;
  #remote: string | undefined;

  constructor(
    readonly ipVersion: 4 | 6,
    readonly localPort: number,
    readonly remotePort: number,
    /** Local (16 bytes) then remote (16 bytes); IPv4 in the first 4 of each. */
    bytes: Uint8Array,
  ) {
    this.#bytes = bytes;
  }

  get localAddress(): string {
    return (this.#local ??= this.#format(0));
  }

  get remoteAddress(): string {
    return (this.#remote ??= this.#format(16));
  }

  #format(at: number): string {
    return this.ipVersion === 4 ? formatIpv4(this.#bytes.subarray(at, at + 4)) : formatIpv6(this.#bytes.subarray(at, at + 16));
  }
}

/** The endpoints of the STATUS record at `p` (a copy of its addresses; nothing else decoded). */
export function decodeEndpoints(u8: Uint8Array, dv: DataView, p: number): ConnectionEndpoints {
  return new ConnectionEndpoints(
    dv.getUint32(p + STATUS.ipVersion, true) === 6 ? 6 : 4, dv.getUint32(p + STATUS.localPort, true),
    dv.getUint32(p + STATUS.remotePort, true), u8.slice(p + STATUS.localAddress, p + STATUS.remoteAddress + 16),
  );
}

/** The STATUS record at `p`, decoded. */
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
  };
}

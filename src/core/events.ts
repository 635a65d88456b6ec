// The engine's event records (src/core/boundary.ts EVENT, assembly/engine/events.ts) decoded into
// objects, for hosts and tests that want them; the stack reads the raw fields (Engine.events) and
// decodes only what it traces. Browser-safe.
import { EVENT, EVENT_OPTION, EventType } from "./boundary.js";
import { engineErrorCode, type ErrorCode } from "./errors.js";
import { formatIpv4, formatIpv6 } from "./address.js";
import { TCP_STATES, type SegmentOptionsTrace, type TcpState } from "./trace.js";

/** One engine event record, decoded: what happened to connection `id`. */
export type EngineEvent =
  | { type: "connected" | "readable" | "writable" | "peerFin" | "closed"; id: number }
  | { type: "accepted"; id: number; listener: number }
  /** A SYN for the any-destination listener, held until Engine.acceptHeld or Engine.refuseHeld. */
  | { type: "synHeld"; id: number; listener: number }
  | { type: "reset" | "timedOut" | "error"; id: number; error: ErrorCode }
  /** An ICMP error about a datagram UDP socket `id` sent (its id from Engine.udpBind). */
  | { type: "udpError"; id: number; error: ErrorCode }
  | { type: "state"; id: number; from: TcpState; to: TcpState }
  | { type: "addressConflict"; id: number; ifIndex: number; address: string }
  | {
      type: "segment";
      id: number;
      direction: "in" | "out";
      flags: number;
      seq: number;
      ack: number;
      window: number;
      retransmission?: "repair" | "probe";
      length: number;
      options: SegmentOptionsTrace;
    };

/**
 * Receives one event's raw fields: `type` an EventType, `code` the error code (reset, timedOut,
 * error), the from-state (state) or the flags (segments), `a` the listener (accepted), the to-state
 * (state) or the sequence number (segments); `at` the record's address, valid only during the call.
 */
export type EventVisitor = (type: number, code: number, id: number, a: number, at: number) => void;

/** @internal Decodes the event record at `p` (undefined for an unknown type). */
export function decodeEvent(dv: DataView, p: number): EngineEvent | undefined {
  const type = dv.getUint16(p + EVENT.type, true);
  const code = dv.getUint16(p + EVENT.code, true);
  const id = dv.getUint32(p + EVENT.id, true);
  const a = dv.getUint32(p + EVENT.a, true);
  switch (type) {
    case EventType.connected: return { type: "connected", id };
    case EventType.accepted: return { type: "accepted", id, listener: a };
    case EventType.synHeld: return { type: "synHeld", id, listener: a };
    case EventType.readable: return { type: "readable", id };
    case EventType.writable: return { type: "writable", id };
    case EventType.peerFin: return { type: "peerFin", id };
    case EventType.closed: return { type: "closed", id };
    case EventType.reset: return { type: "reset", id, error: engineErrorCode(code) };
    case EventType.timedOut: return { type: "timedOut", id, error: engineErrorCode(code) };
    case EventType.error: return { type: "error", id, error: engineErrorCode(code) };
    case EventType.udpError: return { type: "udpError", id, error: engineErrorCode(code) };
    case EventType.state: return { type: "state", id, from: TCP_STATES[code]!, to: TCP_STATES[a]! };
    case EventType.segmentIn:
    case EventType.segmentOut: {
      const opts = dv.getUint32(p + EVENT.options, true);
      const options: SegmentOptionsTrace = {};
      if (opts & EVENT_OPTION.mss) options.mss = dv.getUint32(p + EVENT.mss, true);
      if (opts & EVENT_OPTION.wscale) options.wscale = (opts >> EVENT_OPTION.wscaleShift) & 15;
      if (opts & EVENT_OPTION.sackPermitted) options.sackPermitted = true;
      if (opts & EVENT_OPTION.timestamps) options.timestamps = { value: dv.getUint32(p + EVENT.tsVal, true), echo: dv.getUint32(p + EVENT.tsEcr, true) };
      const blocks = (opts >> EVENT_OPTION.sackCountShift) & 7;
      if (blocks) {
        options.sack = [];
        for (let b = 0; b < blocks; b++) options.sack.push([dv.getUint32(p + EVENT.sack + 8 * b, true), dv.getUint32(p + EVENT.sack + 4 + 8 * b, true)]);
      }
      const kind = (opts >> EVENT_OPTION.sendKindShift) & 3;
      return {
        type: "segment", id, direction: type === EventType.segmentIn ? "in" : "out", flags: code, seq: a,
        ack: dv.getUint32(p + EVENT.ack, true), window: dv.getUint32(p + EVENT.window, true), length: dv.getUint32(p + EVENT.length, true),
        options, ...(kind === 1 ? { retransmission: "repair" as const } : kind === 2 ? { retransmission: "probe" as const } : {}),
      };
    }
    case EventType.addressConflict: {
      const bytes = new Uint8Array(dv.buffer, dv.byteOffset + p + EVENT.sack, code === 4 ? 4 : 16);
      return { type: "addressConflict", id, ifIndex: a, address: code === 4 ? formatIpv4(bytes) : formatIpv6(bytes) };
    }
    default:
      return undefined;
  }
}

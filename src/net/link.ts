// The one interface between a stack and whatever carries its packets: an in-memory pair, a UDP
// socket, a WebSocket, a WebRTC data channel, an emulator's NIC. Implement these three members and a
// stack can sit on your transport.
import { TcpwasmError } from "../core/errors.js";
import { invalidType } from "../core/validate.js";

/** Receives a batch of raw IP packets (Ethernet frames on an Ethernet link), in arrival order. */
export type PacketHandler = (packets: Uint8Array[]) => void;

/** How a handler treats the packets it is given (Link.onReceive). */
export interface ReceiveOptions {
  /**
   * True when the handler copies whatever it keeps before it returns (a stack copies each packet into
   * its engine): the packets are then the handler's only during the call, and the link may reuse
   * their memory afterwards. Default false: the handler owns them.
   */
  copies?: boolean;
}

/**
 * A point-to-point link carrying raw IP packets: each Uint8Array is one whole IPv4 or IPv6 packet
 * starting at its version nibble, with no link-layer header, exactly what a TUN device (IFF_NO_PI)
 * reads and writes.
 *
 * Buffer ownership, both ways, so that no side has to copy defensively:
 * - `send` hands the packets to the link. The caller must not modify or reuse them (nor their
 *   underlying ArrayBuffer ranges) afterwards; the link may queue them and deliver the same objects.
 * - The handler owns the packets it is given: the link never touches them again, so the receiver may
 *   keep, modify or transfer them. The batch array itself is the handler's too.
 * Two optional relaxations let an in-process link move packets without a copy that nobody needs:
 * `copiesOnSend` (the link copies during send) and a handler registered with `{ copies: true }` (it
 * copies during the call, so the link may reuse the memory after it).
 *
 * Delivery is asynchronous: `send` never calls a handler before it returns, on either end.
 */
export interface Link {
  /** Queues packets for transmission, in order. After `close` they are dropped silently. */
  send(packets: Uint8Array[]): void;
  /**
   * Sets the function that receives incoming packets, replacing any earlier one. Packets that arrive
   * while no handler is set are dropped. A link may ignore `options`.
   */
  onReceive(handler: PacketHandler, options?: ReceiveOptions): void;
  /** Stops both directions and releases the transport; pending packets are discarded. Idempotent. */
  close(): void;
  /**
   * The largest packet, in bytes, the link carries whole: an integer in 576..65535 (Stack.attach
   * throws otherwise). The connections over the link advertise and send an MSS from it (MTU less 40
   * bytes of IPv4 and TCP headers, 60 for IPv6); below IPv6's minimum of 1280 the link carries IPv4
   * only. Absent: the stack's config mtu (default 1500).
   */
  readonly mtu?: number;
  /**
   * Segmentation offload: the largest IP packet, in bytes, the link takes although it is above `mtu`,
   * an integer in mtu..65535 (Stack.attach throws otherwise). Set it only when the far end takes such a
   * packet whole as one TCP segment larger than the MSS it advertised (another stack in this process,
   * a kernel's receive offload, GRO) or when the link itself cuts it into `mtu`-sized packets on the
   * way (segmentation offload, GSO/TSO). A connection over the link then sends segments of up to this
   * size, always whole multiples of its MSS, and keeps advertising, counting congestion and acknowledging
   * in the MSS from `mtu`. Absent: no packet above `mtu` is ever sent on the link.
   */
  readonly offloadMtu?: number;
  /**
   * What each Uint8Array is: "ip" (absent: the default) a raw IP packet as above; "ethernet" one
   * Ethernet II frame without FCS, exactly what a TAP device (IFF_TAP | IFF_NO_PI) reads and writes.
   * On an Ethernet link the stack owns a MAC address, answers ARP and IPv6 neighbour discovery and
   * resolves its next hops (Stack.attach's mac, gateway and router options); `mtu` stays the IP MTU,
   * the frame's payload.
   */
  readonly framing?: "ip" | "ethernet";
  /**
   * True when `send` copies what it keeps before it returns, so the caller may reuse the packets'
   * memory at once: a stack then hands over views of its engine's output region instead of copying
   * each batch out first. Absent or false: `send` takes ownership as described above.
   */
  readonly copiesOnSend?: boolean;
}

/** The MTU a stack assumes when a link does not state one: Ethernet's. */
export const DEFAULT_MTU = 1500;

/**
 * @internal
 * The smallest link MTU a stack takes: 576, the datagram every IPv4 host must accept (RFC 1122
 * 3.3.3), whose 536 bytes of TCP payload are the MSS a peer assumes when a SYN carries no MSS option
 * (RFC 9293 3.7.1).
 */
export const MIN_LINK_MTU = 576;

/** @internal A Link: an object with send, onReceive and close. */
export function validateLink(link: unknown, name: string): asserts link is Link {
  if (typeof link !== "object" || link === null) invalidType(name, "a Link (an object with send, onReceive and close)", link);
  for (const member of ["send", "onReceive", "close"]) {
    const value = (link as Record<string, unknown>)[member];
    if (typeof value !== "function") invalidType(`${name}.${member}`, "of type function (a Link has send, onReceive and close)", value);
  }
}

/** @internal The MTU a link states, checked: undefined when it states none. Throws on a bad one. */
export function checkedLinkMtu(link: Link): number | undefined {
  const mtu = link.mtu;
  if (mtu === undefined) return undefined;
  if (typeof mtu !== "number") {
    throw new TcpwasmError("ERR_INVALID_ARG_TYPE", `link.mtu must be a number, got ${typeof mtu}`);
  }
  if (!Number.isInteger(mtu) || mtu < MIN_LINK_MTU || mtu > 65535) {
    throw new TcpwasmError("ERR_OUT_OF_RANGE", `link.mtu must be an integer in ${MIN_LINK_MTU}..65535, got ${mtu}`);
  }
  return mtu;
}

/**
 * @internal The offload MTU a link states, checked against its MTU (`mtu`, the one in effect): 0 when it
 * states none or one no larger than `mtu`. Throws on a bad one.
 */
export function checkedOffloadMtu(link: Link, mtu: number): number {
  const offload = link.offloadMtu;
  if (offload === undefined) return 0;
  if (typeof offload !== "number") {
    throw new TcpwasmError("ERR_INVALID_ARG_TYPE", `link.offloadMtu must be a number, got ${typeof offload}`);
  }
  if (!Number.isInteger(offload) || offload < mtu || offload > 65535) {
    throw new TcpwasmError("ERR_OUT_OF_RANGE", `link.offloadMtu must be an integer in ${mtu}..65535 (from the link's MTU), got ${offload}`);
  }
  return offload > mtu ? offload : 0;
}

/** @internal The framing a link states, checked: "ip" when it states none. Throws on anything else. */
export function checkedFraming(link: Link): "ip" | "ethernet" {
  const framing = link.framing;
  if (framing === undefined || framing === "ip" || framing === "ethernet") return framing ?? "ip";
  throw new TcpwasmError("ERR_INVALID_ARG_VALUE", `link.framing must be "ip" or "ethernet", got ${typeof framing === "string" ? JSON.stringify(framing) : typeof framing}`);
}

// A link over UDP for Node: each datagram carries exactly one raw IP packet, the framing of
// `socat TUN:...,iff-no-pi UDP-DATAGRAM:...` (see TCP.md), so a stack here can sit behind a real TUN
// device and talk to the kernel's TCP; or, with framing "ethernet", one Ethernet II frame without FCS,
// what `socat TUN:...,tun-type=tap,iff-no-pi` relays from a TAP device (a guest's NIC). Node only: the
// browser entry never imports this file.
//
// The socket is unconnected on purpose: a connected UDP socket reports the ICMP port-unreachable
// that the relay causes before anyone listens as an error, and socat's UDP-DATAGRAM is unconnected too.
// Only datagrams from the configured peer are accepted; others are counted and dropped.
import dgram from "node:dgram";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { TcpwasmError, invalidArg, type ErrorCode } from "../core/errors.js";
import { invalidType, invalidValue, validateArray, validateFunction, validateInteger, validateKnownKeys, validateObject, validateUint8Array } from "../core/validate.js";
import { DEFAULT_MTU, type Link, type PacketHandler } from "./link.js";

/** A UDP address: host (IP address or name) and port. */
export interface UdpEndpoint {
  /** An IPv4 or IPv6 address, or a name resolved once when the link opens. */
  host: string;
  /** The UDP port, 0..65535 (0 when binding: any free port). */
  port: number;
}

/** Options of createUdpLink. */
export interface UdpLinkOptions {
  /** Where to bind: "host:port" ("[::1]:7000" for IPv6) or { host, port }; port 0 picks a free one. */
  bind?: string | UdpEndpoint;
  /** An already bound socket to use instead of `bind` (one handed in from another network namespace, say). */
  socket?: dgram.Socket;
  /** Where packets go and the only source accepted: the relay's "host:port" or { host, port }. */
  peer: string | UdpEndpoint;
  /** Largest IP packet carried (with "ethernet", the frame's payload). Default 1500 (a TUN's or TAP's default MTU). */
  mtu?: number;
  /**
   * What one datagram holds: "ip" (default), a raw IP packet as a TUN device reads it; "ethernet", an
   * Ethernet II frame without FCS as a TAP device (IFF_TAP | IFF_NO_PI) reads it, up to mtu + 14 octets.
   */
  framing?: "ip" | "ethernet";
}

/** What a UDP link carried and dropped. */
export interface UdpLinkStats {
  /** Packets sent to the peer. */
  sent: number;
  /** Packets received from the peer. */
  received: number;
  /** Send failures (ENOBUFS, EAGAIN and the like): the packet is gone, as on a busy NIC. */
  sendErrors: number;
  /** Datagrams from anyone but the peer. */
  foreign: number;
  /** Dropped for exceeding the MTU (with "ethernet", frames longer than mtu + 14 octets). */
  tooBig: number;
}

/** Parses "host:port", "[v6]:port" or { host, port } into an endpoint, or throws ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE. */
export function parseEndpoint(value: string | UdpEndpoint, what: string): UdpEndpoint {
  let host: unknown;
  let port: unknown;
  if (typeof value === "string") {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
    if (!m) invalidValue(what, value, "must be HOST:PORT or [IPV6]:PORT");
    host = m[1];
    port = Number(m[2]);
  } else {
    if (typeof value !== "object" || value === null) invalidType(what, 'a "host:port" string or { host, port }', value);
    host = value.host;
    port = value.port;
  }
  if (typeof host !== "string") invalidType(`${what}.host`, "of type string", host);
  if (!host) invalidValue(`${what}.host`, host, "must not be empty");
  validateInteger(port, `${what}.port`, 0, 65535);
  return { host, port };
}

const UDP_OPTIONS: ReadonlySet<string> = new Set(["bind", "socket", "peer", "mtu", "framing"]);

/** An Ethernet II header: destination and source MAC, EtherType (IEEE 802.3 3.1.1); the FCS is not carried. */
const ETHERNET_HEADER = 14;

const PASSED_THROUGH: ReadonlySet<string> = new Set<ErrorCode>(["EADDRINUSE", "EADDRNOTAVAIL", "EINVAL"]);

/** Maps a Node system error to a TcpwasmError with the same code where tcpwasm has one. */
function socketError(err: NodeJS.ErrnoException, doing: string): TcpwasmError {
  const code = (err.code && PASSED_THROUGH.has(err.code) ? err.code : "EINVAL") as ErrorCode;
  const e = new TcpwasmError(code, `udp link: ${doing}: ${err.message}`);
  (e as { cause?: unknown }).cause = err;
  return e;
}

async function resolveHost(host: string, what: string): Promise<{ address: string; family: 4 | 6 }> {
  const family = isIP(host);
  if (family === 4 || family === 6) return { address: host, family };
  try {
    const r = await lookup(host);
    return { address: r.address, family: r.family === 6 ? 6 : 4 };
  } catch (err) {
    throw new TcpwasmError("EINVAL", `udp link: cannot resolve ${what} host "${host}": ${(err as Error).message}`);
  }
}

/** A link carrying one raw IP packet (or one Ethernet frame) per UDP datagram to and from one peer (Node only). Made by createUdpLink. */
export class UdpLink implements Link {
  readonly #socket: dgram.Socket;
  /** Largest IP packet carried, bytes (UdpLinkOptions.mtu). */
  readonly mtu: number;
  /** What each datagram holds (UdpLinkOptions.framing). */
  readonly framing: "ip" | "ethernet";
  /** Longest datagram sent: the MTU, plus the Ethernet header with "ethernet" framing. */
  readonly #maxDatagram: number;
  /** What the link carried and dropped. */
  readonly stats: UdpLinkStats = { sent: 0, received: 0, sendErrors: 0, foreign: 0, tooBig: 0 };
  #handler: PacketHandler | undefined;
  #errorHandler: ((err: TcpwasmError) => void) | undefined;
  #batch: Uint8Array[] = [];
  #flushScheduled = false;
  #closed = false;

  /** @internal Use createUdpLink. */
  constructor(
    socket: dgram.Socket,
    /** Where packets go, and the only source accepted. */
    readonly peer: UdpEndpoint,
    mtu: number,
    framing: "ip" | "ethernet" = "ip",
  ) {
    this.#socket = socket;
    this.mtu = mtu;
    this.framing = framing;
    this.#maxDatagram = framing === "ethernet" ? mtu + ETHERNET_HEADER : mtu;
    socket.on("message", (msg, from) => this.#onMessage(msg, from));
    socket.on("error", (err) => this.#errorHandler?.(socketError(err, "socket error")));
  }

  /** The bound local address. */
  get local(): UdpEndpoint {
    const a = this.#socket.address();
    return { host: a.address, port: a.port };
  }

  /** Sends each packet (or frame) as one datagram to the peer; one over the MTU is dropped and counted in `tooBig`. */
  send(packets: Uint8Array[]): void {
    validateArray(packets, "packets", validateUint8Array);
    if (this.#closed) return;
    for (const p of packets) {
      if (p.length > this.#maxDatagram) {
        this.stats.tooBig++;
        continue;
      }
      this.stats.sent++;
      this.#socket.send(p, this.peer.port, this.peer.host, (err) => {
        if (err) this.stats.sendErrors++;
      });
    }
  }

  /** Sets the one handler of packets from the peer. */
  onReceive(handler: PacketHandler): void {
    validateFunction(handler, "handler");
    this.#handler = handler;
  }

  /** Errors of the socket after creation (it stays usable unless closed). */
  onError(handler: (err: TcpwasmError) => void): void {
    validateFunction(handler, "handler");
    this.#errorHandler = handler;
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handler = undefined;
    this.#batch = [];
    this.#socket.close();
  }

  #onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    if (this.#closed) return;
    if (from.port !== this.peer.port || from.address !== this.peer.host) {
      this.stats.foreign++;
      return;
    }
    this.stats.received++;
    this.#batch.push(new Uint8Array(msg.buffer, msg.byteOffset, msg.length));
    // Every datagram read in this poll phase goes to the handler in one batch.
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#batch;
    this.#batch = [];
    if (batch.length && this.#handler && !this.#closed) this.#handler(batch);
  }
}

/**
 * Opens a UDP link: binds (or adopts `socket`), and sends every packet to `peer`. Rejects with a
 * TcpwasmError: EADDRINUSE, EADDRNOTAVAIL, EINVAL (unresolvable host, bad address), or an argument error (src/core/validate.ts).
 */
export async function createUdpLink(options: UdpLinkOptions): Promise<UdpLink> {
  validateObject(options, "options");
  validateKnownKeys(options as unknown as Record<string, unknown>, "options", UDP_OPTIONS);
  if (options.socket !== undefined && !(options.socket instanceof dgram.Socket)) invalidType("options.socket", "an instance of dgram.Socket", options.socket);
  const peerSpec = parseEndpoint(options.peer, "options.peer");
  if (peerSpec.port === 0) invalidValue("options.peer.port", 0, "must not be 0: port 0 is not a destination");
  const peerAddr = await resolveHost(peerSpec.host, "peer");
  const peer = { host: peerAddr.address, port: peerSpec.port };
  const framing = options.framing ?? "ip";
  if (framing !== "ip" && framing !== "ethernet") invalidValue("options.framing", framing, 'must be "ip" or "ethernet"');
  const mtu = options.mtu ?? DEFAULT_MTU;
  // One UDP datagram carries at most 65507 octets over IPv4 (RFC 768 length less the IPv4 header).
  const maxMtu = framing === "ethernet" ? 65507 - ETHERNET_HEADER : 65507;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > maxMtu) invalidArg(`mtu must be 68..${maxMtu} (one UDP datagram${framing === "ethernet" ? " with the Ethernet header" : ""}), got ${mtu}`);
  if (options.socket) {
    if (options.bind !== undefined) invalidValue("options.bind", options.bind, "must not be given with options.socket (give one)");
    return new UdpLink(options.socket, peer, mtu, framing);
  }
  const bindSpec = parseEndpoint(options.bind ?? { host: peerAddr.family === 6 ? "::1" : "127.0.0.1", port: 0 }, "options.bind");
  const bindAddr = await resolveHost(bindSpec.host, "bind");
  if (bindAddr.family !== peerAddr.family) {
    invalidValue("options.bind", bindAddr.address, `must be of the same address family as options.peer (${peer.host})`);
  }
  const socket = dgram.createSocket({ type: bindAddr.family === 6 ? "udp6" : "udp4" });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      socket.close();
      reject(socketError(err, `bind ${bindAddr.address}:${bindSpec.port}`));
    };
    socket.once("error", onError);
    socket.bind(bindSpec.port, bindAddr.address, () => {
      socket.off("error", onError);
      resolve();
    });
  });
  return new UdpLink(socket, peer, mtu, framing);
}
